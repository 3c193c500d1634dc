#include "source/server/xds_resources.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "source/common/config/validation.h"
#include "source/common/upstream/cluster_manager.h"

namespace Skiff::Server {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using envoy::config::listener::v3::Listener;
using envoy::config::route::v3::RouteConfiguration;

// Unpacks every upsert as T and runs `check` on it; all errors, or all resources.
template <class T, class Check>
absl::StatusOr<std::vector<T>> validateEach(const Config::Xds::ConfigUpdate& update, Check check) {
  std::vector<std::string> errors;
  std::vector<T> out;
  for (const auto& resource : update.upserts) {
    T message;
    if (!resource.resource.UnpackTo(&message)) {
      errors.push_back(
          absl::StrCat(T::descriptor()->name(), " '", resource.name, "': cannot decode its bytes"));
      continue;
    }
    if (absl::Status status = check(message); !status.ok()) {
      errors.emplace_back(status.message());
      continue;
    }
    out.push_back(std::move(message));
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<Cluster>> validateClusterUpdate(
    const Config::Xds::ConfigUpdate& update) {
  return validateEach<Cluster>(update, [](const Cluster& cluster) {
    if (auto status =
            Config::validateCluster(cluster, absl::StrCat("cluster '", cluster.name(), "'"));
        !status.ok()) {
      return status;
    }
    // Built here too: what main could not build (a STRICT_DNS hostname, which the sidecar cannot
    // resolve yet) is NACKed rather than ACKed and never applied.
    return Upstream::buildClusterInfo(cluster).status();
  });
}

absl::StatusOr<std::vector<ClusterLoadAssignment>> validateEndpointUpdate(
    const Config::Xds::ConfigUpdate& update) {
  return validateEach<ClusterLoadAssignment>(update, [](const ClusterLoadAssignment& assignment) {
    return Config::validateClusterLoadAssignment(
        assignment, absl::StrCat("cluster_load_assignment '", assignment.cluster_name(), "'"));
  });
}

absl::StatusOr<std::vector<Listener>> validateListenerUpdate(
    const Config::Xds::ConfigUpdate& update) {
  return validateEach<Listener>(update, [](const Listener& listener) {
    return Config::validateListener(listener, Config::KnownClusters::any(),
                                    absl::StrCat("listener '", listener.name(), "'"));
  });
}

absl::StatusOr<std::vector<RouteConfiguration>> validateRouteUpdate(
    const Config::Xds::ConfigUpdate& update) {
  return validateEach<RouteConfiguration>(update, [](const RouteConfiguration& route) {
    return Config::validateRouteConfiguration(route, Config::KnownClusters::any(),
                                              /*validate_clusters_default=*/false);
  });
}

}  // namespace Skiff::Server
