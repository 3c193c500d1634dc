#include "source/common/upstream/host_health.h"

#include "absl/strings/str_cat.h"

namespace Skiff::Upstream {
namespace {

bool isGatewayError(uint32_t status) { return status == 502 || status == 503 || status == 504; }

// Sets a counter back to zero without writing the cache line when it already is (the common
// case: every success on a healthy host).
void reset(std::atomic<uint32_t>& counter) {
  if (counter.load(std::memory_order_relaxed) != 0) {
    counter.store(0, std::memory_order_relaxed);
  }
}

}  // namespace

std::string healthFlagsToString(uint32_t flags) {
  if (flags == 0) {
    return "healthy";
  }
  std::string out;
  if (flags & HealthFlag::kFailedActiveHc) {
    out += "/failed_active_hc";
  }
  if (flags & HealthFlag::kFailedOutlierCheck) {
    out += "/failed_outlier_check";
  }
  if (flags & HealthFlag::kFailedEdsHealth) {
    out += "/failed_eds_health";
  }
  if (flags & HealthFlag::kPendingActiveHc) {
    out += "/pending_active_hc";
  }
  return out;
}

std::string healthStatusJson(uint32_t flags) {
  std::string out =
      absl::StrCat("{\"eds_health_status\":\"",
                   (flags & HealthFlag::kFailedEdsHealth) ? "UNHEALTHY" : "HEALTHY", "\"");
  if (flags & HealthFlag::kFailedActiveHc) {
    out += ",\"failed_active_health_check\":true";
  }
  if (flags & HealthFlag::kFailedOutlierCheck) {
    out += ",\"failed_outlier_check\":true";
  }
  if (flags & HealthFlag::kPendingActiveHc) {
    out += ",\"pending_active_hc\":true";
  }
  return out + "}";
}

bool HostHealth::setFlags(uint32_t bits) {
  const bool was = healthy();
  flags_.fetch_or(bits, std::memory_order_acq_rel);
  return was != healthy();
}

bool HostHealth::clearFlags(uint32_t bits) {
  const bool was = healthy();
  flags_.fetch_and(~bits, std::memory_order_acq_rel);
  return was != healthy();
}

void OutlierReporter::putHttpStatus(const HostHealthSharedPtr& host, uint32_t status) const {
  if (host == nullptr) {
    return;
  }
  // Success rate (Envoy's external origin: every HTTP status, and local errors mapped to one
  // unless split_external_local_origin_errors keeps them out).
  host->success_rate_total.fetch_add(1, std::memory_order_relaxed);
  if (status < 500 || status > 599) {
    host->success_rate_success.fetch_add(1, std::memory_order_relaxed);
    reset(host->consecutive_5xx);
    reset(host->consecutive_gateway_failure);
    return;
  }
  if (isGatewayError(status)) {
    if (host->consecutive_gateway_failure.fetch_add(1, std::memory_order_relaxed) + 1 ==
        thresholds_.consecutive_gateway_failure) {
      notify(host, OutlierEjectionType::ConsecutiveGatewayFailure);
    }
  } else {
    reset(host->consecutive_gateway_failure);
  }
  if (host->consecutive_5xx.fetch_add(1, std::memory_order_relaxed) + 1 ==
      thresholds_.consecutive_5xx) {
    notify(host, OutlierEjectionType::Consecutive5xx);
  }
}

void OutlierReporter::putResult(const HostHealthSharedPtr& host, OutlierResult result) const {
  if (host == nullptr) {
    return;
  }
  if (!thresholds_.split_external_local_origin_errors) {
    // Local errors count as the HTTP status a proxy would answer with (Envoy's mapping).
    switch (result) {
      case OutlierResult::LocalOriginConnectSuccess:
        return;  // The HTTP status that follows decides.
      case OutlierResult::LocalOriginConnectSuccessFinal:
        putHttpStatus(host, 200);
        return;
      case OutlierResult::LocalOriginConnectFailed:
        putHttpStatus(host, 503);
        return;
      case OutlierResult::LocalOriginTimeout:
        putHttpStatus(host, 504);
        return;
    }
    return;
  }
  switch (result) {
    case OutlierResult::LocalOriginConnectSuccess:
    case OutlierResult::LocalOriginConnectSuccessFinal:
      localOriginSuccess(*host);
      return;
    case OutlierResult::LocalOriginConnectFailed:
    case OutlierResult::LocalOriginTimeout:
      localOriginFailure(host);
      return;
  }
}

void OutlierReporter::localOriginFailure(const HostHealthSharedPtr& host) const {
  host->local_origin_total.fetch_add(1, std::memory_order_relaxed);
  if (host->consecutive_local_origin_failure.fetch_add(1, std::memory_order_relaxed) + 1 ==
      thresholds_.consecutive_local_origin_failure) {
    notify(host, OutlierEjectionType::ConsecutiveLocalOrigin);
  }
}

void OutlierReporter::localOriginSuccess(HostHealth& host) const {
  host.local_origin_total.fetch_add(1, std::memory_order_relaxed);
  host.local_origin_success.fetch_add(1, std::memory_order_relaxed);
  reset(host.consecutive_local_origin_failure);
}

void OutlierReporter::notify(const HostHealthSharedPtr& host, OutlierEjectionType type) const {
  // The sink may be gone by the time this runs (cluster removed): the weak_ptr is only locked on
  // main, where the sink is destroyed.
  main_.post([sink = sink_, host, type]() {
    if (auto locked = sink.lock()) {
      locked->onConsecutiveErrors(host, type);
    }
  });
}

}  // namespace Skiff::Upstream
