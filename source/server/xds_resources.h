#pragma once

// What the control thread does with each resource of an xDS update before anything is posted to
// main (XdsManager's first step): unpack it and validate it with the rules the bootstrap uses
// (clusters are also built, which is pure, so what main could not build is NACKed, not ACKed
// and then dropped). Any bad resource makes the whole update an error that names the resource
// and field, one line per problem. Pure functions, so the xDS fuzzer runs exactly this code.
//
// Thread: any.

#include <vector>

#include "absl/status/statusor.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "source/common/config/xds/ads_client.h"

namespace Skiff::Server {

absl::StatusOr<std::vector<envoy::config::cluster::v3::Cluster>> validateClusterUpdate(
    const Config::Xds::ConfigUpdate& update);
absl::StatusOr<std::vector<envoy::config::endpoint::v3::ClusterLoadAssignment>>
validateEndpointUpdate(const Config::Xds::ConfigUpdate& update);
// A tcp_proxy may name a cluster that arrives later (it then counts no_route), as in Envoy.
absl::StatusOr<std::vector<envoy::config::listener::v3::Listener>> validateListenerUpdate(
    const Config::Xds::ConfigUpdate& update);
// RDS routes may name clusters that arrive later (validate_clusters defaults to false).
absl::StatusOr<std::vector<envoy::config::route::v3::RouteConfiguration>> validateRouteUpdate(
    const Config::Xds::ConfigUpdate& update);

}  // namespace Skiff::Server
