#include "source/extensions/filters/http/router/retry_state.h"

#include "gtest/gtest.h"

namespace Skiff::Extensions::HttpFilters::RouterFilter {
namespace {

using Router::RetryPolicy;

Upstream::ResourceManager resourcesWithRetries(uint64_t retries) {
  return Upstream::ResourceManager{Upstream::ResourceLimit(10), Upstream::ResourceLimit(10),
                                   Upstream::ResourceLimit(10), Upstream::ResourceLimit(retries)};
}

TEST(RetryStateTest, FailureConditions) {
  RetryPolicy connect;
  connect.retry_on = RetryPolicy::ConnectFailure;
  RetryState c(connect, 1);
  EXPECT_TRUE(c.wouldRetryOnFailure(AttemptFailure::ConnectFailure));
  EXPECT_FALSE(c.wouldRetryOnFailure(AttemptFailure::Reset));
  EXPECT_FALSE(c.wouldRetryOnFailure(AttemptFailure::PerTryTimeout));

  for (uint32_t on : {RetryPolicy::Retry5xx, RetryPolicy::GatewayError, RetryPolicy::Reset}) {
    RetryPolicy p;
    p.retry_on = on;
    RetryState s(p, 1);
    EXPECT_TRUE(s.wouldRetryOnFailure(AttemptFailure::ConnectFailure));
    EXPECT_TRUE(s.wouldRetryOnFailure(AttemptFailure::Reset));
    EXPECT_TRUE(s.wouldRetryOnFailure(AttemptFailure::PerTryTimeout));
  }
  RetryPolicy only4xx;
  only4xx.retry_on = RetryPolicy::Retriable4xx;
  RetryState four(only4xx, 1);
  EXPECT_FALSE(four.wouldRetryOnFailure(AttemptFailure::Reset));
  EXPECT_TRUE(four.wouldRetryOnStatus(409));
  EXPECT_FALSE(four.wouldRetryOnStatus(503));
}

TEST(RetryStateTest, RetriesStopAtNumRetriesAndTheCircuitBreaker) {
  RetryPolicy policy;
  policy.retry_on = RetryPolicy::Retry5xx;
  policy.num_retries = 2;
  Upstream::ResourceManager resources = resourcesWithRetries(1);
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
  policy.retry_on = RetryPolicy::Retry5xx;
  policy.num_retries = 10;
  Upstream::ResourceManager resources = resourcesWithRetries(100);
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
  EXPECT_GT(max_seen[1], 18);
  EXPECT_GT(max_seen[3], 150);
  EXPECT_GT(max_seen[6], 200);
}

}  // namespace
}  // namespace Skiff::Extensions::HttpFilters::RouterFilter
