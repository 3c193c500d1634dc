#include "source/extensions/filters/network/tcp_proxy/config.h"

#include "absl/strings/str_cat.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "source/common/config/utility.h"
#include "source/extensions/filters/network/tcp_proxy/tcp_proxy.h"

namespace Skiff::Extensions::NetworkFilters::TcpProxy {

using ProtoTcpProxy = envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;

std::string TcpProxyConfigFactory::typeUrl() const {
  return absl::StrCat("type.googleapis.com/", ProtoTcpProxy::descriptor()->full_name());
}

absl::StatusOr<Network::NetworkFilterFactoryCb> TcpProxyConfigFactory::createFilterFactory(
    const google::protobuf::Any& typed_config, FactoryContext& context) const {
  ProtoTcpProxy proto;
  if (!typed_config.UnpackTo(&proto)) {
    return absl::InvalidArgumentError("typed_config: cannot decode TcpProxy");
  }
  auto config = std::make_shared<TcpProxyConfig>();
  config->stat_prefix = proto.stat_prefix();
  config->cluster = proto.cluster();
  for (const auto& entry : proto.weighted_clusters().clusters()) {
    if (entry.weight() > 0) {
      config->weighted_clusters.push_back({entry.name(), entry.weight()});
      config->total_weight += entry.weight();
    }
  }
  if (config->cluster.empty() && config->total_weight == 0) {
    return absl::InvalidArgumentError(
        "typed_config: one of cluster or weighted_clusters (with a weight above 0) is required");
  }
  config->cluster_manager = &context.cluster_manager;
  config->idle_timeout =
      SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, idle_timeout, Config::kDefaultTcpProxyIdleTimeout);
  if (proto.has_max_connect_attempts()) {
    config->max_connect_attempts = std::max<uint32_t>(1, proto.max_connect_attempts().value());
  }
  const std::string p = absl::StrCat("tcp.", proto.stat_prefix(), ".");
  Stats::Store& s = context.stats;
  config->stats = std::shared_ptr<TcpProxyStats>(new TcpProxyStats{
      s.counter(p + "downstream_cx_total"),
      s.counter(p + "downstream_cx_no_route"),
      s.counter(p + "downstream_cx_rx_bytes_total"),
      s.counter(p + "downstream_cx_tx_bytes_total"),
      s.counter(p + "downstream_flow_control_paused_reading_total"),
      s.counter(p + "downstream_flow_control_resumed_reading_total"),
      s.counter(p + "idle_timeout"),
      s.counter(p + "upstream_flush_total"),
      s.gauge(p + "upstream_flush_active"),
  });
  TcpProxyConfigConstSharedPtr shared = std::move(config);
  return Network::NetworkFilterFactoryCb([shared](Network::Connection& connection) {
    connection.addReadFilter(std::make_shared<Filter>(shared));
  });
}

}  // namespace Skiff::Extensions::NetworkFilters::TcpProxy
