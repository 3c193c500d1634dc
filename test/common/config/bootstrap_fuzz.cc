// libFuzzer target: loading a bootstrap the way `skiff -c` does (parse YAML or JSON, validate),
// then, for a bootstrap that validation accepts, building what the server builds from it without
// sockets: the runtime snapshot, the overload manager, each cluster's ClusterInfo and each
// listener filter's factory.
//
// Input: one control byte (format: YAML, JSON, or by content as for a file without extension),
// then the file's bytes.
//
// Besides "no crash, no leak, no sanitizer report", it checks the promise validation makes: a
// bootstrap it accepts never fails to build. A validated config that the server then refuses (or
// that the xDS path would apply and then fail on) is a bug in the validator.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "source/common/common/logger.h"
#include "source/common/config/bootstrap.h"
#include "source/common/config/runtime.h"
#include "source/common/config/validation.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/router/config_impl.h"
#include "source/common/stats/stats_impl.h"
#include "source/common/upstream/cluster_manager.h"
#include "source/extensions/filters/network/common/factory.h"
#include "source/extensions/filters/network/http_connection_manager/rds.h"
#include "source/server/overload_manager.h"

namespace Skiff {
namespace {

[[noreturn]] void fail(const std::string& what, absl::string_view why) {
  fprintf(stderr, "bootstrap_fuzz: validated bootstrap failed to build: %s: %s\n", what.c_str(),
          std::string(why).c_str());
  abort();
}

void buildAccepted(const envoy::config::bootstrap::v3::Bootstrap& bootstrap) {
  static Event::DispatcherImpl* dispatcher = new Event::DispatcherImpl("fuzz");
  Stats::StoreImpl stats;
  if (bootstrap.has_layered_runtime()) {
    auto runtime = Config::RuntimeSnapshot::create(bootstrap.layered_runtime());
    if (!runtime.ok()) {
      fail("layered_runtime", runtime.status().message());
    }
  }
  if (bootstrap.has_overload_manager()) {
    auto manager = Server::OverloadManagerImpl::create(bootstrap.overload_manager(), *dispatcher,
                                                       stats, nullptr);
    if (!manager.ok()) {
      fail("overload_manager", manager.status().message());
    }
    (*manager)->refresh();
  }
  // No workers: clusters are built and kept on "main" only.
  Upstream::ClusterManager clusters(stats, {}, *dispatcher);
  for (const auto& cluster : bootstrap.static_resources().clusters()) {
    if (auto status = clusters.addOrUpdateCluster(cluster); !status.ok()) {
      fail("cluster " + cluster.name(), status.message());
    }
  }
  // Route tables as the server builds them (no workers to hand them to).
  Extensions::NetworkFilters::HttpConnectionManager::RouteConfigProviderManagerImpl routes(
      {}, *dispatcher,
      [&clusters](const envoy::config::route::v3::RouteConfiguration& config,
                  bool from_rds) -> absl::StatusOr<Router::RouteTableConstSharedPtr> {
        Router::RouteTableOptions options;
        options.validate_clusters_default = !from_rds;
        options.cluster_exists = [&clusters](absl::string_view name) {
          return clusters.find(std::string(name)) != nullptr;
        };
        return Router::RouteTable::create(config, options);
      });
  // No access log manager: it would open (create) the files a fuzzed config names. HTTP
  // connection managers with access logs are therefore not built here.
  Extensions::NetworkFilters::FactoryContext context{stats, clusters, &routes, nullptr};
  for (const auto& listener : bootstrap.static_resources().listeners()) {
    for (const auto& chain : listener.filter_chains()) {
      for (const auto& filter : chain.filters()) {
        envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager hcm;
        if (filter.typed_config().UnpackTo(&hcm) && hcm.access_log_size() > 0) {
          continue;
        }
        const auto* factory =
            Extensions::NetworkFilters::findNetworkFilterFactory(filter.typed_config().type_url());
        if (factory == nullptr) {
          fail("listener " + listener.name(), "no factory for " + filter.typed_config().type_url());
        }
        auto cb = factory->createFilterFactory(filter.typed_config(), context);
        if (!cb.ok()) {
          fail("listener " + listener.name(), cb.status().message());
        }
      }
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
  const Config::ConfigFormat format = data[0] % 3 == 0   ? Config::ConfigFormat::Yaml
                                      : data[0] % 3 == 1 ? Config::ConfigFormat::Json
                                                         : Config::ConfigFormat::Auto;
  const absl::string_view content(reinterpret_cast<const char*>(data) + 1, size - 1);
  // What main() does with -c: parse, then validate the whole bootstrap.
  auto bootstrap = Config::parseBootstrapFromString(content, format, "fuzz.yaml");
  if (!bootstrap.ok()) {
    return 0;
  }
  if (!Config::validateBootstrap(*bootstrap).ok()) {
    return 0;
  }
  buildAccepted(*bootstrap);
  return 0;
}
