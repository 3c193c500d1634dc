#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "source/common/network/filter.h"
#include "source/common/stats/stats.h"
#include "source/common/upstream/cluster_manager.h"

namespace Skiff::Extensions::NetworkFilters {

namespace HttpConnectionManager {
class RouteConfigProviderManager;
}  // namespace HttpConnectionManager
}  // namespace Skiff::Extensions::NetworkFilters

namespace Skiff::AccessLog {
class AccessLogManager;
}  // namespace Skiff::AccessLog

namespace Skiff::Extensions::NetworkFilters {

// What a network filter's config may use. Handed over on the main thread at config time; the
// references outlive every listener.
struct FactoryContext {
  Stats::Store& stats;
  Upstream::ClusterManager& cluster_manager;
  // Route tables for HTTP connection managers (inline and RDS); null where HTTP is not set up.
  HttpConnectionManager::RouteConfigProviderManager* routes = nullptr;
  // Files and streams access logs write to; null where none are set up.
  AccessLog::AccessLogManager* access_logs = nullptr;
};

/**
 * Turns one `Filter.typed_config` into a per-connection filter factory. Called on main; the
 * returned callback captures only immutable config and runs on workers.
 */
class NamedNetworkFilterConfigFactory {
 public:
  virtual ~NamedNetworkFilterConfigFactory() = default;
  // Envoy's well-known name, e.g. "envoy.filters.network.tcp_proxy".
  virtual std::string name() const = 0;
  // The Any type URL of its config, e.g. "type.googleapis.com/envoy...TcpProxy".
  virtual std::string typeUrl() const = 0;
  virtual absl::StatusOr<Network::NetworkFilterFactoryCb> createFilterFactory(
      const google::protobuf::Any& typed_config, FactoryContext& context) const = 0;
};

// The filters built into this binary; nullptr if `type_url` names none of them. Matched by the
// type name after the last '/', whatever the URL's prefix.
const NamedNetworkFilterConfigFactory* findNetworkFilterFactory(const std::string& type_url);

}  // namespace Skiff::Extensions::NetworkFilters
