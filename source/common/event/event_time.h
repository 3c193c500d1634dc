#pragma once

// The monotonic clock as read once per I/O event. A proxied request reads the clock a dozen
// times (stream start, request end, attempt start, first response byte, response end, timeout
// deadlines, idle-since stamps), nearly all while one read or write event is being handled;
// those readings need no precision finer than one event's work. Inside an EventTime::Scope (one
// per file event of a connection) the first now() reads the clock and the rest reuse it; outside
// one, now() is the clock. Readings that must be exact (a timer checking whether its deadline
// passed) use the clock directly.
//
// Thread: per thread (a worker's or main's); nothing is shared.

#include <chrono>

namespace Skiff::Event {

namespace Detail {

struct EventTimeState {
  std::chrono::steady_clock::time_point time{};
  bool in_event = false;
  bool read = false;
};

// constinit: no dynamic initialization, so an access is a plain thread-local load (no TLS
// wrapper call).
inline constinit thread_local EventTimeState event_time_state{};

}  // namespace Detail

class EventTime {
 public:
  using Clock = std::chrono::steady_clock;

  static Clock::time_point now() {
    Detail::EventTimeState& state = Detail::event_time_state;
    if (!state.in_event) {
      return Clock::now();
    }
    if (!state.read) {
      state.time = Clock::now();
      state.read = true;
    }
    return state.time;
  }

  // Marks the handling of one event; a nested scope belongs to the outer one.
  class Scope {
   public:
    Scope() : outer_(!Detail::event_time_state.in_event) {
      if (outer_) {
        Detail::event_time_state.in_event = true;
        Detail::event_time_state.read = false;
      }
    }
    ~Scope() {
      if (outer_) {
        Detail::event_time_state.in_event = false;
      }
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    const bool outer_;
  };
};

}  // namespace Skiff::Event
