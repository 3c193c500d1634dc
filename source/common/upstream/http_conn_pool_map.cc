#include "source/common/upstream/http_conn_pool_map.h"

#include <algorithm>

#include "source/common/upstream/http_conn_pool_impl.h"

namespace Skiff::Upstream {

HttpConnPoolMap::HttpConnPoolMap(Event::Dispatcher& dispatcher, PoolFactory factory)
    : dispatcher_(dispatcher), factory_(std::move(factory)) {
  if (factory_ == nullptr) {
    factory_ = [](Event::Dispatcher& dispatcher, ClusterInfoConstSharedPtr cluster,
                  const Host& host) -> HttpConnPoolPtr {
      return std::make_unique<HttpConnPoolImpl>(dispatcher, std::move(cluster), host);
    };
  }
}

HttpConnPool& HttpConnPoolMap::get(const ClusterInfoConstSharedPtr& cluster, const Host& host) {
  auto it = pools_.find(&host);
  if (it != pools_.end()) {
    return *it->second.pool;
  }
  const ClusterInfo*& current = current_[cluster->name];
  if (current != cluster.get()) {
    // A new version of the cluster: its predecessor's pools take no more requests.
    retire(cluster->name, cluster.get());
    current = cluster.get();
  }
  sweep();
  Entry& entry = pools_[&host];
  entry.cluster = cluster;
  entry.pool = factory_(dispatcher_, cluster, host);
  return *entry.pool;
}

void HttpConnPoolMap::removeCluster(const std::string& cluster_name) {
  retire(cluster_name, nullptr);
  current_.erase(cluster_name);
  sweep();
}

void HttpConnPoolMap::retire(const std::string& cluster_name, const ClusterInfo* keep) {
  for (auto it = pools_.begin(); it != pools_.end();) {
    if (it->second.cluster->name == cluster_name && it->second.cluster.get() != keep) {
      it->second.pool->drainConnections();
      draining_.push_back(std::move(it->second));
      pools_.erase(it++);
    } else {
      ++it;
    }
  }
}

void HttpConnPoolMap::sweep() {
  draining_.erase(
      std::remove_if(draining_.begin(), draining_.end(),
                     [](const Entry& entry) { return !entry.pool->hasActiveConnections(); }),
      draining_.end());
}

}  // namespace Skiff::Upstream
