#pragma once

// The HTTP connection manager's config (envoy.filters.network.http_connection_manager) and the
// factory that builds it from HttpConnectionManager. Built and validated on main; immutable and
// shared by every worker and every connection accepted under it afterwards.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "source/common/access_log/access_log.h"
#include "source/common/http/codec.h"
#include "source/common/stats/stats.h"
#include "source/extensions/filters/http/router/router.h"
#include "source/extensions/filters/network/common/factory.h"
#include "source/extensions/filters/network/http_connection_manager/conn_manager_utility.h"
#include "source/extensions/filters/network/http_connection_manager/route_provider.h"

namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager {

// Envoy's `http.<stat_prefix>.*` connection manager and router stats. Looked up once on main;
// workers update them through these references.
struct ConnectionManagerStats {
  Stats::Counter& downstream_cx_total;
  Stats::Gauge& downstream_cx_active;
  Stats::Counter& downstream_cx_destroy;
  Stats::Counter& downstream_cx_destroy_remote;
  Stats::Counter& downstream_cx_destroy_local;
  Stats::Counter& downstream_cx_destroy_active_rq;
  Stats::Counter& downstream_cx_http1_total;
  Stats::Gauge& downstream_cx_http1_active;
  Stats::Counter& downstream_cx_upgrades_total;
  Stats::Gauge& downstream_cx_upgrades_active;
  Stats::Counter& downstream_cx_protocol_error;
  Stats::Counter& downstream_cx_idle_timeout;
  Stats::Counter& downstream_cx_max_duration_reached;
  Stats::Counter& downstream_cx_max_requests_reached;
  Stats::Counter& downstream_cx_drain_close;
  // Overload action disable_http_keepalive closed the connection after a response.
  Stats::Counter& downstream_cx_overload_disable_keepalive;
  Stats::Counter& downstream_cx_delayed_close_timeout;
  Stats::Counter& downstream_cx_rx_bytes_total;
  Stats::Counter& downstream_cx_tx_bytes_total;
  Stats::Histogram& downstream_cx_length_ms;
  Stats::Counter& downstream_rq_total;
  Stats::Counter& downstream_rq_http1_total;
  Stats::Gauge& downstream_rq_active;
  Stats::Counter& downstream_rq_completed;
  Stats::Counter& downstream_rq_timeout;
  Stats::Counter& downstream_rq_idle_timeout;
  Stats::Counter& downstream_rq_header_timeout;
  Stats::Counter& downstream_rq_rx_reset;
  Stats::Counter& downstream_rq_tx_reset;
  Stats::Counter& downstream_rq_ws_on_non_ws_route;
  Stats::Counter& downstream_rq_too_large;
  // Overload action stop_accepting_requests answered the request 503.
  Stats::Counter& downstream_rq_overload_close;
  // downstream_rq_1xx .. downstream_rq_5xx, indexed by status / 100 - 1.
  Stats::Counter* downstream_rq_class[5];
  Stats::Histogram& downstream_rq_time;
  // Router and routing (Envoy puts these under http.<stat_prefix>. too).
  Stats::Counter& no_route;
  Stats::Counter& rq_redirect;
  Stats::Counter& rq_direct_response;
  HttpFilters::RouterFilter::RouterStats router;
};

/**
 * One HttpConnectionManager filter's settings. Durations of zero mean "disabled".
 */
struct ConnectionManagerConfig {
  std::string stat_prefix;
  Http::Http1Settings http1_settings;
  HeaderRules header_rules;
  std::chrono::milliseconds stream_idle_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds request_timeout{0};
  std::chrono::milliseconds request_headers_timeout{0};
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};  // No stream in flight.
  std::chrono::milliseconds max_connection_duration{0};
  std::chrono::milliseconds delayed_close_timeout{1000};
  std::chrono::milliseconds drain_timeout{5000};
  uint32_t max_requests_per_connection{0};  // 0: unlimited.
  // upgrade_configs: the types allowed on every route (lower-case, e.g. "websocket").
  std::vector<std::string> upgrade_types;
  HttpFilters::RouterFilter::RouterConfig router;
  RouteConfigProviderSharedPtr routes;
  std::vector<AccessLog::InstanceSharedPtr> access_logs;
  std::shared_ptr<ConnectionManagerStats> stats;

  bool upgradeAllowed(absl::string_view type) const {
    for (const auto& t : upgrade_types) {
      if (t == type) {
        return true;
      }
    }
    return false;
  }
};

using ConnectionManagerConfigConstSharedPtr = std::shared_ptr<const ConnectionManagerConfig>;

// Builds the config, rejecting what skiff does not support with the field and the reason
// (codec_type HTTP2/HTTP3, HTTP filters other than a final router unless is_optional, ...).
absl::StatusOr<ConnectionManagerConfigConstSharedPtr> buildConnectionManagerConfig(
    const envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager&
        proto,
    FactoryContext& context);

// Builds http_connection_manager filters from `...http_connection_manager.v3
// .HttpConnectionManager`.
class HttpConnectionManagerConfigFactory : public NamedNetworkFilterConfigFactory {
 public:
  std::string name() const override { return "envoy.filters.network.http_connection_manager"; }
  std::string typeUrl() const override;
  absl::StatusOr<Network::NetworkFilterFactoryCb> createFilterFactory(
      const google::protobuf::Any& typed_config, FactoryContext& context) const override;
};

}  // namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager
