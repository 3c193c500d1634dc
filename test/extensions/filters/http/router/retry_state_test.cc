#include "source/extensions/filters/http/router/retry_state.h"

#include "gtest/gtest.h"

namespace Skiff::Extensions::HttpFilters::RouterFilter {
namespace {

TEST(ParseRetryOnTest, KnownWordsAndErrors) {
  auto bits = parseRetryOn("5xx, reset,connect-failure,,retriable-4xx");
  ASSERT_TRUE(bits.ok());
  EXPECT_EQ(*bits,
            RetryOn::k5xx | RetryOn::kReset | RetryOn::kConnectFailure | RetryOn::kRetriable4xx);
  auto bad = parseRetryOn("5xx,sometimes");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"sometimes\""), std::string::npos);
  EXPECT_EQ(*parseRetryOn(""), 0u);
}

TEST(RetryStateTest, StatusConditions) {
  RetryPolicy policy;
  policy.retry_on = RetryOn::kGatewayError;
  RetryState gateway(policy, 1);
  EXPECT_TRUE(gateway.wouldRetryOnStatus(502));
  EXPECT_TRUE(gateway.wouldRetryOnStatus(503));
  EXPECT_TRUE(gateway.wouldRetryOnStatus(504));
  EXPECT_FALSE(gateway.wouldRetryOnStatus(500));
  EXPECT_FALSE(gateway.wouldRetryOnStatus(409));

  RetryPolicy p5xx;
  p5xx.retry_on = RetryOn::k5xx;
  RetryState five(p5xx, 1);
  EXPECT_TRUE(five.wouldRetryOnStatus(500));
  EXPECT_TRUE(five.wouldRetryOnStatus(599));
  EXPECT_FALSE(five.wouldRetryOnStatus(404));

  RetryPolicy p4xx;
  p4xx.retry_on = RetryOn::kRetriable4xx | RetryOn::kRetriableStatusCodes;
  p4xx.retriable_status_codes = {418};
  RetryState four(p4xx, 1);
  EXPECT_TRUE(four.wouldRetryOnStatus(409));
  EXPECT_TRUE(four.wouldRetryOnStatus(418));
  EXPECT_FALSE(four.wouldRetryOnStatus(503));
}

TEST(RetryStateTest, FailureConditions) {
  RetryPolicy connect;
  connect.retry_on = RetryOn::kConnectFailure;
  RetryState c(connect, 1);
  EXPECT_TRUE(c.wouldRetryOnFailure(AttemptFailure::ConnectFailure));
  EXPECT_FALSE(c.wouldRetryOnFailure(AttemptFailure::Reset));
  EXPECT_FALSE(c.wouldRetryOnFailure(AttemptFailure::PerTryTimeout));

  for (uint32_t on : {RetryOn::k5xx, RetryOn::kGatewayError, RetryOn::kReset}) {
    RetryPolicy p;
    p.retry_on = on;
    RetryState s(p, 1);
    EXPECT_TRUE(s.wouldRetryOnFailure(AttemptFailure::ConnectFailure));
    EXPECT_TRUE(s.wouldRetryOnFailure(AttemptFailure::Reset));
    EXPECT_TRUE(s.wouldRetryOnFailure(AttemptFailure::PerTryTimeout));
  }
  RetryPolicy only4xx;
  only4xx.retry_on = RetryOn::kRetriable4xx;
  EXPECT_FALSE(RetryState(only4xx, 1).wouldRetryOnFailure(AttemptFailure::Reset));
}

TEST(RetryStateTest, RetriesStopAtNumRetriesAndTheCircuitBreaker) {
  RetryPolicy policy;
  policy.retry_on = RetryOn::k5xx;
  policy.num_retries = 2;
  Upstream::ResourceManager resources{Upstream::ResourceLimit(10), Upstream::ResourceLimit(10),
                                      Upstream::ResourceLimit(10), Upstream::ResourceLimit(1)};
  {
    RetryState state(policy, 7);
    EXPECT_EQ(state.tryRetry(resources), RetryState::Decision::Retry);
    EXPECT_EQ(resources.retries.count(), 1u);
    // The next decision releases the breaker held for the previous retry first.
    EXPECT_EQ(state.tryRetry(resources), RetryState::Decision::Retry);
    EXPECT_EQ(state.retriesDone(), 2u);
    EXPECT_EQ(state.tryRetry(resources), RetryState::Decision::LimitExceeded);
    EXPECT_EQ(resources.retries.count(), 0u);
  }
  // Another request holding the only retry: overflow.
  RetryState a(policy, 1);
  RetryState b(policy, 2);
  EXPECT_EQ(a.tryRetry(resources), RetryState::Decision::Retry);
  EXPECT_EQ(b.tryRetry(resources), RetryState::Decision::Overflow);
  a.onRetryDone();
  EXPECT_EQ(b.tryRetry(resources), RetryState::Decision::Retry);
}

TEST(RetryStateTest, BackOffIsJitteredExponentialAndCapped) {
  RetryPolicy policy;
  policy.retry_on = RetryOn::k5xx;
  policy.num_retries = 10;
  policy.base_interval = std::chrono::milliseconds(25);
  policy.max_interval = std::chrono::milliseconds(250);
  Upstream::ResourceManager resources{Upstream::ResourceLimit(10), Upstream::ResourceLimit(10),
                                      Upstream::ResourceLimit(10), Upstream::ResourceLimit(100)};
  RetryState state(policy, 12345);
  int64_t max_seen[11] = {};
  for (int round = 0; round < 200; ++round) {
    RetryState s(policy, 1000 + round);
    for (uint32_t n = 1; n <= 6; ++n) {
      ASSERT_EQ(s.tryRetry(resources), RetryState::Decision::Retry);
      const int64_t ms = s.nextBackOff().count();
      const int64_t bound = std::min<int64_t>(((1 << n) - 1) * 25, 250);
      ASSERT_GE(ms, 0);
      ASSERT_LE(ms, bound) << "retry " << n;
      max_seen[n] = std::max(max_seen[n], ms);
    }
  }
  // Jitter spreads over the range: over 200 draws the largest comes near the bound.
  EXPECT_GT(max_seen[1], 20);
  EXPECT_GT(max_seen[3], 150);
  EXPECT_GT(max_seen[6], 200);
}

}  // namespace
}  // namespace Skiff::Extensions::HttpFilters::RouterFilter
