#pragma once

// How the connection manager gets routes: an immutable Router::RouteTable per
// RouteConfiguration, and a provider that hands a worker the table to route its next request with.
// A static provider holds the HCM's inline route_config; an RDS provider's table is replaced on
// every worker when a new RouteConfiguration arrives, without touching listeners or connections: a
// request keeps the table it was routed with (it holds a reference) and the next request uses the
// new one.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/config/route/v3/route.pb.h"
#include "source/common/router/config_impl.h"

namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager {

/**
 * Hands out the current route table. current() is called on workers for every request, so it
 * takes no lock: a static provider returns its one table, an RDS provider its per-worker copy.
 */
class RouteConfigProvider {
 public:
  virtual ~RouteConfigProvider() = default;
  // Worker thread (or main for a static provider). Null only for an RDS provider that has not
  // received its RouteConfiguration yet (requests then get 404, as in Envoy).
  virtual Router::RouteTableConstSharedPtr current() const = 0;
};

using RouteConfigProviderSharedPtr = std::shared_ptr<RouteConfigProvider>;

// The inline `route_config` of an HttpConnectionManager.
class StaticRouteConfigProvider : public RouteConfigProvider {
 public:
  explicit StaticRouteConfigProvider(Router::RouteTableConstSharedPtr table)
      : table_(std::move(table)) {}
  Router::RouteTableConstSharedPtr current() const override { return table_; }

 private:
  const Router::RouteTableConstSharedPtr table_;
};

/**
 * Makes route config providers for connection manager configs. Main thread only (filter configs
 * are built there).
 */
class RouteConfigProviderManager {
 public:
  virtual ~RouteConfigProviderManager() = default;

  // A provider for an inline route_config; errors name fields under `path`.
  virtual absl::StatusOr<RouteConfigProviderSharedPtr> createStatic(
      const envoy::config::route::v3::RouteConfiguration& config, absl::string_view path) = 0;
  // The provider for RouteConfiguration `name` from RDS, shared by every connection manager
  // that names it. Its table is whatever RDS delivered last (null before the first).
  virtual RouteConfigProviderSharedPtr getOrCreateRds(const std::string& name) = 0;
};

}  // namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager
