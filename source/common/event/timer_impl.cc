#include "source/common/event/timer_impl.h"

namespace Skiff::Event {

TimerImpl::TimerImpl(event_base& base, TimerCb cb) : cb_(std::move(cb)) {
  evtimer_assign(
      &raw_event_, &base,
      [](evutil_socket_t, short, void* arg) { static_cast<TimerImpl*>(arg)->cb_(); }, this);
  assigned_ = true;
}

void TimerImpl::enableTimer(std::chrono::milliseconds duration) {
  timeval tv;
  tv.tv_sec = duration.count() / 1000;
  tv.tv_usec = (duration.count() % 1000) * 1000;
  event_add(&raw_event_, &tv);
}

void TimerImpl::disableTimer() { event_del(&raw_event_); }

bool TimerImpl::enabled() { return event_pending(&raw_event_, EV_TIMEOUT, nullptr) != 0; }

}  // namespace Skiff::Event
