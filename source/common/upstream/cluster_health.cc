#include "source/common/upstream/cluster_health.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "source/common/upstream/cluster_manager.h"

namespace Skiff::Upstream {
namespace {

using google::protobuf::util::MessageDifferencer;

// The hosts to check, in info.hosts order (buildClusterInfo walks the endpoints the same way),
// with Endpoint.health_check_config's port and hostname applied.
std::vector<HealthCheckTarget> targetsFor(const ClusterInfo& info,
                                          const envoy::config::cluster::v3::Cluster& config) {
  std::vector<HealthCheckTarget> targets;
  targets.reserve(info.hosts.size());
  size_t i = 0;
  for (const auto& locality : config.load_assignment().endpoints()) {
    for (const auto& lb_endpoint : locality.lb_endpoints()) {
      if (i >= info.hosts.size()) {
        return targets;
      }
      const Host& host = info.hosts[i++];
      HealthCheckTarget target{host.health, host.address, ""};
      const auto& hc = lb_endpoint.endpoint().health_check_config();
      if (hc.port_value() != 0) {
        auto address = Network::Address::Instance::parse(host.address->ip(), hc.port_value());
        if (address.ok()) {
          target.address = *address;
        }
      }
      target.hostname = hc.hostname();
      targets.push_back(std::move(target));
    }
  }
  return targets;
}

}  // namespace

ClusterHealth::ClusterHealth(Event::Dispatcher& main, Stats::Store& store, std::string cluster_name,
                             ClusterHealthStateSharedPtr state, Stats::Gauge& membership_healthy,
                             std::function<bool()> has_traffic)
    : main_(main),
      store_(store),
      name_(std::move(cluster_name)),
      state_(std::move(state)),
      membership_healthy_(membership_healthy),
      has_traffic_(std::move(has_traffic)) {}

ClusterHealth::~ClusterHealth() {
  // The checker and detector tell onHealthChanged() as they let go of the hosts.
  checker_.reset();
  detector_.reset();
}

absl::Status ClusterHealth::update(ClusterInfo& info,
                                   const envoy::config::cluster::v3::Cluster& config) {
  hosts_.clear();
  for (const Host& host : info.hosts) {
    hosts_.push_back(host.health);
  }

  // Active health checks: at most one HealthCheck (validation).
  if (stopped_) {
    // Draining: checks are over; hosts keep the state they had.
  } else if (config.health_checks_size() == 0) {
    if (checker_ != nullptr) {
      checker_.reset();
      for (const auto& host : hosts_) {
        host->clearFlags(HealthFlag::kFailedActiveHc | HealthFlag::kPendingActiveHc);
        host->active_hc_known = false;
      }
    }
  } else {
    if (checker_ == nullptr ||
        !MessageDifferencer::Equals(checker_config_, config.health_checks(0))) {
      // A new config starts a new checker; hosts it already judged keep their state.
      checker_.reset();
      HealthChecker::Callbacks callbacks;
      callbacks.on_change = [this] { onHealthChanged(); };
      callbacks.on_success = [this](const HostHealthSharedPtr& host) {
        if (detector_ != nullptr) {
          detector_->onActiveHealthCheckSuccess(host);
        }
      };
      callbacks.has_traffic = has_traffic_;
      auto checker = createHealthChecker(
          main_, config.health_checks(0), name_, info.connect_timeout,
          generateHealthCheckStats(store_, name_), std::move(callbacks), info.upstream_bind);
      if (!checker.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("cluster '", name_, "': health_checks[0]: ", checker.status().message()));
      }
      checker_ = std::move(*checker);
      checker_config_ = config.health_checks(0);
    }
    checker_->setHosts(targetsFor(info, config));
  }

  // Outlier detection.
  if (!config.has_outlier_detection()) {
    detector_.reset();
  } else {
    if (detector_ == nullptr ||
        !MessageDifferencer::Equals(detector_config_, config.outlier_detection())) {
      detector_.reset();
      detector_ = OutlierDetector::create(
          main_, OutlierDetectionConfig::fromProto(config.outlier_detection()),
          generateOutlierDetectionStats(store_, name_), [this] { onHealthChanged(); });
      detector_config_ = config.outlier_detection();
    }
    detector_->setHosts(hosts_);
    info.outlier = detector_->reporter();
  }
  onHealthChanged();
  return absl::OkStatus();
}

void ClusterHealth::stopHealthChecks() {
  stopped_ = true;
  if (checker_ != nullptr) {
    checker_->stop();
  }
}

void ClusterHealth::onHealthChanged() {
  state_->bump();
  int64_t healthy = 0;
  for (const auto& host : hosts_) {
    healthy += host->healthy() ? 1 : 0;
  }
  membership_healthy_.set(healthy);
}

}  // namespace Skiff::Upstream
