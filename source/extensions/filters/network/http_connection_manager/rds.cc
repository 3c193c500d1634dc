#include "source/extensions/filters/network/http_connection_manager/rds.h"

#include "absl/strings/str_cat.h"

namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager {

RdsRouteConfigProvider::RdsRouteConfigProvider(std::string name,
                                               std::vector<Event::Dispatcher*> workers,
                                               Event::Dispatcher& main)
    : name_(std::move(name)),
      slot_(std::move(workers), main, [] { return std::make_unique<PerWorker>(); }) {}

Router::RouteTableConstSharedPtr RdsRouteConfigProvider::current() const {
  if (ThreadLocal::currentWorkerIndex() < 0) {
    return main_table_;
  }
  return slot_.get().table;
}

void RdsRouteConfigProvider::update(Router::RouteTableConstSharedPtr table,
                                    std::function<void()> applied) {
  main_table_ = table;
  slot_.runOnAllWorkers([table](PerWorker& worker) { worker.table = table; }, std::move(applied));
}

RouteConfigProviderManagerImpl::RouteConfigProviderManagerImpl(
    std::vector<Event::Dispatcher*> workers, Event::Dispatcher& main, RouteTableFactory factory)
    : workers_(std::move(workers)), main_(main), factory_(std::move(factory)) {}

absl::StatusOr<RouteConfigProviderSharedPtr> RouteConfigProviderManagerImpl::createStatic(
    const envoy::config::route::v3::RouteConfiguration& config, absl::string_view path) {
  auto table = factory_(config, /*from_rds=*/false);
  if (!table.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", table.status().message()));
  }
  static_configs_.push_back(DumpEntry{config.name(), "", config, std::chrono::system_clock::now()});
  return std::make_shared<StaticRouteConfigProvider>(std::move(*table));
}

RouteConfigProviderSharedPtr RouteConfigProviderManagerImpl::getOrCreateRds(
    const std::string& name) {
  auto& provider = rds_[name];
  if (provider == nullptr) {
    provider = std::make_shared<RdsRouteConfigProvider>(name, workers_, main_);
  }
  return provider;
}

void RouteConfigProviderManagerImpl::install(
    const envoy::config::route::v3::RouteConfiguration& config, const std::string& version,
    Router::RouteTableConstSharedPtr table, std::function<void()> applied) {
  dynamic_[config.name()] =
      DumpEntry{config.name(), version, config, std::chrono::system_clock::now()};
  // The provider exists before any listener names it, so a listener built later starts with
  // this table.
  auto provider = std::static_pointer_cast<RdsRouteConfigProvider>(getOrCreateRds(config.name()));
  provider->update(std::move(table), std::move(applied));
}

std::vector<RouteConfigProviderManagerImpl::DumpEntry>
RouteConfigProviderManagerImpl::dynamicConfigs() const {
  std::vector<DumpEntry> out;
  for (const auto& [name, entry] : dynamic_) {
    out.push_back(entry);
  }
  return out;
}

}  // namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager
