#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "source/common/config/xds/ads_client.h"
#include "source/common/event/dispatcher.h"
#include "source/common/stats/stats.h"
#include "source/common/upstream/cluster_manager.h"
#include "source/extensions/filters/network/http_connection_manager/rds.h"
#include "source/server/listener_manager.h"

namespace Skiff::Server {

/**
 * Applies what the ADS stream delivers: clusters (CDS), their endpoints (EDS) and listeners (LDS).
 *
 * Threading: the SubscriptionCallbacks run on the control thread, which validates every resource
 * there, so nothing invalid ever reaches main or a worker: a bad update is NACKed with the
 * resource, field and reason and the last good config keeps serving. Valid updates are posted to
 * main, which owns the listener and cluster managers: main binds sockets and builds the immutable
 * configs and posts them to every worker; the `done` that ACKs runs only once every worker has
 * applied the update.
 *
 * Ordering: an EDS cluster is held back ("warming") until its first ClusterLoadAssignment arrives
 * or the initial fetch timeout passes, and LDS updates wait while any cluster is warming, so a
 * listener never goes live pointing at a cluster that is not ready. Likewise a listener whose
 * HTTP connection manager names an RDS RouteConfiguration waits until that RouteConfiguration
 * arrived (or the initial fetch timeout passed). The RouteConfiguration names subscribed are
 * those the accepted listeners use; a new version of one reaches every worker's route provider
 * without touching listeners or connections.
 */
class XdsManager : public Config::Xds::SubscriptionCallbacks {
 public:
  struct Options {
    std::chrono::milliseconds drain_time;             // For removed listeners' connections.
    std::chrono::milliseconds initial_fetch_timeout;  // Warming limit for EDS clusters.
    // Runs on main once the first CDS and LDS updates are applied (or the wait timed out).
    std::function<void()> on_initialized;
    bool expect_cds{true};
    bool expect_lds{true};
  };

  // `routes` (main-thread object) receives RDS updates; may be null when HTTP is not set up.
  XdsManager(Event::Dispatcher& main, Event::Dispatcher& control, ListenerManagerImpl& listeners,
             Upstream::ClusterManager& clusters, Options options,
             Extensions::NetworkFilters::HttpConnectionManager::RouteConfigProviderManagerImpl*
                 routes = nullptr);

  // Control thread: the client to tell about EDS names. Must be set before updates arrive.
  void setAdsClient(Config::Xds::AdsClient& client) { ads_client_ = &client; }

  // Config::Xds::SubscriptionCallbacks (control thread).
  void onConfigUpdate(Config::Xds::ConfigUpdate update, Config::Xds::UpdateDoneCb done) override;
  void onStreamStatus(bool connected) override;

 private:
  // Updates with at least this many changes give freed memory back to the kernel afterwards.
  static constexpr size_t kLargeUpdate = 100;

  void onClusters(Config::Xds::ConfigUpdate update, Config::Xds::UpdateDoneCb done);
  void onEndpoints(Config::Xds::ConfigUpdate update, Config::Xds::UpdateDoneCb done);
  void onListeners(Config::Xds::ConfigUpdate update, Config::Xds::UpdateDoneCb done);
  void onRoutes(Config::Xds::ConfigUpdate update, Config::Xds::UpdateDoneCb done);
  // Subscribes to the RouteConfiguration names the accepted listeners (plus `extra`) use.
  void updateRdsSubscription(const std::map<std::string, std::vector<std::string>>& extra);
  // Route names `update` needs that have not arrived yet.
  std::vector<std::string> missingRoutes(const Config::Xds::ConfigUpdate& update) const;
  // Posts cluster changes to main; `done` runs once every worker has them.
  void applyClusters(std::vector<envoy::config::cluster::v3::Cluster> upserts,
                     std::vector<std::string> removes, std::function<void()> done,
                     std::string version = "");
  envoy::config::cluster::v3::Cluster withEndpoints(
      const envoy::config::cluster::v3::Cluster& cluster) const;
  static std::string edsServiceName(const envoy::config::cluster::v3::Cluster& cluster);
  void updateEdsSubscription();
  void finishWarming();
  void releaseParkedListeners();
  void markApplied(const std::string& type_url);

  Event::Dispatcher& main_;
  Event::Dispatcher& control_;
  ListenerManagerImpl& listeners_;
  Upstream::ClusterManager& clusters_;
  const Options options_;
  Extensions::NetworkFilters::HttpConnectionManager::RouteConfigProviderManagerImpl* routes_;
  Config::Xds::AdsClient* ads_client_{nullptr};

  // Control-thread state.
  // Accepted EDS clusters (the others are not needed again once main has them).
  std::map<std::string, envoy::config::cluster::v3::Cluster> eds_clusters_;
  std::map<std::string, envoy::config::endpoint::v3::ClusterLoadAssignment> endpoints_;
  std::map<std::string, envoy::config::cluster::v3::Cluster> warming_;  // Waiting for EDS.
  std::deque<std::pair<Config::Xds::ConfigUpdate, Config::Xds::UpdateDoneCb>> parked_listeners_;
  Event::TimerPtr warming_timer_;
  // RDS (control thread): route names per accepted listener, the names received so far, and
  // the wait for routes that listeners need.
  std::map<std::string, std::vector<std::string>> listener_routes_;
  std::set<std::string> routes_received_;
  Event::TimerPtr route_wait_timer_;
  bool route_wait_expired_{false};
  bool cds_applied_{false};
  bool lds_applied_{false};
  bool initialized_{false};
};

}  // namespace Skiff::Server
