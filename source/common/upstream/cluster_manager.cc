#include "source/common/upstream/cluster_manager.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "source/common/config/utility.h"

namespace Skiff::Upstream {

ThreadLocalCluster::ThreadLocalCluster(ClusterInfoConstSharedPtr info)
    : info_(std::move(info)), random_state_(std::random_device{}()) {
  current_weights_.assign(info_->hosts.size(), 0);
}

const Host* ThreadLocalCluster::chooseHost(const LoadBalancerContext* context) {
  if (info_->type == ClusterType::OriginalDst) {
    const Network::Connection* downstream =
        context != nullptr ? context->downstreamConnection() : nullptr;
    if (downstream == nullptr || !downstream->localAddressRestored()) {
      return nullptr;
    }
    original_dst_host_ = Host{downstream->localAddress(), 1};
    return &original_dst_host_;
  }
  const auto& hosts = info_->hosts;
  if (hosts.empty()) {
    return nullptr;
  }
  if (info_->lb_policy == LbPolicy::Random) {
    // xorshift64*: cheap, per worker, no shared state.
    random_state_ ^= random_state_ >> 12;
    random_state_ ^= random_state_ << 25;
    random_state_ ^= random_state_ >> 27;
    return &hosts[(random_state_ * 2685821657736338717ULL) % hosts.size()];
  }
  if (!info_->weighted) {
    const Host& host = hosts[rr_index_ % hosts.size()];
    ++rr_index_;
    return &host;
  }
  // Smooth weighted round robin: spreads a heavy host's turns instead of bunching them.
  int64_t total = 0;
  size_t best = 0;
  for (size_t i = 0; i < hosts.size(); ++i) {
    current_weights_[i] += hosts[i].weight;
    total += hosts[i].weight;
    if (current_weights_[i] > current_weights_[best]) {
      best = i;
    }
  }
  current_weights_[best] -= total;
  return &hosts[best];
}

ThreadLocalCluster* ThreadLocalClusterManager::get(const std::string& name) {
  auto it = clusters_.find(name);
  return it == clusters_.end() ? nullptr : it->second.get();
}

void ThreadLocalClusterManager::set(ClusterInfoConstSharedPtr info) {
  std::string name = info->name;
  clusters_[name] = std::make_unique<ThreadLocalCluster>(std::move(info));
}

void ThreadLocalClusterManager::remove(const std::string& name) { clusters_.erase(name); }

ClusterManager::ClusterManager(Stats::Store& stats, std::vector<Event::Dispatcher*> workers,
                               Event::Dispatcher& main)
    : stats_(stats), slot_(std::move(workers), main, [] {
        return std::make_unique<ThreadLocalClusterManager>();
      }) {}

ClusterStats& ClusterManager::statsFor(const std::string& name) {
  auto& entry = cluster_stats_[name];
  if (entry == nullptr) {
    std::string p = absl::StrCat("cluster.", name, ".");
    entry.reset(new ClusterStats{
        stats_.counter(p + "upstream_cx_total"),
        stats_.gauge(p + "upstream_cx_active"),
        stats_.counter(p + "upstream_cx_connect_fail"),
        stats_.counter(p + "upstream_cx_connect_timeout"),
        stats_.counter(p + "upstream_cx_destroy"),
        stats_.counter(p + "upstream_cx_none_healthy"),
        stats_.counter(p + "upstream_cx_rx_bytes_total"),
        stats_.counter(p + "upstream_cx_tx_bytes_total"),
        stats_.histogram(p + "upstream_cx_connect_ms", Stats::Histogram::Unit::Milliseconds),
        stats_.histogram(p + "upstream_cx_length_ms", Stats::Histogram::Unit::Milliseconds),
        stats_.gauge(p + "membership_total"),
    });
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
  if (config.lb_policy() == envoy::config::cluster::v3::Cluster::RANDOM) {
    info->lb_policy = LbPolicy::Random;
  }
  if (config.type() == envoy::config::cluster::v3::Cluster::ORIGINAL_DST) {
    info->type = ClusterType::OriginalDst;
  }
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
      Host host{*address, 1};
      if (lb_endpoint.has_load_balancing_weight()) {
        host.weight = std::max<uint32_t>(1, lb_endpoint.load_balancing_weight().value());
        info->weighted |= host.weight != 1;
      }
      info->hosts.push_back(std::move(host));
    }
  }
  return info;
}

absl::Status ClusterManager::addOrUpdateCluster(const envoy::config::cluster::v3::Cluster& config,
                                                std::function<void()> applied,
                                                const std::string& version_info) {
  auto info = buildClusterInfo(config);
  if (!info.ok()) {
    return info.status();
  }
  (*info)->proto = config;
  (*info)->version_info = version_info;
  (*info)->last_updated = std::chrono::system_clock::now();
  (*info)->stats = &statsFor(config.name());
  (*info)->stats->membership_total.set((*info)->hosts.size());
  ClusterInfoConstSharedPtr shared = std::move(*info);
  clusters_[shared->name] = shared;
  slot_.runOnAllWorkers([shared](ThreadLocalClusterManager& tls) { tls.set(shared); },
                        std::move(applied));
  return absl::OkStatus();
}

void ClusterManager::removeCluster(const std::string& name, std::function<void()> applied) {
  clusters_.erase(name);
  slot_.runOnAllWorkers([name](ThreadLocalClusterManager& tls) { tls.remove(name); },
                        std::move(applied));
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
