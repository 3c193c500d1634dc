#pragma once

// Retry decisions for one request (Envoy's RetryStateImpl, reduced to HTTP/1.1): which failures
// the route's retry policy covers, how many retries are left, the cluster's max_retries circuit
// breaker, and the jittered exponential back-off between attempts.
//
// Thread: one object per request, used on that request's worker only.

#include <chrono>
#include <cstdint>

#include "absl/container/inlined_vector.h"
#include "source/common/router/retry_policy.h"
#include "source/common/upstream/cluster_manager.h"

namespace Skiff::Extensions::HttpFilters::RouterFilter {

// Why an attempt failed without a usable response.
enum class AttemptFailure {
  ConnectFailure,  // The pool could not connect (refused, connect timeout).
  Reset,           // The upstream reset or closed before a complete response head.
  PerTryTimeout,   // The per-try timeout expired.
};

/**
 * Tracks the retries of one request. Call wouldRetry*() when an attempt ends badly; if it says
 * yes, call tryRetry() (which takes the circuit breaker and counts the retry), wait
 * nextBackOff(), and send the next attempt. The breaker is released by the next tryRetry(),
 * onRetryDone() or the destructor.
 */
class RetryState {
 public:
  enum class Decision {
    Retry,          // Go ahead (the circuit breaker is taken).
    LimitExceeded,  // No retries left.
    Overflow,       // The cluster's max_retries circuit breaker is full.
  };

  // `policy` must outlive this object (it lives in the immutable route table).
  RetryState(const Router::RetryPolicy& policy, uint64_t random_seed);
  ~RetryState();

  // Covered by retry_on? 5xx covers every 5xx; gateway-error 502/503/504; retriable-4xx 409;
  // retriable-status-codes the listed codes. A failure without a response is covered by 5xx,
  // gateway-error and reset; a connect failure also by connect-failure.
  bool wouldRetryOnStatus(uint32_t status) const { return policy_.retriableStatus(status); }
  bool wouldRetryOnFailure(AttemptFailure failure) const;

  Decision tryRetry(Upstream::ResourceManager& resources);
  // The retried attempt finished (whatever the outcome).
  void onRetryDone();

  // Jittered exponential back-off for the retry just granted: a random duration in
  // [0, min((2^n - 1) * base_interval, max_interval)) for the n-th retry.
  std::chrono::milliseconds nextBackOff();

  uint32_t retriesDone() const { return retries_done_; }

  // The retry host predicate (previous_hosts): call onHostAttempted() with each attempt's host;
  // shouldSelectAnotherHost() then says whether a later pick landed on one of them. Hosts are
  // compared by address, so a host still matches after a cluster update rebuilt its entry.
  void onHostAttempted(const Upstream::Host& host);
  bool shouldSelectAnotherHost(const Upstream::Host& host) const;
  uint32_t hostSelectionRetryCount() const {
    return policy_.omit_previous_hosts ? policy_.host_selection_attempts : 0;
  }

 private:
  uint64_t nextRandom();

  const Router::RetryPolicy& policy_;
  uint64_t random_state_;
  uint32_t retries_done_{0};
  // Only filled when the policy has the previous_hosts predicate; num_retries + 1 at most.
  absl::InlinedVector<Network::Address::InstanceConstSharedPtr, 2> attempted_hosts_;
  Upstream::ResourceManager* held_{nullptr};  // The circuit breaker we hold, if any.
};

}  // namespace Skiff::Extensions::HttpFilters::RouterFilter
