#include "source/common/router/retry_policy.h"

#include "gtest/gtest.h"
#include "test/common/router/test_util.h"

namespace Skiff::Router {
namespace {

using std::chrono::milliseconds;
using Proto = envoy::config::route::v3::RetryPolicy;

RetryPolicy parse(const std::string& yaml) {
  auto policy = parseRetryPolicy(fromYaml<Proto>(yaml), "retry_policy");
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *policy : RetryPolicy{};
}

TEST(RetryPolicyTest, Defaults) {
  const RetryPolicy policy = parse("retry_on: 5xx");
  EXPECT_EQ(policy.retry_on, RetryPolicy::Retry5xx);
  EXPECT_EQ(policy.num_retries, 1u);
  EXPECT_EQ(policy.per_try_timeout, milliseconds(0));
  EXPECT_EQ(policy.base_interval, milliseconds(25));
  EXPECT_EQ(policy.max_interval, milliseconds(250));
  EXPECT_TRUE(policy.enabled());
  EXPECT_FALSE(parse("num_retries: 3").enabled());  // no conditions
  EXPECT_FALSE(parse("{retry_on: 5xx, num_retries: 0}").enabled());
}

TEST(RetryPolicyTest, EveryCondition) {
  const std::pair<const char*, uint32_t> cases[] = {
      {"5xx", RetryPolicy::Retry5xx},
      {"gateway-error", RetryPolicy::GatewayError},
      {"reset", RetryPolicy::Reset},
      {"reset-before-request", RetryPolicy::ResetBeforeRequest},
      {"connect-failure", RetryPolicy::ConnectFailure},
      {"envoy-ratelimited", RetryPolicy::EnvoyRateLimited},
      {"retriable-4xx", RetryPolicy::Retriable4xx},
      {"refused-stream", RetryPolicy::RefusedStream},
      {"retriable-status-codes", RetryPolicy::RetriableStatusCodes},
      {"retriable-headers", RetryPolicy::RetriableHeaders},
      {"http3-post-connect-failure", RetryPolicy::Http3PostConnectFailure},
      {"cancelled", RetryPolicy::GrpcCancelled},
      {"deadline-exceeded", RetryPolicy::GrpcDeadlineExceeded},
      {"internal", RetryPolicy::GrpcInternal},
      {"resource-exhausted", RetryPolicy::GrpcResourceExhausted},
      {"unavailable", RetryPolicy::GrpcUnavailable},
      {"5xx, connect-failure ,reset,,",
       RetryPolicy::Retry5xx | RetryPolicy::ConnectFailure | RetryPolicy::Reset},
  };
  for (const auto& [words, flags] : cases) {
    EXPECT_EQ(parse(absl::StrCat("retry_on: '", words, "'")).retry_on, flags) << words;
  }
}

TEST(RetryPolicyTest, RetriableStatus) {
  struct Case {
    const char* retry_on;
    uint32_t status;
    bool expected;
  };
  const Case cases[] = {
      {"5xx", 500, true},
      {"5xx", 503, true},
      {"5xx", 599, true},
      {"5xx", 499, false},
      {"gateway-error", 502, true},
      {"gateway-error", 503, true},
      {"gateway-error", 504, true},
      {"gateway-error", 500, false},
      {"retriable-4xx", 409, true},
      {"retriable-4xx", 404, false},
      {"reset", 503, false},
      {"connect-failure", 503, false},
      {"retriable-status-codes", 418, true},
      {"retriable-status-codes", 500, false},
  };
  for (const Case& c : cases) {
    const RetryPolicy policy =
        parse(absl::StrCat("{retry_on: ", c.retry_on, ", retriable_status_codes: [418, 429]}"));
    EXPECT_EQ(policy.retriableStatus(c.status), c.expected) << c.retry_on << " " << c.status;
  }
  // Codes without retriable-status-codes do nothing.
  EXPECT_FALSE(parse("{retry_on: 5xx, retriable_status_codes: [418]}").retriableStatus(418));
}

TEST(RetryPolicyTest, FieldsParse) {
  const RetryPolicy policy = parse(R"(
retry_on: gateway-error
num_retries: 4
per_try_timeout: 0.5s
per_try_idle_timeout: 2s
retry_back_off: {base_interval: 0.1s, max_interval: 3s}
)");
  EXPECT_EQ(policy.num_retries, 4u);
  EXPECT_EQ(policy.per_try_timeout, milliseconds(500));
  EXPECT_EQ(policy.per_try_idle_timeout, milliseconds(2000));
  EXPECT_EQ(policy.base_interval, milliseconds(100));
  EXPECT_EQ(policy.max_interval, milliseconds(3000));
  // Max defaults to ten times the base.
  EXPECT_EQ(parse("retry_back_off: {base_interval: 0.2s}").max_interval, milliseconds(2000));
}

TEST(RetryPolicyTest, BackOffIsEnvoysJitteredExponential) {
  const RetryPolicy policy = parse("retry_on: 5xx");  // 25 ms base, 250 ms max
  // The window is (2^retry - 1) * base: 25, 75, 175, then capped at 250.
  EXPECT_EQ(policy.backOff(1, 24), milliseconds(24));
  EXPECT_EQ(policy.backOff(1, 25), milliseconds(0));
  EXPECT_EQ(policy.backOff(2, 74), milliseconds(74));
  EXPECT_EQ(policy.backOff(2, 75), milliseconds(0));
  EXPECT_EQ(policy.backOff(3, 174), milliseconds(174));
  EXPECT_EQ(policy.backOff(4, 249), milliseconds(249));
  EXPECT_EQ(policy.backOff(4, 250), milliseconds(0));
  EXPECT_EQ(policy.backOff(40, 1000 + 249), milliseconds(249));
  for (uint64_t random = 0; random < 2000; random += 7) {
    EXPECT_LE(policy.backOff(100, random), milliseconds(250));
  }
}

TEST(RetryPolicyTest, PreviousHostsPredicate) {
  const RetryPolicy none = parse("retry_on: 5xx");
  EXPECT_FALSE(none.omit_previous_hosts);
  // By type (as Envoy resolves typed extensions), with Envoy's documented default of one more
  // pick when host_selection_retry_max_attempts is unset.
  const RetryPolicy typed = parse(R"(
retry_on: 5xx
retry_host_predicate:
- name: anything
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate
)");
  EXPECT_TRUE(typed.omit_previous_hosts);
  EXPECT_EQ(typed.host_selection_attempts, 1u);
  // By name alone.
  const RetryPolicy named = parse(R"(
retry_on: 5xx
retry_host_predicate: [{name: envoy.retry_host_predicates.previous_hosts}]
host_selection_retry_max_attempts: 5
)");
  EXPECT_TRUE(named.omit_previous_hosts);
  EXPECT_EQ(named.host_selection_attempts, 5u);
  EXPECT_EQ(parse("host_selection_retry_max_attempts: 0").host_selection_attempts, 1u);
}

TEST(RetryPolicyTest, Errors) {
  const std::pair<const char*, const char*> cases[] = {
      {"retry_on: '5xx,bogus'",
       "retry_policy.retry_on: unknown condition \"bogus\" (known: 5xx, gateway-error, reset, "
       "reset-before-request, connect-failure, envoy-ratelimited, retriable-4xx, refused-stream, "
       "retriable-status-codes, retriable-headers, http3-post-connect-failure, cancelled, "
       "deadline-exceeded, internal, resource-exhausted, unavailable)"},
      {"retriable_status_codes: [99]",
       "retry_policy.retriable_status_codes[0]: 99 is not an HTTP status code (100-599)"},
      {"per_try_timeout: -1s",
       "retry_policy.per_try_timeout: invalid duration (seconds -1, nanos 0): must be >= 0"},
      {"retry_back_off: {max_interval: 1s}", "retry_policy.retry_back_off.base_interval: required"},
      {"retry_back_off: {base_interval: 0s}",
       "retry_policy.retry_back_off.base_interval: must be greater than 0"},
      {"retry_back_off: {base_interval: 1s, max_interval: 0.5s}",
       "retry_policy.retry_back_off.max_interval: 500ms is less than base_interval (1000ms)"},
      {"retry_host_predicate: [{name: envoy.retry_host_predicates.omit_canary_hosts}]",
       "retry_policy.retry_host_predicate[0].name: unknown retry host predicate "
       "\"envoy.retry_host_predicates.omit_canary_hosts\" (supported: "
       "envoy.retry_host_predicates.previous_hosts)"},
      {"retry_host_predicate: [{name: envoy.retry_host_predicates.previous_hosts}, {}]",
       "retry_policy.retry_host_predicate[1].name: required when typed_config is not set "
       "(supported: envoy.retry_host_predicates.previous_hosts)"},
      {"retry_host_predicate: [{typed_config: {'@type': "
       "type.googleapis.com/google.protobuf.Duration}}]",
       "retry_policy.retry_host_predicate[0].typed_config: unsupported retry host predicate type "
       "\"type.googleapis.com/google.protobuf.Duration\" (supported: "
       "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate)"},
      {"host_selection_retry_max_attempts: -1",
       "retry_policy.host_selection_retry_max_attempts: -1 is out of range (0-100)"},
      {"host_selection_retry_max_attempts: 101",
       "retry_policy.host_selection_retry_max_attempts: 101 is out of range (0-100)"},
  };
  for (const auto& [yaml, error] : cases) {
    auto policy = parseRetryPolicy(fromYaml<Proto>(yaml), "retry_policy");
    ASSERT_FALSE(policy.ok()) << yaml;
    EXPECT_EQ(policy.status().message(), error) << yaml;
  }
}

}  // namespace
}  // namespace Skiff::Router
