#include "source/extensions/filters/http/router/retry_state.h"

namespace Skiff::Extensions::HttpFilters::RouterFilter {

using Router::RetryPolicy;

RetryState::RetryState(const RetryPolicy& policy, uint64_t random_seed)
    : policy_(policy), random_state_(random_seed | 1) {}

RetryState::~RetryState() { onRetryDone(); }

bool RetryState::wouldRetryOnFailure(AttemptFailure failure) const {
  if (policy_.has(RetryPolicy::Retry5xx) || policy_.has(RetryPolicy::GatewayError) ||
      policy_.has(RetryPolicy::Reset)) {
    return true;
  }
  return failure == AttemptFailure::ConnectFailure && policy_.has(RetryPolicy::ConnectFailure);
}

void RetryState::onHostAttempted(const Upstream::Host& host) {
  if (policy_.omit_previous_hosts && !shouldSelectAnotherHost(host)) {
    attempted_hosts_.push_back(host.address);
  }
}

bool RetryState::shouldSelectAnotherHost(const Upstream::Host& host) const {
  for (const auto& attempted : attempted_hosts_) {
    if (*attempted == *host.address) {
      return true;
    }
  }
  return false;
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
  return policy_.backOff(retries_done_ == 0 ? 1 : retries_done_, nextRandom());
}

}  // namespace Skiff::Extensions::HttpFilters::RouterFilter
