#pragma once

// envoy.config.route.v3.RetryPolicy, parsed into plain data the router reads per request.
// Thread: built on main or the control thread; immutable afterwards.

#include <chrono>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/config/route/v3/route_components.pb.h"

namespace Skiff::Router {

// Upper bound on host_selection_retry_max_attempts: each one is a load-balancer pick on the
// request's worker, and a few are enough to step past every host a request tried.
inline constexpr int64_t kMaxHostSelectionAttempts = 100;

struct RetryPolicy {
  // retry_on conditions (Envoy's x-envoy-retry-on words). Every word Envoy accepts parses; the
  // router acts on the HTTP ones it implements, and an unknown word is a configuration error.
  enum RetryOn : uint32_t {
    Retry5xx = 1u << 0,                  // "5xx": any 5xx, a reset, a connect failure
    GatewayError = 1u << 1,              // "gateway-error": 502, 503, 504
    Reset = 1u << 2,                     // "reset": no response (disconnect, reset, timeout)
    ConnectFailure = 1u << 3,            // "connect-failure"
    Retriable4xx = 1u << 4,              // "retriable-4xx": 409
    RefusedStream = 1u << 5,             // "refused-stream": HTTP/2 REFUSED_STREAM
    RetriableStatusCodes = 1u << 6,      // "retriable-status-codes": retriable_status_codes
    RetriableHeaders = 1u << 7,          // "retriable-headers" (not implemented by skiff)
    EnvoyRateLimited = 1u << 8,          // "envoy-ratelimited" (not implemented)
    ResetBeforeRequest = 1u << 9,        // "reset-before-request"
    Http3PostConnectFailure = 1u << 10,  // "http3-post-connect-failure" (not implemented)
    GrpcCancelled = 1u << 11,            // "cancelled" (gRPC; not implemented)
    GrpcDeadlineExceeded = 1u << 12,     // "deadline-exceeded"
    GrpcInternal = 1u << 13,             // "internal"
    GrpcResourceExhausted = 1u << 14,    // "resource-exhausted"
    GrpcUnavailable = 1u << 15,          // "unavailable"
  };

  uint32_t retry_on = 0;
  // Retries after the first attempt. Envoy's default is 1 (when a policy exists).
  uint32_t num_retries = 1;
  // Per attempt; 0 means only the route timeout applies.
  std::chrono::milliseconds per_try_timeout{0};
  std::chrono::milliseconds per_try_idle_timeout{0};
  // For "retriable-status-codes".
  std::vector<uint32_t> retriable_status_codes;
  // Back-off between attempts: Envoy's defaults are 25 ms base and 10 times the base as maximum.
  std::chrono::milliseconds base_interval{25};
  std::chrono::milliseconds max_interval{250};
  // retry_host_predicate previous_hosts: a retry's host pick is redone, up to
  // host_selection_attempts more times, while it lands on a host this request already tried.
  bool omit_previous_hosts = false;
  uint32_t host_selection_attempts = 1;

  // False for the policy of a route without one: never retry.
  bool enabled() const { return retry_on != 0 && num_retries > 0; }
  bool has(RetryOn condition) const { return (retry_on & condition) != 0; }

  // Whether a response with `status` may be retried under this policy.
  bool retriableStatus(uint32_t status) const;

  // Envoy's fully jittered exponential back-off before retry `retry` (1 for the first retry):
  // random % ((2^retry - 1) * base), capped at max_interval. `random` is any uniformly random
  // number; passing it in keeps this a pure function.
  std::chrono::milliseconds backOff(uint32_t retry, uint64_t random) const;
};

// Parses a RetryPolicy. `path` is its field path; errors are newline-separated
// "<path>.<field>: <reason>" lines.
absl::StatusOr<RetryPolicy> parseRetryPolicy(const envoy::config::route::v3::RetryPolicy& config,
                                             absl::string_view path);

// The retry_on words, for messages and docs.
absl::string_view retryOnWords();

}  // namespace Skiff::Router
