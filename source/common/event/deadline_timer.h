#pragma once

#include <chrono>
#include <functional>

#include "source/common/event/dispatcher.h"
#include "source/common/event/event_time.h"

namespace Skiff::Event {

/**
 * A timeout that is moved far more often than it fires (an idle timeout pushed back on every
 * read, a per-request timeout set for each request on a keep-alive connection). Re-arming a
 * libevent timer costs a heap update under the event base's lock each time; this keeps one timer
 * armed and only records the new deadline, so moving the deadline later costs one clock read.
 * When the timer fires early (the deadline moved), it re-arms itself for the remainder; only a
 * deadline earlier than the armed time re-arms at once. Deadlines count from EventTime (the start
 * of the event being handled); whether one passed is checked against the clock itself.
 *
 * Thread: the dispatcher's, like the Timer it wraps. The callback runs on it, at most once per
 * setDeadline()/touch().
 */
class DeadlineTimer {
 public:
  using Clock = std::chrono::steady_clock;

  DeadlineTimer(Dispatcher& dispatcher, std::function<void()> cb)
      : timer_(dispatcher.createTimer([this] { onTimer(); })), cb_(std::move(cb)) {}

  // Fires `timeout` from now (replacing any earlier deadline). Zero or negative disables.
  void arm(std::chrono::milliseconds timeout) {
    if (timeout.count() <= 0) {
      disarm();
      return;
    }
    setDeadline(EventTime::now() + timeout);
  }
  void setDeadline(Clock::time_point deadline) {
    deadline_ = deadline;
    if (!armed_ || fires_at_ > deadline) {
      fires_at_ = deadline;
      armed_ = true;
      timer_->enableTimer(
          std::chrono::ceil<std::chrono::milliseconds>(deadline - EventTime::now()));
    }
  }
  // No deadline; the underlying timer may still wake once and do nothing.
  void disarm() { deadline_ = Clock::time_point::max(); }
  bool enabled() const { return deadline_ != Clock::time_point::max(); }

 private:
  void onTimer() {
    armed_ = false;
    if (deadline_ == Clock::time_point::max()) {
      return;
    }
    const Clock::time_point now = Clock::now();
    if (now < deadline_) {
      fires_at_ = deadline_;
      armed_ = true;
      timer_->enableTimer(std::chrono::ceil<std::chrono::milliseconds>(deadline_ - now));
      return;
    }
    deadline_ = Clock::time_point::max();
    cb_();
  }

  TimerPtr timer_;
  std::function<void()> cb_;
  Clock::time_point deadline_{Clock::time_point::max()};
  Clock::time_point fires_at_{};
  bool armed_{false};
};

}  // namespace Skiff::Event
