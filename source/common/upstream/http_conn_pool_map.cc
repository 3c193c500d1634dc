#include "source/common/upstream/http_conn_pool_map.h"

#include "absl/container/flat_hash_set.h"

namespace Skiff::Upstream {

namespace {

// How often a worker checks whether retired pools have drained.
constexpr std::chrono::milliseconds kSweepInterval{1000};

}  // namespace

ClusterConnPools::ClusterConnPools(HttpConnPoolMap& parent, ClusterInfoConstSharedPtr info)
    : parent_(parent), info_(std::move(info)) {
  armCleanup();
}

ClusterConnPools::~ClusterConnPools() = default;

PooledHost& ClusterConnPools::entry(const Host& host) {
  const std::string& key = host.address->asString();
  auto it = hosts_.find(key);
  if (it == hosts_.end()) {
    it = hosts_.emplace(key, std::make_unique<PooledHost>(PooledHost{host})).first;
  }
  return *it->second;
}

HttpConnPool* ClusterConnPools::pool(const Host& host) {
  PooledHost& e = entry(host);
  if (e.pool == nullptr) {
    const HttpConnPoolFactory* factory = parent_.factory_;
    if (factory == nullptr || !*factory || parent_.dispatcher_ == nullptr) {
      return nullptr;
    }
    // The pool's settings are this cluster's: an update that changes them retires the pool.
    e.pool = (*factory)(*parent_.dispatcher_, e.host, info_);
  }
  return e.pool.get();
}

const Host& ClusterConnPools::originalDstHost(
    const Network::Address::InstanceConstSharedPtr& address) {
  auto it = hosts_.find(address->asString());
  if (it == hosts_.end()) {
    // No health state: an original destination is never health checked or ejected.
    it = hosts_.emplace(address->asString(), std::make_unique<PooledHost>(PooledHost{{address, 1}}))
             .first;
    armCleanup();
  }
  it->second->used = true;
  return it->second->host;
}

PooledHost* ClusterConnPools::find(absl::string_view address) {
  auto it = hosts_.find(address);
  return it == hosts_.end() ? nullptr : it->second.get();
}

void ClusterConnPools::update(ClusterInfoConstSharedPtr info) {
  if (info->connection_settings_version != info_->connection_settings_version ||
      info->type != info_->type) {
    // Timeouts, limits, bind address... changed: connections made with the old ones go.
    retireAll();
  } else if (info->type == ClusterType::Static) {
    absl::flat_hash_set<absl::string_view> present;
    for (const Host& host : info->hosts) {
      present.insert(host.address->asString());
    }
    for (auto it = hosts_.begin(); it != hosts_.end();) {
      if (!present.contains(it->first)) {
        retire(it++);
      } else {
        ++it;
      }
    }
  }
  const bool interval_changed = info->cleanup_interval != info_->cleanup_interval;
  info_ = std::move(info);
  if (interval_changed || info_->type != ClusterType::OriginalDst) {
    cleanup_timer_.reset();
  }
  armCleanup();
}

void ClusterConnPools::retireAll() {
  for (auto it = hosts_.begin(); it != hosts_.end();) {
    retire(it++);
  }
}

void ClusterConnPools::retire(
    absl::flat_hash_map<std::string, std::unique_ptr<PooledHost>>::iterator it) {
  std::unique_ptr<PooledHost> entry = std::move(it->second);
  hosts_.erase(it);
  parent_.retire(std::move(entry));
}

void ClusterConnPools::cleanup() {
  for (auto it = hosts_.begin(); it != hosts_.end();) {
    PooledHost& e = *it->second;
    if (e.used || e.active_requests > 0) {
      e.used = false;
      ++it;
    } else {
      // Unused for a whole interval: its idle keep-alive connections close now.
      retire(it++);
    }
  }
  armCleanup();
}

void ClusterConnPools::armCleanup() {
  // No timer while there is nothing to clean: an idle worker stays idle.
  if (info_->type != ClusterType::OriginalDst || parent_.dispatcher_ == nullptr ||
      info_->cleanup_interval.count() <= 0 || hosts_.empty()) {
    return;
  }
  if (cleanup_timer_ == nullptr) {
    cleanup_timer_ = parent_.dispatcher_->createTimer([this] { cleanup(); });
  }
  if (!cleanup_timer_->enabled()) {
    cleanup_timer_->enableTimer(info_->cleanup_interval);
  }
}

HttpConnPoolMap::HttpConnPoolMap(Event::Dispatcher* dispatcher, const HttpConnPoolFactory* factory)
    : dispatcher_(dispatcher), factory_(factory) {}

HttpConnPoolMap::~HttpConnPoolMap() {
  // Retired pools first: they belong to the oldest configs.
  draining_.clear();
  clusters_.clear();
}

ClusterConnPools& HttpConnPoolMap::updateCluster(const ClusterInfoConstSharedPtr& info) {
  updateIfPresent(info);
  return forCluster(info);
}

ClusterConnPools& HttpConnPoolMap::forCluster(const ClusterInfoConstSharedPtr& info) {
  auto& slot = clusters_[info->name];
  if (slot == nullptr) {
    slot = std::make_unique<ClusterConnPools>(*this, info);
  }
  return *slot;
}

void HttpConnPoolMap::updateIfPresent(const ClusterInfoConstSharedPtr& info) {
  auto it = clusters_.find(info->name);
  if (it != clusters_.end() && it->second->info_ != info) {
    it->second->update(info);
  }
}

void HttpConnPoolMap::removeCluster(const std::string& name) {
  auto it = clusters_.find(name);
  if (it == clusters_.end()) {
    return;
  }
  it->second->retireAll();
  clusters_.erase(it);
}

void HttpConnPoolMap::drainAll() {
  for (auto& [name, cluster] : clusters_) {
    for (auto& [address, entry] : cluster->hosts_) {
      if (entry->pool != nullptr) {
        entry->pool->drainConnections();
      }
    }
  }
  for (auto& entry : draining_) {
    if (entry->pool != nullptr) {
      entry->pool->drainConnections();
    }
  }
}

void HttpConnPoolMap::retire(std::unique_ptr<PooledHost> entry) {
  if (entry->pool != nullptr) {
    entry->pool->drainConnections();
  }
  if (!entry->busy()) {
    return;  // Nothing refers to it any more.
  }
  draining_.push_back(std::move(entry));
  if (dispatcher_ == nullptr) {
    return;
  }
  if (sweep_timer_ == nullptr) {
    sweep_timer_ = dispatcher_->createTimer([this] { sweep(); });
  }
  if (!sweep_timer_->enabled()) {
    sweep_timer_->enableTimer(kSweepInterval);
  }
}

void HttpConnPoolMap::sweep() {
  for (auto it = draining_.begin(); it != draining_.end();) {
    if (!(*it)->busy()) {
      it = draining_.erase(it);
    } else {
      ++it;
    }
  }
  if (!draining_.empty() && sweep_timer_ != nullptr) {
    sweep_timer_->enableTimer(kSweepInterval);
  }
}

size_t HttpConnPoolMap::activeEntries() const {
  size_t n = 0;
  for (const auto& [name, cluster] : clusters_) {
    n += cluster->size();
  }
  return n;
}

ClusterConnPools* HttpConnPoolMap::clusterForTest(const std::string& name) {
  auto it = clusters_.find(name);
  return it == clusters_.end() ? nullptr : it->second.get();
}

}  // namespace Skiff::Upstream
