#pragma once

// Retry decisions for one request (Envoy's RetryStateImpl, reduced to HTTP/1.1): which failures
// `retry_on` covers, how many retries are left, the cluster's max_retries circuit breaker, and
// the jittered exponential back-off between attempts.
//
// Thread: one object per request, used on that request's worker only.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "source/common/upstream/cluster_manager.h"

namespace Skiff::Extensions::HttpFilters::RouterFilter {

// `retry_on` conditions as bits.
namespace RetryOn {
inline constexpr uint32_t k5xx = 1 << 0;             // Any 5xx, a reset, connect failure, timeout.
inline constexpr uint32_t kGatewayError = 1 << 1;    // 502, 503, 504, a reset, connect failure.
inline constexpr uint32_t kReset = 1 << 2;           // No response: reset, disconnect, timeout.
inline constexpr uint32_t kConnectFailure = 1 << 3;  // Connecting failed or timed out.
inline constexpr uint32_t kRetriable4xx = 1 << 4;    // 409.
inline constexpr uint32_t kRetriableStatusCodes = 1 << 5;  // retriable_status_codes.
inline constexpr uint32_t kRefusedStream = 1 << 6;         // HTTP/2 only; accepted, never fires.
}  // namespace RetryOn

// Parses Envoy's comma-separated `retry_on` ("5xx,reset"). Unknown words are an error naming
// them; empty items are ignored.
absl::StatusOr<uint32_t> parseRetryOn(absl::string_view retry_on);

// A route's retry policy as the router uses it. Immutable config.
struct RetryPolicy {
  uint32_t retry_on{0};
  uint32_t num_retries{1};                       // Envoy's default when a policy exists.
  std::chrono::milliseconds per_try_timeout{0};  // 0: none (only the route timeout).
  std::vector<uint32_t> retriable_status_codes;
  std::chrono::milliseconds base_interval{25};
  std::chrono::milliseconds max_interval{250};  // Default: 10 x base_interval.

  bool enabled() const { return retry_on != 0 && num_retries > 0; }
};

// Why an attempt failed without a usable response.
enum class AttemptFailure {
  ConnectFailure,  // The pool could not connect (refused, connect timeout).
  Reset,           // The upstream reset or closed before a complete response head.
  PerTryTimeout,   // The per-try timeout expired.
};

/**
 * Tracks the retries of one request. Call wouldRetry*() when an attempt ends badly; if it says
 * yes, call tryRetry() (which takes the circuit breaker and counts the retry), wait
 * nextBackOff(), and send the next attempt; call onRetryDone() when the retried attempt ended
 * (releases the circuit breaker).
 */
class RetryState {
 public:
  enum class Decision {
    Retry,          // Go ahead (the circuit breaker is taken).
    NoRetry,        // The failure is not covered by retry_on.
    LimitExceeded,  // No retries left.
    Overflow,       // The cluster's max_retries circuit breaker is full.
  };

  // `policy` must outlive this object (it lives in the immutable route).
  RetryState(const RetryPolicy& policy, uint64_t random_seed);
  ~RetryState();

  // Covered by retry_on?
  bool wouldRetryOnStatus(uint32_t status) const;
  bool wouldRetryOnFailure(AttemptFailure failure) const;

  // Decides for a covered failure; on Retry the caller must call onRetryDone() later.
  Decision tryRetry(Upstream::ResourceManager& resources);
  // The retried attempt finished (whatever the outcome).
  void onRetryDone();

  // Jittered exponential back-off: a random duration in [0, min((2^n - 1) * base, max)] for the
  // n-th retry, as Envoy's JitteredExponentialBackOffStrategy.
  std::chrono::milliseconds nextBackOff();

  uint32_t retriesDone() const { return retries_done_; }

 private:
  uint64_t nextRandom();

  const RetryPolicy& policy_;
  uint64_t random_state_;
  uint32_t retries_done_{0};
  Upstream::ResourceManager* held_{nullptr};  // The circuit breaker we hold, if any.
};

}  // namespace Skiff::Extensions::HttpFilters::RouterFilter
