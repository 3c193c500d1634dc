#pragma once

// Route tables from RDS: one provider per RouteConfiguration name, shared by every connection
// manager that names it, whose table is replaced on every worker when a new version arrives.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "envoy/config/route/v3/route.pb.h"
#include "source/common/event/dispatcher.h"
#include "source/common/thread_local/thread_local.h"
#include "source/extensions/filters/network/http_connection_manager/route_provider.h"

namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager {

// Builds an immutable table from a RouteConfiguration (inline, or from RDS: unknown clusters are
// then allowed unless the config sets validate_clusters). Main thread.
using RouteTableFactory = std::function<absl::StatusOr<Router::RouteTableConstSharedPtr>(
    const envoy::config::route::v3::RouteConfiguration& config, bool from_rds)>;

/**
 * The provider for one RDS RouteConfiguration. current() reads the calling worker's copy of the
 * table pointer (no lock, no shared atomic besides the table's reference count); update() runs
 * on main and swaps every worker's copy through a posted callback, so a worker sees the new table
 * between two of its own events, never in the middle of routing a request.
 */
class RdsRouteConfigProvider : public RouteConfigProvider {
 public:
  RdsRouteConfigProvider(std::string name, std::vector<Event::Dispatcher*> workers,
                         Event::Dispatcher& main);

  const std::string& name() const { return name_; }
  Router::RouteTableConstSharedPtr current() const override;

  // Main thread: installs `table` on every worker; `applied` runs on main after the last.
  void update(Router::RouteTableConstSharedPtr table, std::function<void()> applied);

 private:
  struct PerWorker {
    Router::RouteTableConstSharedPtr table;
  };

  const std::string name_;
  mutable ThreadLocal::Slot<PerWorker> slot_;
  Router::RouteTableConstSharedPtr main_table_;  // What main (and config dump) sees.
};

/**
 * Owns the RDS providers and builds static ones. Main thread only.
 */
class RouteConfigProviderManagerImpl : public RouteConfigProviderManager {
 public:
  RouteConfigProviderManagerImpl(std::vector<Event::Dispatcher*> workers, Event::Dispatcher& main,
                                 RouteTableFactory factory);

  // RouteConfigProviderManager
  absl::StatusOr<RouteConfigProviderSharedPtr> createStatic(
      const envoy::config::route::v3::RouteConfiguration& config, absl::string_view path) override;
  RouteConfigProviderSharedPtr getOrCreateRds(const std::string& name) override;

  // A RouteConfiguration arrived over RDS: buildTable() checks and builds it (nothing changes),
  // install() hands the table to every worker's provider; `applied` runs on main once all have
  // it.
  absl::StatusOr<Router::RouteTableConstSharedPtr> buildTable(
      const envoy::config::route::v3::RouteConfiguration& config) const {
    return factory_(config, /*from_rds=*/true);
  }
  void install(const envoy::config::route::v3::RouteConfiguration& config,
               const std::string& version, Router::RouteTableConstSharedPtr table,
               std::function<void()> applied);

  // For /config_dump.
  struct DumpEntry {
    std::string name;
    std::string version_info;  // Empty for inline route configs.
    envoy::config::route::v3::RouteConfiguration config;
    std::chrono::system_clock::time_point last_updated;
  };
  std::vector<DumpEntry> staticConfigs() const { return static_configs_; }
  std::vector<DumpEntry> dynamicConfigs() const;

 private:
  std::vector<Event::Dispatcher*> workers_;
  Event::Dispatcher& main_;
  RouteTableFactory factory_;
  std::map<std::string, std::shared_ptr<RdsRouteConfigProvider>> rds_;
  std::map<std::string, DumpEntry> dynamic_;
  std::vector<DumpEntry> static_configs_;
};

}  // namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager
