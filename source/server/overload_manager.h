#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/config/overload/v3/overload.pb.h"
#include "source/common/event/dispatcher.h"
#include "source/common/overload/connection_limit.h"
#include "source/common/overload/overload_state.h"
#include "source/common/stats/stats.h"

namespace Skiff::Server {

/**
 * How close one resource is to its limit: 0 (idle) to 1 (at the limit), above 1 past it.
 * Read by the overload manager on the main thread.
 */
class ResourceMonitor {
 public:
  virtual ~ResourceMonitor() = default;
  virtual absl::StatusOr<double> pressure() = 0;
};

// Bytes of heap the process has in use (glibc's mallinfo2(): in-use chunks of every arena plus
// mmapped chunks; free memory kept by malloc does not count). Takes malloc's arena locks briefly.
uint64_t heapBytesInUse();

// envoy.resource_monitors.fixed_heap: heap in use / max_heap_size_bytes.
class FixedHeapMonitor : public ResourceMonitor {
 public:
  using HeapReader = std::function<uint64_t()>;
  explicit FixedHeapMonitor(uint64_t max_heap_size_bytes, HeapReader reader = heapBytesInUse)
      : max_(max_heap_size_bytes), reader_(std::move(reader)) {}
  absl::StatusOr<double> pressure() override;

 private:
  const uint64_t max_;
  HeapReader reader_;
};

// envoy.resource_monitors.global_downstream_max_connections: open downstream connections over
// all listeners and workers / the maximum. The limit itself is enforced at accept time by each
// worker (ConnectionLimit::tryAcquire), not by this monitor; the monitor only reports it.
class DownstreamConnectionsMonitor : public ResourceMonitor {
 public:
  explicit DownstreamConnectionsMonitor(Overload::ConnectionLimitSharedPtr limit)
      : limit_(std::move(limit)) {}
  absl::StatusOr<double> pressure() override;

 private:
  Overload::ConnectionLimitSharedPtr limit_;
};

/**
 * Envoy's overload manager, for the bootstrap's `overload_manager`. On the main thread, every
 * refresh_interval (default 1 s), it reads each resource monitor's pressure, computes each
 * action's state (the highest of its triggers: a threshold trigger is saturated at or above its
 * value; a scaled trigger goes linearly from 0 at scaling_threshold to saturated at
 * saturation_threshold) and reports every change through `on_change`, which the server turns into
 * a Dispatcher::post to each worker (see Overload::ThreadLocalOverloadState).
 *
 * Stats (Envoy's names): overload.<monitor>.pressure (percent), overload.<monitor>.failed_updates,
 * overload.<action>.active (1 when saturated), overload.<action>.scale_percent.
 *
 * Thread: main only; constructed and destroyed there.
 */
class OverloadManagerImpl {
 public:
  // Main thread: an action's state changed to `state`.
  using ActionChangeCb =
      std::function<void(Overload::OverloadActionName, Overload::OverloadActionState)>;

  // From a validated config (validateOverloadManager); an invalid one is still an error here.
  static absl::StatusOr<std::unique_ptr<OverloadManagerImpl>> create(
      const envoy::config::overload::v3::OverloadManager& config, Event::Dispatcher& main,
      Stats::Store& stats, ActionChangeCb on_change);

  // Refreshes once now, then every refresh interval.
  void start();

  // Reads every monitor and updates the actions now (start() does it periodically).
  void refresh();

  // The global downstream connection limit, shared with every worker; null if no
  // DownstreamConnectionsConfig monitor is configured.
  const Overload::ConnectionLimitSharedPtr& globalConnectionLimit() const {
    return global_connections_;
  }

  Overload::OverloadActionState actionState(Overload::OverloadActionName action) const;

  // For tests: replaces a monitor (by name) with another source of pressure.
  void setMonitorForTest(const std::string& name, std::unique_ptr<ResourceMonitor> monitor);

 private:
  struct Monitor {
    std::string name;
    std::unique_ptr<ResourceMonitor> monitor;
    double pressure{0};
    Stats::Gauge* pressure_gauge;
    Stats::Counter* failed_updates;
  };
  struct Trigger {
    size_t monitor;  // Index into monitors_.
    bool scaled;
    double threshold;   // Threshold trigger: saturated at or above.
    double scaling;     // Scaled trigger: 0 at or below.
    double saturation;  // Scaled trigger: saturated at or above.
  };
  struct Action {
    Overload::OverloadActionName name;
    std::vector<Trigger> triggers;
    Overload::OverloadActionState state;
    Stats::Gauge* active;
    Stats::Gauge* scale_percent;
  };

  OverloadManagerImpl(Event::Dispatcher& main, std::chrono::milliseconds refresh_interval,
                      ActionChangeCb on_change)
      : main_(main), refresh_interval_(refresh_interval), on_change_(std::move(on_change)) {}

  Event::Dispatcher& main_;
  const std::chrono::milliseconds refresh_interval_;
  ActionChangeCb on_change_;
  std::vector<Monitor> monitors_;
  std::vector<Action> actions_;
  Overload::ConnectionLimitSharedPtr global_connections_;
  Event::TimerPtr timer_;
};

}  // namespace Skiff::Server
