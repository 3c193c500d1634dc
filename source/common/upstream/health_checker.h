#pragma once

// Active health checking (Envoy's HealthCheck: HTTP/1.1 and TCP checkers). Runs on the main
// thread with its own client connections on the main dispatcher; its only output is each host's
// HealthFlag::kFailedActiveHc bit (host_health.h), which workers read when they pick a host.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/config/core/v3/health_check.pb.h"
#include "source/common/event/dispatcher.h"
#include "source/common/network/address.h"
#include "source/common/network/connection_impl.h"
#include "source/common/stats/stats.h"
#include "source/common/upstream/host_health.h"

namespace Skiff::Upstream {

// Envoy's `cluster.<name>.health_check.*` stats.
struct HealthCheckStats {
  Stats::Counter& attempt;
  Stats::Counter& success;
  Stats::Counter& failure;
  Stats::Counter& network_failure;  // Connect failure, reset or timeout (counted in failure too).
  Stats::Gauge& healthy;            // Hosts passing their checks.
};

// Main thread (creates the stats on first use).
HealthCheckStats generateHealthCheckStats(Stats::Store& store, const std::string& cluster_name);

// One host to check.
struct HealthCheckTarget {
  HostHealthSharedPtr health;
  // Where to connect: the endpoint's address, or its health_check_config.port_value.
  Network::Address::InstanceConstSharedPtr address;
  // Endpoint.health_check_config.hostname: the HTTP Host header for this host ("" = default).
  std::string hostname;
};

/**
 * The active health checks of one cluster. Main thread only: created, fed and destroyed there.
 *
 * Per host: the first check starts after initial_jitter (random, default 0); each check sends a
 * request (HTTP GET of `path`, or the TCP `send` payload) and waits up to `timeout` for the
 * answer; the next check follows after an interval that depends on the host's state (Envoy's
 * interval / unhealthy_interval / *_edge_interval, no_traffic_interval while the cluster has
 * never carried traffic) plus interval_jitter and interval_jitter_percent.
 *
 * State: a host starts failed (kFailedActiveHc | kPendingActiveHc); its first successful check
 * makes it healthy at once. A healthy host becomes unhealthy after unhealthy_threshold failures
 * in a row (network failures and timeouts), or at once for an HTTP status that is neither
 * expected nor retriable; an unhealthy host becomes healthy after healthy_threshold successes
 * in a row.
 */
class HealthChecker {
 public:
  struct Callbacks {
    // After any host's kFailedActiveHc changed (the owner bumps the cluster's generation).
    std::function<void()> on_change;
    // After each successful check (outlier detection may un-eject the host).
    std::function<void(const HostHealthSharedPtr&)> on_success;
    // Whether the cluster ever carried traffic (else no_traffic_interval applies).
    std::function<bool()> has_traffic;
  };

  virtual ~HealthChecker() = default;

  // The cluster's current hosts, matched by HostHealth: checking continues for hosts already
  // known (with their counters), starts for new ones (which are marked failed and pending until
  // their first check), and stops for removed ones.
  virtual void setHosts(std::vector<HealthCheckTarget> targets) = 0;
  // Closes every connection and stops the timers for good (server drain).
  virtual void stop() = 0;
};

using HealthCheckerPtr = std::unique_ptr<HealthChecker>;

/**
 * Builds the checker for a validated HealthCheck (http_health_check or tcp_health_check).
 * `connect_timeout` and `bind` are the cluster's. Fails for an invalid hex payload.
 */
absl::StatusOr<HealthCheckerPtr> createHealthChecker(
    Event::Dispatcher& main, const envoy::config::core::v3::HealthCheck& config,
    const std::string& cluster_name, std::chrono::milliseconds connect_timeout,
    HealthCheckStats stats, HealthChecker::Callbacks callbacks,
    const Network::BindOptions& bind = {});

// Decodes a Payload (hex `text`, or raw `binary`); an error for bad hex. Pure; any thread.
absl::StatusOr<std::string> decodeHealthCheckPayload(
    const envoy::config::core::v3::HealthCheck::Payload& payload);

// "Fuzzy" TCP receive match (Envoy): every block appears in `data`, in order, not necessarily
// next to each other. Pure; any thread.
bool matchesAllBlocks(absl::string_view data, const std::vector<std::string>& blocks);

}  // namespace Skiff::Upstream
