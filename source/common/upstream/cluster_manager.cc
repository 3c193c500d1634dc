#include "source/common/upstream/cluster_manager.h"

#include <algorithm>
#include <optional>
#include <random>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "source/common/config/utility.h"
#include "source/common/upstream/cluster_health.h"
#include "source/common/upstream/cluster_snapshot.h"
#include "source/common/upstream/http_conn_pool.h"
#include "source/common/upstream/http_conn_pool_map.h"

namespace Skiff::Upstream {

namespace {

// How often a worker checks whether replaced clusters' requests are done.
constexpr std::chrono::milliseconds kDrainSweepInterval{1000};

// A seed for a load balancer's generator. std::random_device is read once per thread: each read
// is a system call or RDRAND (slow in many VMs), and a worker makes a ThreadLocalCluster for
// every cluster it serves and again after each change to it. splitmix64 steps
// give every cluster on the thread its own well-mixed seed.
uint64_t lbSeed() {
  thread_local uint64_t state = (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  state += 0x9e3779b97f4a7c15;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

// Whether two Cluster protos differ at most in load_assignment. Compares in place: copying both
// to clear their endpoints first cost two full proto copies per updated cluster.
bool sameExceptEndpoints(const envoy::config::cluster::v3::Cluster& a,
                         const envoy::config::cluster::v3::Cluster& b) {
  google::protobuf::util::MessageDifferencer differencer;
  differencer.IgnoreField(envoy::config::cluster::v3::Cluster::descriptor()->FindFieldByNumber(
      envoy::config::cluster::v3::Cluster::kLoadAssignmentFieldNumber));
  return differencer.Compare(a, b);
}

}  // namespace

ThreadLocalCluster::ThreadLocalCluster(ClusterInfoConstSharedPtr info, ClusterConnPools* pools)
    : info_(std::move(info)), pools_(pools), random_state_(lbSeed() | 1) {
  current_weights_.assign(info_->hosts.size(), 0);
  active_requests_.assign(info_->hosts.size(), 0);
  pool_cache_.assign(info_->hosts.size(), nullptr);
}

ThreadLocalCluster::~ThreadLocalCluster() = default;

uint64_t ThreadLocalCluster::nextRandom() {
  // xorshift64*: cheap, per worker, no shared state.
  random_state_ ^= random_state_ >> 12;
  random_state_ ^= random_state_ << 25;
  random_state_ ^= random_state_ >> 27;
  return random_state_ * 2685821657736338717ULL;
}

void ThreadLocalCluster::refreshHealthyHosts() {
  const auto& hosts = info_->hosts;
  health_generation_ = info_->health_state->generation.load(std::memory_order_acquire);
  candidates_.clear();
  size_t counted = hosts.size();  // The panic threshold's denominator.
  for (uint32_t i = 0; i < hosts.size(); ++i) {
    if (hosts[i].healthy()) {
      candidates_.push_back(i);
    } else if (info_->ignore_new_hosts_until_first_hc && hosts[i].health != nullptr &&
               (hosts[i].health->flags() & HealthFlag::kPendingActiveHc)) {
      --counted;  // Excluded: not checked yet, so it says nothing about the cluster's health.
    }
  }
  // Envoy's panic threshold: with too few healthy hosts, spreading over all of them beats
  // overloading the few that pass (and failing checks may be the checker's problem). With
  // every host excluded, nothing is healthy either: panic.
  panic_ = !hosts.empty() &&
           (counted == 0 ? info_->healthy_panic_threshold > 0
                         : candidates_.size() * 100 <
                               static_cast<uint64_t>(info_->healthy_panic_threshold) * counted);
  if (panic_) {
    candidates_.resize(hosts.size());
    for (uint32_t i = 0; i < hosts.size(); ++i) {
      candidates_[i] = i;
    }
  }
  std::fill(current_weights_.begin(), current_weights_.end(), 0);
}

const Host* ThreadLocalCluster::chooseHost(const LoadBalancerContext* context) {
  if (info_->type == ClusterType::OriginalDst) {
    const Network::Address::InstanceConstSharedPtr* destination =
        context != nullptr ? context->restoredDestination() : nullptr;
    if (destination == nullptr || *destination == nullptr) {
      return nullptr;
    }
    if (pools_ != nullptr) {
      return &pools_->originalDstHost(*destination);
    }
    original_dst_host_ = Host{*destination, 1};
    return &original_dst_host_;
  }
  // One atomic load per pick: the list is rebuilt only when some host's health changed.
  if (info_->health_state->generation.load(std::memory_order_acquire) != health_generation_) {
    refreshHealthyHosts();
  }
  if (candidates_.empty()) {
    return nullptr;
  }
  if (panic_) {
    info_->stats->lb_healthy_panic.inc();
  }
  const Host* host = &pickCandidate();
  const uint32_t reselects = context != nullptr ? context->hostSelectionRetryCount() : 0;
  for (uint32_t i = 0; i < reselects && context->shouldSelectAnotherHost(*host); ++i) {
    host = &pickCandidate();
  }
  return host;
}

const Host& ThreadLocalCluster::pickCandidate() {
  const auto& hosts = info_->hosts;
  const size_t n = candidates_.size();
  switch (info_->lb_policy) {
    case LbPolicy::Random:
      return hosts[candidates_[nextRandom() % n]];
    case LbPolicy::LeastRequest: {
      if (n == 1) {
        return hosts[candidates_[0]];
      }
      // Power of two choices (Envoy's default choice_count 2): two random hosts, the one with
      // fewer requests in flight on this worker wins (relative to its weight when weighted).
      const uint64_t r = nextRandom();
      size_t a = (r >> 32) % n;
      size_t b = (r & 0xffffffff) % (n - 1);
      if (b >= a) {
        ++b;  // Two distinct hosts.
      }
      a = candidates_[a];
      b = candidates_[b];
      const uint64_t load_a = static_cast<uint64_t>(active_requests_[a]) * hosts[b].weight;
      const uint64_t load_b = static_cast<uint64_t>(active_requests_[b]) * hosts[a].weight;
      return hosts[load_b < load_a ? b : a];
    }
    case LbPolicy::RoundRobin:
      break;
  }
  if (!info_->weighted) {
    const Host& host = hosts[candidates_[rr_index_ % n]];
    ++rr_index_;
    return host;
  }
  // Smooth weighted round robin: spreads a heavy host's turns instead of bunching them.
  int64_t total = 0;
  size_t best = candidates_[0];
  for (const uint32_t i : candidates_) {
    current_weights_[i] += hosts[i].weight;
    total += hosts[i].weight;
    if (current_weights_[i] > current_weights_[best]) {
      best = i;
    }
  }
  current_weights_[best] -= total;
  return hosts[best];
}

HttpConnPool* ThreadLocalCluster::httpConnPool(const Host& host) {
  if (pools_ == nullptr) {
    return nullptr;
  }
  if (!ownsHost(host)) {
    return pools_->pool(host);  // ORIGINAL_DST: the entry chooseHost() made.
  }
  HttpConnPool*& cached = pool_cache_[hostIndex(host)];
  if (cached == nullptr) {
    // Valid as long as this object is current: only set()/remove(), which replace it, retire
    // pools of a static cluster.
    cached = pools_->pool(host);
  }
  return cached;
}

void ThreadLocalCluster::onRequestStart(const Host& host) {
  ++outstanding_;
  if (ownsHost(host)) {
    ++active_requests_[hostIndex(host)];
    return;
  }
  if (pools_ == nullptr) {
    return;
  }
  // An ORIGINAL_DST host: its entry stays (even retired) while a request is counted on it.
  auto [it, inserted] = original_dst_in_flight_.try_emplace(&host, nullptr, 0);
  if (inserted) {
    PooledHost* entry = pools_->find(host.address->asString());
    if (entry == nullptr || &entry->host != &host) {
      original_dst_in_flight_.erase(it);
      return;
    }
    it->second.first = entry;
  }
  ++it->second.first->active_requests;
  ++it->second.second;
}

void ThreadLocalCluster::onRequestDone(const Host& host) {
  --outstanding_;
  if (ownsHost(host)) {
    --active_requests_[hostIndex(host)];
    return;
  }
  auto it = original_dst_in_flight_.find(&host);
  if (it == original_dst_in_flight_.end()) {
    return;
  }
  --it->second.first->active_requests;
  if (--it->second.second == 0) {
    original_dst_in_flight_.erase(it);
  }
}

ThreadLocalClusterManager::ThreadLocalClusterManager(Event::Dispatcher* dispatcher,
                                                     const HttpConnPoolFactory* pool_factory)
    : dispatcher_(dispatcher),
      pools_(std::make_unique<HttpConnPoolMap>(dispatcher, pool_factory)),
      snapshot_(std::make_shared<const ClusterSnapshot>()) {}

ThreadLocalClusterManager::~ThreadLocalClusterManager() {
  draining_.clear();
  used_.clear();
  pools_.reset();
}

size_t ThreadLocalClusterManager::size() const { return snapshot_->size(); }

ThreadLocalCluster* ThreadLocalClusterManager::get(absl::string_view name) {
  auto it = used_.find(name);
  if (it != used_.end()) {
    return it->second.get();
  }
  const ClusterInfoConstSharedPtr* info = snapshot_->find(name);
  if (info == nullptr) {
    return nullptr;
  }
  auto cluster = std::make_unique<ThreadLocalCluster>(*info, &pools_->forCluster(*info));
  ThreadLocalCluster* raw = cluster.get();
  used_.emplace(absl::string_view(raw->info()->name), std::move(cluster));
  return raw;
}

void ThreadLocalClusterManager::update(std::shared_ptr<const ClusterSnapshot> snapshot,
                                       const std::vector<absl::string_view>& changed) {
  // The old snapshot is released here; whoever published the update holds it too, so its
  // clusters are not freed on this thread.
  snapshot_ = std::move(snapshot);
  if (changed.size() <= used_.size() + pools_->clusterCount()) {
    for (absl::string_view name : changed) {
      sync(name);
    }
    return;
  }
  // A big update on a worker that serves few clusters: check those instead of the update.
  std::vector<std::string> mine;
  mine.reserve(used_.size() + pools_->clusterCount());
  for (const auto& [name, cluster] : used_) {
    mine.emplace_back(name);
  }
  pools_->forEachClusterName([&mine](absl::string_view name) { mine.emplace_back(name); });
  for (const std::string& name : mine) {
    sync(name);
  }
}

void ThreadLocalClusterManager::sync(absl::string_view name) {
  const ClusterInfoConstSharedPtr* now = snapshot_->find(name);
  auto it = used_.find(name);
  if (it != used_.end() && (now == nullptr || it->second->info() != *now)) {
    // Changed or gone: requests in flight finish on the old state; the next one makes new state
    // from the new info. Erased before retire(): the key views the old info's name.
    std::unique_ptr<ThreadLocalCluster> old = std::move(it->second);
    used_.erase(it);
    retire(std::move(old));
  }
  // Pools can outlive the state (kept for the hosts that stay), so they are checked on their own.
  if (now == nullptr) {
    pools_->removeCluster(std::string(name));
  } else {
    pools_->updateIfPresent(*now);
  }
}

void ThreadLocalClusterManager::set(ClusterInfoConstSharedPtr info) {
  const std::string name = info->name;
  update(snapshot_->update({std::move(info)}, {}), {name});
}

void ThreadLocalClusterManager::remove(const std::string& name) {
  update(snapshot_->update({}, {name}), {name});
}

void ThreadLocalCluster::detachPools() {
  pools_ = nullptr;
  std::fill(pool_cache_.begin(), pool_cache_.end(), nullptr);
}

void ThreadLocalClusterManager::retire(std::unique_ptr<ThreadLocalCluster> cluster) {
  cluster->detachPools();
  if (cluster->outstandingRequests() == 0) {
    return;  // Nothing refers to it any more (see ThreadLocalCluster's lifetime rule).
  }
  draining_.push_back(std::move(cluster));
  if (dispatcher_ == nullptr) {
    return;
  }
  if (sweep_timer_ == nullptr) {
    sweep_timer_ = dispatcher_->createTimer([this] { sweepDraining(); });
  }
  if (!sweep_timer_->enabled()) {
    sweep_timer_->enableTimer(kDrainSweepInterval);
  }
}

void ThreadLocalClusterManager::drainConnPools() { pools_->drainAll(); }

void ThreadLocalClusterManager::sweepDraining() {
  for (auto it = draining_.begin(); it != draining_.end();) {
    if ((*it)->outstandingRequests() == 0) {
      it = draining_.erase(it);
    } else {
      ++it;
    }
  }
  if (!draining_.empty()) {
    sweep_timer_->enableTimer(kDrainSweepInterval);
  }
}

ClusterManager::ClusterManager(Stats::Store& stats, std::vector<Event::Dispatcher*> workers,
                               Event::Dispatcher& main, HttpConnPoolFactory pool_factory,
                               bool deferred_stats)
    : stats_(stats),
      pool_factory_(std::move(pool_factory)),
      deferred_stats_(deferred_stats),
      slot_(workers, main,
            [this, workers, next = size_t{0}]() mutable {
              return std::make_unique<ThreadLocalClusterManager>(workers[next++], &pool_factory_);
            }),
      main_(main),
      snapshot_(std::make_shared<const ClusterSnapshot>()) {}

ClusterManager::~ClusterManager() {
  // Checkers and detectors (timers, connections on main) go first.
  health_.clear();
}

std::unique_ptr<ClusterStats> generateClusterStats(Stats::Store& store, const std::string& name) {
  std::string p = absl::StrCat("cluster.", name, ".");
  auto stats = std::unique_ptr<ClusterStats>(new ClusterStats{
      store.counter(p + "upstream_cx_total"),
      store.gauge(p + "upstream_cx_active"),
      store.counter(p + "upstream_cx_connect_fail"),
      store.counter(p + "upstream_cx_connect_timeout"),
      store.counter(p + "upstream_cx_destroy"),
      store.counter(p + "upstream_cx_none_healthy"),
      store.counter(p + "upstream_cx_rx_bytes_total"),
      store.counter(p + "upstream_cx_tx_bytes_total"),
      store.histogram(p + "upstream_cx_connect_ms", Stats::Histogram::Unit::Milliseconds),
      store.histogram(p + "upstream_cx_length_ms", Stats::Histogram::Unit::Milliseconds),
      store.gauge(p + "membership_total"),
      store.counter(p + "upstream_cx_http1_total"),
      store.counter(p + "upstream_cx_overflow"),
      store.counter(p + "upstream_cx_idle_timeout"),
      store.counter(p + "upstream_cx_max_requests"),
      store.counter(p + "upstream_cx_destroy_local"),
      store.counter(p + "upstream_cx_destroy_remote"),
      store.counter(p + "upstream_cx_destroy_with_active_rq"),
      store.counter(p + "upstream_cx_protocol_error"),
      store.counter(p + "upstream_rq_total"),
      store.gauge(p + "upstream_rq_active"),
      store.counter(p + "upstream_rq_pending_total"),
      store.gauge(p + "upstream_rq_pending_active"),
      store.counter(p + "upstream_rq_pending_overflow"),
      store.counter(p + "upstream_rq_pending_failure_eject"),
      store.counter(p + "upstream_rq_cancelled"),
      store.counter(p + "upstream_rq_pool_retry"),
      store.counter(p + "upstream_rq_timeout"),
      store.counter(p + "upstream_rq_per_try_timeout"),
      store.counter(p + "upstream_rq_rx_reset"),
      store.counter(p + "upstream_rq_tx_reset"),
      store.counter(p + "upstream_rq_retry"),
      store.counter(p + "upstream_rq_retry_success"),
      store.counter(p + "upstream_rq_retry_overflow"),
      store.counter(p + "upstream_rq_retry_limit_exceeded"),
      store.counter(p + "upstream_rq_completed"),
      {},
      store.histogram(p + "upstream_rq_time", Stats::Histogram::Unit::Milliseconds),
      store.gauge(p + "membership_healthy"),
      store.counter(p + "lb_healthy_panic"),
  });
  for (int i = 0; i < 5; ++i) {
    stats->upstream_rq_class[i] = &store.counter(absl::StrCat(p, "upstream_rq_", i + 1, "xx"));
  }
  return stats;
}

ClusterStatsHandle::ClusterStatsHandle(Stats::Store& store, const std::string& cluster_name,
                                       bool deferred)
    : store_(&store),
      name_(cluster_name),
      membership_total_(store.gauge(absl::StrCat("cluster.", cluster_name, ".membership_total"))),
      membership_healthy_(
          store.gauge(absl::StrCat("cluster.", cluster_name, ".membership_healthy"))) {
  if (!deferred) {
    create();
  }
}

ClusterStatsHandle::ClusterStatsHandle(ClusterStats& stats)
    : store_(nullptr),
      membership_total_(stats.membership_total),
      membership_healthy_(stats.membership_healthy),
      stats_(&stats) {}

ClusterStats& ClusterStatsHandle::create() const {
  Thread::LockGuard lock(mutex_);
  if (owned_ == nullptr) {
    owned_ = generateClusterStats(*store_, name_);
    stats_.store(owned_.get(), std::memory_order_release);
  }
  return *owned_;
}

const ClusterStatsHandle& ClusterManager::statsFor(const std::string& name) {
  auto& entry = cluster_stats_[name];
  if (entry == nullptr) {
    entry = std::make_unique<ClusterStatsHandle>(stats_, name, deferred_stats_);
  }
  return *entry;
}

absl::StatusOr<std::shared_ptr<ClusterInfo>> buildClusterInfo(
    const envoy::config::cluster::v3::Cluster& config) {
  auto info = std::make_shared<ClusterInfo>();
  info->name = config.name();
  info->connect_timeout =
      SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(config, connect_timeout, Config::kDefaultConnectTimeout);
  if (config.has_per_connection_buffer_limit_bytes()) {
    info->per_connection_buffer_limit_bytes = config.per_connection_buffer_limit_bytes().value();
  }
  // Circuit breakers: the DEFAULT priority's thresholds (HIGH is not routed to separately).
  std::optional<uint32_t> max_connections, max_pending, max_requests, max_retries;
  for (const auto& thresholds : config.circuit_breakers().thresholds()) {
    if (thresholds.priority() != envoy::config::core::v3::DEFAULT) {
      continue;
    }
    if (thresholds.has_max_connections()) {
      max_connections = thresholds.max_connections().value();
    }
    if (thresholds.has_max_pending_requests()) {
      max_pending = thresholds.max_pending_requests().value();
    }
    if (thresholds.has_max_requests()) {
      max_requests = thresholds.max_requests().value();
    }
    if (thresholds.has_max_retries()) {
      max_retries = thresholds.max_retries().value();
    }
  }
  const ResourceManager& rm = *info->resource_manager;  // Envoy's defaults.
  // A ResourceLimit's limit is fixed at construction: build a new manager if any is configured.
  if (max_connections || max_pending || max_requests || max_retries) {
    info->resource_manager.reset(new ResourceManager{
        ResourceLimit(max_connections.value_or(rm.connections.max())),
        ResourceLimit(max_pending.value_or(rm.pending_requests.max())),
        ResourceLimit(max_requests.value_or(rm.requests.max())),
        ResourceLimit(max_retries.value_or(rm.retries.max())),
    });
  }
  if (config.has_common_http_protocol_options()) {
    const auto& options = config.common_http_protocol_options();
    info->http_idle_timeout =
        SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(options, idle_timeout, info->http_idle_timeout);
    info->max_requests_per_connection =
        SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(options, max_requests_per_connection, 0);
    info->max_response_headers_count =
        SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(options, max_headers_count, 100);
  }
  if (config.has_common_lb_config() && config.common_lb_config().has_healthy_panic_threshold()) {
    // Truncated to whole percent, as in Envoy.
    const double percent = config.common_lb_config().healthy_panic_threshold().value();
    info->healthy_panic_threshold = static_cast<uint32_t>(std::clamp(percent, 0.0, 100.0));
  }
  info->ignore_new_hosts_until_first_hc =
      config.common_lb_config().ignore_new_hosts_until_first_hc();
  if (config.lb_policy() == envoy::config::cluster::v3::Cluster::RANDOM) {
    info->lb_policy = LbPolicy::Random;
  } else if (config.lb_policy() == envoy::config::cluster::v3::Cluster::LEAST_REQUEST) {
    info->lb_policy = LbPolicy::LeastRequest;
  }
  if (config.type() == envoy::config::cluster::v3::Cluster::ORIGINAL_DST) {
    info->type = ClusterType::OriginalDst;
  }
  info->cleanup_interval =
      SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(config, cleanup_interval, info->cleanup_interval);
  if (config.has_upstream_bind_config()) {
    const auto& bind = config.upstream_bind_config();
    if (bind.has_source_address()) {
      const auto& sa = bind.source_address();
      auto source = Network::Address::Instance::parse(sa.address(), sa.port_value());
      if (!source.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("cluster '", config.name(),
                         "': upstream_bind_config.source_address: ", source.status().message()));
      }
      info->upstream_bind.source_address = *source;
    }
    info->upstream_bind.freebind = bind.has_freebind() && bind.freebind().value();
  }
  for (const auto& locality : config.load_assignment().endpoints()) {
    for (const auto& lb_endpoint : locality.lb_endpoints()) {
      const auto& socket = lb_endpoint.endpoint().address().socket_address();
      auto address = Network::Address::Instance::parse(socket.address(), socket.port_value());
      if (!address.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("cluster '", config.name(), "': endpoint: ", address.status().message()));
      }
      Host host{*address, 1, std::make_shared<HostHealth>()};
      // Envoy treats UNHEALTHY, DRAINING and TIMEOUT from the control plane as unhealthy.
      const auto status = lb_endpoint.health_status();
      if (status == envoy::config::core::v3::UNHEALTHY ||
          status == envoy::config::core::v3::DRAINING ||
          status == envoy::config::core::v3::TIMEOUT) {
        host.health->setFlags(HealthFlag::kFailedEdsHealth);
      }
      if (lb_endpoint.has_load_balancing_weight()) {
        host.weight = std::max<uint32_t>(1, lb_endpoint.load_balancing_weight().value());
        info->weighted |= host.weight != 1;
      }
      info->hosts.push_back(std::move(host));
    }
  }
  return info;
}

absl::StatusOr<ClusterInfoConstSharedPtr> ClusterManager::buildInfo(
    envoy::config::cluster::v3::Cluster config, const std::string& version_info) {
  auto info = buildClusterInfo(config);
  if (!info.ok()) {
    return info.status();
  }
  (*info)->version_info = version_info;
  (*info)->last_updated = std::chrono::system_clock::now();
  const ClusterStatsHandle& stats = statsFor(config.name());
  (*info)->stats = &stats;
  stats.membershipTotal().set((*info)->hosts.size());
  if (auto status = applyHealth(**info, config); !status.ok()) {
    return status;
  }
  carryOverConnectionSettings(**info, config);
  (*info)->proto = std::move(config);  // Moved, not copied: the caller's copy is done with.
  return ClusterInfoConstSharedPtr(std::move(*info));
}

absl::Status ClusterManager::addOrUpdateCluster(const envoy::config::cluster::v3::Cluster& config,
                                                std::function<void()> applied,
                                                const std::string& version_info) {
  auto info = buildInfo(config, version_info);
  if (!info.ok()) {
    return info.status();
  }
  ClusterInfoConstSharedPtr shared = std::move(*info);
  clusters_[shared->name] = shared;
  publish({std::move(shared)}, {}, std::move(applied));
  return absl::OkStatus();
}

void ClusterManager::publish(std::vector<ClusterInfoConstSharedPtr> upserts,
                             std::vector<std::string> removes, std::function<void()> applied) {
  struct Update {
    std::vector<ClusterInfoConstSharedPtr> upserts;
    std::vector<std::string> removes;
    std::vector<absl::string_view> changed;  // Views of the two above.
    ClusterSnapshotConstSharedPtr next;
    // Released on main once every worker moved on: the clusters only it still holds (replaced
    // or removed) are freed here, not on a worker, where each of their frees would take main's
    // malloc arena lock.
    ClusterSnapshotConstSharedPtr previous;
  };
  auto update = std::make_shared<Update>();
  update->upserts = std::move(upserts);
  update->removes = std::move(removes);
  update->changed.reserve(update->upserts.size() + update->removes.size());
  for (const auto& info : update->upserts) {
    update->changed.emplace_back(info->name);
  }
  for (const auto& name : update->removes) {
    update->changed.emplace_back(name);
  }
  update->next = snapshot_->update(update->upserts, update->removes);
  update->previous = std::exchange(snapshot_, update->next);
  slot_.runOnAllWorkers(
      [update](ThreadLocalClusterManager& tls) { tls.update(update->next, update->changed); },
      [update, applied = std::move(applied)] {
        update->previous.reset();
        if (applied) {
          applied();
        }
      });
}

void ClusterManager::carryOverConnectionSettings(
    ClusterInfo& info, const envoy::config::cluster::v3::Cluster& config) {
  auto old = clusters_.find(info.name);
  if (old != clusters_.end() && sameExceptEndpoints(old->second->proto, config)) {
    // Everything but the hosts is the same (an EDS push): the workers keep the pools of hosts
    // that stay, and those pools keep counting against the same circuit breakers.
    info.connection_settings_version = old->second->connection_settings_version;
    info.resource_manager = old->second->resource_manager;
    return;
  }
  info.connection_settings_version = next_settings_version_++;
}

absl::Status ClusterManager::applyUpdate(std::vector<envoy::config::cluster::v3::Cluster> upserts,
                                         const std::vector<std::string>& removes,
                                         std::function<void()> applied,
                                         const std::string& version_info) {
  std::vector<ClusterInfoConstSharedPtr> built;
  built.reserve(upserts.size());
  absl::Status first_error;
  for (auto& config : upserts) {
    auto info = buildInfo(std::move(config), version_info);
    if (!info.ok()) {
      if (first_error.ok()) {
        first_error = info.status();
      }
      continue;
    }
    clusters_[(*info)->name] = *info;
    built.push_back(std::move(*info));
  }
  std::vector<std::string> removed;
  removed.reserve(removes.size());
  for (const auto& name : removes) {
    clusters_.erase(name);
    health_.erase(name);
    removed.push_back(name);
  }
  publish(std::move(built), std::move(removed), std::move(applied));
  return first_error;
}

absl::Status ClusterManager::applyHealth(ClusterInfo& info,
                                         const envoy::config::cluster::v3::Cluster& config) {
  auto old = clusters_.find(info.name);
  if (old != clusters_.end()) {
    // Hosts that stay (same address) keep their health; only the control plane's own verdict
    // (EDS health_status) is taken from the new config.
    info.health_state = old->second->health_state;
    absl::flat_hash_map<std::string, HostHealthSharedPtr> kept;
    for (const Host& host : old->second->hosts) {
      kept.emplace(host.address->asString(), host.health);
    }
    for (Host& host : info.hosts) {
      auto it = kept.find(host.address->asString());
      if (it == kept.end() || it->second == nullptr) {
        continue;
      }
      if (host.health->flags() & HealthFlag::kFailedEdsHealth) {
        it->second->setFlags(HealthFlag::kFailedEdsHealth);
      } else {
        it->second->clearFlags(HealthFlag::kFailedEdsHealth);
      }
      host.health = it->second;
      kept.erase(it);  // An address listed twice gets its own state the second time.
    }
  }
  auto& health = health_[info.name];
  if (health == nullptr) {
    const ClusterStatsHandle& stats = statsFor(info.name);
    // For no_traffic_interval. Deferred stats not made yet mean no connection was ever made:
    // they are not made just to read a zero.
    health = std::make_unique<ClusterHealth>(
        main_, stats_, info.name, info.health_state, stats.membershipHealthy(),
        [&stats] { return stats.created() && stats.get().upstream_cx_total.value() > 0; });
    if (health_checks_stopped_) {
      health->stopHealthChecks();
    }
  }
  return health->update(info, config);
}

ClusterHealth* ClusterManager::health(const std::string& name) {
  auto it = health_.find(name);
  return it == health_.end() ? nullptr : it->second.get();
}

void ClusterManager::stopHealthChecks() {
  health_checks_stopped_ = true;
  for (auto& [name, health] : health_) {
    health->stopHealthChecks();
  }
}

void ClusterManager::removeCluster(const std::string& name, std::function<void()> applied) {
  clusters_.erase(name);
  health_.erase(name);
  publish({}, {name}, std::move(applied));
}

void ClusterManager::drainConnPools() {
  slot_.runOnAllWorkers([](ThreadLocalClusterManager& tls) { tls.drainConnPools(); }, nullptr);
}

std::vector<ClusterInfoConstSharedPtr> ClusterManager::clusters() const {
  std::vector<ClusterInfoConstSharedPtr> out;
  for (const auto& [name, info] : clusters_) {
    out.push_back(info);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a->name < b->name; });
  return out;
}

ClusterInfoConstSharedPtr ClusterManager::find(const std::string& name) const {
  auto it = clusters_.find(name);
  return it == clusters_.end() ? nullptr : it->second;
}

}  // namespace Skiff::Upstream
