#pragma once

// What the overload manager tells the data path: the state of each overload action, as seen by
// one worker.
//
// How a filter uses it (the HTTP connection manager, for example), on its worker thread:
//
//   const auto& overload = Overload::ThreadLocalOverloadState::get();
//   if (overload.getState(Overload::OverloadActionName::StopAcceptingRequests).isSaturated()) {
//     // Envoy answers 503 "envoy overloaded" (local reply, connection kept) and counts
//     // http.<stat_prefix>.downstream_rq_overload_close.
//   }
//   const double keepalive_off =
//       overload.getState(Overload::OverloadActionName::DisableHttpKeepalive).value();
//   // Envoy closes the connection after the response (HTTP/1 `Connection: close`) with
//   // probability keepalive_off (1 when saturated) and counts
//   // http.<stat_prefix>.downstream_cx_overload_disable_keepalive.
//
// get() costs a thread_local read and an array index: cheap enough to call per request. No lock
// and no atomic: each worker owns its state; the overload manager (main thread) changes it only
// through Dispatcher::post to that worker, so a change lands between two callbacks of the worker,
// never in the middle of one.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace Skiff::Overload {

// The overload actions skiff implements; overloadActionName() gives Envoy's well-known names.
enum class OverloadActionName : uint8_t {
  // envoy.overload_actions.stop_accepting_connections: workers stop accepting (new connections
  // wait in the kernel's accept queue) until the action is no longer saturated.
  StopAcceptingConnections = 0,
  // envoy.overload_actions.stop_accepting_requests: HTTP requests are answered 503 at once.
  StopAcceptingRequests = 1,
  // envoy.overload_actions.disable_http_keepalive: HTTP/1 responses close the connection.
  DisableHttpKeepalive = 2,
};
inline constexpr size_t kNumOverloadActions = 3;

absl::string_view overloadActionName(OverloadActionName action);
// The action for an Envoy well-known name, or nullopt if skiff does not implement it.
std::optional<OverloadActionName> overloadActionFromName(absl::string_view name);

// One action's state: 0 (inactive) to 1 (saturated); in between only for scaled triggers.
class OverloadActionState {
 public:
  constexpr OverloadActionState() = default;
  constexpr explicit OverloadActionState(double value)
      : value_(value < 0 ? 0 : (value > 1 ? 1 : value)) {}

  double value() const { return value_; }
  bool isSaturated() const { return value_ >= 1.0; }
  bool operator==(const OverloadActionState& other) const { return value_ == other.value_; }

  static constexpr OverloadActionState inactive() { return OverloadActionState(0); }
  static constexpr OverloadActionState saturated() { return OverloadActionState(1); }

 private:
  double value_{0};
};

/**
 * One worker's copy of every overload action's state. Owned by a worker; setState() and get()
 * run on that worker's thread only (see the file comment for how updates arrive).
 */
class ThreadLocalOverloadState {
 public:
  const OverloadActionState& getState(OverloadActionName action) const {
    return states_[static_cast<size_t>(action)];
  }
  void setState(OverloadActionName action, OverloadActionState state) {
    states_[static_cast<size_t>(action)] = state;
  }

  // The calling thread's state: its worker's, or (main thread, tests, a thread that never set
  // one) a state in which no action is ever active.
  static const ThreadLocalOverloadState& get();
  // Makes `state` what get() returns on this thread (nullptr: back to never active). The worker
  // calls this at the start of its thread; `state` must outlive the thread's use of it.
  static void setForThisThread(const ThreadLocalOverloadState* state);

 private:
  std::array<OverloadActionState, kNumOverloadActions> states_{};
};

}  // namespace Skiff::Overload
