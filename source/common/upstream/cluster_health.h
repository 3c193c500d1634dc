#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "source/common/event/dispatcher.h"
#include "source/common/stats/stats.h"
#include "source/common/upstream/health_checker.h"
#include "source/common/upstream/host_health.h"
#include "source/common/upstream/outlier_detection.h"

namespace Skiff::Upstream {

struct ClusterInfo;

/**
 * The main-thread health machinery of one cluster: its active health checker, its outlier
 * detector and the `membership_healthy` gauge. Owned by the ClusterManager under the cluster's
 * name and kept across updates of that cluster, so hosts that stay keep their checks, counters
 * and ejections. Main thread only.
 */
class ClusterHealth {
 public:
  ClusterHealth(Event::Dispatcher& main, Stats::Store& store, std::string cluster_name,
                ClusterHealthStateSharedPtr state, Stats::Gauge& membership_healthy,
                std::function<bool()> has_traffic);
  ~ClusterHealth();

  // Before `info` reaches the workers: (re)builds the checker and the detector when their config
  // changed, points them at info's hosts, and sets info.outlier. `config` is the validated proto
  // `info` was built from.
  absl::Status update(ClusterInfo& info, const envoy::config::cluster::v3::Cluster& config);
  // Server drain: no more checks (their connections close).
  void stopHealthChecks();

  const ClusterHealthStateSharedPtr& state() const { return state_; }
  HealthChecker* healthChecker() { return checker_.get(); }
  OutlierDetector* outlierDetector() { return detector_.get(); }

 private:
  void onHealthChanged();

  Event::Dispatcher& main_;
  Stats::Store& store_;
  const std::string name_;
  const ClusterHealthStateSharedPtr state_;
  Stats::Gauge& membership_healthy_;
  // Whether the cluster ever made an upstream connection (its upstream_cx_total).
  const std::function<bool()> has_traffic_;
  std::vector<HostHealthSharedPtr> hosts_;
  envoy::config::core::v3::HealthCheck checker_config_;
  HealthCheckerPtr checker_;
  envoy::config::cluster::v3::OutlierDetection detector_config_;
  OutlierDetectorSharedPtr detector_;
  bool stopped_{false};
};

}  // namespace Skiff::Upstream
