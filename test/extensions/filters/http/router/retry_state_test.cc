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

TEST(RetryStateTest, PreviousHostsAreRejectedByAddress) {
  const Upstream::Host a{*Network::Address::Instance::parse("10.0.0.1", 80)};
  const Upstream::Host b{*Network::Address::Instance::parse("10.0.0.2", 80)};
  // The same address in a rebuilt host entry (a cluster update between attempts).
  const Upstream::Host a_again{*Network::Address::Instance::parse("10.0.0.1", 80)};

  RetryPolicy policy;
  policy.retry_on = RetryPolicy::Retry5xx;
  policy.host_selection_attempts = 3;
  RetryState without(policy, 1);
  without.onHostAttempted(a);
  EXPECT_EQ(without.hostSelectionRetryCount(), 0u);
  EXPECT_FALSE(without.shouldSelectAnotherHost(a));

  policy.omit_previous_hosts = true;
  RetryState with(policy, 1);
  EXPECT_EQ(with.hostSelectionRetryCount(), 3u);
  EXPECT_FALSE(with.shouldSelectAnotherHost(a));  // Nothing attempted yet.
  with.onHostAttempted(a);
  EXPECT_TRUE(with.shouldSelectAnotherHost(a));
  EXPECT_TRUE(with.shouldSelectAnotherHost(a_again));
  EXPECT_FALSE(with.shouldSelectAnotherHost(b));
  with.onHostAttempted(b);
  EXPECT_TRUE(with.shouldSelectAnotherHost(b));
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
