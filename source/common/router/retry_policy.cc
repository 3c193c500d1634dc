#include "source/common/router/retry_policy.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.pb.h"
#include "source/common/config/utility.h"
#include "source/common/router/config_errors.h"

namespace Skiff::Router {
namespace {

struct Word {
  absl::string_view word;
  RetryPolicy::RetryOn flag;
};

constexpr Word kWords[] = {
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
};

void checkDuration(const google::protobuf::Duration& duration, const std::string& path,
                   bool positive, ConfigErrors& errors) {
  if (!Config::isValidNonNegativeDuration(duration)) {
    errors.add(path, absl::StrFormat("invalid duration (seconds %d, nanos %d): must be >= 0",
                                     duration.seconds(), duration.nanos()));
  } else if (positive && duration.seconds() == 0 && duration.nanos() == 0) {
    errors.add(path, "must be greater than 0");
  }
}

using PreviousHostsPredicate =
    envoy::extensions::retry::host::previous_hosts::v3::PreviousHostsPredicate;

constexpr absl::string_view kPreviousHostsName = "envoy.retry_host_predicates.previous_hosts";

// One retry_host_predicate entry. Like Envoy, the typed_config's type picks the extension when
// there is one, and the name when not. Only previous_hosts exists here: the canary and metadata
// predicates need host metadata skiff does not keep.
void parseHostPredicate(const envoy::config::route::v3::RetryPolicy::RetryHostPredicate& config,
                        const std::string& path, RetryPolicy& policy, ConfigErrors& errors) {
  if (config.has_typed_config()) {
    const std::string config_path = fieldPath(path, "typed_config");
    if (Config::typeNameFromUrl(config.typed_config().type_url()) !=
        PreviousHostsPredicate::descriptor()->full_name()) {
      errors.add(config_path,
                 absl::StrFormat("unsupported retry host predicate type \"%s\" (supported: %s)",
                                 config.typed_config().type_url(),
                                 Config::typeUrl<PreviousHostsPredicate>()));
      return;
    }
    auto parsed = Config::parseTypedConfig<PreviousHostsPredicate>(config.typed_config(), "");
    if (!parsed.ok()) {
      errors.add(config_path, "could not decode the bytes as a PreviousHostsPredicate");
      return;
    }
  } else if (config.name() != kPreviousHostsName) {
    errors.add(fieldPath(path, "name"),
               config.name().empty()
                   ? absl::StrFormat("required when typed_config is not set (supported: %s)",
                                     kPreviousHostsName)
                   : absl::StrFormat("unknown retry host predicate \"%s\" (supported: %s)",
                                     config.name(), kPreviousHostsName));
    return;
  }
  policy.omit_previous_hosts = true;
}

}  // namespace

absl::string_view retryOnWords() {
  return "5xx, gateway-error, reset, reset-before-request, connect-failure, envoy-ratelimited, "
         "retriable-4xx, refused-stream, retriable-status-codes, retriable-headers, "
         "http3-post-connect-failure, cancelled, deadline-exceeded, internal, "
         "resource-exhausted, unavailable";
}

bool RetryPolicy::retriableStatus(uint32_t status) const {
  if (has(Retry5xx) && status >= 500 && status < 600) {
    return true;
  }
  if (has(GatewayError) && (status == 502 || status == 503 || status == 504)) {
    return true;
  }
  if (has(Retriable4xx) && status == 409) {
    return true;
  }
  if (has(RetriableStatusCodes)) {
    return std::find(retriable_status_codes.begin(), retriable_status_codes.end(), status) !=
           retriable_status_codes.end();
  }
  return false;
}

std::chrono::milliseconds RetryPolicy::backOff(uint32_t retry, uint64_t random) const {
  const uint64_t base = static_cast<uint64_t>(std::max<int64_t>(base_interval.count(), 1));
  const uint64_t max = static_cast<uint64_t>(std::max<int64_t>(max_interval.count(), 1));
  // (2^retry - 1) * base, saturating once past the maximum.
  uint64_t window = max;
  if (retry < 32) {
    const uint64_t multiplier = (uint64_t{1} << std::max<uint32_t>(retry, 1)) - 1;
    if (multiplier <= max / base) {
      window = multiplier * base;
    }
  }
  return std::chrono::milliseconds(std::min(random % window, max));
}

absl::StatusOr<RetryPolicy> parseRetryPolicy(const envoy::config::route::v3::RetryPolicy& config,
                                             absl::string_view path_view) {
  const std::string path(path_view);
  ConfigErrors errors;
  RetryPolicy policy;
  for (absl::string_view word : absl::StrSplit(config.retry_on(), ',')) {
    word = absl::StripAsciiWhitespace(word);
    if (word.empty()) {
      continue;
    }
    const Word* known = nullptr;
    for (const Word& candidate : kWords) {
      if (candidate.word == word) {
        known = &candidate;
      }
    }
    if (known == nullptr) {
      errors.add(fieldPath(path, "retry_on"),
                 absl::StrFormat("unknown condition \"%s\" (known: %s)", word, retryOnWords()));
      continue;
    }
    policy.retry_on |= known->flag;
  }
  if (config.has_num_retries()) {
    policy.num_retries = config.num_retries().value();
  }
  if (config.has_per_try_timeout()) {
    checkDuration(config.per_try_timeout(), fieldPath(path, "per_try_timeout"), false, errors);
    policy.per_try_timeout = Config::durationToMillisecondsOr(config.per_try_timeout(), {});
  }
  if (config.has_per_try_idle_timeout()) {
    checkDuration(config.per_try_idle_timeout(), fieldPath(path, "per_try_idle_timeout"), false,
                  errors);
    policy.per_try_idle_timeout =
        Config::durationToMillisecondsOr(config.per_try_idle_timeout(), {});
  }
  for (int i = 0; i < config.retriable_status_codes_size(); ++i) {
    const uint32_t code = config.retriable_status_codes(i);
    if (code < 100 || code > 599) {
      errors.add(absl::StrCat(fieldPath(path, "retriable_status_codes"), "[", i, "]"),
                 absl::StrFormat("%d is not an HTTP status code (100-599)", code));
    }
    policy.retriable_status_codes.push_back(code);
  }
  if (config.has_retry_back_off()) {
    const auto& back_off = config.retry_back_off();
    const std::string back_off_path = fieldPath(path, "retry_back_off");
    if (!back_off.has_base_interval()) {
      errors.add(fieldPath(back_off_path, "base_interval"), "required");
    } else {
      checkDuration(back_off.base_interval(), fieldPath(back_off_path, "base_interval"), true,
                    errors);
      policy.base_interval =
          std::max(Config::durationToMillisecondsOr(back_off.base_interval(), policy.base_interval),
                   std::chrono::milliseconds(1));
    }
    policy.max_interval = policy.base_interval * 10;
    if (back_off.has_max_interval()) {
      checkDuration(back_off.max_interval(), fieldPath(back_off_path, "max_interval"), true,
                    errors);
      policy.max_interval =
          Config::durationToMillisecondsOr(back_off.max_interval(), policy.max_interval);
      if (policy.max_interval < policy.base_interval) {
        errors.add(fieldPath(back_off_path, "max_interval"),
                   absl::StrFormat("%dms is less than base_interval (%dms)",
                                   policy.max_interval.count(), policy.base_interval.count()));
      }
    }
  }
  for (int i = 0; i < config.retry_host_predicate_size(); ++i) {
    parseHostPredicate(config.retry_host_predicate(i),
                       absl::StrCat(fieldPath(path, "retry_host_predicate"), "[", i, "]"), policy,
                       errors);
  }
  const int64_t attempts = config.host_selection_retry_max_attempts();
  if (attempts < 0 || attempts > kMaxHostSelectionAttempts) {
    errors.add(fieldPath(path, "host_selection_retry_max_attempts"),
               absl::StrFormat("%d is out of range (0-%d)", attempts, kMaxHostSelectionAttempts));
  } else if (attempts > 0) {
    policy.host_selection_attempts = static_cast<uint32_t>(attempts);
  }
  if (!errors.empty()) {
    return errors.status();
  }
  return policy;
}

}  // namespace Skiff::Router
