#include "source/server/xds_manager.h"

#include <malloc.h>

#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "source/common/common/logger.h"
#include "source/common/config/validation.h"
#include "source/server/xds_resources.h"

namespace Skiff::Server {

using Config::Xds::ConfigUpdate;
using Config::Xds::UpdateDoneCb;
using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;

XdsManager::XdsManager(
    Event::Dispatcher& main, Event::Dispatcher& control, ListenerManagerImpl& listeners,
    Upstream::ClusterManager& clusters, Options options,
    Extensions::NetworkFilters::HttpConnectionManager::RouteConfigProviderManagerImpl* routes)
    : main_(main),
      control_(control),
      listeners_(listeners),
      clusters_(clusters),
      options_(std::move(options)),
      routes_(routes) {
  if (!options_.expect_cds) {
    cds_applied_ = true;
  }
  if (!options_.expect_lds) {
    lds_applied_ = true;
  }
}

void XdsManager::onStreamStatus(bool connected) {
  SKIFF_LOG(info, "xds: management server %s", connected ? "connected" : "disconnected");
}

void XdsManager::onConfigUpdate(ConfigUpdate update, UpdateDoneCb done) {
  if (update.type_url == Config::Xds::kClusterType) {
    onClusters(std::move(update), std::move(done));
  } else if (update.type_url == Config::Xds::kEndpointType) {
    onEndpoints(std::move(update), std::move(done));
  } else if (update.type_url == Config::Xds::kListenerType) {
    onListeners(std::move(update), std::move(done));
  } else if (update.type_url == Config::Xds::kRouteType) {
    onRoutes(std::move(update), std::move(done));
  } else {
    done(absl::InvalidArgumentError(absl::StrCat("unsupported type ", update.type_url)));
  }
}

std::string XdsManager::edsServiceName(const Cluster& cluster) {
  const std::string& service = cluster.eds_cluster_config().service_name();
  return service.empty() ? cluster.name() : service;
}

Cluster XdsManager::withEndpoints(const Cluster& cluster) const {
  if (cluster.type() != Cluster::EDS) {
    return cluster;
  }
  Cluster merged = cluster;
  auto it = endpoints_.find(edsServiceName(cluster));
  if (it != endpoints_.end()) {
    *merged.mutable_load_assignment() = it->second;
  } else {
    merged.clear_load_assignment();
  }
  return merged;
}

void XdsManager::applyClusters(std::vector<Cluster> upserts, std::vector<std::string> removes,
                               std::function<void()> done, std::string version) {
  main_.post(
      [this, upserts = std::move(upserts), removes = std::move(removes), done, version]() mutable {
        // Main thread. One batch however large the update: each worker applies it a slice at a time
        // between its connections' events; `done` once every worker has all of it. The protos move
        // into the ClusterInfos.
        if (auto status = clusters_.applyUpdate(std::move(upserts), removes, done, version);
            !status.ok()) {
          // Validated on the control thread; reaching this is a bug, not bad input.
          SKIFF_LOG(error, "cluster update not fully applied: %s", status.message());
        }
      });
}

void XdsManager::onClusters(ConfigUpdate update, UpdateDoneCb done) {
  auto validated = validateClusterUpdate(update);
  if (!validated.ok()) {
    done(validated.status());
    return;
  }
  std::vector<Cluster> parsed = std::move(*validated);
  std::vector<Cluster> ready;
  ready.reserve(parsed.size());
  // EDS clusters are kept here, to be merged with each new ClusterLoadAssignment; every other
  // kind moves on to main as it is (at 100,000 clusters, a copy each is a third of this
  // thread's work).
  for (auto& cluster : parsed) {
    std::string name = cluster.name();
    warming_.erase(name);
    if (cluster.type() != Cluster::EDS) {
      eds_clusters_.erase(name);
      ready.push_back(std::move(cluster));
      continue;
    }
    eds_clusters_[name] = cluster;
    if (!endpoints_.count(edsServiceName(cluster))) {
      warming_[std::move(name)] = std::move(cluster);  // Not usable until its endpoints arrive.
      continue;
    }
    ready.push_back(withEndpoints(cluster));
  }
  for (const auto& name : update.removes) {
    eds_clusters_.erase(name);
    warming_.erase(name);
  }
  updateEdsSubscription();
  if (!warming_.empty() && warming_timer_ == nullptr) {
    warming_timer_ = control_.createTimer([this] {
      SKIFF_LOG(warn, "xds: no endpoints after %d ms for %d cluster(s); using them empty",
                options_.initial_fetch_timeout.count(), warming_.size());
      finishWarming();
    });
    warming_timer_->enableTimer(options_.initial_fetch_timeout);
  }
  // The ACK waits for the clusters that are ready; warming ones follow with their endpoints.
  applyClusters(
      std::move(ready), update.removes,
      [this, done] {
        done(absl::OkStatus());
        control_.post([this] { markApplied(Config::Xds::kClusterType); });
      },
      update.version);
}

void XdsManager::onEndpoints(ConfigUpdate update, UpdateDoneCb done) {
  auto validated = validateEndpointUpdate(update);
  if (!validated.ok()) {
    done(validated.status());
    return;
  }
  std::set<std::string> changed;
  std::map<std::string, ClusterLoadAssignment> parsed;
  for (auto& assignment : *validated) {
    std::string name = assignment.cluster_name();
    parsed[name] = std::move(assignment);
  }
  for (auto& [name, assignment] : parsed) {
    endpoints_[name] = std::move(assignment);
    changed.insert(name);
  }
  for (const auto& name : update.removes) {
    endpoints_.erase(name);
    changed.insert(name);
  }
  std::vector<Cluster> upserts;
  for (const auto& [name, cluster] : eds_clusters_) {
    if (changed.count(edsServiceName(cluster))) {
      upserts.push_back(withEndpoints(cluster));
      warming_.erase(name);
    }
  }
  applyClusters(
      std::move(upserts), {},
      [this, done] {
        done(absl::OkStatus());
        control_.post([this] {
          if (warming_.empty()) {
            warming_timer_.reset();
            releaseParkedListeners();
          }
        });
      },
      update.version);
}

void XdsManager::finishWarming() {
  std::vector<Cluster> upserts;
  for (const auto& [name, cluster] : warming_) {
    upserts.push_back(withEndpoints(cluster));
  }
  warming_.clear();
  warming_timer_.reset();
  applyClusters(std::move(upserts), {},
                [this] { control_.post([this] { releaseParkedListeners(); }); });
}

void XdsManager::updateEdsSubscription() {
  if (ads_client_ == nullptr) {
    return;
  }
  std::vector<std::string> names;
  for (const auto& [name, cluster] : eds_clusters_) {
    names.push_back(edsServiceName(cluster));
  }
  ads_client_->updateResourceNames(Config::Xds::kEndpointType, std::move(names));
}

void XdsManager::onListeners(ConfigUpdate update, UpdateDoneCb done) {
  if (!warming_.empty()) {
    // Make before break: listeners wait for the clusters they may use.
    parked_listeners_.emplace_back(std::move(update), std::move(done));
    return;
  }
  auto validated = validateListenerUpdate(update);
  if (!validated.ok()) {
    done(validated.status());
    return;
  }
  std::vector<envoy::config::listener::v3::Listener> upserts = std::move(*validated);
  // Subscribe to the routes these listeners use (the old ones' too, until they are replaced),
  // and hold the update back until the routes it needs are here.
  std::map<std::string, std::vector<std::string>> pending;
  for (const auto& listener : upserts) {
    pending[listener.name()] = Config::rdsRouteNames(listener);
  }
  updateRdsSubscription(pending);
  if (!route_wait_expired_ && !missingRoutes(update).empty()) {
    if (route_wait_timer_ == nullptr) {
      route_wait_timer_ = control_.createTimer([this] {
        SKIFF_LOG(warn, "xds: no RouteConfiguration after %d ms for a listener; using it without",
                  options_.initial_fetch_timeout.count());
        route_wait_expired_ = true;
        releaseParkedListeners();
      });
      route_wait_timer_->enableTimer(options_.initial_fetch_timeout);
    }
    parked_listeners_.emplace_back(std::move(update), std::move(done));
    return;
  }
  for (auto& [name, routes] : pending) {
    listener_routes_[name] = std::move(routes);
  }
  for (const auto& name : update.removes) {
    listener_routes_.erase(name);
  }
  updateRdsSubscription({});
  main_.post([this, upserts = std::move(upserts), removes = update.removes,
              version = update.version, done] {
    // Main thread: bind, build, hand to the workers; a bind failure is a NACK.
    auto status =
        listeners_.applyUpdate(upserts, removes, version, options_.drain_time, [this, done] {
          done(absl::OkStatus());
          control_.post([this] { markApplied(Config::Xds::kListenerType); });
        });
    if (!status.ok()) {
      done(status);
    }
  });
}

void XdsManager::releaseParkedListeners() {
  while (!parked_listeners_.empty() && warming_.empty() &&
         (route_wait_expired_ || missingRoutes(parked_listeners_.front().first).empty())) {
    auto [update, done] = std::move(parked_listeners_.front());
    parked_listeners_.pop_front();
    onListeners(std::move(update), std::move(done));
  }
  if (parked_listeners_.empty()) {
    route_wait_timer_.reset();
  }
}

std::vector<std::string> XdsManager::missingRoutes(const ConfigUpdate& update) const {
  std::vector<std::string> missing;
  for (const auto& resource : update.upserts) {
    envoy::config::listener::v3::Listener listener;
    if (!resource.resource.UnpackTo(&listener)) {
      continue;
    }
    for (auto& name : Config::rdsRouteNames(listener)) {
      if (!routes_received_.count(name)) {
        missing.push_back(std::move(name));
      }
    }
  }
  return missing;
}

void XdsManager::updateRdsSubscription(
    const std::map<std::string, std::vector<std::string>>& extra) {
  if (ads_client_ == nullptr) {
    return;
  }
  std::vector<std::string> names;
  using RouteMap = std::map<std::string, std::vector<std::string>>;
  const RouteMap* sources[] = {&listener_routes_, &extra};
  for (const RouteMap* source : sources) {
    for (const auto& [listener, routes] : *source) {
      names.insert(names.end(), routes.begin(), routes.end());
    }
  }
  ads_client_->updateResourceNames(Config::Xds::kRouteType, std::move(names));
}

void XdsManager::onRoutes(ConfigUpdate update, UpdateDoneCb done) {
  auto validated = validateRouteUpdate(update);
  if (!validated.ok()) {
    done(validated.status());
    return;
  }
  std::vector<envoy::config::route::v3::RouteConfiguration> parsed = std::move(*validated);
  if (routes_ == nullptr) {
    done(absl::InvalidArgumentError("RouteConfiguration received but HTTP routing is not set up"));
    return;
  }
  main_.post([this, parsed = std::move(parsed), version = update.version, done] {
    // Main thread: build every table first, so a bad one NACKs the whole response with nothing
    // changed; then hand them to the workers and ACK once every worker has every table.
    std::vector<Router::RouteTableConstSharedPtr> tables;
    std::vector<std::string> failures;
    for (const auto& route : parsed) {
      auto table = routes_->buildTable(route);
      if (!table.ok()) {
        failures.push_back(
            absl::StrCat("route_configuration '", route.name(), "': ", table.status().message()));
        continue;
      }
      tables.push_back(std::move(*table));
    }
    if (!failures.empty()) {
      done(absl::InvalidArgumentError(absl::StrJoin(failures, "\n")));
      return;
    }
    std::vector<std::string> arrived;
    for (const auto& route : parsed) {
      arrived.push_back(route.name());
    }
    auto remaining = std::make_shared<size_t>(parsed.size() + 1);
    auto one_done = [this, remaining, done, arrived] {
      if (--*remaining != 0) {
        return;
      }
      done(absl::OkStatus());
      // Listeners waiting for these routes may go live now that every worker has them.
      control_.post([this, arrived] {
        routes_received_.insert(arrived.begin(), arrived.end());
        releaseParkedListeners();
      });
    };
    for (size_t i = 0; i < parsed.size(); ++i) {
      routes_->install(parsed[i], version, std::move(tables[i]), one_done);
    }
    one_done();
  });
}

void XdsManager::markApplied(const std::string& type_url) {
  if (type_url == Config::Xds::kClusterType) {
    cds_applied_ = true;
  } else if (type_url == Config::Xds::kListenerType) {
    lds_applied_ = true;
  }
  if (!initialized_ && cds_applied_ && lds_applied_) {
    initialized_ = true;
    if (options_.on_initialized) {
      main_.post([cb = options_.on_initialized] { cb(); });
    }
  }
}

}  // namespace Skiff::Server
