#include "source/extensions/filters/network/common/factory.h"
#include "source/extensions/filters/network/http_connection_manager/config.h"
#include "source/extensions/filters/network/tcp_proxy/config.h"

namespace Skiff::Extensions::NetworkFilters {

const NamedNetworkFilterConfigFactory* findNetworkFilterFactory(const std::string& type_url) {
  static const TcpProxy::TcpProxyConfigFactory tcp_proxy;
  static const HttpConnectionManager::HttpConnectionManagerConfigFactory http_connection_manager;
  static const NamedNetworkFilterConfigFactory* const kFactories[] = {&tcp_proxy,
                                                                      &http_connection_manager};
  for (const auto* factory : kFactories) {
    if (factory->typeUrl() == type_url) {
      return factory;
    }
  }
  return nullptr;
}

}  // namespace Skiff::Extensions::NetworkFilters
