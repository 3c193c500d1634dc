#include "source/server/listener_manager.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "google/protobuf/any.pb.h"
#include "source/common/common/logger.h"
#include "source/extensions/filters/listener/common/factory.h"

namespace Skiff::Server {

namespace {
constexpr int kListenBacklog = 1024;
constexpr char kOriginalDstFilterName[] = "envoy.filters.listener.original_dst";

bool bindsToPort(const envoy::config::listener::v3::Listener& proto) {
  return !proto.has_bind_to_port() || proto.bind_to_port().value();
}
}  // namespace

ListenerManagerImpl::ListenerManagerImpl(
    std::vector<WorkerImpl*> workers, Event::Dispatcher& main_dispatcher, Stats::Store& stats,
    Extensions::NetworkFilters::FactoryContext& factory_context)
    : workers_(std::move(workers)),
      stats_(stats),
      factory_context_(factory_context),
      main_dispatcher_(main_dispatcher),
      listener_added_(stats.counter("listener_manager.listener_added")),
      listener_modified_(stats.counter("listener_manager.listener_modified")),
      listener_removed_(stats.counter("listener_manager.listener_removed")),
      listener_create_success_(stats.counter("listener_manager.listener_create_success")),
      listener_create_failure_(stats.counter("listener_manager.listener_create_failure")),
      total_listeners_active_(stats.gauge("listener_manager.total_listeners_active")),
      total_listeners_draining_(stats.gauge("listener_manager.total_listeners_draining")),
      workers_started_(stats.gauge("listener_manager.workers_started")) {}

ListenerStats& ListenerManagerImpl::statsFor(const std::string& prefix) {
  auto& entry = listener_stats_[prefix];
  if (entry == nullptr) {
    entry = createListenerStats(stats_, prefix);
  }
  return *entry;
}

absl::StatusOr<ListenerConfigConstSharedPtr> ListenerManagerImpl::buildConfig(
    const envoy::config::listener::v3::Listener& proto,
    const Network::Address::InstanceConstSharedPtr& address, const std::string& version) {
  auto config = std::make_shared<ListenerConfig>();
  config->version_info = version;
  config->last_updated = std::chrono::system_clock::now();
  config->name = proto.name();
  config->tag = next_tag_++;
  config->address = address;
  config->proto = proto;
  if (proto.has_per_connection_buffer_limit_bytes()) {
    config->per_connection_buffer_limit_bytes = proto.per_connection_buffer_limit_bytes().value();
  }
  config->bind_to_port = !proto.has_bind_to_port() || proto.bind_to_port().value();
  config->use_original_dst = proto.has_use_original_dst() && proto.use_original_dst().value();
  bool have_original_dst = false;
  for (int i = 0; i < proto.listener_filters_size(); ++i) {
    const auto& filter = proto.listener_filters(i);
    const std::string path =
        absl::StrCat("listener '", proto.name(), "': listener_filters[", i, "]");
    const auto* factory =
        filter.has_typed_config()
            ? Extensions::ListenerFilters::findListenerFilterFactory(
                  filter.typed_config().type_url())
            : Extensions::ListenerFilters::findListenerFilterFactoryByName(filter.name());
    if (factory == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": unsupported listener filter '",
          filter.has_typed_config() ? filter.typed_config().type_url() : filter.name(), "'"));
    }
    auto cb = factory->createFilter(filter.typed_config());
    if (!cb.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".", cb.status().message()));
    }
    have_original_dst |= factory->name() == kOriginalDstFilterName;
    config->listener_filters.push_back(std::move(*cb));
  }
  if (config->use_original_dst && !have_original_dst) {
    // As in Envoy, use_original_dst implies the original_dst listener filter (appended last).
    const auto* factory =
        Extensions::ListenerFilters::findListenerFilterFactoryByName(kOriginalDstFilterName);
    if (factory == nullptr) {
      return absl::InternalError("the original_dst listener filter is not compiled in");
    }
    auto cb = factory->createFilter(google::protobuf::Any());
    if (!cb.ok()) {
      return cb.status();
    }
    config->listener_filters.push_back(std::move(*cb));
  }
  for (int i = 0; i < proto.filter_chains_size(); ++i) {
    const auto& chain_proto = proto.filter_chains(i);
    FilterChainConfig chain;
    chain.name = chain_proto.name();
    if (chain_proto.has_filter_chain_match() &&
        chain_proto.filter_chain_match().has_destination_port()) {
      chain.destination_port = chain_proto.filter_chain_match().destination_port().value();
    }
    for (int j = 0; j < chain_proto.filters_size(); ++j) {
      const auto& filter = chain_proto.filters(j);
      const std::string path =
          absl::StrCat("listener '", proto.name(), "': filter_chains[", i, "].filters[", j, "]");
      const auto* factory =
          Extensions::NetworkFilters::findNetworkFilterFactory(filter.typed_config().type_url());
      if (factory == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(path,
                                                       ".typed_config: unsupported filter type '",
                                                       filter.typed_config().type_url(), "'"));
      }
      auto cb = factory->createFilterFactory(filter.typed_config(), factory_context_);
      if (!cb.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(path, ".", cb.status().message()));
      }
      chain.filter_factories.push_back(std::move(*cb));
    }
    config->filter_chains.push_back(std::move(chain));
  }
  config->stats =
      &statsFor(proto.stat_prefix().empty() ? address->statName() : proto.stat_prefix());
  config->connection_limit = connectionLimitFor(proto.name());
  return ListenerConfigConstSharedPtr(std::move(config));
}

absl::StatusOr<std::vector<Network::IoHandlePtr>> ListenerManagerImpl::bindSockets(
    const Network::Address::InstanceConstSharedPtr& address,
    Network::Address::InstanceConstSharedPtr& bound) {
  std::vector<Network::IoHandlePtr> sockets;
  bound = address;
  for (size_t i = 0; i < std::max<size_t>(1, workers_.size()); ++i) {
    auto socket = Network::createListenSocket(*bound, /*reuse_port=*/true, kListenBacklog);
    if (!socket.ok()) {
      return socket.status();
    }
    if (i == 0 && bound->port() == 0) {
      // Port 0: the kernel picked one; every other worker's socket joins that port.
      bound = Network::localAddress((*socket)->fd());
    }
    sockets.push_back(std::move(*socket));
  }
  return sockets;
}

void ListenerManagerImpl::forAllWorkers(
    std::string description, std::function<void(WorkerImpl&, std::function<void()>)> per_worker,
    std::function<void()> done) {
  if (workers_.empty()) {
    if (done) {
      done();
    }
    return;
  }
  // Each worker writes only its own slot; the last one to finish hands the record to main.
  struct Pending {
    std::atomic<size_t> remaining;
    std::chrono::steady_clock::time_point start;
    std::vector<std::chrono::microseconds> per_worker;
  };
  auto pending = std::make_shared<Pending>();
  pending->remaining = workers_.size();
  pending->start = std::chrono::steady_clock::now();
  pending->per_worker.resize(workers_.size());
  Event::Dispatcher* main = &main_dispatcher_;
  for (WorkerImpl* worker : workers_) {
    const uint32_t index = worker->index();
    per_worker(*worker, [this, pending, index, done, main, description] {
      // Runs on the worker.
      pending->per_worker[index] = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - pending->start);
      if (pending->remaining.fetch_sub(1) == 1) {
        main->post([this, pending, done, description] {
          recordUpdate(description, pending->per_worker);
          if (done) {
            done();
          }
        });
      }
    });
  }
}

void ListenerManagerImpl::recordUpdate(const std::string& description,
                                       const std::vector<std::chrono::microseconds>& per_worker) {
  recent_updates_.push_back(
      UpdateRecord{description, std::chrono::system_clock::now(), per_worker});
  if (recent_updates_.size() > kRecentUpdates) {
    recent_updates_.pop_front();
  }
}

absl::StatusOr<ListenerManagerImpl::PreparedListener> ListenerManagerImpl::prepare(
    const envoy::config::listener::v3::Listener& proto, const std::string& version) {
  const auto& socket_address = proto.address().socket_address();
  auto address =
      Network::Address::Instance::parse(socket_address.address(), socket_address.port_value());
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("listener '", proto.name(), "': address: ", address.status().message()));
  }
  PreparedListener prepared;
  auto existing = listeners_.find(proto.name());
  prepared.exists = existing != listeners_.end();
  prepared.same_address = prepared.exists &&
                          existing->second.config->proto.address().SerializeAsString() ==
                              proto.address().SerializeAsString() &&
                          bindsToPort(existing->second.config->proto) == bindsToPort(proto);
  Network::Address::InstanceConstSharedPtr bound;
  if (prepared.same_address) {
    bound = existing->second.config->address;
  } else if (!bindsToPort(proto)) {
    // No socket: the listener only serves connections handed off to its address, so the address
    // must be a real one (port 0 would never match a destination).
    if ((*address)->port() == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "listener '", proto.name(), "': address: a port is required with bind_to_port: false"));
    }
    bound = *address;
  } else {
    // A new address is bound before anything changes: a port conflict is an error, not a crash,
    // and the old sockets keep serving until every worker has the new ones.
    auto sockets = bindSockets(*address, bound);
    if (!sockets.ok()) {
      return absl::UnavailableError(
          absl::StrCat("listener '", proto.name(), "': ", sockets.status().message()));
    }
    prepared.sockets = std::move(*sockets);
  }
  auto config = buildConfig(proto, bound, version);
  if (!config.ok()) {
    return config.status();
  }
  prepared.config = std::move(*config);
  return prepared;
}

void ListenerManagerImpl::commit(PreparedListener prepared, std::function<void()> applied) {
  const std::string& name = prepared.config->name;
  std::vector<Network::IoHandlePtr> old_sockets;
  ManagedListener& managed = listeners_[name];
  if (!prepared.exists) {
    listener_added_.inc();
    total_listeners_active_.inc();
    managed.sockets = std::move(prepared.sockets);
  } else {
    listener_modified_.inc();
    if (!prepared.same_address) {
      old_sockets = std::move(managed.sockets);
      managed.sockets = std::move(prepared.sockets);
    }
  }
  managed.config = prepared.config;
  listener_create_success_.inc();
  std::vector<int> fds;
  for (auto& socket : managed.sockets) {
    fds.push_back(socket->fd());
  }
  if (fds.empty()) {
    fds.push_back(-1);  // bind_to_port: false; workers index it for hand-off only.
  }
  SKIFF_LOG(info, "listener '%s' %s on %s%s", name, prepared.exists ? "updated" : "added",
            managed.config->address->asString(),
            managed.config->bind_to_port ? "" : " (not bound: hand-off only)");

  ListenerConfigConstSharedPtr shared = managed.config;
  std::optional<std::chrono::milliseconds> drain_old;
  if (prepared.exists) {
    drain_old = drain_on_update_;
  }
  // Old sockets are closed only after every worker has moved to the new ones.
  auto old = std::make_shared<std::vector<Network::IoHandlePtr>>(std::move(old_sockets));
  forAllWorkers(
      absl::StrCat(prepared.exists ? "update" : "add", " listener ", name),
      [shared, fds, drain_old](WorkerImpl& worker, std::function<void()> complete) {
        worker.addOrUpdateListener(shared, fds[worker.index() % fds.size()], complete, drain_old);
      },
      [old, applied] {
        old->clear();
        if (applied) {
          applied();
        }
      });
}

absl::Status ListenerManagerImpl::checkDistinctAddresses(
    const std::vector<envoy::config::listener::v3::Listener>& upserts,
    const std::vector<std::string>& removes) const {
  // The listener set as it will be after the update: name -> address. Checked before anything is
  // bound, so a conflicting listener never joins the other's SO_REUSEPORT group even briefly.
  std::map<std::string, std::string> after;
  for (const auto& [name, managed] : listeners_) {
    after[name] = managed.config->address->asString();
  }
  for (const auto& name : removes) {
    after.erase(name);
  }
  for (const auto& proto : upserts) {
    const auto& sa = proto.address().socket_address();
    auto address = Network::Address::Instance::parse(sa.address(), sa.port_value());
    if (!address.ok() || (*address)->port() == 0) {
      // A parse error is reported by prepare(); port 0 gets a fresh port, never a conflict.
      after.erase(proto.name());
      continue;
    }
    after[proto.name()] = (*address)->asString();
  }
  // Two listeners on one address would split its connections (SO_REUSEPORT lets both bind) and
  // make the hand-off target ambiguous.
  std::map<std::string, std::string> owner;
  for (const auto& [name, address] : after) {
    auto [it, inserted] = owner.emplace(address, name);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat("listener '", name, "': address ", address,
                                                     " is already used by listener '", it->second,
                                                     "'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ListenerManagerImpl::addOrUpdateListener(
    const envoy::config::listener::v3::Listener& proto, std::function<void()> applied) {
  if (absl::Status distinct = checkDistinctAddresses({proto}, {}); !distinct.ok()) {
    listener_create_failure_.inc();
    return distinct;
  }
  auto prepared = prepare(proto, "");
  if (!prepared.ok()) {
    listener_create_failure_.inc();
    return prepared.status();
  }
  commit(std::move(*prepared), std::move(applied));
  return absl::OkStatus();
}

absl::Status ListenerManagerImpl::applyUpdate(
    const std::vector<envoy::config::listener::v3::Listener>& upserts,
    const std::vector<std::string>& removes, const std::string& version,
    std::chrono::milliseconds drain_time, std::function<void()> applied) {
  // All or nothing: every listener is bound and built before any worker sees a change, so a bad
  // one leaves the whole previous config serving (the new sockets close on the way out).
  if (absl::Status distinct = checkDistinctAddresses(upserts, removes); !distinct.ok()) {
    listener_create_failure_.inc();
    return distinct;
  }
  std::vector<PreparedListener> prepared;
  for (const auto& proto : upserts) {
    auto p = prepare(proto, version);
    if (!p.ok()) {
      listener_create_failure_.inc();
      return p.status();
    }
    prepared.push_back(std::move(*p));
  }
  for (const auto& name : removes) {
    if (!listeners_.count(name)) {
      return absl::NotFoundError(absl::StrCat("no listener named '", name, "'"));
    }
  }
  auto remaining = std::make_shared<size_t>(prepared.size() + removes.size());
  auto one_done = [remaining, applied] {
    if (--*remaining == 0 && applied) {
      applied();
    }
  };
  if (*remaining == 0) {
    if (applied) {
      applied();
    }
    return absl::OkStatus();
  }
  for (auto& p : prepared) {
    commit(std::move(p), one_done);
  }
  for (const auto& name : removes) {
    // Checked above; cannot fail.
    (void)removeListener(name, drain_time, one_done);
  }
  return absl::OkStatus();
}

absl::Status ListenerManagerImpl::removeListener(const std::string& name,
                                                 std::chrono::milliseconds drain_time,
                                                 std::function<void()> applied) {
  auto it = listeners_.find(name);
  if (it == listeners_.end()) {
    return absl::NotFoundError(absl::StrCat("no listener named '", name, "'"));
  }
  auto sockets = std::make_shared<std::vector<Network::IoHandlePtr>>(std::move(it->second.sockets));
  listeners_.erase(it);
  listener_removed_.inc();
  total_listeners_active_.dec();
  // Draining for as long as the workers give its connections. Timers that already fired are
  // dropped here rather than inside their own callback.
  total_listeners_draining_.inc();
  std::erase_if(draining_timers_, [](const Event::TimerPtr& timer) { return !timer->enabled(); });
  draining_timers_.push_back(
      main_dispatcher_.createTimer([this] { total_listeners_draining_.dec(); }));
  draining_timers_.back()->enableTimer(drain_time);
  forAllWorkers(
      absl::StrCat("remove listener ", name),
      [name, drain_time](WorkerImpl& worker, std::function<void()> complete) {
        worker.removeListener(name, drain_time, complete);
      },
      [sockets, applied] {
        sockets->clear();
        if (applied) {
          applied();
        }
      });
  return absl::OkStatus();
}

Overload::ConnectionLimitSharedPtr ListenerManagerImpl::connectionLimitFor(
    const std::string& name) {
  const std::optional<uint64_t> max = runtime_.listenerConnectionLimit(name);
  auto it = connection_limits_.find(name);
  if (!max.has_value()) {
    return it == connection_limits_.end() ? nullptr : it->second;
  }
  if (it == connection_limits_.end()) {
    it = connection_limits_.emplace(name, std::make_shared<Overload::ConnectionLimit>(*max)).first;
  }
  it->second->setMax(*max);
  return it->second;
}

void ListenerManagerImpl::startWorkers() {
  for (WorkerImpl* worker : workers_) {
    worker->start();
    workers_started_.inc();
  }
}

void ListenerManagerImpl::stopListeners(std::function<void()> done) {
  forAllWorkers(
      "stop listeners",
      [](WorkerImpl& worker, std::function<void()> complete) { worker.stopListeners(complete); },
      [this, done] {
        // No worker accepts any more; closing the sockets now loses nothing accepted.
        for (auto& [name, managed] : listeners_) {
          managed.sockets.clear();
        }
        if (done) {
          done();
        }
      });
}

uint64_t ListenerManagerImpl::numConnections() const {
  uint64_t total = 0;
  for (const WorkerImpl* worker : workers_) {
    total += worker->numConnections();
  }
  return total;
}

std::vector<ListenerConfigConstSharedPtr> ListenerManagerImpl::listeners() const {
  std::vector<ListenerConfigConstSharedPtr> out;
  for (const auto& [name, managed] : listeners_) {
    out.push_back(managed.config);
  }
  return out;
}

}  // namespace Skiff::Server
