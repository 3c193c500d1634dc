// Active health checks against real loopback backends: thresholds, immediate failures, request
// contents, TCP send/receive, refused connections, timeouts, and the interval/jitter bounds.

#include "source/common/upstream/health_checker.h"

#include <set>

#include "gtest/gtest.h"
#include "source/common/stats/stats_impl.h"
#include "source/common/upstream/health_checker_impl.h"
#include "test/common/upstream/health_test_util.h"

namespace Skiff::Upstream {
namespace {

using namespace std::chrono_literals;
using envoy::config::core::v3::HealthCheck;
using Test::RawBackend;
using Test::runUntil;

void setMs(google::protobuf::Duration* d, int64_t ms) {
  d->set_seconds(ms / 1000);
  d->set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
}

HealthCheck httpCheck(uint32_t unhealthy, uint32_t healthy) {
  HealthCheck hc;
  setMs(hc.mutable_timeout(), 1000);
  setMs(hc.mutable_interval(), 20);
  setMs(hc.mutable_no_traffic_interval(), 20);
  hc.mutable_unhealthy_threshold()->set_value(unhealthy);
  hc.mutable_healthy_threshold()->set_value(healthy);
  hc.mutable_http_health_check()->set_path("/healthz");
  return hc;
}

class HealthCheckerTest : public ::testing::Test {
 protected:
  HealthCheckerTest() : stats_(generateHealthCheckStats(store_, "backend")) {}

  void start(const HealthCheck& proto, Network::Address::InstanceConstSharedPtr address,
             std::string hostname = "") {
    HealthChecker::Callbacks callbacks;
    callbacks.on_change = [this] {
      ++changes_;
      transitions_.push_back({host_->healthy() ? "healthy" : "unhealthy", stats_.success.value(),
                              stats_.failure.value()});
    };
    callbacks.has_traffic = [] { return true; };
    auto checker =
        createHealthChecker(dispatcher_, proto, "backend", 1000ms, stats_, std::move(callbacks));
    ASSERT_TRUE(checker.ok()) << checker.status();
    checker_ = std::move(*checker);
    checker_->setHosts({HealthCheckTarget{host_, std::move(address), std::move(hostname)}});
  }

  bool failedActiveHc() const { return host_->flags() & HealthFlag::kFailedActiveHc; }

  struct Transition {
    std::string to;
    uint64_t successes;
    uint64_t failures;
  };

  Event::DispatcherImpl dispatcher_{"main"};
  Stats::StoreImpl store_;
  HealthCheckStats stats_;
  HostHealthSharedPtr host_ = std::make_shared<HostHealth>();
  HealthCheckerPtr checker_;
  int changes_{0};
  std::vector<Transition> transitions_;
};

TEST_F(HealthCheckerTest, NewHostIsPendingUntilItsFirstCheckPassesAtOnce) {
  RawBackend backend(dispatcher_);
  start(httpCheck(3, 3), backend.address);
  // Marked failed and pending before any check ran.
  EXPECT_EQ(host_->flags(), HealthFlag::kFailedActiveHc | HealthFlag::kPendingActiveHc);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return !failedActiveHc(); }));
  // The first success counts at once, whatever healthy_threshold says.
  ASSERT_FALSE(transitions_.empty());
  EXPECT_EQ(transitions_.back().to, "healthy");
  EXPECT_EQ(transitions_.back().successes, 1u);
  EXPECT_EQ(host_->flags(), 0u);
  EXPECT_EQ(stats_.healthy.value(), 1);
}

TEST_F(HealthCheckerTest, UnhealthyAfterThresholdFailuresAndHealthyAfterThresholdSuccesses) {
  RawBackend backend(dispatcher_);
  HealthCheck hc = httpCheck(3, 2);
  // 503 counts toward the threshold instead of failing at once.
  auto* range = hc.mutable_http_health_check()->add_retriable_statuses();
  range->set_start(503);
  range->set_end(504);
  start(hc, backend.address);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return !failedActiveHc(); }));

  backend.answerHttp(503);
  const uint64_t failures_before = stats_.failure.value();
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return failedActiveHc(); }));
  EXPECT_EQ(transitions_.back().to, "unhealthy");
  EXPECT_EQ(transitions_.back().failures - failures_before, 3u);
  EXPECT_EQ(stats_.healthy.value(), 0);

  backend.answerHttp(200);
  const uint64_t successes_before = stats_.success.value();
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return !failedActiveHc(); }));
  EXPECT_EQ(transitions_.back().to, "healthy");
  EXPECT_EQ(transitions_.back().successes - successes_before, 2u);
  EXPECT_EQ(stats_.healthy.value(), 1);
  EXPECT_EQ(stats_.network_failure.value(), 0u);
}

TEST_F(HealthCheckerTest, UnexpectedStatusIsUnhealthyAtOnce) {
  RawBackend backend(dispatcher_);
  start(httpCheck(5, 1), backend.address);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return !failedActiveHc(); }));
  backend.answerHttp(500);
  const uint64_t failures_before = stats_.failure.value();
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return failedActiveHc(); }));
  EXPECT_EQ(transitions_.back().failures - failures_before, 1u);
}

TEST_F(HealthCheckerTest, ExpectedStatusesReplaceThe200Default) {
  RawBackend backend(dispatcher_);
  backend.answerHttp(204);
  HealthCheck hc = httpCheck(1, 1);
  auto* range = hc.mutable_http_health_check()->add_expected_statuses();
  range->set_start(200);
  range->set_end(300);
  start(hc, backend.address);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return stats_.success.value() >= 2; }));
  EXPECT_FALSE(failedActiveHc());
}

TEST_F(HealthCheckerTest, RequestCarriesPathHostAndHeadersOnOneKeptConnection) {
  RawBackend backend(dispatcher_);
  HealthCheck hc = httpCheck(1, 1);
  auto* http = hc.mutable_http_health_check();
  auto* add = http->add_request_headers_to_add()->mutable_header();
  add->set_key("X-Check");
  add->set_value("yes");
  http->add_request_headers_to_remove("user-agent");
  start(hc, backend.address, "svc.example");
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return backend.requests >= 3; }));
  EXPECT_EQ(backend.received.find("GET /healthz HTTP/1.1\r\n"), 0u) << backend.received;
  EXPECT_NE(backend.received.find("host: svc.example\r\n"), std::string::npos) << backend.received;
  EXPECT_NE(backend.received.find("x-check: yes\r\n"), std::string::npos);
  EXPECT_EQ(backend.received.find("user-agent"), std::string::npos);
  // reuse_connection (default): every check on the same connection.
  EXPECT_EQ(backend.conns.size(), 1u);
}

TEST_F(HealthCheckerTest, HostHeaderDefaultsToTheClusterNameAndNoReuseReconnects) {
  RawBackend backend(dispatcher_);
  HealthCheck hc = httpCheck(1, 1);
  hc.mutable_reuse_connection()->set_value(false);
  start(hc, backend.address);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return backend.requests >= 3; }));
  EXPECT_NE(backend.received.find("host: backend\r\n"), std::string::npos);
  EXPECT_NE(backend.received.find("user-agent: Envoy/HC\r\n"), std::string::npos);
  EXPECT_GE(backend.conns.size(), 3u);
  EXPECT_FALSE(failedActiveHc());
}

TEST_F(HealthCheckerTest, RefusedConnectionIsANetworkFailure) {
  start(httpCheck(2, 1), Upstream::Test::refusingAddress());
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return stats_.network_failure.value() >= 3; }));
  // Still failing; no longer pending (it was checked).
  EXPECT_EQ(host_->flags(), HealthFlag::kFailedActiveHc);
  EXPECT_EQ(stats_.success.value(), 0u);
  EXPECT_GE(stats_.attempt.value(), 3u);
}

TEST_F(HealthCheckerTest, NoAnswerTimesOut) {
  RawBackend backend(dispatcher_);
  HealthCheck hc = httpCheck(2, 1);
  setMs(hc.mutable_timeout(), 50);
  start(hc, backend.address);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return !failedActiveHc(); }));
  backend.reply.clear();  // Read requests, never answer.
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return failedActiveHc(); }));
  EXPECT_GE(stats_.network_failure.value(), 2u);
}

TEST_F(HealthCheckerTest, TcpSendAndFuzzyReceive) {
  RawBackend backend(dispatcher_);
  backend.trigger = "PING";
  backend.reply = "xxPONGyyOKzz";
  HealthCheck hc;
  setMs(hc.mutable_timeout(), 200);
  setMs(hc.mutable_interval(), 20);
  hc.mutable_unhealthy_threshold()->set_value(2);
  hc.mutable_healthy_threshold()->set_value(1);
  auto* tcp = hc.mutable_tcp_health_check();
  tcp->mutable_send()->set_text("50494e47");  // PING
  tcp->add_receive()->set_text("504f4e47");   // PONG
  tcp->add_receive()->set_text("4f4b");       // OK, after PONG
  start(hc, backend.address);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return stats_.success.value() >= 3; }));
  EXPECT_FALSE(failedActiveHc());
  EXPECT_EQ(backend.conns.size(), 1u);

  backend.reply = "OKPONG";  // Both blocks, wrong order: no match, so the check times out.
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return failedActiveHc(); }));
  EXPECT_GE(stats_.network_failure.value(), 2u);
}

TEST_F(HealthCheckerTest, TcpConnectOnlyAndAKilledBackend) {
  auto backend = std::make_unique<RawBackend>(dispatcher_);
  HealthCheck hc;
  setMs(hc.mutable_timeout(), 200);
  setMs(hc.mutable_interval(), 20);
  hc.mutable_unhealthy_threshold()->set_value(1);
  hc.mutable_healthy_threshold()->set_value(1);
  hc.mutable_reuse_connection()->set_value(false);
  hc.mutable_tcp_health_check();
  start(hc, backend->address);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return stats_.success.value() >= 2; }));
  EXPECT_FALSE(failedActiveHc());
  backend.reset();  // Listener and connections gone: connects are refused.
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return failedActiveHc(); }));
  EXPECT_GE(stats_.network_failure.value(), 1u);
}

TEST_F(HealthCheckerTest, RemovedHostStopsBeingChecked) {
  RawBackend backend(dispatcher_);
  start(httpCheck(1, 1), backend.address);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return backend.requests >= 2; }));
  checker_->setHosts({});
  EXPECT_EQ(stats_.healthy.value(), 0);
  const int requests = backend.requests;
  runUntil(
      dispatcher_, [] { return false; }, 200ms);
  EXPECT_EQ(backend.requests, requests);
}

TEST(HealthCheckPayloadTest, HexAndFuzzyMatching) {
  HealthCheck::Payload payload;
  payload.set_text("000000FF");
  EXPECT_EQ(*decodeHealthCheckPayload(payload), std::string("\0\0\0\xff", 4));
  payload.set_text("0G");
  EXPECT_FALSE(decodeHealthCheckPayload(payload).ok());
  payload.set_text("abc");
  EXPECT_FALSE(decodeHealthCheckPayload(payload).ok());
  EXPECT_TRUE(matchesAllBlocks("aXbYc", {"a", "b", "c"}));
  EXPECT_FALSE(matchesAllBlocks("cba", {"a", "b", "c"}));
  EXPECT_TRUE(matchesAllBlocks("anything", {}));
}

class IntervalTest : public ::testing::Test {
 protected:
  HealthCheckerImpl make(HealthCheckConfig config, bool traffic) {
    HealthChecker::Callbacks callbacks;
    callbacks.has_traffic = [traffic] { return traffic; };
    return HealthCheckerImpl(dispatcher_, std::move(config), generateHealthCheckStats(store_, "c"),
                             std::move(callbacks));
  }
  Event::DispatcherImpl dispatcher_{"main"};
  Stats::StoreImpl store_;
};

TEST_F(IntervalTest, JitterStaysWithinItsBounds) {
  HealthCheckConfig config;
  config.interval = 1000ms;
  config.interval_jitter = 50ms;
  config.interval_jitter_percent = 10;  // Up to 100 ms more.
  config.initial_jitter = 30ms;
  HealthCheckerImpl checker = make(config, true);
  std::set<int64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const auto next = checker.nextInterval(true, HealthCheckerImpl::Transition::Unchanged);
    ASSERT_GE(next, 1000ms);
    ASSERT_LT(next, 1000ms + 100ms + 50ms);
    seen.insert(next.count());
    const auto first = checker.initialDelay();
    ASSERT_GE(first, 0ms);
    ASSERT_LT(first, 30ms);
  }
  EXPECT_GT(seen.size(), 50u);  // Actually random, not a constant offset.
}

TEST_F(IntervalTest, IntervalFollowsHostStateAndTraffic) {
  HealthCheckConfig config;
  config.interval = 1000ms;
  config.unhealthy_interval = 2000ms;
  config.unhealthy_edge_interval = 3000ms;
  config.healthy_edge_interval = 4000ms;
  config.no_traffic_interval = 5000ms;
  config.no_traffic_healthy_interval = 6000ms;
  using T = HealthCheckerImpl::Transition;
  HealthCheckerImpl busy = make(config, true);
  EXPECT_EQ(busy.nextInterval(true, T::Unchanged), 1000ms);
  EXPECT_EQ(busy.nextInterval(true, T::ChangePending), 1000ms);
  EXPECT_EQ(busy.nextInterval(false, T::Unchanged), 2000ms);
  EXPECT_EQ(busy.nextInterval(false, T::Changed), 3000ms);
  EXPECT_EQ(busy.nextInterval(true, T::Changed), 4000ms);
  HealthCheckerImpl idle = make(config, false);
  EXPECT_EQ(idle.nextInterval(false, T::Unchanged), 5000ms);
  EXPECT_EQ(idle.nextInterval(true, T::Unchanged), 6000ms);
}

TEST(HealthCheckConfigTest, EnvoyDefaults) {
  HealthCheck hc = httpCheck(2, 3);
  hc.clear_no_traffic_interval();
  auto config = HealthCheckConfig::fromProto(hc, "svc", 250ms);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->host, "svc");
  EXPECT_EQ(config->no_traffic_interval, 60000ms);
  EXPECT_EQ(config->no_traffic_healthy_interval, 60000ms);
  EXPECT_EQ(config->unhealthy_interval, config->interval);
  EXPECT_EQ(config->unhealthy_edge_interval, config->interval);
  EXPECT_TRUE(config->reuse_connection);
  EXPECT_TRUE(config->expected(200));
  EXPECT_FALSE(config->expected(201));
  EXPECT_FALSE(config->retriable(503));
  EXPECT_EQ(config->connect_timeout, 250ms);
}

}  // namespace
}  // namespace Skiff::Upstream
