#include "source/extensions/filters/http/router/retry_state.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace Skiff::Extensions::HttpFilters::RouterFilter {

absl::StatusOr<uint32_t> parseRetryOn(absl::string_view retry_on) {
  uint32_t bits = 0;
  for (absl::string_view word : absl::StrSplit(retry_on, ',')) {
    word = absl::StripAsciiWhitespace(word);
    if (word.empty()) {
      continue;
    }
    if (word == "5xx") {
      bits |= RetryOn::k5xx;
    } else if (word == "gateway-error") {
      bits |= RetryOn::kGatewayError;
    } else if (word == "reset") {
      bits |= RetryOn::kReset;
    } else if (word == "connect-failure") {
      bits |= RetryOn::kConnectFailure;
    } else if (word == "retriable-4xx") {
      bits |= RetryOn::kRetriable4xx;
    } else if (word == "retriable-status-codes") {
      bits |= RetryOn::kRetriableStatusCodes;
    } else if (word == "refused-stream") {
      bits |= RetryOn::kRefusedStream;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown retry_on condition \"", word,
                       "\" (supported: 5xx, gateway-error, reset, connect-failure, retriable-4xx, "
                       "retriable-status-codes, refused-stream)"));
    }
  }
  return bits;
}

RetryState::RetryState(const RetryPolicy& policy, uint64_t random_seed)
    : policy_(policy), random_state_(random_seed | 1) {}

RetryState::~RetryState() { onRetryDone(); }

bool RetryState::wouldRetryOnStatus(uint32_t status) const {
  const uint32_t on = policy_.retry_on;
  if ((on & RetryOn::k5xx) && status >= 500 && status < 600) {
    return true;
  }
  if ((on & RetryOn::kGatewayError) && (status == 502 || status == 503 || status == 504)) {
    return true;
  }
  if ((on & RetryOn::kRetriable4xx) && status == 409) {
    return true;
  }
  if (on & RetryOn::kRetriableStatusCodes) {
    const auto& codes = policy_.retriable_status_codes;
    return std::find(codes.begin(), codes.end(), status) != codes.end();
  }
  return false;
}

bool RetryState::wouldRetryOnFailure(AttemptFailure failure) const {
  const uint32_t on = policy_.retry_on;
  if (on & (RetryOn::k5xx | RetryOn::kGatewayError | RetryOn::kReset)) {
    return true;
  }
  return failure == AttemptFailure::ConnectFailure && (on & RetryOn::kConnectFailure);
}

RetryState::Decision RetryState::tryRetry(Upstream::ResourceManager& resources) {
  onRetryDone();
  if (retries_done_ >= policy_.num_retries) {
    return Decision::LimitExceeded;
  }
  if (!resources.retries.canCreate()) {
    return Decision::Overflow;
  }
  resources.retries.inc();
  held_ = &resources;
  ++retries_done_;
  return Decision::Retry;
}

void RetryState::onRetryDone() {
  if (held_ != nullptr) {
    held_->retries.dec();
    held_ = nullptr;
  }
}

uint64_t RetryState::nextRandom() {
  random_state_ ^= random_state_ >> 12;
  random_state_ ^= random_state_ << 25;
  random_state_ ^= random_state_ >> 27;
  return random_state_ * 2685821657736338717ULL;
}

std::chrono::milliseconds RetryState::nextBackOff() {
  const uint64_t base = std::max<int64_t>(1, policy_.base_interval.count());
  const uint64_t cap = std::max<uint64_t>(base, policy_.max_interval.count());
  // (2^n - 1) * base for the n-th retry (n = retries_done_, already counted), capped.
  const uint32_t n = std::min<uint32_t>(std::max<uint32_t>(1, retries_done_), 32);
  const uint64_t factor = (uint64_t{1} << n) - 1;
  const uint64_t limit = factor > cap / base ? cap : std::min(cap, factor * base);
  return std::chrono::milliseconds(nextRandom() % (limit + 1));
}

}  // namespace Skiff::Extensions::HttpFilters::RouterFilter
