#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "source/common/event/timer.h"
#include "source/common/network/connection.h"
#include "source/common/network/filter.h"
#include "source/common/stats/stats.h"
#include "source/common/upstream/cluster_manager.h"

namespace Skiff::Extensions::NetworkFilters::TcpProxy {

// Envoy's `tcp.<stat_prefix>.*` stats.
struct TcpProxyStats {
  Stats::Counter& downstream_cx_total;
  Stats::Counter& downstream_cx_no_route;
  Stats::Counter& downstream_cx_rx_bytes_total;
  Stats::Counter& downstream_cx_tx_bytes_total;
  Stats::Counter& downstream_flow_control_paused_reading_total;
  Stats::Counter& downstream_flow_control_resumed_reading_total;
  Stats::Counter& idle_timeout;
  Stats::Counter& upstream_flush_total;
  Stats::Gauge& upstream_flush_active;
};

/**
 * One tcp_proxy filter's config. Built on main, then shared read-only by all workers and by every
 * connection accepted under it (a connection keeps the config it started with).
 */
struct TcpProxyConfig {
  struct WeightedCluster {
    std::string name;
    uint64_t weight;
  };

  // `cluster`, or one of `weighted_clusters` drawn by weight for each connection.
  const std::string& pickCluster() const;

  std::string stat_prefix;
  std::string cluster;  // Empty when weighted_clusters is used.
  std::vector<WeightedCluster> weighted_clusters;
  uint64_t total_weight{0};
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};  // 0 disables it.
  uint32_t max_connect_attempts{1};
  Upstream::ClusterManager* cluster_manager;
  std::shared_ptr<TcpProxyStats> stats;
};

using TcpProxyConfigConstSharedPtr = std::shared_ptr<const TcpProxyConfig>;

/**
 * Forwards bytes between a downstream connection and one upstream connection to a host of the
 * configured cluster, in both directions, with half-close and with backpressure: when one side's
 * write buffer passes its high watermark, reading from the other side stops until it drains.
 *
 * Owned by the downstream connection (as its read filter) and used on its worker thread only.
 */
class Filter : public Network::ReadFilter,
               public Network::ConnectionCallbacks,
               public Upstream::LoadBalancerContext,
               public std::enable_shared_from_this<Filter> {
 public:
  explicit Filter(TcpProxyConfigConstSharedPtr config);
  ~Filter() override;

  // Network::ReadFilter
  void initializeReadFilterCallbacks(Network::ReadFilterCallbacks& callbacks) override;
  Network::FilterStatus onNewConnection() override;
  Network::FilterStatus onData(Buffer::Instance& data, bool end_stream) override;

  // Network::ConnectionCallbacks, for the downstream connection.
  void onEvent(Network::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

  // Upstream::LoadBalancerContext
  const Network::Connection* downstreamConnection() const override {
    return read_callbacks_ != nullptr ? &read_callbacks_->connection() : nullptr;
  }

 private:
  // Callbacks and read filter for the upstream connection.
  class UpstreamCallbacks : public Network::ConnectionCallbacks, public Network::ReadFilter {
   public:
    explicit UpstreamCallbacks(Filter& parent) : parent_(parent) {}
    void onEvent(Network::ConnectionEvent event) override { parent_.onUpstreamEvent(event); }
    void onAboveWriteBufferHighWatermark() override;
    void onBelowWriteBufferLowWatermark() override;
    void initializeReadFilterCallbacks(Network::ReadFilterCallbacks&) override {}
    Network::FilterStatus onNewConnection() override { return Network::FilterStatus::Continue; }
    Network::FilterStatus onData(Buffer::Instance& data, bool end_stream) override;

   private:
    Filter& parent_;
  };

  bool connectUpstream();
  void onUpstreamEvent(Network::ConnectionEvent event);
  void onUpstreamData(Buffer::Instance& data, bool end_stream);
  void onIdleTimeout();
  void resetIdleTimer();
  void releaseUpstream(bool flush);

  const TcpProxyConfigConstSharedPtr config_;
  Network::ReadFilterCallbacks* read_callbacks_{nullptr};
  // Picked once per connection; every connect attempt goes to this cluster.
  const std::string* cluster_name_{nullptr};
  Upstream::ThreadLocalCluster* cluster_{nullptr};
  Upstream::ClusterInfoConstSharedPtr cluster_info_;  // Kept for the upstream's whole life.
  // The host picked (a copy: an ORIGINAL_DST host lives only until the next pick).
  Upstream::Host upstream_host_;
  std::shared_ptr<UpstreamCallbacks> upstream_callbacks_;
  Network::ClientConnectionPtr upstream_;
  Event::TimerPtr idle_timer_;
  std::chrono::steady_clock::time_point connect_start_;
  std::chrono::steady_clock::time_point connected_at_;
  uint32_t connect_attempts_{0};
  bool upstream_connected_{false};
  bool downstream_closed_{false};
};

}  // namespace Skiff::Extensions::NetworkFilters::TcpProxy
