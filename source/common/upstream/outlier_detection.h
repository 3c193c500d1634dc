#pragma once

// Passive health checking (Envoy's outlier detection: consecutive-error, success-rate and
// failure-percentage detectors): workers count consecutive errors per host through the cluster's
// OutlierReporter (host_health.h); when a count reaches its threshold they post to main, where the
// OutlierDetector decides whether to eject (max_ejection_percent, enforcing_*). On its interval
// timer it un-ejects hosts whose ejection time (base_ejection_time x times ejected in a row,
// capped at max_ejection_time, plus jitter) passed, then runs success-rate and failure-percentage
// detection over the requests workers counted per host during the interval: once over external
// results (HTTP statuses), and once more over local-origin results (connect failures, resets,
// timeouts) when split_external_local_origin_errors keeps them apart.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "envoy/config/cluster/v3/outlier_detection.pb.h"
#include "source/common/event/dispatcher.h"
#include "source/common/stats/stats.h"
#include "source/common/upstream/host_health.h"

namespace Skiff::Upstream {

// Envoy's `cluster.<name>.outlier_detection.*` stats.
struct OutlierDetectionStats {
  Stats::Gauge& ejections_active;
  Stats::Counter& ejections_overflow;
  Stats::Counter& ejections_enforced_total;
  Stats::Counter& ejections_total;  // Deprecated in Envoy (detected 5xx); kept for dashboards.
  Stats::Counter& ejections_enforced_consecutive_5xx;
  Stats::Counter& ejections_detected_consecutive_5xx;
  Stats::Counter& ejections_enforced_consecutive_gateway_failure;
  Stats::Counter& ejections_detected_consecutive_gateway_failure;
  Stats::Counter& ejections_enforced_consecutive_local_origin_failure;
  Stats::Counter& ejections_detected_consecutive_local_origin_failure;
  Stats::Counter& ejections_enforced_success_rate;
  Stats::Counter& ejections_detected_success_rate;
  Stats::Counter& ejections_enforced_failure_percentage;
  Stats::Counter& ejections_detected_failure_percentage;
  Stats::Counter& ejections_enforced_local_origin_success_rate;
  Stats::Counter& ejections_detected_local_origin_success_rate;
  Stats::Counter& ejections_enforced_local_origin_failure_percentage;
  Stats::Counter& ejections_detected_local_origin_failure_percentage;
};

// Main thread (creates the stats on first use).
OutlierDetectionStats generateOutlierDetectionStats(Stats::Store& store,
                                                    const std::string& cluster_name);

// OutlierDetection with Envoy's defaults filled in.
struct OutlierDetectionConfig {
  std::chrono::milliseconds interval{10000};
  std::chrono::milliseconds base_ejection_time{30000};
  std::chrono::milliseconds max_ejection_time{300000};
  std::chrono::milliseconds max_ejection_time_jitter{0};
  uint32_t max_ejection_percent{10};
  uint32_t enforcing_consecutive_5xx{100};
  uint32_t enforcing_consecutive_gateway_failure{0};
  uint32_t enforcing_consecutive_local_origin_failure{100};
  // Success rate: among hosts with at least success_rate_request_volume requests in the interval
  // (and only if there are success_rate_minimum_hosts of them), a host whose success rate is
  // below mean - stdev x success_rate_stdev_factor / 1000 is an outlier.
  uint32_t enforcing_success_rate{100};
  uint32_t success_rate_minimum_hosts{5};
  uint32_t success_rate_request_volume{100};
  uint32_t success_rate_stdev_factor{1900};
  uint32_t enforcing_local_origin_success_rate{100};
  // Failure percentage: among hosts with at least failure_percentage_request_volume requests in
  // the interval (and only if there are failure_percentage_minimum_hosts of them), a host whose
  // share of failed requests is at least failure_percentage_threshold % is an outlier. Off unless
  // an enforcing_failure_percentage* is set (Envoy's defaults are 0).
  uint32_t failure_percentage_threshold{85};
  uint32_t enforcing_failure_percentage{0};
  uint32_t enforcing_failure_percentage_local_origin{0};
  uint32_t failure_percentage_minimum_hosts{5};
  uint32_t failure_percentage_request_volume{50};
  bool successful_active_health_check_uneject_host{true};
  OutlierReporter::Thresholds thresholds;

  // The proto must be validated (validation.cc): max_ejection_time >= base_ejection_time.
  static OutlierDetectionConfig fromProto(
      const envoy::config::cluster::v3::OutlierDetection& proto);
};

/**
 * One cluster's outlier detector. Created, used and destroyed on the main thread only; workers
 * reach it only through the OutlierReporter's posts, which hold a weak_ptr (so a detector
 * removed with its cluster simply stops hearing about it).
 */
class OutlierDetector : public OutlierEventSink,
                        public std::enable_shared_from_this<OutlierDetector> {
 public:
  // `on_change` runs after any host's flags changed (the owner bumps the cluster's generation).
  static std::shared_ptr<OutlierDetector> create(Event::Dispatcher& main,
                                                 OutlierDetectionConfig config,
                                                 OutlierDetectionStats stats,
                                                 std::function<void()> on_change);
  // Un-ejects the hosts it ejected (the cluster no longer has outlier detection, or is gone).
  ~OutlierDetector() override;

  // The hosts of the cluster's current config. New ones start with clean counters; removed ones
  // are forgotten (and no longer count as ejected).
  void setHosts(const std::vector<HostHealthSharedPtr>& hosts);
  // For ClusterInfo: where workers report. Same object for the detector's whole life.
  const OutlierReporterConstSharedPtr& reporter() const { return reporter_; }
  const OutlierDetectionConfig& config() const { return config_; }

  // An active health check passed: un-eject (successful_active_health_check_uneject_host).
  void onActiveHealthCheckSuccess(const HostHealthSharedPtr& host);

  // OutlierEventSink (main thread, posted by workers).
  void onConsecutiveErrors(const HostHealthSharedPtr& host, OutlierEjectionType type) override;

  uint32_t ejectedCount() const { return ejected_count_; }

  // What the last interval's success-rate pass computed, for /clusters: -1 where nothing was
  // computed (too few requests or hosts), as Envoy reports it. Percentages.
  struct RateSummary {
    double average{-1};
    double ejection_threshold{-1};
  };
  enum class Origin { External, Local };
  RateSummary rateSummary(Origin origin) const {
    return origin == Origin::External ? external_summary_ : local_summary_;
  }
  // The host's success rate over the last interval (-1: not enough requests, or unknown host).
  double hostSuccessRate(const HostHealth& host, Origin origin) const;
  // Runs the interval's work now (tests).
  void runIntervalForTest() { onIntervalTimer(); }
  // How many times in a row `host` was ejected without the multiplier decaying (tests).
  uint32_t ejectionMultiplierForTest(const HostHealth& host) const;

 private:
  struct Monitor {
    HostHealthSharedPtr host;
    std::chrono::steady_clock::time_point ejected_at;
    std::chrono::milliseconds jitter{0};
    uint32_t num_ejections{0};
    uint32_t multiplier{0};  // Envoy's eject_time_backoff.
    // Last interval's success rates (-1: not computed), for /clusters.
    double success_rate{-1};
    double local_origin_success_rate{-1};
  };

  OutlierDetector(Event::Dispatcher& main, OutlierDetectionConfig config,
                  OutlierDetectionStats stats, std::function<void()> on_change);
  // One host's requests in the interval and their success rate (percent).
  struct Sample {
    Monitor* monitor;
    uint64_t total;
    double rate;
  };
  void onIntervalTimer();
  // Reads (and restarts) the hosts' counts of one origin and ejects the outliers.
  void processRates(Origin origin);
  RateSummary processSuccessRate(const std::vector<Sample>& samples, OutlierEjectionType type);
  void processFailurePercentage(const std::vector<Sample>& samples, OutlierEjectionType type);
  // What an ejection type is enforced at and which stats count it.
  struct Rule {
    uint32_t enforcing;
    Stats::Counter& detected;
    Stats::Counter& enforced;
  };
  Rule ruleFor(OutlierEjectionType type);
  // Counts the detection, then ejects unless max_ejection_percent or enforcing_* say no.
  void eject(Monitor& monitor, OutlierEjectionType type);
  void uneject(Monitor& monitor);
  bool enforce(uint32_t percent);

  Event::Dispatcher& main_;
  const OutlierDetectionConfig config_;
  OutlierDetectionStats stats_;
  const std::function<void()> on_change_;
  OutlierReporterConstSharedPtr reporter_;
  Event::TimerPtr interval_timer_;
  absl::flat_hash_map<const HostHealth*, Monitor> monitors_;
  uint32_t ejected_count_{0};
  RateSummary external_summary_;
  RateSummary local_summary_;
  std::mt19937_64 random_;
};

using OutlierDetectorSharedPtr = std::shared_ptr<OutlierDetector>;

}  // namespace Skiff::Upstream
