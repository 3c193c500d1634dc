#pragma once

// The checks of a resource set (resource_set.h) that concern HTTP and the references between
// resources: RouteConfigurations, HttpConnectionManagers (in a network filter chain or an
// `api_listener`, the form gRPC clients use: no address, no filter chains) and every listener's
// references into the set:
//
//   Listener (tcp_proxy cluster or weighted_clusters)          -> Cluster
//   Listener (http_connection_manager rds.route_config_name)   -> RouteConfiguration
//   Listener (http_connection_manager inline route_config)     -> Cluster, as below
//   RouteConfiguration (route cluster or weighted_clusters)    -> Cluster
//
// The listener-level rules of validation.h (addresses, filter chains, tcp_proxy) apply too: the
// shared listener validator runs with each HTTP connection manager seen as a terminal tcp_proxy.
//
// Errors are appended one per line as "<path>.<field path>: <reason>", `path` naming the
// resource (e.g. `route configuration "echo-routes"`).
//
// Thread: pure functions; any thread.

#include <set>
#include <string>
#include <vector>

#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "source/common/config/validation.h"

namespace Skiff::Config {

// What the references of a set's resources resolve against: the names the set defines.
struct SetNames {
  KnownClusters clusters;
  std::set<std::string> routes;  // RouteConfiguration names
};

// A RouteConfiguration (an RDS resource): virtual hosts, domains, matches, actions, and every
// cluster a route names.
void validateRouteConfigurationInSet(const envoy::config::route::v3::RouteConfiguration& config,
                                     const SetNames& names, const std::string& path,
                                     std::vector<std::string>& errors);

// A Listener: everything validateListener() checks, plus its HTTP connection managers (routes
// named over RDS must be in the set, inline routes as above, the router filter last).
void validateListenerInSet(const envoy::config::listener::v3::Listener& listener,
                           const SetNames& names, const std::string& path,
                           std::vector<std::string>& errors);

}  // namespace Skiff::Config
