#include "source/common/overload/overload_state.h"

namespace Skiff::Overload {
namespace {

constexpr std::array<absl::string_view, kNumOverloadActions> kNames = {
    "envoy.overload_actions.stop_accepting_connections",
    "envoy.overload_actions.stop_accepting_requests",
    "envoy.overload_actions.disable_http_keepalive",
};

thread_local const ThreadLocalOverloadState* t_state = nullptr;

}  // namespace

absl::string_view overloadActionName(OverloadActionName action) {
  return kNames[static_cast<size_t>(action)];
}

std::optional<OverloadActionName> overloadActionFromName(absl::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) {
      return static_cast<OverloadActionName>(i);
    }
  }
  return std::nullopt;
}

const ThreadLocalOverloadState& ThreadLocalOverloadState::get() {
  static const ThreadLocalOverloadState* const kNeverActive = new ThreadLocalOverloadState();
  return t_state != nullptr ? *t_state : *kNeverActive;
}

void ThreadLocalOverloadState::setForThisThread(const ThreadLocalOverloadState* state) {
  t_state = state;
}

}  // namespace Skiff::Overload
