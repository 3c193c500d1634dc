#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "source/common/common/thread.h"
#include "source/common/event/dispatcher.h"
#include "source/common/network/address.h"
#include "source/common/network/connection_impl.h"
#include "source/common/stats/stats.h"
#include "source/common/thread_local/thread_local.h"
#include "source/common/upstream/host_health.h"
#include "source/common/upstream/load_balancer_context.h"

namespace Skiff::Upstream {

// Envoy's cluster stats (`cluster.<name>.*`) that the TCP proxy, the HTTP connection pools and
// the router update.
struct ClusterStats {
  Stats::Counter& upstream_cx_total;
  Stats::Gauge& upstream_cx_active;
  Stats::Counter& upstream_cx_connect_fail;
  Stats::Counter& upstream_cx_connect_timeout;
  Stats::Counter& upstream_cx_destroy;
  Stats::Counter& upstream_cx_none_healthy;
  Stats::Counter& upstream_cx_rx_bytes_total;
  Stats::Counter& upstream_cx_tx_bytes_total;
  Stats::Histogram& upstream_cx_connect_ms;
  Stats::Histogram& upstream_cx_length_ms;
  Stats::Gauge& membership_total;
  // HTTP connection pools.
  Stats::Counter& upstream_cx_http1_total;
  Stats::Counter& upstream_cx_overflow;  // max_connections refused a connection
  Stats::Counter& upstream_cx_idle_timeout;
  Stats::Counter& upstream_cx_max_requests;  // closed after max_requests_per_connection
  Stats::Counter& upstream_cx_destroy_local;
  Stats::Counter& upstream_cx_destroy_remote;
  Stats::Counter& upstream_cx_destroy_with_active_rq;
  Stats::Counter& upstream_cx_protocol_error;
  Stats::Counter& upstream_rq_total;
  Stats::Gauge& upstream_rq_active;
  Stats::Counter& upstream_rq_pending_total;
  Stats::Gauge& upstream_rq_pending_active;
  Stats::Counter& upstream_rq_pending_overflow;  // max_pending_requests or max_requests refused
  Stats::Counter& upstream_rq_pending_failure_eject;  // failed while waiting (connect failure)
  Stats::Counter& upstream_rq_cancelled;
  // Requests moved to a fresh connection after their reused one closed before any response.
  Stats::Counter& upstream_rq_pool_retry;
  // Router.
  Stats::Counter& upstream_rq_timeout;
  Stats::Counter& upstream_rq_per_try_timeout;
  Stats::Counter& upstream_rq_rx_reset;
  Stats::Counter& upstream_rq_tx_reset;
  Stats::Counter& upstream_rq_retry;
  Stats::Counter& upstream_rq_retry_success;
  Stats::Counter& upstream_rq_retry_overflow;
  Stats::Counter& upstream_rq_retry_limit_exceeded;
  Stats::Counter& upstream_rq_completed;
  // upstream_rq_1xx .. upstream_rq_5xx, indexed by status / 100 - 1.
  Stats::Counter* upstream_rq_class[5];
  Stats::Histogram& upstream_rq_time;
  // Health (upstream-health): hosts not failing a check or ejected, and load-balancer picks made
  // in panic mode (too few healthy hosts, so all were used).
  Stats::Gauge& membership_healthy;
  Stats::Counter& lb_healthy_panic;
};

/**
 * A cluster's stats, shared by every ClusterInfo of that cluster and owned by the ClusterManager
 * (which outlives them all). get() may be called from any thread.
 *
 * With deferred creation (bootstrap `deferred_stat_options.enable_deferred_creation_stats`, as in
 * Envoy) the traffic stats (`upstream_cx_*`, `upstream_rq_*`, `lb_healthy_panic`) are made in the
 * store on first use, by whichever thread uses them first: 43 name lookups and ~10 KiB less per
 * cluster that never sees traffic, which is what made a 100,000-cluster CDS push expensive. Until
 * then /stats does not list them. `membership_total` and `membership_healthy` are always made at
 * once (main sets them when the cluster is built).
 */
class ClusterStatsHandle {
 public:
  ClusterStatsHandle(Stats::Store& store, const std::string& cluster_name, bool deferred);
  // Over stats made elsewhere (tests).
  explicit ClusterStatsHandle(ClusterStats& stats);

  ClusterStats& get() const {
    ClusterStats* stats = stats_.load(std::memory_order_acquire);
    return stats != nullptr ? *stats : create();
  }
  // Whether get() has made the stats (always true without deferred creation).
  bool created() const { return stats_.load(std::memory_order_acquire) != nullptr; }
  Stats::Gauge& membershipTotal() const { return membership_total_; }
  Stats::Gauge& membershipHealthy() const { return membership_healthy_; }

 private:
  ClusterStats& create() const;

  Stats::Store* const store_;
  const std::string name_;
  Stats::Gauge& membership_total_;
  Stats::Gauge& membership_healthy_;
  mutable Thread::MutexBasicLockable mutex_;
  mutable std::unique_ptr<ClusterStats> owned_;  // Written once, under mutex_.
  mutable std::atomic<ClusterStats*> stats_{nullptr};
};

/**
 * What ClusterInfo::stats holds: reads like a pointer (`info->stats->upstream_rq_total.inc()`)
 * and makes deferred stats on first use. Any thread.
 */
class ClusterStatsRef {
 public:
  ClusterStatsRef() = default;
  ClusterStatsRef(const ClusterStatsHandle* handle) : handle_(handle) {}  // NOLINT: implicit
  ClusterStatsRef(ClusterStats* stats) : stats_(stats) {}                 // NOLINT: tests

  ClusterStats& operator*() const { return stats_ != nullptr ? *stats_ : handle_->get(); }
  ClusterStats* operator->() const { return &**this; }

 private:
  const ClusterStatsHandle* handle_{nullptr};
  ClusterStats* stats_{nullptr};
};

/**
 * One circuit-breaker resource: a limit and how much of it is in use, cluster-wide. Any thread:
 * every worker's pools of a cluster share it. The check and the increment are separate relaxed
 * operations, so workers racing for the last unit may pass the limit by at most one each, which
 * is what Envoy accepts too.
 */
class ResourceLimit {
 public:
  explicit ResourceLimit(uint64_t max) : max_(max) {}
  bool canCreate() const { return count_.load(std::memory_order_relaxed) < max_; }
  void inc() { count_.fetch_add(1, std::memory_order_relaxed); }
  void dec() { count_.fetch_sub(1, std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t max() const { return max_; }

 private:
  const uint64_t max_;
  std::atomic<uint64_t> count_{0};
};

// The cluster's CircuitBreakers (DEFAULT priority thresholds; Envoy's defaults when unset).
struct ResourceManager {
  ResourceLimit connections{1024};
  ResourceLimit pending_requests{1024};
  ResourceLimit requests{1024};
  ResourceLimit retries{3};
};

struct Host {
  Network::Address::InstanceConstSharedPtr address;
  uint32_t weight{1};
  // Shared with the main thread's health checker and outlier detector, and with the next
  // ClusterInfo of this cluster if it keeps this address (see host_health.h). Null in tests that
  // build hosts by hand: such a host is healthy.
  HostHealthSharedPtr health;

  bool healthy() const { return health == nullptr || health->healthy(); }
};

enum class LbPolicy { RoundRobin, Random, LeastRequest };

// Where a cluster's hosts come from. ORIGINAL_DST has no host list: each connection goes to the
// original destination of its downstream connection (passthrough).
enum class ClusterType { Static, OriginalDst };

/**
 * Everything about one cluster that is fixed until the next config change. Built on main,
 * immutable, shared by every worker (shared_ptr<const>). A connection keeps the ClusterInfo it
 * started with, so a cluster update never disturbs open connections.
 */
struct ClusterInfo {
  std::string name;
  std::chrono::milliseconds connect_timeout{5000};
  uint32_t per_connection_buffer_limit_bytes{1024 * 1024};
  ClusterType type{ClusterType::Static};
  LbPolicy lb_policy{LbPolicy::RoundRobin};
  std::vector<Host> hosts;             // Empty for ORIGINAL_DST.
  Network::BindOptions upstream_bind;  // upstream_bind_config: source address of connections.
  bool weighted{false};                // Some host has a weight other than 1.
  ClusterStatsRef stats;               // The ClusterManager's handle: outlives every cluster.
  // Circuit breakers: mutable counts shared by every worker (atomics) behind the immutable info.
  std::shared_ptr<ResourceManager> resource_manager = std::make_shared<ResourceManager>();
  // common_http_protocol_options, for the HTTP/1.1 pools. 0 disables the idle timeout and the
  // per-connection request limit.
  std::chrono::milliseconds http_idle_timeout{3600 * 1000};
  uint32_t max_requests_per_connection{0};
  uint32_t max_response_headers_count{100};
  // ORIGINAL_DST: a destination unused for this long loses its pool (cleanup_interval).
  std::chrono::milliseconds cleanup_interval{5000};
  // Equal between two ClusterInfos of one cluster when only the hosts differ (an EDS update):
  // workers then keep the HTTP pools of the hosts that stay. Set by ClusterManager.
  uint64_t connection_settings_version{0};
  // Health: carried across updates of this cluster (see host_health.h). `outlier` is where
  // workers report upstream results (null without outlier_detection). Below
  // healthy_panic_threshold percent of healthy hosts the load balancer uses all hosts (Envoy's
  // panic mode; 0 disables it).
  ClusterHealthStateSharedPtr health_state = std::make_shared<ClusterHealthState>();
  OutlierReporterConstSharedPtr outlier;
  uint32_t healthy_panic_threshold{50};
  // common_lb_config.ignore_new_hosts_until_first_hc: hosts pending their first active check
  // do not count toward the panic threshold (Envoy's "excluded" hosts).
  bool ignore_new_hosts_until_first_hc{false};
  envoy::config::cluster::v3::Cluster proto;  // As configured, for /config_dump.
  std::string version_info;                   // The CDS/EDS version it came with ("" if static).
  std::chrono::system_clock::time_point last_updated;
};

using ClusterInfoConstSharedPtr = std::shared_ptr<const ClusterInfo>;

// Worker thread (router, tcp_proxy): how an attempt on `host` (one of cluster.hosts; null is
// ignored) went, for outlier detection. No-op when the cluster has no outlier_detection. Cheap:
// a relaxed atomic per host; only a count reaching its threshold posts to main.
inline void reportOutlierResult(const ClusterInfo& cluster, const Host* host,
                                OutlierResult result) {
  if (cluster.outlier != nullptr && host != nullptr) {
    cluster.outlier->putResult(host->health, result);
  }
}
inline void reportOutlierHttpStatus(const ClusterInfo& cluster, const Host* host, uint32_t status) {
  if (cluster.outlier != nullptr && host != nullptr) {
    cluster.outlier->putHttpStatus(host->health, status);
  }
}

class ClusterHealth;
class ClusterConnPools;
class HttpConnPool;
class HttpConnPoolMap;
struct PooledHost;
using HttpConnPoolPtr = std::unique_ptr<HttpConnPool>;

// Makes the HTTP connection pool for one host of a cluster on one worker. Set once at start-up
// (the HTTP pool implementation lives above this layer); called on the worker.
using HttpConnPoolFactory = std::function<HttpConnPoolPtr(
    Event::Dispatcher& dispatcher, const Host& host, const ClusterInfoConstSharedPtr& cluster)>;

/**
 * A worker's view of one cluster: the shared info plus this worker's load-balancer state. Its
 * HTTP connection pools live in the worker's HttpConnPoolMap (pools outlive a ThreadLocalCluster
 * when an EDS update keeps their host). Owned and used by one worker thread only, so picking a
 * host takes no lock.
 *
 * Lifetime: when the cluster is updated or removed, the worker's ThreadLocalClusterManager
 * replaces this object but keeps it until every request counted by onRequestStart() is done. So
 * a caller between onRequestStart() and onRequestDone() may keep using this object and the host
 * it got; anything else must look the cluster up again.
 */
class ThreadLocalCluster {
 public:
  // `pools`: this cluster's pools on this worker (null: no HTTP pools, e.g. in LB tests).
  explicit ThreadLocalCluster(ClusterInfoConstSharedPtr info, ClusterConnPools* pools = nullptr);
  ~ThreadLocalCluster();

  const ClusterInfoConstSharedPtr& info() const { return info_; }
  // Next host by the cluster's policy among the healthy ones (all of them in panic mode), or
  // nullptr if there is none (no hosts, or none healthy with panic mode disabled). For
  // ORIGINAL_DST, the host for context->restoredDestination() (nullptr without a context or when
  // the downstream connection's destination was not restored from a redirect, since connecting
  // to the proxy's own listen address would loop). With pools, that host is the worker's entry
  // for the destination (valid while a request counted by onRequestStart() is on it); without,
  // it stays valid until the next chooseHost() on this object, so copy what you need at once.
  // A context whose shouldSelectAnotherHost() rejects a pick gets up to
  // hostSelectionRetryCount() more picks (each advancing the policy, as Envoy's do).
  const Host* chooseHost(const LoadBalancerContext* context = nullptr);

  // The HTTP pool for `host` (from chooseHost() on this object), made on first use; nullptr if
  // the worker has no pool factory.
  HttpConnPool* httpConnPool(const Host& host);

  // Requests in flight to `host` (from chooseHost() on this object) from this worker, for
  // LEAST_REQUEST and for this object's and the ORIGINAL_DST host's lifetime. The router counts
  // a request from pool assignment until it is done with the host.
  void onRequestStart(const Host& host);
  void onRequestDone(const Host& host);
  uint32_t activeRequests(const Host& host) const {
    return ownsHost(host) ? active_requests_[hostIndex(host)] : 0;
  }
  // Requests counted by onRequestStart() and not done yet (any host).
  uint64_t outstandingRequests() const { return outstanding_; }
  // Replaced or removed (the manager's retire): its cached pool pointers may go stale, so it
  // hands out no pool any more. Requests it counted still finish through onRequestDone().
  void detachPools();

 private:
  size_t hostIndex(const Host& host) const { return &host - info_->hosts.data(); }
  bool ownsHost(const Host& host) const {
    return &host >= info_->hosts.data() && &host < info_->hosts.data() + info_->hosts.size();
  }
  uint64_t nextRandom();
  // One pick by the cluster's policy among candidates_ (not empty).
  const Host& pickCandidate();
  // Rebuilds candidates_ from the hosts' health when the cluster's health generation moved.
  void refreshHealthyHosts();

  ClusterInfoConstSharedPtr info_;
  ClusterConnPools* pools_;
  Host original_dst_host_;  // ORIGINAL_DST without pools.
  size_t rr_index_{0};
  // Indexes of the hosts the load balancer picks from, and the health generation they reflect.
  std::vector<uint32_t> candidates_;
  uint64_t health_generation_{0};
  bool panic_{false};
  std::vector<int64_t> current_weights_;   // Smooth weighted round robin state.
  std::vector<uint32_t> active_requests_;  // Per host, this worker's requests in flight.
  // Per host index, the pool (owned by pools_), cached so a request costs no map lookup.
  std::vector<HttpConnPool*> pool_cache_;
  // ORIGINAL_DST: the pool entries requests are counted on, with how many from this object.
  absl::flat_hash_map<const Host*, std::pair<PooledHost*, uint32_t>> original_dst_in_flight_;
  uint64_t outstanding_{0};
  uint64_t random_state_;
};

class ClusterSnapshot;

// The clusters one worker can see, by name, and the worker's HTTP pools. Worker thread only.
//
// What clusters exist is a ClusterSnapshot shared by every worker; an update swaps it (one
// pointer, whatever the update's size). This worker's own state for a cluster (load-balancer
// state, pools) is made by the first get() and dropped when an update changes or removes the
// cluster. So a push of 100,000 clusters costs a worker nothing per cluster, and only the
// clusters this worker serves cost it memory.
class ThreadLocalClusterManager {
 public:
  ThreadLocalClusterManager(Event::Dispatcher* dispatcher = nullptr,
                            const HttpConnPoolFactory* pool_factory = nullptr);
  ~ThreadLocalClusterManager();

  // The cluster's worker state, made on first use; nullptr for an unknown cluster.
  ThreadLocalCluster* get(absl::string_view name);
  // Makes `snapshot` current. `changed`: every name added, replaced or removed since the current
  // one (it only needs to be complete for the clusters this worker has state for).
  void update(std::shared_ptr<const ClusterSnapshot> snapshot,
              const std::vector<absl::string_view>& changed);
  // One cluster (tests; ClusterManager publishes through update()).
  void set(ClusterInfoConstSharedPtr info);
  void remove(const std::string& name);

  size_t size() const;
  // Replaced or removed clusters kept until their requests are done.
  size_t drainingForTest() const { return draining_.size(); }
  // Clusters this worker has state for (used since their last change).
  size_t instantiatedForTest() const { return used_.size(); }
  HttpConnPoolMap& poolsForTest() { return *pools_; }
  // Drains every pool (current clusters' too).
  void drainConnPools();

 private:
  // Brings this worker's state for `name` in line with the current snapshot.
  void sync(absl::string_view name);
  // Moves `cluster` to the draining list (or frees it if no request is counted on it).
  void retire(std::unique_ptr<ThreadLocalCluster> cluster);
  void sweepDraining();

  Event::Dispatcher* dispatcher_;
  // Before the clusters: a ThreadLocalCluster points into it.
  std::unique_ptr<HttpConnPoolMap> pools_;
  std::shared_ptr<const ClusterSnapshot> snapshot_;
  // The clusters used since their last change; keyed by a view of the cluster's info's name.
  absl::flat_hash_map<absl::string_view, std::unique_ptr<ThreadLocalCluster>> used_;
  std::list<std::unique_ptr<ThreadLocalCluster>> draining_;
  Event::TimerPtr sweep_timer_;
};

/**
 * Owns the cluster configs. addOrUpdate/remove run on main and reach every worker through a
 * ThreadLocal::Slot; threadLocal() is for worker threads.
 */
class ClusterManager {
 public:
  // `pool_factory` makes the workers' HTTP connection pools (may be empty: no HTTP upstreams).
  // `deferred_stats`: clusters' traffic stats are made on first use (see ClusterStatsHandle).
  ClusterManager(Stats::Store& stats, std::vector<Event::Dispatcher*> workers,
                 Event::Dispatcher& main, HttpConnPoolFactory pool_factory = nullptr,
                 bool deferred_stats = false);
  ~ClusterManager();

  // Main thread. Builds the cluster (the proto must already be validated) and hands it to every
  // worker; `applied` runs on main once all workers have it.
  absl::Status addOrUpdateCluster(const envoy::config::cluster::v3::Cluster& config,
                                  std::function<void()> applied = nullptr,
                                  const std::string& version_info = "");
  void removeCluster(const std::string& name, std::function<void()> applied = nullptr);
  // Main thread. Adds or replaces `upserts` (validated protos) and removes `removes` in one go,
  // for an xDS update of any size. The workers get the next ClusterSnapshot (see
  // cluster_snapshot.h): one post and one pointer swap each, whatever the update's size. The
  // ClusterInfos replaced or removed are freed here on main once every worker moved on.
  // `applied` runs on main once every worker has the update. A cluster that fails to build is
  // skipped; the first such error is returned (the others are applied).
  absl::Status applyUpdate(std::vector<envoy::config::cluster::v3::Cluster> upserts,
                           const std::vector<std::string>& removes, std::function<void()> applied,
                           const std::string& version_info = "");

  // Main thread: the current clusters, for the admin server.
  std::vector<ClusterInfoConstSharedPtr> clusters() const;
  ClusterInfoConstSharedPtr find(const std::string& name) const;
  // Main thread: the cluster's health checker and outlier detector (null if none; tests, admin).
  ClusterHealth* health(const std::string& name);
  // Main thread, server drain: stop active health checks (their connections would hold the
  // drain open).
  void stopHealthChecks();

  // Worker thread: this worker's clusters.
  ThreadLocalClusterManager& threadLocal() { return slot_.get(); }

  // Main thread: every worker closes its idle pooled connections and the busy ones as their
  // streams end (shutdown: nothing keeps an upstream connection open once traffic stopped).
  void drainConnPools();

 private:
  const ClusterStatsHandle& statsFor(const std::string& name);
  // Gives `info` the previous config's connection_settings_version and circuit-breaker counts
  // when only its hosts changed, a new version otherwise.
  void carryOverConnectionSettings(ClusterInfo& info,
                                   const envoy::config::cluster::v3::Cluster& config);
  // Builds the info for a validated proto (stats, health carried over); does not publish it.
  // Takes the proto by value: it ends up in ClusterInfo::proto (moved in).
  absl::StatusOr<ClusterInfoConstSharedPtr> buildInfo(envoy::config::cluster::v3::Cluster config,
                                                      const std::string& version_info);
  // Builds the next snapshot from the current one and hands it to every worker.
  void publish(std::vector<ClusterInfoConstSharedPtr> upserts, std::vector<std::string> removes,
               std::function<void()> applied);
  // Carries health over from the cluster's previous config and updates its checker/detector.
  absl::Status applyHealth(ClusterInfo& info, const envoy::config::cluster::v3::Cluster& config);

  Stats::Store& stats_;
  // Declared before the slot, which points to it, so it outlives every worker's pools.
  const HttpConnPoolFactory pool_factory_;
  // Before slot_, so destroyed after it: the per-worker pools in slot_ count into these
  // stats until they are destroyed, also when they close connections still open at exit.
  absl::flat_hash_map<std::string, std::unique_ptr<ClusterStatsHandle>> cluster_stats_;
  const bool deferred_stats_;
  ThreadLocal::Slot<ThreadLocalClusterManager> slot_;
  // The current clusters on main (admin, carrying state over), and what the workers were last
  // given: the same clusters, published.
  absl::flat_hash_map<std::string, ClusterInfoConstSharedPtr> clusters_;
  Event::Dispatcher& main_;
  std::shared_ptr<const ClusterSnapshot> snapshot_;
  absl::flat_hash_map<std::string, std::unique_ptr<ClusterHealth>> health_;
  bool health_checks_stopped_{false};
  uint64_t next_settings_version_{1};
};

// Looks up (creating on first use) the `cluster.<name>.*` stats in `store`. Main thread.
std::unique_ptr<ClusterStats> generateClusterStats(Stats::Store& store, const std::string& name);

// Builds a ClusterInfo from a validated Cluster proto; stats is left for the caller to set.
absl::StatusOr<std::shared_ptr<ClusterInfo>> buildClusterInfo(
    const envoy::config::cluster::v3::Cluster& config);

}  // namespace Skiff::Upstream
