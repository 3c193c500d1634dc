#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "source/common/event/dispatcher.h"
#include "source/common/upstream/cluster_manager.h"
#include "source/common/upstream/http_conn_pool.h"

namespace Skiff::Upstream {

/**
 * One worker's HTTP connection pools, one per (cluster, host), made on first use. Owned and
 * used by one worker thread (typically next to its ThreadLocalClusterManager).
 *
 * Pools are keyed by the Host inside the ClusterInfo they were made from and keep that
 * ClusterInfo alive. When a cluster is replaced (a new ClusterInfo with the same name shows up
 * in get()) or sweep() is told it is gone, its old pools stop taking requests: they are drained
 * (idle connections closed, busy ones closed after their stream) and freed once empty. Streams
 * in flight on them finish normally.
 */
class HttpConnPoolMap {
 public:
  using PoolFactory =
      std::function<HttpConnPoolPtr(Event::Dispatcher&, ClusterInfoConstSharedPtr, const Host&)>;

  // `factory` makes pools (tests); by default HttpConnPoolImpl.
  explicit HttpConnPoolMap(Event::Dispatcher& dispatcher, PoolFactory factory = nullptr);

  // The pool for `host`, which must be an element of `cluster->hosts`.
  HttpConnPool& get(const ClusterInfoConstSharedPtr& cluster, const Host& host);
  // Retires the pools of `cluster_name` (a removed cluster).
  void removeCluster(const std::string& cluster_name);
  // Frees retired pools that have become empty. get() does it too when it makes a pool.
  void sweep();

  size_t activePools() const { return pools_.size(); }
  size_t drainingPools() const { return draining_.size(); }

 private:
  struct Entry {
    ClusterInfoConstSharedPtr cluster;
    HttpConnPoolPtr pool;
  };

  void retire(const std::string& cluster_name, const ClusterInfo* keep);

  Event::Dispatcher& dispatcher_;
  PoolFactory factory_;
  absl::flat_hash_map<const Host*, Entry> pools_;
  absl::flat_hash_map<std::string, const ClusterInfo*> current_;  // Latest info per cluster name.
  std::vector<Entry> draining_;
};

}  // namespace Skiff::Upstream
