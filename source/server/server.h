#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "source/common/access_log/access_log_manager_impl.h"
#include "source/common/config/xds/ads_client.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/http/admin_server.h"
#include "source/common/stats/stats.h"
#include "source/common/upstream/cluster_manager.h"
#include "source/extensions/filters/network/common/factory.h"
#include "source/extensions/filters/network/http_connection_manager/rds.h"
#include "source/server/listener_manager.h"
#include "source/server/options.h"
#include "source/server/overload_manager.h"
#include "source/server/worker.h"
#include "source/server/xds_manager.h"

namespace Skiff::Server {

// Envoy's server states, in the numbering of the `server.state` gauge.
enum class ServerState { Live = 0, Draining = 1, PreInitializing = 2, Initializing = 3 };

/**
 * The skiff process (Envoy's InstanceImpl). Owns, on the main thread: the main dispatcher, the
 * stats store, the cluster manager, the listener manager and its workers, the admin server and the
 * signal handlers. Everything here runs on main except the workers' own loops.
 */
class InstanceImpl {
 public:
  InstanceImpl(Options options, envoy::config::bootstrap::v3::Bootstrap bootstrap);
  ~InstanceImpl();

  // Builds everything, binds listeners and the admin port. An error (bad filter config, a port in
  // use) is returned before any worker starts.
  absl::Status initialize();

  // Runs the main loop until shutdown; returns the process exit code.
  int run();

  // Stops accepting, lets connections finish for up to the drain time, then stops. Main thread.
  void startDrainAndShutdown(const std::string& reason);

  // For tests and fuzzers that drive the main loop themselves (after initialize(), without
  // run()): the main dispatcher and the admin server (null without one). Main thread.
  Event::DispatcherImpl& dispatcherForTest() { return *dispatcher_; }
  Http::Admin::AdminServer* adminForTest() { return admin_.get(); }

 private:
  void registerAdminHandlers();
  void onInitialized();
  absl::StatusOr<std::string> adsTarget() const;
  absl::Status createXdsClient();
  // The overload manager and the connection limits (global and per listener), from the
  // bootstrap's overload_manager and layered_runtime.
  absl::Status createOverloadManager();
  void stopControlThread();
  void onDrainTick();
  void shutdownNow();
  std::string serverInfoJson() const;
  std::string configDumpJson() const;
  std::string listenersText(bool json) const;
  std::string clustersText(bool json) const;

  const Options options_;
  const envoy::config::bootstrap::v3::Bootstrap bootstrap_;
  const std::chrono::system_clock::time_point start_time_;
  std::unique_ptr<Stats::Store> stats_;
  std::unique_ptr<Event::DispatcherImpl> dispatcher_;
  std::vector<WorkerPtr> workers_;
  std::unique_ptr<OverloadManagerImpl> overload_manager_;  // Only with overload_manager set.
  Config::RuntimeSnapshot runtime_;
  std::unique_ptr<AccessLog::AccessLogManagerImpl> access_log_manager_;
  std::unique_ptr<Upstream::ClusterManager> cluster_manager_;
  std::unique_ptr<Extensions::NetworkFilters::HttpConnectionManager::RouteConfigProviderManagerImpl>
      route_manager_;
  std::unique_ptr<Extensions::NetworkFilters::FactoryContext> factory_context_;
  std::unique_ptr<ListenerManagerImpl> listener_manager_;
  std::unique_ptr<Http::Admin::AdminServer> admin_;
  std::vector<Event::SignalEventPtr> signals_;
  // The control thread and what lives on it (only with dynamic_resources.ads_config).
  std::unique_ptr<Event::DispatcherImpl> control_dispatcher_;
  std::unique_ptr<XdsManager> xds_manager_;
  std::unique_ptr<Config::Xds::AdsClient> ads_client_;
  std::thread control_thread_;
  std::chrono::milliseconds initial_fetch_timeout_{15000};
  Event::TimerPtr init_timer_;
  Event::TimerPtr drain_timer_;
  Event::TimerPtr quit_timer_;
  std::chrono::steady_clock::time_point drain_deadline_;
  ServerState state_{ServerState::Initializing};
  Stats::Gauge* state_gauge_{nullptr};
  bool shutting_down_{false};
};

}  // namespace Skiff::Server
