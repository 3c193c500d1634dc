// libFuzzer target: xDS response handling, from the bytes of a DiscoveryResponse (or
// DeltaDiscoveryResponse) to internal config, the way the sidecar's control thread does it
// before anything reaches main or a worker:
//   1. decode (Config::Xds::decodeSotwResponse / decodeDeltaResponse, the ADS client's code):
//      resources unpacked, type-checked and named, duplicates refused, unchanged ones recognised
//      by their bytes, missing SotW listeners/clusters turned into removals;
//   2. validate each resource (Server::validate*Update, XdsManager's code);
//   3. translate what validation accepted into what main builds: ClusterInfo (through a real
//      ClusterManager), every listener filter's factory (tcp_proxy, the HTTP connection manager
//      with its route table), route tables for RDS.
// Several responses of one type can come in one input; the resources an accepted response
// leaves are held for the next, as the client holds them after an ACK.
//
// Input: one control byte (bits 0-1: Listener, Cluster, ClusterLoadAssignment,
// RouteConfiguration; bit 2: delta), then responses, each a 2-byte big-endian length and that
// many bytes of serialized response (the rest of the input is the last one).
//
// Besides "no crash, no leak, no sanitizer report", it checks: an update never upserts a name
// twice or removes a name it also upserts or does not hold, and what validation accepts always
// builds (a resource that is ACKed but cannot be applied is the bug this looks for).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "source/common/common/logger.h"
#include "source/common/config/xds/response_decoder.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/router/config_impl.h"
#include "source/common/stats/stats_impl.h"
#include "source/common/upstream/cluster_manager.h"
#include "source/extensions/filters/network/common/factory.h"
#include "source/extensions/filters/network/http_connection_manager/rds.h"
#include "source/server/xds_resources.h"

namespace Skiff {
namespace {

using Config::Xds::ConfigUpdate;

[[noreturn]] void fail(const std::string& what) {
  fprintf(stderr, "xds_fuzz: %s\n", what.c_str());
  abort();
}

const char* const kTypes[] = {Config::Xds::kListenerType, Config::Xds::kClusterType,
                              Config::Xds::kEndpointType, Config::Xds::kRouteType};

// What main builds from validated resources, minus sockets and workers.
class Translator {
 public:
  Translator()
      : clusters_(stats_, {}, dispatcher_),
        routes_({}, dispatcher_,
                [this](const envoy::config::route::v3::RouteConfiguration& config,
                       bool from_rds) -> absl::StatusOr<Router::RouteTableConstSharedPtr> {
                  return buildTable(config, from_rds);
                }),
        context_{stats_, clusters_, &routes_, nullptr} {}

  absl::StatusOr<Router::RouteTableConstSharedPtr> buildTable(
      const envoy::config::route::v3::RouteConfiguration& config, bool from_rds) {
    Router::RouteTableOptions options;
    options.validate_clusters_default = !from_rds;
    options.cluster_exists = [this](absl::string_view name) {
      return clusters_.find(std::string(name)) != nullptr;
    };
    return Router::RouteTable::create(config, options);
  }

  // False if validation refused the update (a NACK).
  bool apply(const ConfigUpdate& update) {
    if (update.type_url == Config::Xds::kClusterType) {
      auto validated = Server::validateClusterUpdate(update);
      if (!validated.ok()) {
        return false;
      }
      for (const auto& cluster : *validated) {
        if (auto status = clusters_.addOrUpdateCluster(cluster); !status.ok()) {
          fail("validated cluster '" + cluster.name() +
               "' failed to build: " + std::string(status.message()));
        }
      }
      for (const auto& name : update.removes) {
        clusters_.removeCluster(name);
      }
    } else if (update.type_url == Config::Xds::kEndpointType) {
      auto validated = Server::validateEndpointUpdate(update);
      if (!validated.ok()) {
        return false;
      }
      // Applied by rebuilding an EDS cluster with them, as the XdsManager does.
      for (const auto& assignment : *validated) {
        envoy::config::cluster::v3::Cluster cluster;
        cluster.set_name("eds:" + assignment.cluster_name());
        cluster.set_type(envoy::config::cluster::v3::Cluster::EDS);
        *cluster.mutable_load_assignment() = assignment;
        if (auto status = clusters_.addOrUpdateCluster(cluster); !status.ok()) {
          fail("validated endpoints of '" + assignment.cluster_name() +
               "' failed to build: " + std::string(status.message()));
        }
      }
    } else if (update.type_url == Config::Xds::kListenerType) {
      auto validated = Server::validateListenerUpdate(update);
      if (!validated.ok()) {
        return false;
      }
      for (const auto& listener : *validated) {
        for (const auto& chain : listener.filter_chains()) {
          for (const auto& filter : chain.filters()) {
            envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager
                hcm;
            if (filter.typed_config().UnpackTo(&hcm) && hcm.access_log_size() > 0) {
              continue;  // No access log manager here: it would create the files named.
            }
            const auto* factory = Extensions::NetworkFilters::findNetworkFilterFactory(
                filter.typed_config().type_url());
            if (factory == nullptr) {
              fail("validated listener '" + listener.name() + "' has a filter with no factory");
            }
            auto cb = factory->createFilterFactory(filter.typed_config(), context_);
            if (!cb.ok()) {
              fail("validated listener '" + listener.name() +
                   "' failed to build: " + std::string(cb.status().message()));
            }
          }
        }
      }
    } else {
      auto validated = Server::validateRouteUpdate(update);
      if (!validated.ok()) {
        return false;
      }
      for (const auto& route : *validated) {
        if (auto table = buildTable(route, /*from_rds=*/true); !table.ok()) {
          fail("validated route '" + route.name() +
               "' failed to build: " + std::string(table.status().message()));
        }
      }
    }
    return true;
  }

 private:
  Event::DispatcherImpl dispatcher_{"fuzz"};
  Stats::StoreImpl stats_;
  Upstream::ClusterManager clusters_;
  Extensions::NetworkFilters::HttpConnectionManager::RouteConfigProviderManagerImpl routes_;
  Extensions::NetworkFilters::FactoryContext context_;
};

void checkUpdate(const ConfigUpdate& update, const std::map<std::string, std::string>& known) {
  std::set<std::string> upserted;
  for (const auto& resource : update.upserts) {
    if (!upserted.insert(resource.name).second) {
      fail("name upserted twice: " + resource.name);
    }
    if (resource.name.empty()) {
      fail("a resource without a name was upserted");
    }
  }
  for (const auto& name : update.removes) {
    if (upserted.count(name) || !known.count(name)) {
      fail("removal of a name upserted or not held: " + name);
    }
  }
}

}  // namespace
}  // namespace Skiff

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace Skiff;
  static const bool quiet = [] {
    Logger::setLevel(Logger::Level::off);
    return true;
  }();
  (void)quiet;
  if (size == 0) {
    return 0;
  }
  const std::string type_url = kTypes[data[0] & 3];
  const bool delta = (data[0] & 4) != 0;
  std::map<std::string, std::string> known;
  absl::flat_hash_map<std::string, std::string> known_by_version;
  Translator translator;
  size_t at = 1;
  while (at < size) {
    size_t length = size - at;
    if (size - at >= 2) {
      const size_t prefixed = (size_t{data[at]} << 8) | data[at + 1];
      if (prefixed <= size - at - 2) {
        length = prefixed;
        at += 2;
      }
    }
    const auto* bytes = data + at;
    at += length;

    const Config::Xds::HeldResources held{known, known_by_version};
    Config::Xds::DecodedResponse decoded;
    if (delta) {
      envoy::service::discovery::v3::DeltaDiscoveryResponse response;
      if (!response.ParseFromArray(bytes, static_cast<int>(length))) {
        continue;
      }
      decoded = Config::Xds::decodeDeltaResponse(response, type_url, held);
    } else {
      envoy::service::discovery::v3::DiscoveryResponse response;
      if (!response.ParseFromArray(bytes, static_cast<int>(length))) {
        continue;
      }
      decoded = Config::Xds::decodeSotwResponse(response, type_url, held);
    }
    if (!decoded.errors.empty()) {
      continue;  // NACKed: nothing held changes.
    }
    checkUpdate(decoded.update, known);
    if (!translator.apply(decoded.update)) {
      continue;  // NACKed.
    }
    // Held as after an ACK (the ADS client's bookkeeping).
    for (const auto& resource : decoded.update.upserts) {
      auto old = known.find(resource.name);
      if (old != known.end() && !delta) {
        known_by_version.erase(old->second);
      }
      known[resource.name] = resource.version;
      if (!delta) {
        known_by_version[resource.version] = resource.name;
      }
    }
    for (const auto& name : decoded.update.removes) {
      auto old = known.find(name);
      if (old != known.end()) {
        if (!delta) {
          known_by_version.erase(old->second);
        }
        known.erase(old);
      }
    }
  }
  return 0;
}
