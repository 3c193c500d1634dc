#pragma once

// How the connection manager gets routes: an immutable route table per RouteConfiguration, and a
// provider that hands a worker the table to route its next request with. A static provider holds
// the HCM's inline route_config; an RDS provider's table is replaced on every worker when a new
// RouteConfiguration arrives, without touching listeners or connections: a request keeps the
// table it was routed with (it holds a reference) and the next request uses the new one.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/config/route/v3/route.pb.h"
#include "source/common/http/header_map.h"
#include "source/extensions/filters/http/router/router.h"

namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager {

// The outcome of routing one request.
struct RouteResult {
  enum class Kind {
    NoRoute,         // No virtual host or route matched: 404.
    Forward,         // Send upstream: `target`.
    DirectResponse,  // Answer `status` with `body`.
    Redirect,        // Answer `status` with `location`.
  };
  Kind kind{Kind::NoRoute};
  absl::string_view route_name;
  // Forward: where to and how (the cluster is already picked among weighted clusters).
  HttpFilters::RouterFilter::RouteTarget target;
  // Forward: the route's own upgrade_configs verdict for the request's upgrade type.
  enum class Upgrade { Unspecified, Enabled, Disabled };
  Upgrade route_upgrade{Upgrade::Unspecified};
  // DirectResponse / Redirect.
  uint32_t status{0};
  std::string body;
  std::string location;
  // Opaque to the connection manager: which route / virtual host / weighted cluster matched,
  // for the table's response header mutations. Valid while the table lives.
  const void* matched{nullptr};
};

/**
 * An immutable, validated RouteConfiguration ready for matching. Shared by every worker
 * (shared_ptr<const>); thread-safe because nothing in it changes.
 */
class RouteTable {
 public:
  virtual ~RouteTable() = default;

  // The RouteConfiguration's name.
  virtual const std::string& name() const = 0;
  // Matches `headers` (host, path, method, header fields), picks a weighted cluster with
  // `random`, and for a Forward result applies the request-side rewrites and header mutations
  // (prefix/regex rewrite, host rewrite, request_headers_to_add/remove of the route, virtual
  // host and table). `upgrade_type` is the request's Upgrade token ("" if none).
  virtual RouteResult route(Http::RequestHeaderMap& headers, absl::string_view upgrade_type,
                            uint64_t random) const = 0;
  // Response-side header mutations of what `result` matched.
  virtual void finalizeResponseHeaders(const RouteResult& result,
                                       Http::ResponseHeaderMap& headers) const = 0;
};

using RouteTableConstSharedPtr = std::shared_ptr<const RouteTable>;

/**
 * Hands out the current route table. current() is called on workers for every request, so it
 * takes no lock: a static provider returns its one table, an RDS provider its per-worker copy.
 */
class RouteConfigProvider {
 public:
  virtual ~RouteConfigProvider() = default;
  // Worker thread (or main for a static provider). Null only for an RDS provider that has not
  // received its RouteConfiguration yet (requests then get 404, as in Envoy).
  virtual RouteTableConstSharedPtr current() const = 0;
};

using RouteConfigProviderSharedPtr = std::shared_ptr<RouteConfigProvider>;

// The inline `route_config` of an HttpConnectionManager.
class StaticRouteConfigProvider : public RouteConfigProvider {
 public:
  explicit StaticRouteConfigProvider(RouteTableConstSharedPtr table) : table_(std::move(table)) {}
  RouteTableConstSharedPtr current() const override { return table_; }

 private:
  const RouteTableConstSharedPtr table_;
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
