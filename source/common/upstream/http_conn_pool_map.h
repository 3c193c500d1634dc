#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "source/common/event/dispatcher.h"
#include "source/common/network/address.h"
#include "source/common/upstream/cluster_manager.h"
#include "source/common/upstream/http_conn_pool.h"

namespace Skiff::Upstream {

class HttpConnPoolMap;

/**
 * One host's pool and what the worker knows about the host. Stable address until freed.
 */
struct PooledHost {
  Host host;                    // A copy: valid while the entry lives, whatever the cluster does.
  HttpConnPoolPtr pool;         // Made on first use.
  uint32_t active_requests{0};  // Requests counted by ThreadLocalCluster::onRequestStart.
  bool used{true};              // ORIGINAL_DST: picked since the last cleanup.

  bool busy() const {
    return active_requests > 0 || (pool != nullptr && pool->hasActiveConnections());
  }
};

/**
 * The pools of one cluster name. Lives until the cluster is removed; a ThreadLocalCluster
 * keeps a pointer to it (the manager retires the ThreadLocalCluster on removal too).
 */
class ClusterConnPools {
 public:
  ClusterConnPools(HttpConnPoolMap& parent, ClusterInfoConstSharedPtr info);
  ~ClusterConnPools();

  // The entry for `host` (of info()->hosts, or an ORIGINAL_DST host from originalDstHost()),
  // made on first use.
  PooledHost& entry(const Host& host);
  // The pool for `host`, made on first use; nullptr without a pool factory.
  HttpConnPool* pool(const Host& host);
  // ORIGINAL_DST: the host for destination `address`, made on first use and marked used.
  // Valid until the entry is retired and freed: not before a cleanup found it unused with no
  // connection and no request counted on it.
  const Host& originalDstHost(const Network::Address::InstanceConstSharedPtr& address);
  // nullptr if the worker has no entry for `address`.
  PooledHost* find(absl::string_view address);

  const ClusterInfoConstSharedPtr& info() const { return info_; }
  size_t size() const { return hosts_.size(); }
  // Runs the cleanup_interval step now (tests).
  void cleanupForTest() { cleanup(); }

 private:
  friend class HttpConnPoolMap;

  void update(ClusterInfoConstSharedPtr info);
  void retireAll();
  void retire(absl::flat_hash_map<std::string, std::unique_ptr<PooledHost>>::iterator it);
  void cleanup();  // ORIGINAL_DST: retire the entries unused since the last cleanup.
  void armCleanup();

  HttpConnPoolMap& parent_;
  ClusterInfoConstSharedPtr info_;
  // By Address::asString(): looked up with the address's cached string, no allocation.
  absl::flat_hash_map<std::string, std::unique_ptr<PooledHost>> hosts_;
  Event::TimerPtr cleanup_timer_;
};

/**
 * One worker's HTTP connection pools: one per (cluster, host address), made on first use. The
 * only place a worker keeps pools; owned by its ThreadLocalClusterManager. Worker thread only.
 *
 * Pools follow the cluster's membership, not its ClusterInfo object:
 *  - an update that changes only the hosts (an EDS push: same connection_settings_version) keeps
 *    the pools of the hosts that stay and retires the pools of hosts that left;
 *  - an update that changes anything else, and removing the cluster, retire all its pools;
 *  - an ORIGINAL_DST cluster has a host per original destination, made when a connection is
 *    routed there; a destination not used during one cleanup_interval is retired at the next
 *    cleanup (Envoy's cleanup_interval), so the pools stay bounded by recent destinations.
 * A retired pool is drained (idle connections closed now, busy ones when their stream ends) and
 * freed once it has no connection, no waiting request and no request counted on its host.
 */
class HttpConnPoolMap {
 public:
  // `factory` may be null or empty (no HTTP upstreams): pool() then returns nullptr.
  HttpConnPoolMap(Event::Dispatcher* dispatcher, const HttpConnPoolFactory* factory);
  ~HttpConnPoolMap();

  // Makes or updates the pools of `info`'s cluster (see the class comment) and returns them:
  // updateIfPresent() then forCluster(), in one call (tests).
  ClusterConnPools& updateCluster(const ClusterInfoConstSharedPtr& info);
  // The pools of `info`'s cluster, made (empty) if it has none; an existing entry is returned as
  // it is (it was kept current by updateIfPresent()).
  ClusterConnPools& forCluster(const ClusterInfoConstSharedPtr& info);
  // updateCluster() for a cluster that has pools; nothing for one that never had a request (so
  // a cluster update costs a worker nothing until the cluster is used).
  void updateIfPresent(const ClusterInfoConstSharedPtr& info);
  // Clusters with an entry here (used on this worker at some point and not removed since).
  size_t clusterCount() const { return clusters_.size(); }
  template <class F>
  void forEachClusterName(F f) const {
    for (const auto& [name, cluster] : clusters_) {
      f(absl::string_view(name));
    }
  }
  // Retires every pool of cluster `name`.
  void removeCluster(const std::string& name);
  // Drains every pool (shutdown): idle connections close now, busy ones after their stream.
  void drainAll();
  // Frees retired entries that are no longer busy (also run by a timer while any is left).
  void sweep();

  // For tests.
  size_t activeEntries() const;
  size_t drainingEntries() const { return draining_.size(); }
  ClusterConnPools* clusterForTest(const std::string& name);

 private:
  friend class ClusterConnPools;
  void retire(std::unique_ptr<PooledHost> entry);

  Event::Dispatcher* dispatcher_;
  const HttpConnPoolFactory* factory_;
  absl::flat_hash_map<std::string, std::unique_ptr<ClusterConnPools>> clusters_;
  std::list<std::unique_ptr<PooledHost>> draining_;
  Event::TimerPtr sweep_timer_;
};

}  // namespace Skiff::Upstream
