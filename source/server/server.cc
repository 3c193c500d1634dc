#include "source/server/server.h"

#include <signal.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "source/common/common/logger.h"
#include "source/common/network/connection_impl.h"
#include "source/common/stats/stats_impl.h"
#include "source/common/http/stats_handlers.h"
#include "source/server/version.h"

namespace Skiff::Server {
namespace {

constexpr std::chrono::milliseconds kDrainPollInterval{100};

std::string jsonEscape(absl::string_view in) {
  std::string out;
  for (char c : in) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(&out, absl::StrFormat("\\u%04x", c));
        } else {
          out += c;
        }
    }
  }
  return out;
}

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
  for (auto& worker : workers_) {
    worker->stop();
  }
  // Admin and listeners go before the workers and dispatcher they point into.
  admin_.reset();
  listener_manager_.reset();
  workers_.clear();
}

absl::Status InstanceImpl::initialize() {
  stats_ = std::make_unique<Stats::StoreImpl>();
  state_gauge_ = &stats_->gauge("server.state");
  state_gauge_->set(static_cast<int64_t>(ServerState::Initializing));
  stats_->gauge("server.concurrency").set(options_.concurrency);
  dispatcher_ = std::make_unique<Event::DispatcherImpl>("main");

  WorkerFactory worker_factory;
  std::vector<Event::Dispatcher*> worker_dispatchers;
  std::vector<WorkerImpl*> workers;
  for (uint32_t i = 0; i < options_.concurrency; ++i) {
    workers_.push_back(worker_factory.createWorker(i));
    worker_dispatchers.push_back(&workers_.back()->dispatcher());
    workers.push_back(workers_.back().get());
  }

  cluster_manager_ =
      std::make_unique<Upstream::ClusterManager>(*stats_, worker_dispatchers, *dispatcher_);
  for (const auto& cluster : bootstrap_.static_resources().clusters()) {
    if (auto status = cluster_manager_->addOrUpdateCluster(cluster); !status.ok()) {
      return status;
    }
  }

  factory_context_.reset(
      new Extensions::NetworkFilters::FactoryContext{*stats_, *cluster_manager_});
  listener_manager_ =
      std::make_unique<ListenerManagerImpl>(workers, *dispatcher_, *stats_, *factory_context_);
  for (const auto& listener : bootstrap_.static_resources().listeners()) {
    if (auto status = listener_manager_->addOrUpdateListener(listener); !status.ok()) {
      return status;
    }
  }

  if (bootstrap_.has_admin()) {
    const auto& address = bootstrap_.admin().address().socket_address();
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
  return absl::OkStatus();
}

int InstanceImpl::run() {
  listener_manager_->startWorkers();
  state_ = ServerState::Live;
  state_gauge_->set(static_cast<int64_t>(state_));
  SKIFF_LOG(info, "skiff %s live with %d workers", kVersion, workers_.size());
  dispatcher_->run(Event::Dispatcher::RunType::Block);
  for (auto& worker : workers_) {
    worker->stop();
  }
  SKIFF_LOG(info, "skiff exited cleanly");
  return 0;
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
  SKIFF_LOG(info, "%s: stopped accepting; draining %d connections for up to %ds", reason,
            listener_manager_->numConnections(), options_.drain_time.count());
  drain_deadline_ = std::chrono::steady_clock::now() + options_.drain_time;
  listener_manager_->stopListeners([this] {
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
    // After the response is written: post so the handler returns first.
    dispatcher_->post([this] { startDrainAndShutdown("/quitquitquit"); });
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
    args.push_back(absl::StrCat("\"", jsonEscape(arg), "\""));
  }
  return absl::StrCat("{\"version\":\"", kVersion, "\",\"state\":\"", stateName(state_),
                      "\",\"uptime_current_epoch\":\"", uptime, "s\",\"uptime_all_epochs\":\"",
                      uptime, "s\",\"node\":", toJson(bootstrap_.node()),
                      ",\"command_line_options\":{\"concurrency\":", options_.concurrency,
                      ",\"drain_time\":\"", options_.drain_time.count(), "s\",\"config_path\":\"",
                      jsonEscape(options_.config_path), "\",\"log_level\":\"",
                      Logger::levelName(Logger::level()), "\",\"mode\":\"",
                      options_.mode == Mode::Serve ? "Serve" : "Validate", "\",\"argv\":[",
                      absl::StrJoin(args, ","), "]}}\n");
}

std::string InstanceImpl::listenersText(bool json) const {
  std::string out;
  std::vector<std::string> items;
  for (const auto& listener : listener_manager_->listeners()) {
    if (json) {
      items.push_back(absl::StrCat("{\"name\":\"", jsonEscape(listener->name),
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
  std::string out;
  std::vector<std::string> items;
  for (const auto& cluster : cluster_manager_->clusters()) {
    std::vector<std::string> hosts;
    for (const auto& host : cluster->hosts) {
      if (json) {
        hosts.push_back(absl::StrCat("{\"address\":{\"socket_address\":{\"address\":\"",
                                     host.address->ip(), "\",\"port_value\":", host.address->port(),
                                     "}},\"weight\":", host.weight,
                                     ",\"health_status\":{\"eds_health_status\":\"HEALTHY\"}}"));
      } else {
        const std::string prefix = absl::StrCat(cluster->name, "::", host.address->asString());
        absl::StrAppend(&out, prefix, "::weight::", host.weight, "\n", prefix,
                        "::health_flags::healthy\n");
      }
    }
    if (json) {
      items.push_back(absl::StrCat("{\"name\":\"", jsonEscape(cluster->name),
                                   "\",\"host_statuses\":[", absl::StrJoin(hosts, ","), "]}"));
    } else {
      absl::StrAppend(&out, cluster->name,
                      "::connect_timeout_ms::", cluster->connect_timeout.count(), "\n");
    }
  }
  return json ? absl::StrCat("{\"cluster_statuses\":[", absl::StrJoin(items, ","), "]}\n") : out;
}

std::string InstanceImpl::configDumpJson() const {
  std::vector<std::string> listeners;
  for (const auto& listener : listener_manager_->listeners()) {
    listeners.push_back(absl::StrCat("{\"listener\":", toJson(listener->proto), "}"));
  }
  std::vector<std::string> clusters;
  for (const auto& cluster : bootstrap_.static_resources().clusters()) {
    clusters.push_back(absl::StrCat("{\"cluster\":", toJson(cluster), "}"));
  }
  return absl::StrCat(
      "{\"configs\":[{\"@type\":\"type.googleapis.com/envoy.admin.v3.BootstrapConfigDump\","
      "\"bootstrap\":",
      toJson(bootstrap_),
      "},{\"@type\":\"type.googleapis.com/envoy.admin.v3.ClustersConfigDump\","
      "\"static_clusters\":[",
      absl::StrJoin(clusters, ","),
      "]},{\"@type\":\"type.googleapis.com/envoy.admin.v3.ListenersConfigDump\","
      "\"static_listeners\":[",
      absl::StrJoin(listeners, ","), "]}]}\n");
}

}  // namespace Skiff::Server
