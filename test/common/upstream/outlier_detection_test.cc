// Outlier detection: workers' reports (through the OutlierReporter, posted to main) eject hosts
// after consecutive errors, within max_ejection_percent, for growing times, and un-eject them.

#include "source/common/upstream/outlier_detection.h"

#include <thread>

#include "gtest/gtest.h"
#include "source/common/stats/stats_impl.h"
#include "test/common/upstream/health_test_util.h"

namespace Skiff::Upstream {
namespace {

using namespace std::chrono_literals;
using Test::runUntil;

class OutlierDetectionTest : public ::testing::Test {
 protected:
  void create(OutlierDetectionConfig config, size_t hosts) {
    for (size_t i = 0; i < hosts; ++i) {
      hosts_.push_back(std::make_shared<HostHealth>());
    }
    detector_ = OutlierDetector::create(dispatcher_, config,
                                        generateOutlierDetectionStats(store_, "backend"),
                                        [this] { ++changes_; });
    detector_->setHosts(hosts_);
  }

  // Lets the posted notifications run on "main".
  void drainPosts() { dispatcher_.run(Event::Dispatcher::RunType::NonBlock); }
  bool ejected(size_t i) const { return hosts_[i]->flags() & HealthFlag::kFailedOutlierCheck; }
  uint64_t counter(const std::string& name) {
    return store_.counter("cluster.backend.outlier_detection." + name).value();
  }
  int64_t active() {
    return store_.gauge("cluster.backend.outlier_detection.ejections_active").value();
  }

  Event::DispatcherImpl dispatcher_{"main"};
  Stats::StoreImpl store_;
  std::vector<HostHealthSharedPtr> hosts_;
  OutlierDetectorSharedPtr detector_;
  int changes_{0};
};

TEST_F(OutlierDetectionTest, Consecutive5xxEjectsAndASuccessResetsTheCount) {
  create(OutlierDetectionConfig{}, 2);
  const OutlierReporter& reporter = *detector_->reporter();
  for (int i = 0; i < 4; ++i) {
    reporter.putHttpStatus(hosts_[0], 500);
  }
  reporter.putHttpStatus(hosts_[0], 200);
  for (int i = 0; i < 4; ++i) {
    reporter.putHttpStatus(hosts_[0], 503);
  }
  drainPosts();
  EXPECT_FALSE(ejected(0));
  reporter.putHttpStatus(hosts_[0], 500);  // The 5th in a row.
  drainPosts();
  EXPECT_TRUE(ejected(0));
  EXPECT_FALSE(ejected(1));
  EXPECT_FALSE(hosts_[0]->healthy());
  EXPECT_EQ(counter("ejections_enforced_consecutive_5xx"), 1u);
  EXPECT_EQ(counter("ejections_detected_consecutive_5xx"), 1u);
  EXPECT_EQ(counter("ejections_enforced_total"), 1u);
  EXPECT_EQ(active(), 1);
  EXPECT_EQ(changes_, 1);
}

TEST_F(OutlierDetectionTest, ReportsFromWorkerThreadsArePostedToMain) {
  create(OutlierDetectionConfig{}, 2);
  OutlierReporterConstSharedPtr reporter = detector_->reporter();
  std::thread worker([&] {
    for (int i = 0; i < 5; ++i) {
      reporter->putResult(hosts_[1], OutlierResult::LocalOriginConnectFailed);  // Counts as 503.
    }
  });
  worker.join();
  EXPECT_FALSE(ejected(1));  // Nothing happens off main.
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return ejected(1); }));
}

TEST_F(OutlierDetectionTest, MaxEjectionPercentIsRespected) {
  OutlierDetectionConfig config;
  config.max_ejection_percent = 50;
  create(config, 4);
  const OutlierReporter& reporter = *detector_->reporter();
  for (size_t h = 0; h < 4; ++h) {
    for (int i = 0; i < 5; ++i) {
      reporter.putHttpStatus(hosts_[h], 500);
    }
    drainPosts();
  }
  // Ejections go on while less than 50% is ejected: 0%, 25% -> 2 hosts; then overflow.
  EXPECT_TRUE(ejected(0));
  EXPECT_TRUE(ejected(1));
  EXPECT_FALSE(ejected(2));
  EXPECT_FALSE(ejected(3));
  EXPECT_EQ(counter("ejections_overflow"), 2u);
  EXPECT_EQ(active(), 2);
}

TEST_F(OutlierDetectionTest, DefaultTenPercentStillEjectsOneHost) {
  create(OutlierDetectionConfig{}, 2);
  for (size_t h = 0; h < 2; ++h) {
    for (int i = 0; i < 5; ++i) {
      detector_->reporter()->putHttpStatus(hosts_[h], 500);
    }
    drainPosts();
  }
  EXPECT_TRUE(ejected(0));
  EXPECT_FALSE(ejected(1));
  EXPECT_EQ(counter("ejections_overflow"), 1u);
}

TEST_F(OutlierDetectionTest, UnejectedAfterBaseEjectionTimeAndTheNextEjectionLastsLonger) {
  OutlierDetectionConfig config;
  // The re-ejection below must land before the next sweep after the unejection, or that sweep
  // decays the multiplier first: with a 20 ms interval a loaded machine (ASan, whole suite in
  // parallel) missed it once.
  config.interval = 200ms;
  config.base_ejection_time = 150ms;
  create(config, 2);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    detector_->reporter()->putHttpStatus(hosts_[0], 500);
  }
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return ejected(0); }));
  EXPECT_EQ(detector_->ejectionMultiplierForTest(*hosts_[0]), 1u);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return !ejected(0); }));
  // Never before the ejection time (a lower bound only: a loaded machine may be late).
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
  EXPECT_EQ(active(), 0);
  // Ejected again before the multiplier decayed: twice the base time.
  for (int i = 0; i < 5; ++i) {
    detector_->reporter()->putHttpStatus(hosts_[0], 500);
  }
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return ejected(0); }));
  EXPECT_EQ(detector_->ejectionMultiplierForTest(*hosts_[0]), 2u);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return !ejected(0); }));
  // Healthy sweeps decay the multiplier back to zero.
  ASSERT_TRUE(
      runUntil(dispatcher_, [&] { return detector_->ejectionMultiplierForTest(*hosts_[0]) == 0; }));
}

TEST_F(OutlierDetectionTest, EjectionTimeIsCappedByMaxEjectionTime) {
  OutlierDetectionConfig config;
  config.base_ejection_time = 100ms;
  config.max_ejection_time = 250ms;
  config.interval = 10s;  // No sweeps during the test.
  create(config, 2);
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 5; ++i) {
      detector_->reporter()->putHttpStatus(hosts_[0], 500);
    }
    drainPosts();
    detector_->onActiveHealthCheckSuccess(hosts_[0]);  // Un-eject without decaying.
  }
  // 100, 200, 300 (>= 250: stops growing).
  EXPECT_EQ(detector_->ejectionMultiplierForTest(*hosts_[0]), 3u);
}

TEST_F(OutlierDetectionTest, GatewayFailuresAreDetectedButNotEnforcedByDefault) {
  OutlierDetectionConfig config;
  config.thresholds.consecutive_5xx = 100;
  create(config, 2);
  for (int i = 0; i < 5; ++i) {
    detector_->reporter()->putHttpStatus(hosts_[0], 504);
  }
  drainPosts();
  EXPECT_FALSE(ejected(0));
  EXPECT_EQ(counter("ejections_detected_consecutive_gateway_failure"), 1u);
  EXPECT_EQ(counter("ejections_enforced_consecutive_gateway_failure"), 0u);

  config.enforcing_consecutive_gateway_failure = 100;
  hosts_.clear();
  create(config, 2);
  for (int i = 0; i < 5; ++i) {
    detector_->reporter()->putHttpStatus(hosts_[0], 502);
  }
  drainPosts();
  EXPECT_TRUE(ejected(0));
}

TEST_F(OutlierDetectionTest, SplitLocalOriginErrorsHaveTheirOwnCounter) {
  OutlierDetectionConfig config;
  config.thresholds.split_external_local_origin_errors = true;
  config.thresholds.consecutive_local_origin_failure = 3;
  create(config, 2);
  const OutlierReporter& reporter = *detector_->reporter();
  reporter.putResult(hosts_[0], OutlierResult::LocalOriginConnectFailed);
  reporter.putResult(hosts_[0], OutlierResult::LocalOriginTimeout);
  reporter.putResult(hosts_[0], OutlierResult::LocalOriginConnectSuccess);  // Resets.
  reporter.putResult(hosts_[0], OutlierResult::LocalOriginConnectFailed);
  reporter.putResult(hosts_[0], OutlierResult::LocalOriginConnectFailed);
  drainPosts();
  EXPECT_FALSE(ejected(0));
  EXPECT_EQ(hosts_[0]->consecutive_5xx.load(), 0u);  // Local errors are not 5xx here.
  reporter.putResult(hosts_[0], OutlierResult::LocalOriginConnectFailed);
  drainPosts();
  EXPECT_TRUE(ejected(0));
  EXPECT_EQ(counter("ejections_enforced_consecutive_local_origin_failure"), 1u);
}

TEST_F(OutlierDetectionTest, ActiveHealthCheckSuccessUnejects) {
  create(OutlierDetectionConfig{}, 2);
  for (int i = 0; i < 5; ++i) {
    detector_->reporter()->putHttpStatus(hosts_[0], 500);
  }
  drainPosts();
  ASSERT_TRUE(ejected(0));
  detector_->onActiveHealthCheckSuccess(hosts_[0]);
  EXPECT_FALSE(ejected(0));
  EXPECT_EQ(active(), 0);
}

TEST_F(OutlierDetectionTest, RemovedHostsAndTheDetectorItselfReleaseEjections) {
  create(OutlierDetectionConfig{}, 2);
  for (int i = 0; i < 5; ++i) {
    detector_->reporter()->putHttpStatus(hosts_[0], 500);
  }
  drainPosts();
  ASSERT_TRUE(ejected(0));
  detector_->setHosts({hosts_[1]});
  EXPECT_EQ(active(), 0);
  EXPECT_EQ(detector_->ejectedCount(), 0u);
  // A report that arrives after the host left is ignored.
  for (int i = 0; i < 5; ++i) {
    detector_->reporter()->putHttpStatus(hosts_[0], 500);
  }
  drainPosts();
  EXPECT_FALSE(ejected(0));

  for (int i = 0; i < 5; ++i) {
    detector_->reporter()->putHttpStatus(hosts_[1], 500);
  }
  drainPosts();
  ASSERT_TRUE(ejected(1));
  OutlierReporterConstSharedPtr reporter = detector_->reporter();
  detector_.reset();  // Outlier detection removed from the cluster.
  EXPECT_FALSE(ejected(1));
  EXPECT_EQ(active(), 0);
  // Workers holding the old reporter are harmless.
  for (int i = 0; i < 10; ++i) {
    reporter->putHttpStatus(hosts_[1], 500);
  }
  drainPosts();
  EXPECT_FALSE(ejected(1));
}

TEST(OutlierDetectionConfigTest, EnvoyDefaults) {
  envoy::config::cluster::v3::OutlierDetection proto;
  auto config = OutlierDetectionConfig::fromProto(proto);
  EXPECT_EQ(config.interval, 10000ms);
  EXPECT_EQ(config.base_ejection_time, 30000ms);
  EXPECT_EQ(config.max_ejection_time, 300000ms);
  EXPECT_EQ(config.max_ejection_percent, 10u);
  EXPECT_EQ(config.thresholds.consecutive_5xx, 5u);
  EXPECT_EQ(config.thresholds.consecutive_gateway_failure, 5u);
  EXPECT_EQ(config.enforcing_consecutive_5xx, 100u);
  EXPECT_EQ(config.enforcing_consecutive_gateway_failure, 0u);
  EXPECT_EQ(config.enforcing_consecutive_local_origin_failure, 100u);
  EXPECT_TRUE(config.successful_active_health_check_uneject_host);
  // An unset max_ejection_time never undercuts base_ejection_time.
  proto.mutable_base_ejection_time()->set_seconds(600);
  EXPECT_EQ(OutlierDetectionConfig::fromProto(proto).max_ejection_time, 600000ms);
}

// Envoy's success-rate detector: each interval, among hosts with enough requests (and only with
// enough such hosts), those below mean - stdev x factor / 1000 are ejected.
class SuccessRateTest : public OutlierDetectionTest {
 protected:
  // `requests` responses to host `i`, `failures` of them 5xx, interleaved so no run of 5xx
  // triggers the consecutive detectors.
  void traffic(size_t i, int requests, int failures) {
    const OutlierReporter& reporter = *detector_->reporter();
    for (int n = 0; n < requests; ++n) {
      reporter.putHttpStatus(hosts_[i], n < 2 * failures && n % 2 == 0 ? 500 : 200);
    }
  }
};

TEST_F(SuccessRateTest, EjectsTheHostFarBelowTheOthers) {
  create(OutlierDetectionConfig{}, 6);
  for (size_t i = 0; i < 5; ++i) {
    traffic(i, 100, 1);  // 99%
  }
  traffic(5, 100, 50);  // 50%: mean 90.8, stdev 18.3, threshold 56.1.
  drainPosts();
  EXPECT_FALSE(ejected(5));  // Decided at the interval, not per response.
  detector_->runIntervalForTest();
  EXPECT_TRUE(ejected(5));
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_FALSE(ejected(i)) << i;
  }
  EXPECT_EQ(counter("ejections_detected_success_rate"), 1u);
  EXPECT_EQ(counter("ejections_enforced_success_rate"), 1u);
  EXPECT_EQ(counter("ejections_enforced_total"), 1u);
  EXPECT_EQ(active(), 1);
  // What /clusters shows: the interval's mean and threshold, and each host's rate.
  using Origin = OutlierDetector::Origin;
  EXPECT_NEAR(detector_->rateSummary(Origin::External).average, 90.83, 0.01);
  EXPECT_NEAR(detector_->rateSummary(Origin::External).ejection_threshold, 56.14, 0.01);
  EXPECT_EQ(detector_->rateSummary(Origin::Local).average, -1);  // No split: never computed.
  EXPECT_EQ(detector_->hostSuccessRate(*hosts_[0], Origin::External), 99);
  EXPECT_EQ(detector_->hostSuccessRate(*hosts_[5], Origin::External), 50);
  // The interval's counts were consumed: the next interval starts from zero.
  EXPECT_EQ(hosts_[0]->success_rate_total.load(), 0u);
  detector_->runIntervalForTest();
  EXPECT_EQ(counter("ejections_detected_success_rate"), 1u);
  // An interval without enough requests computes nothing.
  EXPECT_EQ(detector_->rateSummary(Origin::External).ejection_threshold, -1);
  EXPECT_EQ(detector_->hostSuccessRate(*hosts_[0], Origin::External), -1);
}

TEST_F(SuccessRateTest, NeedsEnoughHostsWithEnoughRequests) {
  OutlierDetectionConfig config;
  config.max_ejection_percent = 100;
  create(config, 6);
  // Only 4 hosts reach success_rate_request_volume (100): below success_rate_minimum_hosts (5).
  for (size_t i = 0; i < 3; ++i) {
    traffic(i, 100, 0);
  }
  traffic(3, 100, 50);
  traffic(4, 99, 0);
  traffic(5, 99, 99);
  detector_->runIntervalForTest();
  EXPECT_EQ(counter("ejections_detected_success_rate"), 0u);
  EXPECT_EQ(active(), 0);

  // All equal: the standard deviation is 0 and nobody is below the mean.
  for (size_t i = 0; i < 6; ++i) {
    traffic(i, 200, 10);
  }
  detector_->runIntervalForTest();
  EXPECT_EQ(counter("ejections_detected_success_rate"), 0u);
}

TEST_F(SuccessRateTest, ConfiguredFromTheProtoAndEnforcedByPercent) {
  envoy::config::cluster::v3::OutlierDetection proto;
  proto.mutable_success_rate_minimum_hosts()->set_value(3);
  proto.mutable_success_rate_request_volume()->set_value(10);
  proto.mutable_success_rate_stdev_factor()->set_value(1000);
  proto.mutable_enforcing_success_rate()->set_value(0);
  const OutlierDetectionConfig config = OutlierDetectionConfig::fromProto(proto);
  EXPECT_EQ(config.success_rate_minimum_hosts, 3u);
  EXPECT_EQ(config.success_rate_request_volume, 10u);
  EXPECT_EQ(config.success_rate_stdev_factor, 1000u);
  EXPECT_EQ(config.enforcing_success_rate, 0u);
  EXPECT_EQ(OutlierDetectionConfig{}.enforcing_success_rate, 100u);  // Envoy's default.

  create(config, 3);
  traffic(0, 10, 0);
  traffic(1, 10, 0);
  traffic(2, 10, 5);  // mean 83.3, stdev 23.6, threshold 59.8 (factor 1.0)
  detector_->runIntervalForTest();
  EXPECT_EQ(counter("ejections_detected_success_rate"), 1u);
  EXPECT_EQ(counter("ejections_enforced_success_rate"), 0u);  // enforcing_success_rate 0.
  EXPECT_FALSE(ejected(2));
}

// With split_external_local_origin_errors, connect failures and timeouts are not HTTP results:
// they stay out of the (external) success rate.
TEST_F(SuccessRateTest, SplitLocalOriginErrorsStayOut) {
  OutlierDetectionConfig config;
  config.thresholds.split_external_local_origin_errors = true;
  create(config, 1);
  const OutlierReporter& reporter = *detector_->reporter();
  reporter.putResult(hosts_[0], OutlierResult::LocalOriginConnectFailed);
  reporter.putResult(hosts_[0], OutlierResult::LocalOriginTimeout);
  EXPECT_EQ(hosts_[0]->success_rate_total.load(), 0u);
  reporter.putHttpStatus(hosts_[0], 503);
  EXPECT_EQ(hosts_[0]->success_rate_total.load(), 1u);
  EXPECT_EQ(hosts_[0]->success_rate_success.load(), 0u);
}

// Envoy's failure-percentage detector: each interval, among hosts with at least
// failure_percentage_request_volume requests (and only with failure_percentage_minimum_hosts of
// them), a host whose failed share reaches failure_percentage_threshold is ejected. It runs
// beside the success-rate detector, over the same counts.
class FailurePercentageTest : public OutlierDetectionTest {
 protected:
  static OutlierDetectionConfig config() {
    OutlierDetectionConfig config;
    config.max_ejection_percent = 100;
    config.enforcing_failure_percentage = 100;
    config.enforcing_failure_percentage_local_origin = 100;
    // Runs of errors must not trip the consecutive detectors in these tests.
    config.thresholds.consecutive_5xx = 1000000;
    config.thresholds.consecutive_local_origin_failure = 1000000;
    return config;
  }
  // `requests` HTTP responses to host `i`, the first `failures` of them 500.
  void responses(size_t i, int requests, int failures) {
    for (int n = 0; n < requests; ++n) {
      detector_->reporter()->putHttpStatus(hosts_[i], n < failures ? 500 : 200);
    }
  }
  // `attempts` connection attempts to host `i`, the first `failures` of them failed.
  void connects(size_t i, int attempts, int failures) {
    for (int n = 0; n < attempts; ++n) {
      detector_->reporter()->putResult(hosts_[i], n < failures
                                                      ? OutlierResult::LocalOriginConnectFailed
                                                      : OutlierResult::LocalOriginConnectSuccess);
    }
  }
};

TEST_F(FailurePercentageTest, EjectsHostsAtOrAboveTheThreshold) {
  create(config(), 6);
  for (size_t i = 0; i < 3; ++i) {
    responses(i, 50, 0);
  }
  responses(3, 50, 40);   // 80%: below 85.
  responses(4, 100, 85);  // 85%: at the threshold.
  responses(5, 50, 50);   // 100%.
  drainPosts();
  EXPECT_FALSE(ejected(5));  // Decided at the interval.
  detector_->runIntervalForTest();
  EXPECT_FALSE(ejected(3));
  EXPECT_TRUE(ejected(4));
  EXPECT_TRUE(ejected(5));
  EXPECT_EQ(counter("ejections_detected_failure_percentage"), 2u);
  EXPECT_EQ(counter("ejections_enforced_failure_percentage"), 2u);
  EXPECT_EQ(counter("ejections_detected_success_rate"), 0u);  // Too few hosts with 100.
  EXPECT_EQ(active(), 2);
}

TEST_F(FailurePercentageTest, NeedsEnoughHostsWithEnoughRequests) {
  create(config(), 6);
  // Only 4 hosts reach failure_percentage_request_volume (50): below the minimum of 5.
  for (size_t i = 0; i < 3; ++i) {
    responses(i, 50, 0);
  }
  responses(3, 50, 50);
  responses(4, 49, 49);
  responses(5, 10, 10);
  detector_->runIntervalForTest();
  EXPECT_EQ(counter("ejections_detected_failure_percentage"), 0u);
  EXPECT_EQ(active(), 0);
}

TEST_F(FailurePercentageTest, OffUnlessEnforced) {
  OutlierDetectionConfig off = config();
  off.enforcing_failure_percentage = 0;  // Envoy's default.
  create(off, 5);
  for (size_t i = 0; i < 4; ++i) {
    responses(i, 50, 0);
  }
  responses(4, 50, 50);
  detector_->runIntervalForTest();
  EXPECT_EQ(counter("ejections_detected_failure_percentage"), 1u);  // Detected, as Envoy counts.
  EXPECT_EQ(counter("ejections_enforced_failure_percentage"), 0u);
  EXPECT_FALSE(ejected(4));
}

// With split_external_local_origin_errors, connection results have their own success rate and
// failure percentage, with their own enforcing_* and stats; HTTP statuses do not count there.
TEST_F(FailurePercentageTest, LocalOriginWithTheSplit) {
  OutlierDetectionConfig split = config();
  split.thresholds.split_external_local_origin_errors = true;
  create(split, 6);
  for (size_t i = 0; i < 5; ++i) {
    connects(i, 100, 1);  // 99%
    responses(i, 100, 0);
  }
  connects(5, 100, 50);  // Local: 50% (success-rate outlier), below the 85% failure threshold.
  responses(5, 100, 0);  // External: all fine.
  EXPECT_EQ(hosts_[5]->local_origin_total.load(), 100u);
  EXPECT_EQ(hosts_[5]->success_rate_total.load(), 100u);
  detector_->runIntervalForTest();
  EXPECT_TRUE(ejected(5));
  EXPECT_EQ(counter("ejections_detected_local_origin_success_rate"), 1u);
  EXPECT_EQ(counter("ejections_enforced_local_origin_success_rate"), 1u);
  EXPECT_EQ(counter("ejections_detected_success_rate"), 0u);
  EXPECT_EQ(counter("ejections_detected_local_origin_failure_percentage"), 0u);
  EXPECT_EQ(hosts_[0]->local_origin_total.load(), 0u);  // The interval consumed the counts.

  // Next interval: host 4 fails 90% of its connections: a local-origin failure-percentage outlier.
  for (size_t i = 0; i < 4; ++i) {
    connects(i, 50, 0);
  }
  connects(4, 50, 45);
  detector_->runIntervalForTest();
  EXPECT_TRUE(ejected(4));
  EXPECT_EQ(counter("ejections_detected_local_origin_failure_percentage"), 1u);
  EXPECT_EQ(counter("ejections_enforced_local_origin_failure_percentage"), 1u);
  EXPECT_EQ(counter("ejections_detected_failure_percentage"), 0u);
}

// Without the split, a failed connection counts as a 503 (external) and nothing local is counted.
TEST_F(FailurePercentageTest, WithoutTheSplitConnectFailuresAreExternal) {
  create(config(), 5);
  for (size_t i = 0; i < 4; ++i) {
    connects(i, 50, 0);
    responses(i, 50, 0);
  }
  connects(4, 50, 50);
  EXPECT_EQ(hosts_[4]->local_origin_total.load(), 0u);
  EXPECT_EQ(hosts_[4]->success_rate_total.load(), 50u);
  detector_->runIntervalForTest();
  EXPECT_TRUE(ejected(4));
  EXPECT_EQ(counter("ejections_enforced_failure_percentage"), 1u);
  EXPECT_EQ(counter("ejections_detected_local_origin_failure_percentage"), 0u);
}

TEST(OutlierDetectionConfigTest, FailurePercentageAndLocalOriginFields) {
  envoy::config::cluster::v3::OutlierDetection proto;
  OutlierDetectionConfig config = OutlierDetectionConfig::fromProto(proto);
  // Envoy's defaults.
  EXPECT_EQ(config.enforcing_local_origin_success_rate, 100u);
  EXPECT_EQ(config.failure_percentage_threshold, 85u);
  EXPECT_EQ(config.enforcing_failure_percentage, 0u);
  EXPECT_EQ(config.enforcing_failure_percentage_local_origin, 0u);
  EXPECT_EQ(config.failure_percentage_minimum_hosts, 5u);
  EXPECT_EQ(config.failure_percentage_request_volume, 50u);
  proto.mutable_enforcing_local_origin_success_rate()->set_value(7);
  proto.mutable_failure_percentage_threshold()->set_value(60);
  proto.mutable_enforcing_failure_percentage()->set_value(70);
  proto.mutable_enforcing_failure_percentage_local_origin()->set_value(80);
  proto.mutable_failure_percentage_minimum_hosts()->set_value(2);
  proto.mutable_failure_percentage_request_volume()->set_value(9);
  config = OutlierDetectionConfig::fromProto(proto);
  EXPECT_EQ(config.enforcing_local_origin_success_rate, 7u);
  EXPECT_EQ(config.failure_percentage_threshold, 60u);
  EXPECT_EQ(config.enforcing_failure_percentage, 70u);
  EXPECT_EQ(config.enforcing_failure_percentage_local_origin, 80u);
  EXPECT_EQ(config.failure_percentage_minimum_hosts, 2u);
  EXPECT_EQ(config.failure_percentage_request_volume, 9u);
}

}  // namespace
}  // namespace Skiff::Upstream
