#pragma once

#include "source/extensions/filters/network/common/factory.h"

namespace Skiff::Extensions::NetworkFilters::TcpProxy {

// Builds tcp_proxy filters from `envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`.
class TcpProxyConfigFactory : public NamedNetworkFilterConfigFactory {
 public:
  std::string name() const override { return "envoy.filters.network.tcp_proxy"; }
  std::string typeUrl() const override;
  absl::StatusOr<Network::NetworkFilterFactoryCb> createFilterFactory(
      const google::protobuf::Any& typed_config, FactoryContext& context) const override;
};

}  // namespace Skiff::Extensions::NetworkFilters::TcpProxy
