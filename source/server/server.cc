#include "source/server/server.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "source/common/common/json.h"
#include "source/common/common/logger.h"
#include "source/common/common/version.h"
#include "source/common/config/utility.h"
#include "source/common/http/stats_handlers.h"
#include "source/common/network/connection_impl.h"
#include "source/common/router/config_impl.h"
#include "source/common/stats/stats_impl.h"
#include "source/common/upstream/cluster_health.h"
#include "source/common/upstream/http_conn_pool_impl.h"

namespace Skiff::Server {
namespace {

constexpr std::chrono::milliseconds kDrainPollInterval{100};

std::string toJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) {
    return "{}";
  }
  return out;
}

absl::string_view stateName(ServerState state) {
  switch (state) {
    case ServerState::Live:
      return "LIVE";
    case ServerState::Draining:
      return "DRAINING";
    case ServerState::PreInitializing:
      return "PRE_INITIALIZING";
    case ServerState::Initializing:
      return "INITIALIZING";
  }
  return "UNKNOWN";
}

}  // namespace

InstanceImpl::InstanceImpl(Options options, envoy::config::bootstrap::v3::Bootstrap bootstrap)
    : options_(std::move(options)),
      bootstrap_(std::move(bootstrap)),
      start_time_(std::chrono::system_clock::now()) {}

InstanceImpl::~InstanceImpl() {
  stopControlThread();
  for (auto& worker : workers_) {
    worker->stop();
  }
  // Admin and listeners go before the workers and dispatcher they point into.
  overload_manager_.reset();
  admin_.reset();
  listener_manager_.reset();
  // So does the cluster manager: its per-worker state owns the upstream connection pools, whose
  // connections and timers are registered with the workers' dispatchers. Destroyed after the
  // workers (as a member), it closed a connection still open at exit through a freed event base
  // (a crash whenever the drain time ran out with an upstream connection open, chaos_test test_5;
  // TSan: a destroyed mutex in ~HttpConnPoolImpl). The worker threads have been joined, so doing
  // it here on main is race-free. What refers to it goes first, in the members' own order.
  ads_client_.reset();
  xds_manager_.reset();
  factory_context_.reset();
  route_manager_.reset();
  cluster_manager_.reset();
  workers_.clear();
}

absl::Status InstanceImpl::initialize() {
  stats_ = std::make_unique<Stats::StoreImpl>();
  state_gauge_ = &stats_->gauge("server.state");
  state_gauge_->set(static_cast<int64_t>(ServerState::Initializing));
  stats_->gauge("server.concurrency").set(options_.concurrency);
  dispatcher_ = std::make_unique<Event::DispatcherImpl>("main");

  // --control-plane-cpus: from here on main and every thread it (or the control thread, or
  // gRPC) starts inherit the narrowed set; only the workers go back to the full one. Done before
  // any thread exists.
  const Thread::CpuSet process_cpus = Thread::CpuSet::ofCallingThread();
  if (options_.control_plane_cpus.has_value()) {
    const Thread::CpuSet& cpus = *options_.control_plane_cpus;
    if (!cpus.isSubsetOf(process_cpus)) {
      return absl::InvalidArgumentError(absl::StrCat("--control-plane-cpus ", cpus.toString(),
                                                     ": this process may only run on CPUs ",
                                                     process_cpus.toString()));
    }
    if (auto status = cpus.applyToCallingThread(); !status.ok()) {
      return status;
    }
    SKIFF_LOG(info, "control plane on CPUs %s, workers on %s", cpus.toString(),
              process_cpus.toString());
  }

  WorkerFactory worker_factory;
  std::vector<Event::Dispatcher*> worker_dispatchers;
  std::vector<WorkerImpl*> workers;
  for (uint32_t i = 0; i < options_.concurrency; ++i) {
    workers_.push_back(worker_factory.createWorker(i));
    if (options_.control_plane_cpus.has_value()) {
      workers_.back()->setCpus(process_cpus);
    }
    worker_dispatchers.push_back(&workers_.back()->dispatcher());
    workers.push_back(workers_.back().get());
  }

  // Access logs write through per-thread buffers drained by one flush thread.
  access_log_manager_ = std::make_unique<AccessLog::AccessLogManagerImpl>(stats_.get());
  cluster_manager_ = std::make_unique<Upstream::ClusterManager>(
      *stats_, worker_dispatchers, *dispatcher_,
      [](Event::Dispatcher& dispatcher, const Upstream::Host& host,
         const Upstream::ClusterInfoConstSharedPtr& cluster) -> Upstream::HttpConnPoolPtr {
        return std::make_unique<Upstream::HttpConnPoolImpl>(dispatcher, cluster, host);
      },
      bootstrap_.deferred_stat_options().enable_deferred_creation_stats());
  for (const auto& cluster : bootstrap_.static_resources().clusters()) {
    if (auto status = cluster_manager_->addOrUpdateCluster(cluster); !status.ok()) {
      return status;
    }
  }

  // Route tables. Inline route_configs check their clusters against the cluster manager (as
  // Envoy's validate_clusters default does); RDS ones do not (a cluster may arrive later).
  route_manager_ = std::make_unique<
      Extensions::NetworkFilters::HttpConnectionManager::RouteConfigProviderManagerImpl>(
      worker_dispatchers, *dispatcher_,
      [this](const envoy::config::route::v3::RouteConfiguration& config,
             bool from_rds) -> absl::StatusOr<Router::RouteTableConstSharedPtr> {
        Router::RouteTableOptions options;
        options.validate_clusters_default = !from_rds;
        options.cluster_exists = [this](absl::string_view name) {
          return cluster_manager_->find(std::string(name)) != nullptr;
        };
        return Router::RouteTable::create(config, options);
      });
  factory_context_.reset(new Extensions::NetworkFilters::FactoryContext{
      *stats_, *cluster_manager_, route_manager_.get(), access_log_manager_.get()});
  listener_manager_ =
      std::make_unique<ListenerManagerImpl>(workers, *dispatcher_, *stats_, *factory_context_);
  if (auto status = createOverloadManager(); !status.ok()) {
    return status;
  }
  if (options_.drain_on_listener_update) {
    listener_manager_->setDrainOnUpdate(
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.drain_time));
  }
  for (const auto& listener : bootstrap_.static_resources().listeners()) {
    if (auto status = listener_manager_->addOrUpdateListener(listener); !status.ok()) {
      return status;
    }
  }

  if (bootstrap_.dynamic_resources().has_ads_config()) {
    if (auto status = createXdsClient(); !status.ok()) {
      return status;
    }
  }

  if (bootstrap_.has_admin() && !bootstrap_.admin().has_address()) {
    SKIFF_LOG(info, "admin: no address given, so no admin server (as Envoy)");
  } else if (bootstrap_.has_admin()) {
    const auto& address = bootstrap_.admin().address().socket_address();
    if (!absl::StartsWith(address.address(), "127.") && address.address() != "::1") {
      SKIFF_LOG(warn,
                "admin: listening on %s, not loopback: anyone who reaches it can read the config "
                "and stop skiff",
                address.address());
    }
    admin_ = std::make_unique<Http::Admin::AdminServer>(dispatcher_->base());
    if (auto status = admin_->bind(address.address(), address.port_value()); !status.ok()) {
      return absl::UnavailableError(absl::StrCat("admin: ", status.message()));
    }
    registerAdminHandlers();
  }

  // Writes to closed sockets must fail with EPIPE, not kill the process.
  ::signal(SIGPIPE, SIG_IGN);
  for (int signum : {SIGTERM, SIGINT}) {
    signals_.push_back(dispatcher_->listenForSignal(signum, [this, signum] {
      startDrainAndShutdown(signum == SIGTERM ? "SIGTERM" : "SIGINT");
    }));
  }
  // Log rotation, as Envoy: reopen every access log file by its path.
  signals_.push_back(
      dispatcher_->listenForSignal(SIGUSR1, [this] { access_log_manager_->reopen(); }));
  return absl::OkStatus();
}

absl::Status InstanceImpl::createOverloadManager() {
  if (bootstrap_.has_layered_runtime()) {
    auto runtime = Config::RuntimeSnapshot::create(bootstrap_.layered_runtime());
    if (!runtime.ok()) {
      return runtime.status();
    }
    runtime_ = std::move(*runtime);
  }
  Overload::ConnectionLimitSharedPtr global_limit;
  if (bootstrap_.has_overload_manager()) {
    auto manager = OverloadManagerImpl::create(
        bootstrap_.overload_manager(), *dispatcher_, *stats_,
        [this](Overload::OverloadActionName action, Overload::OverloadActionState state) {
          for (auto& worker : workers_) {
            worker->setOverloadActionState(action, state);
          }
        });
    if (!manager.ok()) {
      return manager.status();
    }
    overload_manager_ = std::move(*manager);
    global_limit = overload_manager_->globalConnectionLimit();
  }
  // Envoy's older way to set the global limit, used when no monitor sets it.
  if (auto max = runtime_.getInteger(Config::kGlobalDownstreamMaxConnectionsKey);
      max.has_value() && global_limit == nullptr) {
    global_limit = std::make_shared<Overload::ConnectionLimit>(*max);
  }
  for (auto& worker : workers_) {
    worker->setGlobalConnectionLimit(global_limit);
  }
  listener_manager_->setRuntime(runtime_);
  return absl::OkStatus();
}

int InstanceImpl::run() {
  listener_manager_->startWorkers();
  if (overload_manager_ != nullptr) {
    overload_manager_->start();
  }
  // Parsing the bootstrap peaks well above what stays in use; give that back to the kernel once
  // (the malloc thresholds set in main() keep the data path from doing it all the time).
  malloc_trim(0);
  if (ads_client_ == nullptr) {
    onInitialized();
  } else {
    // Not ready until the first clusters and listeners from the management server are applied,
    // or the initial fetch timeout passes (then serve what the bootstrap has, as Envoy does).
    init_timer_ = dispatcher_->createTimer([this] {
      SKIFF_LOG(warn, "xds: no initial config after %d ms; going live without it",
                initial_fetch_timeout_.count());
      onInitialized();
    });
    init_timer_->enableTimer(initial_fetch_timeout_);
    control_thread_ = std::thread([this] {
      Logger::setThreadName("control");
      pthread_setname_np(pthread_self(), "control");
      control_dispatcher_->run(Event::Dispatcher::RunType::Block);
    });
    control_dispatcher_->post([this] { ads_client_->start(); });
  }
  dispatcher_->run(Event::Dispatcher::RunType::Block);
  // One more pass for anything already due, such as admin responses still being written.
  dispatcher_->run(Event::Dispatcher::RunType::NonBlock);
  stopControlThread();
  for (auto& worker : workers_) {
    worker->stop();
  }
  access_log_manager_->flush();
  SKIFF_LOG(info, "skiff exited cleanly");
  return 0;
}

void InstanceImpl::onInitialized() {
  if (state_ != ServerState::Initializing) {
    return;
  }
  init_timer_.reset();
  state_ = ServerState::Live;
  state_gauge_->set(static_cast<int64_t>(state_));
  SKIFF_LOG(info, "skiff %s live with %d workers", kVersion, workers_.size());
}

absl::StatusOr<std::string> InstanceImpl::adsTarget() const {
  const auto& ads = bootstrap_.dynamic_resources().ads_config();
  if (ads.grpc_services_size() == 0) {
    return absl::InvalidArgumentError("dynamic_resources.ads_config.grpc_services: required");
  }
  const auto& service = ads.grpc_services(0);
  if (service.has_google_grpc()) {
    return service.google_grpc().target_uri();
  }
  // envoy_grpc names a static cluster: connect to its first endpoint.
  auto cluster = cluster_manager_->find(service.envoy_grpc().cluster_name());
  if (cluster == nullptr || cluster->hosts.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: '",
                     service.envoy_grpc().cluster_name(), "' is not a static cluster with hosts"));
  }
  const auto& address = cluster->hosts.front().address;
  return absl::StrCat(address->version() == Network::Address::IpVersion::v4 ? "ipv4:" : "ipv6:",
                      address->asString());
}

absl::Status InstanceImpl::createXdsClient() {
  const auto& dynamic = bootstrap_.dynamic_resources();
  auto target = adsTarget();
  if (!target.ok()) {
    return target.status();
  }
  // LDS's timeout if it has one, else CDS's, else Envoy's default.
  initial_fetch_timeout_ = SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(
      dynamic.lds_config(), initial_fetch_timeout,
      SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(dynamic.cds_config(), initial_fetch_timeout,
                                       Config::kDefaultInitialFetchTimeout));
  if (initial_fetch_timeout_.count() == 0) {
    initial_fetch_timeout_ = std::chrono::hours(24 * 365);  // 0 means wait forever in Envoy.
  }
  control_dispatcher_ = std::make_unique<Event::DispatcherImpl>("control");
  XdsManager::Options xds_options{
      .drain_time = std::chrono::duration_cast<std::chrono::milliseconds>(options_.drain_time),
      .initial_fetch_timeout = std::min(initial_fetch_timeout_, std::chrono::milliseconds(15000)),
      .on_initialized = [this] { onInitialized(); },
      .expect_cds = dynamic.cds_config().has_ads(),
      .expect_lds = dynamic.lds_config().has_ads(),
  };
  xds_manager_ =
      std::make_unique<XdsManager>(*dispatcher_, *control_dispatcher_, *listener_manager_,
                                   *cluster_manager_, xds_options, route_manager_.get());
  Config::Xds::AdsClientOptions client_options;
  client_options.target = *target;
  const auto api_type = dynamic.ads_config().api_type();
  client_options.delta =
      api_type == envoy::config::core::v3::ApiConfigSource::DELTA_GRPC ||
      api_type == envoy::config::core::v3::ApiConfigSource::AGGREGATED_DELTA_GRPC;
  client_options.node = bootstrap_.node();
  client_options.node.set_user_agent_name("skiff");
  client_options.node.set_user_agent_version(kVersion);
  if (dynamic.cds_config().has_ads()) {
    client_options.wildcard_types.push_back(Config::Xds::kClusterType);
  }
  if (dynamic.lds_config().has_ads()) {
    client_options.wildcard_types.push_back(Config::Xds::kListenerType);
  }
  ads_client_ = std::make_unique<Config::Xds::AdsClient>(*control_dispatcher_, client_options,
                                                         *xds_manager_, *stats_);
  xds_manager_->setAdsClient(*ads_client_);
  SKIFF_LOG(info, "xds: %s ADS to %s", client_options.delta ? "delta" : "state-of-the-world",
            *target);
  return absl::OkStatus();
}

void InstanceImpl::stopControlThread() {
  if (!control_thread_.joinable()) {
    return;
  }
  control_dispatcher_->post([this] {
    ads_client_->shutdown();
    control_dispatcher_->exit();
  });
  control_thread_.join();
}

void InstanceImpl::startDrainAndShutdown(const std::string& reason) {
  if (shutting_down_) {
    // A second signal while draining: stop waiting.
    SKIFF_LOG(warn, "%s during drain: closing %d connections now", reason,
              listener_manager_->numConnections());
    shutdownNow();
    return;
  }
  shutting_down_ = true;
  state_ = ServerState::Draining;
  state_gauge_->set(static_cast<int64_t>(state_));
  cluster_manager_->stopHealthChecks();  // Their connections would hold the drain open.
  SKIFF_LOG(info, "%s: stopped accepting; draining %d connections for up to %ds", reason,
            listener_manager_->numConnections(), options_.drain_time.count());
  drain_deadline_ = std::chrono::steady_clock::now() + options_.drain_time;
  listener_manager_->stopListeners([this] {
    // HTTP connections finish their current response and close (stopListeners drained them);
    // pooled upstream connections follow as they go idle.
    cluster_manager_->drainConnPools();
    drain_timer_ = dispatcher_->createTimer([this] { onDrainTick(); });
    onDrainTick();
  });
}

void InstanceImpl::onDrainTick() {
  // Downstream connections and upstream ones still flushing what a client sent before it left.
  uint64_t open = Network::openConnectionCount();
  if (open == 0) {
    SKIFF_LOG(info, "all connections finished");
    shutdownNow();
    return;
  }
  if (std::chrono::steady_clock::now() >= drain_deadline_) {
    SKIFF_LOG(info, "drain time over; closing %d connections", open);
    shutdownNow();
    return;
  }
  drain_timer_->enableTimer(kDrainPollInterval);
}

void InstanceImpl::shutdownNow() {
  drain_timer_.reset();
  dispatcher_->exit();
}

void InstanceImpl::registerAdminHandlers() {
  using Http::Admin::Method;
  using Http::Admin::Request;
  using Http::Admin::Response;
  Http::Admin::registerStatsHandlers(*admin_, *stats_);
  admin_->addHandler("/ready", "200 LIVE once serving, else 503 with the state", Method::Get,
                     [this](const Request&) {
                       return Response{state_ == ServerState::Live ? 200 : 503, "text/plain",
                                       absl::StrCat(stateName(state_), "\n")};
                     });
  admin_->addHandler("/server_info", "version, state, uptime and command line", Method::Get,
                     [this](const Request&) {
                       return Response{200, "application/json", serverInfoJson()};
                     });
  admin_->addHandler(
      "/listeners", "listeners and their bound addresses (?format=json)", Method::Get,
      [this](const Request& request) {
        bool json = request.query.count("format") && request.query.at("format") == "json";
        return Response{200, json ? "application/json" : "text/plain", listenersText(json)};
      });
  admin_->addHandler(
      "/clusters", "clusters and their hosts (?format=json)", Method::Get,
      [this](const Request& request) {
        bool json = request.query.count("format") && request.query.at("format") == "json";
        return Response{200, json ? "application/json" : "text/plain", clustersText(json)};
      });
  admin_->addHandler("/config_dump", "the running config as JSON", Method::Get,
                     [this](const Request&) {
                       return Response{200, "application/json", configDumpJson()};
                     });
  admin_->addHandler("/quitquitquit", "drain and exit", Method::Post, [this](const Request&) {
    // Start the drain a moment later: the response is written by the loop after this handler
    // returns, and a drain with no connections would otherwise end the loop before that.
    quit_timer_ = dispatcher_->createTimer([this] { startDrainAndShutdown("/quitquitquit"); });
    quit_timer_->enableTimer(std::chrono::milliseconds(50));
    return Response{200, "text/plain", "OK\n"};
  });
  admin_->addHandler("/reopen_logs", "reopen access log files (after rotation)", Method::Post,
                     [this](const Request&) {
                       access_log_manager_->reopen();
                       return Response{200, "text/plain", "OK\n"};
                     });
  admin_->addHandler(
      "/logging", "set the log level: POST /logging?level=debug", Method::Post,
      [](const Request& request) {
        auto it = request.query.find("level");
        Logger::Level level;
        if (it == request.query.end() || !Logger::parseLevel(it->second, level)) {
          return Response{400, "text/plain",
                          "usage: POST /logging?level=trace|debug|info|warning|"
                          "error|critical|off\n"};
        }
        Logger::setLevel(level);
        return Response{200, "text/plain", absl::StrCat("level: ", Logger::levelName(level), "\n")};
      });
}

std::string InstanceImpl::serverInfoJson() const {
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() -
                                                                 start_time_)
                    .count();
  std::vector<std::string> args;
  for (const auto& arg : options_.argv) {
    args.push_back(absl::StrCat("\"", Json::escape(arg), "\""));
  }
  return absl::StrCat("{\"version\":\"", kVersion, "\",\"state\":\"", stateName(state_),
                      "\",\"uptime_current_epoch\":\"", uptime, "s\",\"uptime_all_epochs\":\"",
                      uptime, "s\",\"node\":", toJson(bootstrap_.node()),
                      ",\"command_line_options\":{\"concurrency\":", options_.concurrency,
                      ",\"drain_time\":\"", options_.drain_time.count(), "s\",\"config_path\":\"",
                      Json::escape(options_.config_path), "\",\"log_level\":\"",
                      Logger::levelName(Logger::level()), "\",\"mode\":\"",
                      options_.mode == Mode::Serve ? "Serve" : "Validate", "\",\"argv\":[",
                      absl::StrJoin(args, ","), "]}}\n");
}

std::string InstanceImpl::listenersText(bool json) const {
  std::string out;
  std::vector<std::string> items;
  for (const auto& listener : listener_manager_->listeners()) {
    if (json) {
      items.push_back(absl::StrCat("{\"name\":\"", Json::escape(listener->name),
                                   "\",\"local_address\":{\"socket_address\":{\"address\":\"",
                                   listener->address->ip(),
                                   "\",\"port_value\":", listener->address->port(), "}}}"));
    } else {
      absl::StrAppend(&out, listener->name, "::", listener->address->asString(), "\n");
    }
  }
  return json ? absl::StrCat("{\"listener_statuses\":[", absl::StrJoin(items, ","), "]}\n") : out;
}

std::string InstanceImpl::clustersText(bool json) const {
  using Origin = Upstream::OutlierDetector::Origin;
  // Envoy's /clusters: success rates are percentages, -1 (text) or left out (JSON) where the last
  // outlier detection interval computed none.
  auto percent_json = [](absl::string_view field, double value) {
    return value < 0 ? std::string() : absl::StrCat(",\"", field, "\":{\"value\":", value, "}");
  };
  std::string out;
  std::vector<std::string> items;
  for (const auto& cluster : cluster_manager_->clusters()) {
    Upstream::ClusterHealth* health = cluster_manager_->health(cluster->name);
    const Upstream::OutlierDetector* detector =
        health != nullptr ? health->outlierDetector() : nullptr;
    auto host_rate = [detector](const Upstream::HostHealthSharedPtr& host, Origin origin) {
      return detector != nullptr && host != nullptr ? detector->hostSuccessRate(*host, origin)
                                                    : -1.0;
    };
    std::vector<std::string> hosts;
    for (const auto& host : cluster->hosts) {
      const double rate = host_rate(host.health, Origin::External);
      const double local_rate = host_rate(host.health, Origin::Local);
      if (json) {
        hosts.push_back(
            absl::StrCat("{\"address\":{\"socket_address\":{\"address\":\"", host.address->ip(),
                         "\",\"port_value\":", host.address->port(), "}},\"weight\":", host.weight,
                         ",\"health_status\":",
                         Upstream::healthStatusJson(host.health ? host.health->flags() : 0),
                         percent_json("success_rate", rate),
                         percent_json("local_origin_success_rate", local_rate), "}"));
      } else {
        const std::string prefix = absl::StrCat(cluster->name, "::", host.address->asString());
        absl::StrAppend(&out, prefix, "::weight::", host.weight, "\n", prefix, "::health_flags::",
                        Upstream::healthFlagsToString(host.health ? host.health->flags() : 0), "\n",
                        prefix, "::success_rate::", rate, "\n", prefix,
                        "::local_origin_success_rate::", local_rate, "\n");
      }
    }
    Upstream::OutlierDetector::RateSummary external, local;
    if (detector != nullptr) {
      external = detector->rateSummary(Origin::External);
      local = detector->rateSummary(Origin::Local);
    }
    if (json) {
      items.push_back(absl::StrCat(
          "{\"name\":\"", Json::escape(cluster->name), "\"",
          percent_json("success_rate_ejection_threshold", external.ejection_threshold),
          percent_json("local_origin_success_rate_ejection_threshold", local.ejection_threshold),
          ",\"host_statuses\":[", absl::StrJoin(hosts, ","), "]}"));
    } else {
      absl::StrAppend(&out, cluster->name,
                      "::connect_timeout_ms::", cluster->connect_timeout.count(), "\n");
      if (detector != nullptr) {
        const std::string prefix = absl::StrCat(cluster->name, "::outlier::");
        absl::StrAppend(&out, prefix, "success_rate_average::", external.average, "\n", prefix,
                        "success_rate_ejection_threshold::", external.ejection_threshold, "\n",
                        prefix, "local_origin_success_rate_average::", local.average, "\n", prefix,
                        "local_origin_success_rate_ejection_threshold::", local.ejection_threshold,
                        "\n");
      }
    }
  }
  return json ? absl::StrCat("{\"cluster_statuses\":[", absl::StrJoin(items, ","), "]}\n") : out;
}

std::string InstanceImpl::configDumpJson() const {
  auto timestamp = [](std::chrono::system_clock::time_point t) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromChrono(t), absl::UTCTimeZone());
  };
  std::vector<std::string> static_listeners;
  std::vector<std::string> dynamic_listeners;
  for (const auto& listener : listener_manager_->listeners()) {
    if (listener->version_info.empty()) {
      static_listeners.push_back(absl::StrCat("{\"listener\":", toJson(listener->proto),
                                              ",\"last_updated\":\"",
                                              timestamp(listener->last_updated), "\"}"));
    } else {
      dynamic_listeners.push_back(absl::StrCat(
          "{\"name\":\"", Json::escape(listener->name), "\",\"active_state\":{\"version_info\":\"",
          Json::escape(listener->version_info), "\",\"listener\":", toJson(listener->proto),
          ",\"last_updated\":\"", timestamp(listener->last_updated), "\"}}"));
    }
  }
  std::vector<std::string> static_clusters;
  std::vector<std::string> dynamic_clusters;
  for (const auto& cluster : cluster_manager_->clusters()) {
    std::string entry = absl::StrCat("\"cluster\":", toJson(cluster->proto), ",\"last_updated\":\"",
                                     timestamp(cluster->last_updated), "\"");
    if (cluster->version_info.empty()) {
      static_clusters.push_back(absl::StrCat("{", entry, "}"));
    } else {
      dynamic_clusters.push_back(absl::StrCat(
          "{\"version_info\":\"", Json::escape(cluster->version_info), "\",", entry, "}"));
    }
  }
  std::vector<std::string> static_routes;
  std::vector<std::string> dynamic_routes;
  for (const auto& entry : route_manager_->staticConfigs()) {
    static_routes.push_back(absl::StrCat("{\"route_config\":", toJson(entry.config),
                                         ",\"last_updated\":\"", timestamp(entry.last_updated),
                                         "\"}"));
  }
  for (const auto& entry : route_manager_->dynamicConfigs()) {
    dynamic_routes.push_back(absl::StrCat("{\"version_info\":\"", Json::escape(entry.version_info),
                                          "\",\"route_config\":", toJson(entry.config),
                                          ",\"last_updated\":\"", timestamp(entry.last_updated),
                                          "\"}"));
  }
  // How long each worker took to apply the last changes (post to applied).
  std::vector<std::string> updates;
  for (const auto& update : listener_manager_->recentUpdates()) {
    std::vector<std::string> micros;
    for (const auto& d : update.per_worker) {
      micros.push_back(absl::StrCat(d.count()));
    }
    updates.push_back(absl::StrCat("{\"change\":\"", Json::escape(update.description),
                                   "\",\"applied_at\":\"", timestamp(update.applied_at),
                                   "\",\"worker_apply_us\":[", absl::StrJoin(micros, ","), "]}"));
  }
  // Each xDS response: from its arrival until every worker had applied it (ACK time).
  std::vector<std::string> xds_updates;
  if (ads_client_ != nullptr) {
    for (const auto& record : ads_client_->recentUpdates()) {
      xds_updates.push_back(absl::StrCat(
          "{\"type_url\":\"", record.type_url, "\",\"version_info\":\"",
          Json::escape(record.version), "\",\"accepted\":", record.accepted ? "true" : "false",
          ",\"changed\":", record.changed, ",\"removed\":", record.removed,
          ",\"apply_us\":", record.apply_time.count(), ",\"at\":\"", timestamp(record.at), "\"}"));
    }
  }
  return absl::StrCat(
      "{\"configs\":[{\"@type\":\"type.googleapis.com/envoy.admin.v3.BootstrapConfigDump\","
      "\"bootstrap\":",
      toJson(bootstrap_),
      "},{\"@type\":\"type.googleapis.com/envoy.admin.v3.ClustersConfigDump\","
      "\"static_clusters\":[",
      absl::StrJoin(static_clusters, ","), "],\"dynamic_active_clusters\":[",
      absl::StrJoin(dynamic_clusters, ","),
      "]},{\"@type\":\"type.googleapis.com/envoy.admin.v3.ListenersConfigDump\","
      "\"static_listeners\":[",
      absl::StrJoin(static_listeners, ","), "],\"dynamic_listeners\":[",
      absl::StrJoin(dynamic_listeners, ","),
      "]},{\"@type\":\"type.googleapis.com/envoy.admin.v3.RoutesConfigDump\","
      "\"static_route_configs\":[",
      absl::StrJoin(static_routes, ","), "],\"dynamic_route_configs\":[",
      absl::StrJoin(dynamic_routes, ","), "]}],\"recent_worker_updates\":[",
      absl::StrJoin(updates, ","), "],\"recent_xds_updates\":[", absl::StrJoin(xds_updates, ","),
      "]}\n");
}

}  // namespace Skiff::Server
