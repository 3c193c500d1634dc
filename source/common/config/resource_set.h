#pragma once

// Sets of xDS resources that must be consistent among themselves, as written in Envoy's
// file-based xDS shape:
//
//   resources:
//   - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
//     name: backend
//     ...
//
// skiff-control validates each node group (all its files, plus what was applied through its admin
// API) as one set; `skiffctl validate` checks files the same way, offline. A set is checked as a
// whole because its resources refer to each other (listeners to clusters and route
// configurations, routes to clusters, EDS clusters to their ClusterLoadAssignment; see
// http_validation.h): every reference must resolve inside the set. Every error names where the
// resource was written ("file:line"), the resource, the field and the reason.
//
// Thread: pure functions; any thread.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "google/protobuf/any.pb.h"
#include "source/common/config/message_loader.h"

namespace Skiff::Config {

// One resource as written in a document, still packed, with where it was written: "file:line",
// or "file: resources[i]" where no line is known (JSON, flow-style YAML).
struct SourcedResource {
  std::string where;
  google::protobuf::Any any;
};

// Parses a document with a top-level `resources:` list of "@type"d resources and appends them to
// `out`. `source_name` starts every location and error. A blank document holds no resources.
// Errors (syntax, unknown fields, unknown "@type") are "source:line: reason" lines. Every type a
// document may name in "@type" (including those only reached through an Any, like the HTTP
// router filter) is kept in the descriptor pool of statically linked binaries.
absl::Status parseResourcesDocument(absl::string_view content, ConfigFormat format,
                                    absl::string_view source_name,
                                    std::vector<SourcedResource>& out);

// (type URL, name): what identifies a resource within a set.
using ResourceKey = std::pair<std::string, std::string>;

// The resource's name: its `name` field, or `cluster_name` for ClusterLoadAssignment. Empty when
// the type is not linked into the binary, the bytes do not parse, or the name is unset.
std::string resourceName(const google::protobuf::Any& any);

// A decoded resource and where it was written.
template <class Message>
struct Located {
  Message resource;
  std::string where;
};

// A set that passed validateResourceSet(), decoded, each kind by name.
struct ResourceSet {
  std::map<std::string, Located<envoy::config::cluster::v3::Cluster>> clusters;
  std::map<std::string, Located<envoy::config::endpoint::v3::ClusterLoadAssignment>> assignments;
  std::map<std::string, Located<envoy::config::listener::v3::Listener>> listeners;
  std::map<std::string, Located<envoy::config::route::v3::RouteConfiguration>> routes;
  // Allowed but probably unintended ("where: text"), e.g. endpoints no EDS cluster uses.
  std::vector<std::string> warnings;
};

// Validates `resources` as one set: supported types (Listener, RouteConfiguration, Cluster,
// ClusterLoadAssignment), names present and unique per type, references resolved inside the set
// (tcp_proxy and route clusters, HTTP connection managers' RDS route configurations, each EDS
// cluster's ClusterLoadAssignment), no two listeners on one address, and every per-resource check
// of validation.h and http_validation.h. The error holds every problem, one
// "where: resource.field: reason" line each.
absl::StatusOr<ResourceSet> validateResourceSet(const std::vector<SourcedResource>& resources);

}  // namespace Skiff::Config
