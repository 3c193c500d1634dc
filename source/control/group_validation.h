#pragma once

// The checks skiff-control applies to one node group before publishing it, and the snapshot it
// publishes. A group is checked as a whole because its resources refer to each other:
//
//   Listener (tcp_proxy cluster or weighted_clusters)          -> Cluster
//   Listener (http_connection_manager rds.route_config_name)   -> RouteConfiguration
//   Listener (http_connection_manager inline route_config)     -> Cluster, as below
//   RouteConfiguration (route cluster or weighted_clusters)    -> Cluster
//   Cluster of type EDS (eds_cluster_config.service_name, else its name)
//                                                              -> ClusterLoadAssignment
//
// Every reference must resolve inside the group; names are unique per type; addresses are valid
// and no two listeners share one. Listeners carry either network filter chains (tcp_proxy or
// http_connection_manager) or an `api_listener` holding an HttpConnectionManager (the form gRPC
// clients use: no address, no filter chains).
//
// Errors come one per line as "<where>: <resource> \"<name>\": <field path>: <reason>", where
// <where> is the "file:line" the resource came from.
//
// Thread: pure functions; any thread.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "source/control/snapshot_cache.h"

namespace Skiff::Control {

// One resource as read from a file: where it was defined ("file:line", or "file: resources[i]")
// and its packed form.
struct LocatedResource {
  std::string where;
  google::protobuf::Any any;
};

// Decodes, checks and packs `resources` into a snapshot. The error lists every problem found.
absl::StatusOr<SnapshotConstSharedPtr> buildGroupSnapshot(
    const std::vector<LocatedResource>& resources);

// Makes sure every type a resource file may name in "@type" (including types only reached
// through an Any, like the HTTP router filter) is in the descriptor pool of a statically linked
// binary. Called by buildGroupSnapshot; call it before parsing files too.
void keepResourceTypesLinked();

}  // namespace Skiff::Control
