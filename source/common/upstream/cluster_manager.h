#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "source/common/network/address.h"
#include "source/common/network/connection_impl.h"
#include "source/common/stats/stats.h"
#include "source/common/thread_local/thread_local.h"
#include "source/common/upstream/load_balancer_context.h"

namespace Skiff::Upstream {

// Envoy's cluster stats (`cluster.<name>.*`) that the TCP proxy updates.
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
};

struct Host {
  Network::Address::InstanceConstSharedPtr address;
  uint32_t weight{1};
};

enum class LbPolicy { RoundRobin, Random };

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
  ClusterStats* stats;                 // Points into the stats store, which outlives every cluster.
  envoy::config::cluster::v3::Cluster proto;  // As configured, for /config_dump.
  std::string version_info;                   // The CDS/EDS version it came with ("" if static).
  std::chrono::system_clock::time_point last_updated;
};

using ClusterInfoConstSharedPtr = std::shared_ptr<const ClusterInfo>;

/**
 * A worker's view of one cluster: the shared info plus this worker's load-balancer state. Owned
 * and used by one worker thread only, so picking a host takes no lock.
 */
class ThreadLocalCluster {
 public:
  explicit ThreadLocalCluster(ClusterInfoConstSharedPtr info);

  const ClusterInfoConstSharedPtr& info() const { return info_; }
  // Next host by the cluster's policy, or nullptr if the cluster has no hosts. For ORIGINAL_DST,
  // the original destination of context->downstreamConnection() (nullptr without a context or
  // when that connection's destination was not restored from a redirect, since connecting to the
  // proxy's own listen address would loop); that Host stays valid until the next chooseHost() on
  // this ThreadLocalCluster, so callers copy what they need from it at once.
  const Host* chooseHost(const LoadBalancerContext* context = nullptr);

 private:
  ClusterInfoConstSharedPtr info_;
  Host original_dst_host_;
  size_t rr_index_{0};
  std::vector<int64_t> current_weights_;  // Smooth weighted round robin state.
  uint64_t random_state_;
};

// The clusters one worker can see, by name. Worker thread only.
class ThreadLocalClusterManager {
 public:
  ThreadLocalCluster* get(const std::string& name);
  void set(ClusterInfoConstSharedPtr info);
  void remove(const std::string& name);

 private:
  absl::flat_hash_map<std::string, std::unique_ptr<ThreadLocalCluster>> clusters_;
};

/**
 * Owns the cluster configs. addOrUpdate/remove run on main and reach every worker through a
 * ThreadLocal::Slot; threadLocal() is for worker threads.
 */
class ClusterManager {
 public:
  ClusterManager(Stats::Store& stats, std::vector<Event::Dispatcher*> workers,
                 Event::Dispatcher& main);

  // Main thread. Builds the cluster (the proto must already be validated) and hands it to every
  // worker; `applied` runs on main once all workers have it.
  absl::Status addOrUpdateCluster(const envoy::config::cluster::v3::Cluster& config,
                                  std::function<void()> applied = nullptr,
                                  const std::string& version_info = "");
  void removeCluster(const std::string& name, std::function<void()> applied = nullptr);

  // Main thread: the current clusters, for the admin server.
  std::vector<ClusterInfoConstSharedPtr> clusters() const;
  ClusterInfoConstSharedPtr find(const std::string& name) const;

  // Worker thread: this worker's clusters.
  ThreadLocalClusterManager& threadLocal() { return slot_.get(); }

 private:
  ClusterStats& statsFor(const std::string& name);

  Stats::Store& stats_;
  ThreadLocal::Slot<ThreadLocalClusterManager> slot_;
  absl::flat_hash_map<std::string, ClusterInfoConstSharedPtr> clusters_;
  absl::flat_hash_map<std::string, std::unique_ptr<ClusterStats>> cluster_stats_;
};

// Builds a ClusterInfo from a validated Cluster proto; stats is left for the caller to set.
absl::StatusOr<std::shared_ptr<ClusterInfo>> buildClusterInfo(
    const envoy::config::cluster::v3::Cluster& config);

}  // namespace Skiff::Upstream
