#include "source/common/config/utility.h"
#include "source/extensions/filters/network/common/factory.h"
#include "source/extensions/filters/network/http_connection_manager/config.h"
#include "source/extensions/filters/network/tcp_proxy/config.h"

namespace Skiff::Extensions::NetworkFilters {

const NamedNetworkFilterConfigFactory* findNetworkFilterFactory(const std::string& type_url) {
  static const TcpProxy::TcpProxyConfigFactory tcp_proxy;
  static const HttpConnectionManager::HttpConnectionManagerConfigFactory http_connection_manager;
  static const NamedNetworkFilterConfigFactory* const kFactories[] = {&tcp_proxy,
                                                                      &http_connection_manager};
  // By the message's full name, what follows the last '/': an Any's prefix is not part of the
  // type (protobuf's UnpackTo and Envoy ignore it, and so does validation).
  const absl::string_view type_name = Config::typeNameFromUrl(type_url);
  for (const auto* factory : kFactories) {
    if (Config::typeNameFromUrl(factory->typeUrl()) == type_name) {
      return factory;
    }
  }
  return nullptr;
}

}  // namespace Skiff::Extensions::NetworkFilters
