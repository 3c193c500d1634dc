// skiff-control: the xDS management server sidecars point at. Serves ADS and the per-type
// services (SotW and delta; plaintext, TLS or mutual TLS) from a watched config directory plus
// the resources applied through the admin API, with an admin HTTP server for readiness, stats,
// connected nodes and those resources, and optionally the sidecar-injection admission webhook.
//
// Threads: main runs the dispatcher (config directory watch, admin server, signals) and so also
// delivers snapshot changes to the ADS streams; gRPC's own threads run the streams' reads and
// writes.
#include <csignal>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "source/common/common/logger.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/event/libevent.h"
#include "source/common/http/admin_server.h"
#include "source/common/http/stats_handlers.h"
#include "source/common/stats/stats_impl.h"
#include "source/control/admin_api.h"
#include "source/control/admin_auth.h"
#include "source/control/ads_server.h"
#include "source/control/config_dir.h"
#include "source/control/options.h"
#include "source/control/webhook.h"

int main(int argc, char** argv) {
  using namespace Skiff;
  using Http::Admin::Method;
  using Http::Admin::Request;
  using Http::Admin::Response;

  auto options = Control::parseOptions(argc, argv);
  if (!options.ok()) {
    std::fprintf(stderr, "%s\n", std::string(options.status().message()).c_str());
    return 1;
  }
  Logger::setLevel(options->log_level);
  Logger::setThreadName("main");
  ::signal(SIGPIPE, SIG_IGN);

  Event::DispatcherImpl dispatcher("main");
  Stats::StoreImpl stats;
  Control::SnapshotCache cache;

  Control::ConfigDirSource config(options->config_dir, cache, stats);
  if (auto status = config.reload(); !status.ok()) {
    SKIFF_LOG(critical, "cannot start: %s", status.message());
    return 1;
  }
  if (auto status = config.watch(dispatcher); !status.ok()) {
    SKIFF_LOG(critical, "cannot start: %s", status.message());
    return 1;
  }

  Control::AdsServer ads(cache, stats);
  Control::GrpcServerOptions grpc_options;
  grpc_options.address = options->xds_address;
  grpc_options.tls_cert_file = options->xds_tls_cert;
  grpc_options.tls_key_file = options->xds_tls_key;
  grpc_options.tls_client_ca_file = options->xds_tls_client_ca;
  int xds_port = 0;
  auto grpc_server = Control::startGrpcServer(grpc_options, ads, xds_port);
  if (!grpc_server.ok()) {
    SKIFF_LOG(critical, "cannot start: %s", grpc_server.status().message());
    return 1;
  }

  auto credentials = Control::AdminCredentials::create(options->admin_token_file, stats);
  if (!credentials.ok()) {
    SKIFF_LOG(critical, "cannot start: %s", credentials.status().message());
    (*grpc_server)->Shutdown();
    return 1;
  }
  // POST /apply carries whole resource documents.
  auto admin = std::make_unique<Http::Admin::AdminServer>(
      dispatcher.base(), Http::Admin::AdminServerOptions{.max_body_bytes = 16 << 20});
  std::string admin_host;
  uint16_t admin_port = 0;
  (void)Control::splitHostPort(options->admin_address, admin_host, admin_port);
  if (auto status = admin->bind(admin_host, admin_port); !status.ok()) {
    SKIFF_LOG(critical, "cannot start: admin: %s", status.message());
    (*grpc_server)->Shutdown();
    return 1;
  }
  if (!(*credentials)->configured() && admin_host != "127.0.0.1" && admin_host != "::1" &&
      admin_host != "localhost") {
    SKIFF_LOG(warn,
              "admin on %s without --admin-token-file: anyone who can reach it can read "
              "every group's configuration",
              options->admin_address);
  }
  std::unique_ptr<Control::WebhookServer> webhook;
  if (!options->webhook_address.empty()) {
    webhook = std::make_unique<Control::WebhookServer>(dispatcher.base(), options->inject, stats);
    std::string webhook_host;
    uint16_t webhook_port = 0;
    (void)Control::splitHostPort(options->webhook_address, webhook_host, webhook_port);
    absl::Status status = webhook->loadCertificate(options->webhook_cert, options->webhook_key,
                                                   options->webhook_client_ca);
    if (status.ok()) {
      status = webhook->bind(webhook_host, webhook_port);
    }
    if (!status.ok()) {
      SKIFF_LOG(critical, "cannot start: %s", status.message());
      (*grpc_server)->Shutdown();
      return 1;
    }
    SKIFF_LOG(info, "skiff-control: admission webhook on https://%s:%d/inject", webhook_host,
              webhook->port());
  }
  bool draining = false;
  admin->setRequestFilter([&](const Request& request) { return (*credentials)->check(request); });
  Control::registerResourceApi(*admin, config, cache, **credentials);
  Http::Admin::registerStatsHandlers(*admin, stats);
  admin->addHandler("/ready", "200 LIVE once the config directory was read, else 503", Method::Get,
                    [&](const Request&) {
                      const bool live = config.ready() && !draining;
                      return Response{
                          live ? 200 : 503, "text/plain",
                          live ? "LIVE\n" : (draining ? "DRAINING\n" : "INITIALIZING\n")};
                    });
  admin->addHandler("/nodes",
                    "connected sidecars: node, group, peer, since, per type versions sent/ACKed "
                    "and last NACK",
                    Method::Get, [&](const Request&) {
                      return Response{200, "application/json", ads.nodesJson() + "\n"};
                    });
  admin->addHandler("/config", "node groups: version, resource count, last error", Method::Get,
                    [&](const Request&) {
                      return Response{200, "application/json", config.statusJson() + "\n"};
                    });

  std::vector<Event::SignalEventPtr> signals;
  for (int signum : {SIGTERM, SIGINT}) {
    signals.push_back(dispatcher.listenForSignal(signum, [&, signum] {
      SKIFF_LOG(info, "%s: shutting down", signum == SIGTERM ? "SIGTERM" : "SIGINT");
      draining = true;
      dispatcher.exit();
    }));
  }

  SKIFF_LOG(
      info, "skiff-control: xDS on %s (port %d, %s), admin on %s:%d (%s), config dir %s",
      options->xds_address, xds_port,
      grpc_options.mutualTls() ? "mutual TLS" : (grpc_options.tls() ? "TLS" : "plaintext"),
      admin_host, admin->port(),
      (*credentials)->configured() ? "token required" : "no token: read-only, changes refused",
      options->config_dir);
  dispatcher.run(Event::Dispatcher::RunType::Block);

  // Streams end with UNAVAILABLE so sidecars reconnect (they keep their config meanwhile).
  ads.closeAllStreams();
  (*grpc_server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  (*grpc_server)->Wait();
  webhook.reset();
  admin.reset();
  SKIFF_LOG(info, "skiff-control: stopped");
  return 0;
}
