#pragma once

// Per-host health state shared by the main thread (which decides it) and every worker (which
// reads it on each load-balancer pick and reports each upstream result into it). No locks: small
// structs of atomics behind shared_ptrs.
//
//   main thread: active health checker, outlier detector, cluster updates
//       write  HostHealth::flags (setFlags/clearFlags), bump ClusterHealthState::generation
//   workers: load balancer, router, tcp_proxy
//       read   HostHealth::flags when ClusterHealthState::generation moved (cheap: one relaxed
//              load per pick), count consecutive errors in HostHealth and post to main when a
//              count reaches its threshold (OutlierReporter)
//
// A HostHealth belongs to one host of one cluster and outlives cluster updates that keep the
// host's address: the ClusterManager hands the same object to the new ClusterInfo, so an EDS or
// CDS update does not forget that a host is ejected or failing its checks.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "source/common/event/dispatcher.h"

namespace Skiff::Upstream {

// Bits of HostHealth::flags(), named like Envoy's Host::HealthFlag.
namespace HealthFlag {
// The active health checker considers the host unhealthy (also set before its first check).
inline constexpr uint32_t kFailedActiveHc = 1 << 0;
// Ejected by outlier detection.
inline constexpr uint32_t kFailedOutlierCheck = 1 << 1;
// The control plane (EDS health_status UNHEALTHY, DRAINING or TIMEOUT) says so.
inline constexpr uint32_t kFailedEdsHealth = 1 << 2;
// Not checked yet (informational; kFailedActiveHc is set with it).
inline constexpr uint32_t kPendingActiveHc = 1 << 3;
// Any of these keeps the load balancer off the host (outside panic mode).
inline constexpr uint32_t kUnhealthyMask = kFailedActiveHc | kFailedOutlierCheck | kFailedEdsHealth;
}  // namespace HealthFlag

// Envoy's /clusters text: "healthy", or "/failed_active_hc/failed_outlier_check/...".
std::string healthFlagsToString(uint32_t flags);
// Envoy's /clusters?format=json `health_status` object (false fields left out, as proto JSON).
std::string healthStatusJson(uint32_t flags);

/**
 * One host's health. flags are written on main only and read anywhere; the consecutive-error
 * counters are written by workers (relaxed atomics: a lost race only shifts an ejection by one
 * response, which Envoy accepts too) and reset by main after it acted on them.
 */
class HostHealth {
 public:
  uint32_t flags() const { return flags_.load(std::memory_order_acquire); }
  bool healthy() const { return (flags() & HealthFlag::kUnhealthyMask) == 0; }
  // Main thread. Return whether the healthy() answer changed.
  bool setFlags(uint32_t bits);
  bool clearFlags(uint32_t bits);

  // Consecutive error counts for outlier detection (see OutlierReporter).
  std::atomic<uint32_t> consecutive_5xx{0};
  std::atomic<uint32_t> consecutive_gateway_failure{0};
  std::atomic<uint32_t> consecutive_local_origin_failure{0};
  // Success-rate and failure-percentage detection: requests (and those that succeeded) since
  // main last read them, at each outlier detection interval. External origin: HTTP statuses (and
  // local errors mapped to one unless split_external_local_origin_errors).
  std::atomic<uint64_t> success_rate_total{0};
  std::atomic<uint64_t> success_rate_success{0};
  // Local origin (connect results, resets, timeouts): counted only with
  // split_external_local_origin_errors.
  std::atomic<uint64_t> local_origin_total{0};
  std::atomic<uint64_t> local_origin_success{0};

  // Main thread only: an active health checker has had a result for this host, so a checker
  // that replaces it (new HealthCheck config) keeps the host's state instead of starting over.
  bool active_hc_known{false};

 private:
  std::atomic<uint32_t> flags_{0};
};

using HostHealthSharedPtr = std::shared_ptr<HostHealth>;

/**
 * Health facts about a whole cluster that outlive its config updates (the same object is carried
 * to the next ClusterInfo of the same name). `generation` changes whenever any host's flags
 * changed, so a worker rebuilds its list of healthy hosts only then.
 */
struct ClusterHealthState {
  std::atomic<uint64_t> generation{1};
  // Main thread, after changing flags of this cluster's hosts.
  void bump() { generation.fetch_add(1, std::memory_order_acq_rel); }
};

using ClusterHealthStateSharedPtr = std::shared_ptr<ClusterHealthState>;

// What one upstream attempt tells outlier detection (Envoy's Outlier::Result).
enum class OutlierResult {
  // The connection was made; the protocol on top decides success (HTTP: its status).
  LocalOriginConnectSuccess,
  // The connection was made and that is the whole transaction (tcp_proxy).
  LocalOriginConnectSuccessFinal,
  // Connect refused or failed, or the connection was reset before a response.
  LocalOriginConnectFailed,
  // No response in time (connect timeout, route or per-try timeout).
  LocalOriginTimeout,
};

enum class OutlierEjectionType {
  Consecutive5xx,
  ConsecutiveGatewayFailure,
  ConsecutiveLocalOrigin,
  // Decided on main at the interval, never posted by a worker.
  SuccessRate,
  SuccessRateLocalOrigin,
  FailurePercentage,
  FailurePercentageLocalOrigin,
};

/**
 * The main-thread side that acts on a threshold crossing (the OutlierDetector). Only ever called
 * on main, through OutlierReporter's post.
 */
class OutlierEventSink {
 public:
  virtual ~OutlierEventSink() = default;
  virtual void onConsecutiveErrors(const HostHealthSharedPtr& host, OutlierEjectionType type) = 0;
};

/**
 * Where workers report upstream results for outlier detection. Immutable, shared by every
 * worker through ClusterInfo (null when the cluster has no outlier_detection); any thread.
 * Counting is one relaxed atomic increment per failure (and a load, plus a store only when the
 * count was not already zero, per success), plus one or two relaxed increments per HTTP status
 * for success-rate detection; only a count reaching its threshold posts to main, which makes the
 * ejection decision.
 */
class OutlierReporter {
 public:
  struct Thresholds {
    uint32_t consecutive_5xx{5};
    uint32_t consecutive_gateway_failure{5};
    uint32_t consecutive_local_origin_failure{5};
    bool split_external_local_origin_errors{false};
  };

  OutlierReporter(Thresholds thresholds, Event::Dispatcher& main,
                  std::weak_ptr<OutlierEventSink> sink)
      : thresholds_(thresholds), main_(main), sink_(std::move(sink)) {}

  // An HTTP response arrived with this status.
  void putHttpStatus(const HostHealthSharedPtr& host, uint32_t status) const;
  // A connection-level result (see OutlierResult).
  void putResult(const HostHealthSharedPtr& host, OutlierResult result) const;

  const Thresholds& thresholds() const { return thresholds_; }

 private:
  void localOriginFailure(const HostHealthSharedPtr& host) const;
  void localOriginSuccess(HostHealth& host) const;
  void notify(const HostHealthSharedPtr& host, OutlierEjectionType type) const;

  const Thresholds thresholds_;
  Event::Dispatcher& main_;
  const std::weak_ptr<OutlierEventSink> sink_;
};

using OutlierReporterConstSharedPtr = std::shared_ptr<const OutlierReporter>;

}  // namespace Skiff::Upstream
