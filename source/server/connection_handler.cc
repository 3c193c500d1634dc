#include "source/server/connection_handler.h"

#include "absl/strings/str_cat.h"
#include "source/common/common/logger.h"
#include "source/common/network/connection_impl.h"
#include "source/common/network/listener_impl.h"

namespace Skiff::Server {

// One accepted connection plus the listener config it was accepted under.
class ConnectionHandlerImpl::ActiveConnection : public Network::ConnectionCallbacks,
                                                public Event::DeferredDeletable {
 public:
  ActiveConnection(ActiveListener& listener, Network::ConnectionPtr&& connection,
                   ListenerConfigConstSharedPtr config, Overload::ConnectionLimit::Slot global,
                   Overload::ConnectionLimit::Slot listener_slot)
      : listener_(&listener),
        connection_(std::move(connection)),
        config_(std::move(config)),
        start_(std::chrono::steady_clock::now()),
        global_slot_(std::move(global)),
        listener_slot_(std::move(listener_slot)) {
    connection_->addConnectionCallbacks(*this);
  }

  void onEvent(Network::ConnectionEvent event) override;

  ActiveListener* listener_;
  Network::ConnectionPtr connection_;
  const ListenerConfigConstSharedPtr config_;
  const std::chrono::steady_clock::time_point start_;
  // Given back when the connection closes, so the limits count open connections only.
  Overload::ConnectionLimit::Slot global_slot_;
  Overload::ConnectionLimit::Slot listener_slot_;
  ActiveConnectionList::iterator self_;
};

// A listener on this worker: its accept loop (none with bind_to_port: false) and its open
// connections.
class ConnectionHandlerImpl::ActiveListener : public Network::ListenerCallbacks,
                                              public Event::DeferredDeletable {
 public:
  ActiveListener(ConnectionHandlerImpl& parent, ListenerConfigConstSharedPtr config, int fd)
      : parent_(parent), config_(std::move(config)) {
    listenOn(fd);
  }

  // Accepts on `fd` from now on; -1: accepts nothing itself (bind_to_port: false).
  void listenOn(int fd) {
    fd_ = fd;
    listener_.reset();
    if (fd >= 0) {
      listener_ = std::make_unique<Network::ListenerImpl>(parent_.dispatcher_, fd, *this);
      if (parent_.accept_paused_) {
        listener_->disable();  // stop_accepting_connections is active on this worker.
      }
    }
  }

  void onAccept(Network::IoHandlePtr&& socket,
                Network::Address::InstanceConstSharedPtr remote) override;
  void onAcceptResourceFailure(int error) override {
    config_->stats->downstream_cx_accept_resource_failure.inc();
  }
  // Runs the listener filters on `socket`, then hands it to the listener of its original
  // destination (only if `may_hand_off`: a handed-off socket is never handed on) or serves it.
  void onSocket(Network::AcceptedSocket socket, bool may_hand_off);
  void newConnection(Network::AcceptedSocket socket);

  ConnectionHandlerImpl& parent_;
  ListenerConfigConstSharedPtr config_;
  int fd_{-1};
  Network::ListenerPtr listener_;  // Null once stopped, or when the listener does not bind.
  bool accepting_{true};           // False once stopped or removed: no hand-off to it either.
  std::string indexed_as_;         // Its key in by_address_ ("" if none).
  ActiveConnectionList connections_;
  Event::TimerPtr drain_timer_;
  Event::TimerPtr update_drain_timer_;
};

void ConnectionHandlerImpl::ActiveListener::onAccept(
    Network::IoHandlePtr&& socket, Network::Address::InstanceConstSharedPtr remote) {
  // A wildcard listener learns the address the client reached from the socket; a specific one
  // already knows it.
  Network::Address::InstanceConstSharedPtr local = config_->address;
  if (local->isAnyAddress()) {
    if (auto actual = Network::localAddress(socket->fd()); actual != nullptr) {
      local = std::move(actual);
    }
  }
  onSocket(Network::AcceptedSocket(std::move(socket), std::move(local), std::move(remote)),
           /*may_hand_off=*/true);
}

void ConnectionHandlerImpl::ActiveListener::onSocket(Network::AcceptedSocket socket,
                                                     bool may_hand_off) {
  // Hold the config: a filter cannot change it, but this keeps the whole accept on one version.
  const ListenerConfigConstSharedPtr config = config_;
  for (const auto& filter : config->listener_filters) {
    filter(socket);
  }
  if (may_hand_off && config->use_original_dst && socket.localAddressRestored()) {
    ActiveListener* target = parent_.findListenerByAddress(*socket.localAddress());
    if (target != nullptr && target != this) {
      // Same worker, same dispatcher iteration: no second accept, no cross-thread step. The
      // target runs its own listener filters (as in Envoy) but never hands the socket on again.
      target->onSocket(std::move(socket), /*may_hand_off=*/false);
      return;
    }
  }
  newConnection(std::move(socket));
}

void ConnectionHandlerImpl::ActiveListener::newConnection(Network::AcceptedSocket socket) {
  const ListenerConfig& config = *config_;
  Overload::ConnectionLimit::Slot global_slot;
  Overload::ConnectionLimit::Slot listener_slot;
  if (!parent_.admitConnection(config, global_slot, listener_slot)) {
    return;  // The socket closes here, before any read: the client sees its connection end.
  }
  Network::Address::InstanceConstSharedPtr local = socket.localAddress();
  const bool restored = socket.localAddressRestored();
  auto connection = std::make_unique<Network::ConnectionImpl>(
      parent_.dispatcher_, socket.releaseIoHandle(), socket.remoteAddress(), local, true, restored);
  const FilterChainConfig* chain = config.findFilterChain(local->port());
  if (chain == nullptr) {
    config.stats->no_filter_chain_match.inc();
    connection->close(Network::ConnectionCloseType::NoFlush);
    parent_.dispatcher_.deferredDelete(std::move(connection));
    return;
  }
  connection->setBufferLimits(config.per_connection_buffer_limit_bytes);
  for (const auto& factory : chain->filter_factories) {
    factory(*connection);
  }
  config.stats->downstream_cx_total.inc();
  config.stats->downstream_cx_active.inc();
  parent_.num_connections_.fetch_add(1, std::memory_order_relaxed);

  Network::Connection& raw = *connection;
  connections_.push_front(std::make_unique<ActiveConnection>(
      *this, std::move(connection), config_, std::move(global_slot), std::move(listener_slot)));
  connections_.front()->self_ = connections_.begin();
  // Filters may close the connection right away (no cluster, say); onEvent then cleans up.
  raw.initializeReadFilters();
}

void ConnectionHandlerImpl::ActiveConnection::onEvent(Network::ConnectionEvent event) {
  if (event == Network::ConnectionEvent::Connected) {
    return;
  }
  config_->stats->downstream_cx_active.dec();
  config_->stats->downstream_cx_destroy.inc();
  config_->stats->downstream_cx_length_ms.recordValue(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                            start_)
          .count());
  global_slot_.reset();
  listener_slot_.reset();
  ActiveListener& listener = *listener_;
  ConnectionHandlerImpl& handler = listener.parent_;
  handler.num_connections_.fetch_sub(1, std::memory_order_relaxed);
  // We are inside the connection's own callback: unlink now, destroy after this iteration.
  std::unique_ptr<ActiveConnection> me = std::move(*self_);
  listener.connections_.erase(self_);
  handler.dispatcher_.deferredDelete(std::move(me));

  if (listener.listener_ == nullptr && listener.connections_.empty()) {
    // A removed listener's last connection is gone; free the listener too, after this
    // iteration, since a caller up the stack may still be looking at its connection list.
    for (auto it = handler.draining_.begin(); it != handler.draining_.end(); ++it) {
      if (it->get() == &listener) {
        handler.dispatcher_.deferredDelete(std::move(*it));
        handler.draining_.erase(it);
        break;
      }
    }
  }
}

ConnectionHandlerImpl::ConnectionHandlerImpl(Event::Dispatcher& dispatcher)
    : dispatcher_(dispatcher) {}

ConnectionHandlerImpl::~ConnectionHandlerImpl() { closeAllConnections(); }

void ConnectionHandlerImpl::addOrUpdateListener(
    ListenerConfigConstSharedPtr config, int listen_fd,
    std::optional<std::chrono::milliseconds> drain_old_connections) {
  auto it = listeners_.find(config->name);
  if (it == listeners_.end()) {
    std::string name = config->name;
    auto listener = std::make_unique<ActiveListener>(*this, std::move(config), listen_fd);
    indexAddress(*listener);
    listeners_[name] = std::move(listener);
    return;
  }
  ActiveListener& listener = *it->second;
  const bool moved = listener.config_->address->asString() != config->address->asString();
  listener.config_ = std::move(config);
  if (moved) {
    unindexAddress(listener);
    indexAddress(listener);
  }
  if (listener.fd_ != listen_fd) {
    // New address (or it starts or stops binding): accept on the new socket from now on. The old
    // socket stays open (owned by the listener manager) until every worker has switched, so
    // nothing queued on it is lost early.
    listener.listenOn(listen_fd);
  }
  if (drain_old_connections.has_value()) {
    ActiveListener* raw = &listener;
    // Filters with a clean end point (HTTP: after the current response) end there; the timer
    // below closes whatever is left.
    std::vector<Network::Connection*> stale;
    for (auto& connection : raw->connections_) {
      if (connection->config_->tag != raw->config_->tag) {
        stale.push_back(connection->connection_.get());
      }
    }
    for (Network::Connection* connection : stale) {
      if (connection->state() == Network::Connection::State::Open) {
        connection->startDrain();
      }
    }
    listener.update_drain_timer_ = dispatcher_.createTimer([this, raw] {
      // Close what was accepted under an older config; collect first, since closing unlinks.
      std::vector<Network::Connection*> stale;
      for (auto& connection : raw->connections_) {
        if (connection->config_->tag != raw->config_->tag) {
          stale.push_back(connection->connection_.get());
        }
      }
      for (Network::Connection* connection : stale) {
        connection->close(Network::ConnectionCloseType::FlushWrite);
      }
    });
    listener.update_drain_timer_->enableTimer(*drain_old_connections);
  }
}

void ConnectionHandlerImpl::removeListener(const std::string& name,
                                           std::chrono::milliseconds drain_time) {
  auto it = listeners_.find(name);
  if (it == listeners_.end()) {
    return;
  }
  std::unique_ptr<ActiveListener> listener = std::move(it->second);
  listeners_.erase(it);
  unindexAddress(*listener);
  listener->accepting_ = false;
  listener->listener_.reset();
  if (listener->connections_.empty()) {
    return;
  }
  ActiveListener* raw = listener.get();
  drainConnections(raw->connections_);
  draining_.push_back(std::move(listener));
  raw->drain_timer_ = dispatcher_.createTimer([this, raw] { closeConnections(raw->connections_); });
  raw->drain_timer_->enableTimer(drain_time);
}

void ConnectionHandlerImpl::stopListeners() {
  for (auto& [name, listener] : listeners_) {
    listener->accepting_ = false;
    listener->listener_.reset();
    drainConnections(listener->connections_);
  }
}

void ConnectionHandlerImpl::drainConnections(ActiveConnectionList& connections) {
  // A filter may close its connection right away (an idle HTTP connection), which unlinks it from
  // the list: collect first.
  std::vector<Network::Connection*> open;
  for (auto& connection : connections) {
    open.push_back(connection->connection_.get());
  }
  for (Network::Connection* connection : open) {
    if (connection->state() == Network::Connection::State::Open) {
      connection->startDrain();
    }
  }
}

void ConnectionHandlerImpl::indexAddress(ActiveListener& listener) {
  // An update that moves an address from one listener to another in one step adds the new owner
  // before removing the old one; the newest listener for an address wins, and the old one's
  // removal leaves the entry alone (unindexAddress checks the owner).
  listener.indexed_as_ = listener.config_->address->asString();
  by_address_.insert_or_assign(listener.indexed_as_, &listener);
}

void ConnectionHandlerImpl::unindexAddress(ActiveListener& listener) {
  auto it = by_address_.find(listener.indexed_as_);
  if (it != by_address_.end() && it->second == &listener) {
    by_address_.erase(it);
  }
  listener.indexed_as_.clear();
}

ConnectionHandlerImpl::ActiveListener* ConnectionHandlerImpl::findListenerByAddress(
    const Network::Address::Instance& destination) const {
  auto it = by_address_.find(destination.asString());
  if (it != by_address_.end() && it->second->accepting_) {
    return it->second;
  }
  const std::string any = destination.version() == Network::Address::IpVersion::v4
                              ? absl::StrCat("0.0.0.0:", destination.port())
                              : absl::StrCat("[::]:", destination.port());
  it = by_address_.find(any);
  if (it != by_address_.end() && it->second->accepting_) {
    return it->second;
  }
  return nullptr;
}

void ConnectionHandlerImpl::closeConnections(ActiveConnectionList& connections) {
  // close() raises the close event, which unlinks the entry from the list; take the front each
  // time rather than iterating.
  while (!connections.empty()) {
    connections.front()->connection_->close(Network::ConnectionCloseType::NoFlush);
  }
}

void ConnectionHandlerImpl::closeAllConnections() {
  for (auto& [name, listener] : listeners_) {
    closeConnections(listener->connections_);
  }
  std::vector<ActiveListener*> draining;
  for (auto& listener : draining_) {
    draining.push_back(listener.get());
  }
  // Each listener is freed by deferred deletion once empty, so the pointers stay valid here.
  for (ActiveListener* listener : draining) {
    closeConnections(listener->connections_);
  }
}

bool ConnectionHandlerImpl::admitConnection(const ListenerConfig& config,
                                            Overload::ConnectionLimit::Slot& global,
                                            Overload::ConnectionLimit::Slot& listener) {
  // The listener's own limit first, as Envoy does: a full listener should not use up global
  // slots, and its overflow is counted where it belongs.
  if (!Overload::tryAcquireSlot(config.connection_limit, listener)) {
    config.stats->downstream_cx_overflow.inc();
    return false;
  }
  if (!Overload::tryAcquireSlot(global_connection_limit_, global)) {
    config.stats->downstream_global_cx_overflow.inc();
    listener.reset();
    return false;
  }
  return true;
}

void ConnectionHandlerImpl::setAcceptPaused(bool paused) {
  if (paused == accept_paused_) {
    return;
  }
  accept_paused_ = paused;
  for (auto& [name, listener] : listeners_) {
    if (listener->listener_ != nullptr) {
      if (paused) {
        listener->listener_->disable();
      } else {
        listener->listener_->enable();
      }
    }
  }
}

}  // namespace Skiff::Server
