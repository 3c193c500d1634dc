#include "source/common/upstream/outlier_detection.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "source/common/common/logger.h"
#include "source/common/config/utility.h"

namespace Skiff::Upstream {

OutlierDetectionStats generateOutlierDetectionStats(Stats::Store& store,
                                                    const std::string& cluster_name) {
  const std::string p = absl::StrCat("cluster.", cluster_name, ".outlier_detection.");
  return OutlierDetectionStats{
      store.gauge(p + "ejections_active"),
      store.counter(p + "ejections_overflow"),
      store.counter(p + "ejections_enforced_total"),
      store.counter(p + "ejections_total"),
      store.counter(p + "ejections_enforced_consecutive_5xx"),
      store.counter(p + "ejections_detected_consecutive_5xx"),
      store.counter(p + "ejections_enforced_consecutive_gateway_failure"),
      store.counter(p + "ejections_detected_consecutive_gateway_failure"),
      store.counter(p + "ejections_enforced_consecutive_local_origin_failure"),
      store.counter(p + "ejections_detected_consecutive_local_origin_failure"),
      store.counter(p + "ejections_enforced_success_rate"),
      store.counter(p + "ejections_detected_success_rate"),
      store.counter(p + "ejections_enforced_failure_percentage"),
      store.counter(p + "ejections_detected_failure_percentage"),
      store.counter(p + "ejections_enforced_local_origin_success_rate"),
      store.counter(p + "ejections_detected_local_origin_success_rate"),
      store.counter(p + "ejections_enforced_local_origin_failure_percentage"),
      store.counter(p + "ejections_detected_local_origin_failure_percentage"),
  };
}

OutlierDetectionConfig OutlierDetectionConfig::fromProto(
    const envoy::config::cluster::v3::OutlierDetection& proto) {
  OutlierDetectionConfig c;
  c.interval = SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, interval, c.interval);
  c.base_ejection_time =
      SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, base_ejection_time, c.base_ejection_time);
  // Unset: 300 s or base_ejection_time, whichever is larger (Envoy).
  c.max_ejection_time =
      proto.has_max_ejection_time()
          ? SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, max_ejection_time, c.max_ejection_time)
          : std::max(c.max_ejection_time, c.base_ejection_time);
  c.max_ejection_time_jitter =
      SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, max_ejection_time_jitter, c.max_ejection_time_jitter);
  c.max_ejection_percent = std::min<uint32_t>(
      100,
      SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(proto, max_ejection_percent, c.max_ejection_percent));
  c.enforcing_consecutive_5xx = SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(
      proto, enforcing_consecutive_5xx, c.enforcing_consecutive_5xx);
  c.enforcing_consecutive_gateway_failure = SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(
      proto, enforcing_consecutive_gateway_failure, c.enforcing_consecutive_gateway_failure);
  c.enforcing_consecutive_local_origin_failure =
      SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(proto, enforcing_consecutive_local_origin_failure,
                                            c.enforcing_consecutive_local_origin_failure);
  c.enforcing_success_rate = SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(proto, enforcing_success_rate,
                                                                   c.enforcing_success_rate);
  c.success_rate_minimum_hosts = SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(
      proto, success_rate_minimum_hosts, c.success_rate_minimum_hosts);
  c.success_rate_request_volume = SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(
      proto, success_rate_request_volume, c.success_rate_request_volume);
  c.success_rate_stdev_factor = SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(
      proto, success_rate_stdev_factor, c.success_rate_stdev_factor);
  c.enforcing_local_origin_success_rate = SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(
      proto, enforcing_local_origin_success_rate, c.enforcing_local_origin_success_rate);
  c.failure_percentage_threshold = SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(
      proto, failure_percentage_threshold, c.failure_percentage_threshold);
  c.enforcing_failure_percentage = SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(
      proto, enforcing_failure_percentage, c.enforcing_failure_percentage);
  c.enforcing_failure_percentage_local_origin =
      SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(proto, enforcing_failure_percentage_local_origin,
                                            c.enforcing_failure_percentage_local_origin);
  c.failure_percentage_minimum_hosts = SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(
      proto, failure_percentage_minimum_hosts, c.failure_percentage_minimum_hosts);
  c.failure_percentage_request_volume = SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(
      proto, failure_percentage_request_volume, c.failure_percentage_request_volume);
  c.successful_active_health_check_uneject_host =
      SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(proto, successful_active_health_check_uneject_host,
                                            c.successful_active_health_check_uneject_host);
  c.thresholds.consecutive_5xx =
      SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(proto, consecutive_5xx, c.thresholds.consecutive_5xx);
  c.thresholds.consecutive_gateway_failure = SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(
      proto, consecutive_gateway_failure, c.thresholds.consecutive_gateway_failure);
  c.thresholds.consecutive_local_origin_failure = SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(
      proto, consecutive_local_origin_failure, c.thresholds.consecutive_local_origin_failure);
  c.thresholds.split_external_local_origin_errors = proto.split_external_local_origin_errors();
  return c;
}

std::shared_ptr<OutlierDetector> OutlierDetector::create(Event::Dispatcher& main,
                                                         OutlierDetectionConfig config,
                                                         OutlierDetectionStats stats,
                                                         std::function<void()> on_change) {
  std::shared_ptr<OutlierDetector> detector(
      new OutlierDetector(main, std::move(config), stats, std::move(on_change)));
  // The reporter needs the weak_ptr, which exists only once the shared_ptr does.
  detector->reporter_ = std::make_shared<const OutlierReporter>(
      detector->config_.thresholds, main, std::weak_ptr<OutlierEventSink>(detector));
  return detector;
}

OutlierDetector::OutlierDetector(Event::Dispatcher& main, OutlierDetectionConfig config,
                                 OutlierDetectionStats stats, std::function<void()> on_change)
    : main_(main),
      config_(std::move(config)),
      stats_(stats),
      on_change_(std::move(on_change)),
      random_(std::random_device{}()) {
  interval_timer_ = main_.createTimer([this] { onIntervalTimer(); });
  interval_timer_->enableTimer(config_.interval);
}

OutlierDetector::~OutlierDetector() {
  bool changed = false;
  for (auto& [key, monitor] : monitors_) {
    if (monitor.host->flags() & HealthFlag::kFailedOutlierCheck) {
      changed |= monitor.host->clearFlags(HealthFlag::kFailedOutlierCheck);
      stats_.ejections_active.dec();
    }
  }
  if (changed && on_change_) {
    on_change_();
  }
}

void OutlierDetector::setHosts(const std::vector<HostHealthSharedPtr>& hosts) {
  absl::flat_hash_map<const HostHealth*, Monitor> next;
  next.reserve(hosts.size());
  for (const auto& host : hosts) {
    auto it = monitors_.find(host.get());
    if (it != monitors_.end()) {
      next.emplace(host.get(), std::move(it->second));
      monitors_.erase(it);
    } else {
      next.emplace(host.get(), Monitor{host});
    }
  }
  // What is left was removed from the cluster.
  for (auto& [key, monitor] : monitors_) {
    if (monitor.host->flags() & HealthFlag::kFailedOutlierCheck) {
      monitor.host->clearFlags(HealthFlag::kFailedOutlierCheck);
      --ejected_count_;
      stats_.ejections_active.dec();
    }
  }
  monitors_ = std::move(next);
}

bool OutlierDetector::enforce(uint32_t percent) {
  if (percent >= 100) {
    return true;
  }
  return percent > 0 && random_() % 100 < percent;
}

void OutlierDetector::onConsecutiveErrors(const HostHealthSharedPtr& host,
                                          OutlierEjectionType type) {
  auto it = monitors_.find(host.get());
  // The host may have left the cluster since the worker posted.
  if (it == monitors_.end() || (host->flags() & HealthFlag::kFailedOutlierCheck)) {
    return;
  }
  eject(it->second, type);
  // Start counting afresh, so a new run of errors is noticed even without a success between.
  switch (type) {
    case OutlierEjectionType::Consecutive5xx:
      host->consecutive_5xx.store(0, std::memory_order_relaxed);
      break;
    case OutlierEjectionType::ConsecutiveGatewayFailure:
      host->consecutive_gateway_failure.store(0, std::memory_order_relaxed);
      break;
    case OutlierEjectionType::ConsecutiveLocalOrigin:
      host->consecutive_local_origin_failure.store(0, std::memory_order_relaxed);
      break;
    default:
      break;
  }
}

OutlierDetector::Rule OutlierDetector::ruleFor(OutlierEjectionType type) {
  switch (type) {
    case OutlierEjectionType::Consecutive5xx:
      return {config_.enforcing_consecutive_5xx, stats_.ejections_detected_consecutive_5xx,
              stats_.ejections_enforced_consecutive_5xx};
    case OutlierEjectionType::ConsecutiveGatewayFailure:
      return {config_.enforcing_consecutive_gateway_failure,
              stats_.ejections_detected_consecutive_gateway_failure,
              stats_.ejections_enforced_consecutive_gateway_failure};
    case OutlierEjectionType::ConsecutiveLocalOrigin:
      return {config_.enforcing_consecutive_local_origin_failure,
              stats_.ejections_detected_consecutive_local_origin_failure,
              stats_.ejections_enforced_consecutive_local_origin_failure};
    case OutlierEjectionType::SuccessRate:
      return {config_.enforcing_success_rate, stats_.ejections_detected_success_rate,
              stats_.ejections_enforced_success_rate};
    case OutlierEjectionType::SuccessRateLocalOrigin:
      return {config_.enforcing_local_origin_success_rate,
              stats_.ejections_detected_local_origin_success_rate,
              stats_.ejections_enforced_local_origin_success_rate};
    case OutlierEjectionType::FailurePercentage:
      return {config_.enforcing_failure_percentage, stats_.ejections_detected_failure_percentage,
              stats_.ejections_enforced_failure_percentage};
    case OutlierEjectionType::FailurePercentageLocalOrigin:
      return {config_.enforcing_failure_percentage_local_origin,
              stats_.ejections_detected_local_origin_failure_percentage,
              stats_.ejections_enforced_local_origin_failure_percentage};
  }
  return {0, stats_.ejections_detected_consecutive_5xx, stats_.ejections_enforced_consecutive_5xx};
}

void OutlierDetector::eject(Monitor& monitor, OutlierEjectionType type) {
  const Rule rule = ruleFor(type);
  rule.detected.inc();
  // Envoy's rule: eject while the share already ejected is below max_ejection_percent, so one
  // host can always be ejected (unless the maximum is 0).
  const double ejected_percent = 100.0 * ejected_count_ / monitors_.size();
  if (ejected_percent >= config_.max_ejection_percent) {
    stats_.ejections_overflow.inc();
    return;
  }
  if (type == OutlierEjectionType::Consecutive5xx) {
    stats_.ejections_total.inc();
  }
  if (!enforce(rule.enforcing)) {
    return;
  }
  stats_.ejections_enforced_total.inc();
  rule.enforced.inc();
  stats_.ejections_active.inc();
  ++ejected_count_;
  monitor.ejected_at = std::chrono::steady_clock::now();
  ++monitor.num_ejections;
  // Each ejection in a row lasts one base_ejection_time longer, up to max_ejection_time.
  if (config_.base_ejection_time * monitor.multiplier < config_.max_ejection_time) {
    ++monitor.multiplier;
  }
  monitor.jitter =
      config_.max_ejection_time_jitter.count() > 0
          ? std::chrono::milliseconds(random_() % (config_.max_ejection_time_jitter.count() + 1))
          : std::chrono::milliseconds(0);
  monitor.host->setFlags(HealthFlag::kFailedOutlierCheck);
  SKIFF_LOG(info, "outlier detection: ejected a host (%d times, %d ejected now)",
            monitor.num_ejections, ejected_count_);
  if (on_change_) {
    on_change_();
  }
}

void OutlierDetector::uneject(Monitor& monitor) {
  monitor.host->clearFlags(HealthFlag::kFailedOutlierCheck);
  --ejected_count_;
  stats_.ejections_active.dec();
}

void OutlierDetector::onIntervalTimer() {
  const auto now = std::chrono::steady_clock::now();
  bool changed = false;
  for (auto& [key, monitor] : monitors_) {
    if (!(monitor.host->flags() & HealthFlag::kFailedOutlierCheck)) {
      // Not ejected since the last sweep: the next ejection will be shorter.
      if (monitor.multiplier > 0) {
        --monitor.multiplier;
      }
      continue;
    }
    const auto ejection_time =
        std::min(config_.base_ejection_time * monitor.multiplier, config_.max_ejection_time) +
        monitor.jitter;
    if (now - monitor.ejected_at >= ejection_time) {
      uneject(monitor);
      changed = true;
    }
  }
  if (changed && on_change_) {
    on_change_();
  }
  processRates(Origin::External);
  // Without the split, local errors were already counted as the statuses they map to.
  if (config_.thresholds.split_external_local_origin_errors) {
    processRates(Origin::Local);
  }
  interval_timer_->enableTimer(config_.interval);
}

void OutlierDetector::processRates(Origin origin) {
  const bool external = origin == Origin::External;
  std::vector<Sample> samples;
  samples.reserve(monitors_.size());
  for (auto& [key, monitor] : monitors_) {
    HostHealth& host = *monitor.host;
    // Every host's interval restarts, the ejected ones' too (their few requests in panic mode
    // say little).
    const uint64_t total = (external ? host.success_rate_total : host.local_origin_total)
                               .exchange(0, std::memory_order_relaxed);
    const uint64_t success = (external ? host.success_rate_success : host.local_origin_success)
                                 .exchange(0, std::memory_order_relaxed);
    double& shown = external ? monitor.success_rate : monitor.local_origin_success_rate;
    shown = -1;
    if ((host.flags() & HealthFlag::kFailedOutlierCheck) || total == 0) {
      continue;
    }
    // A success counted after main read the total could make it exceed the total: clamp.
    const double rate = 100.0 * std::min(success, total) / total;
    if (total >= config_.success_rate_request_volume) {
      shown = rate;  // Envoy shows a host's rate only when it took part.
    }
    samples.push_back({&monitor, total, rate});
  }
  (external ? external_summary_ : local_summary_) =
      processSuccessRate(samples, external ? OutlierEjectionType::SuccessRate
                                           : OutlierEjectionType::SuccessRateLocalOrigin);
  processFailurePercentage(samples, external ? OutlierEjectionType::FailurePercentage
                                             : OutlierEjectionType::FailurePercentageLocalOrigin);
}

OutlierDetector::RateSummary OutlierDetector::processSuccessRate(const std::vector<Sample>& all,
                                                                 OutlierEjectionType type) {
  std::vector<const Sample*> samples;
  for (const Sample& s : all) {
    if (s.total >= config_.success_rate_request_volume) {
      samples.push_back(&s);
    }
  }
  if (samples.empty() || samples.size() < config_.success_rate_minimum_hosts) {
    return {};
  }
  double mean = 0;
  for (const Sample* s : samples) {
    mean += s->rate;
  }
  mean /= samples.size();
  double variance = 0;
  for (const Sample* s : samples) {
    variance += (s->rate - mean) * (s->rate - mean);
  }
  variance /= samples.size();
  const double threshold =
      mean - std::sqrt(variance) * (config_.success_rate_stdev_factor / 1000.0);
  for (const Sample* s : samples) {
    if (s->rate < threshold) {
      eject(*s->monitor, type);
    }
  }
  return {mean, threshold};
}

void OutlierDetector::processFailurePercentage(const std::vector<Sample>& all,
                                               OutlierEjectionType type) {
  size_t eligible = 0;
  for (const Sample& s : all) {
    eligible += s.total >= config_.failure_percentage_request_volume;
  }
  if (eligible == 0 || eligible < config_.failure_percentage_minimum_hosts) {
    return;
  }
  for (const Sample& s : all) {
    // A host the success-rate pass just ejected is not ejected twice.
    if (s.total < config_.failure_percentage_request_volume ||
        (s.monitor->host->flags() & HealthFlag::kFailedOutlierCheck)) {
      continue;
    }
    if (100.0 - s.rate >= config_.failure_percentage_threshold) {
      eject(*s.monitor, type);
    }
  }
}

void OutlierDetector::onActiveHealthCheckSuccess(const HostHealthSharedPtr& host) {
  if (!config_.successful_active_health_check_uneject_host) {
    return;
  }
  auto it = monitors_.find(host.get());
  if (it == monitors_.end() || !(host->flags() & HealthFlag::kFailedOutlierCheck)) {
    return;
  }
  uneject(it->second);
  host->consecutive_5xx.store(0, std::memory_order_relaxed);
  host->consecutive_gateway_failure.store(0, std::memory_order_relaxed);
  host->consecutive_local_origin_failure.store(0, std::memory_order_relaxed);
  if (on_change_) {
    on_change_();
  }
}

double OutlierDetector::hostSuccessRate(const HostHealth& host, Origin origin) const {
  auto it = monitors_.find(&host);
  if (it == monitors_.end()) {
    return -1;
  }
  return origin == Origin::External ? it->second.success_rate
                                    : it->second.local_origin_success_rate;
}

uint32_t OutlierDetector::ejectionMultiplierForTest(const HostHealth& host) const {
  auto it = monitors_.find(&host);
  return it == monitors_.end() ? 0 : it->second.multiplier;
}

}  // namespace Skiff::Upstream
