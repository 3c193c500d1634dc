#pragma once

#include "source/common/event/event_impl_base.h"
#include "source/common/event/libevent.h"
#include "source/common/event/timer.h"

namespace Skiff::Event {

// libevent timer. Owned and used on its dispatcher's thread only.
class TimerImpl : public Timer, private ImplBase {
 public:
  TimerImpl(event_base& base, TimerCb cb);

  void enableTimer(std::chrono::milliseconds duration) override;
  void disableTimer() override;
  bool enabled() override;

 private:
  TimerCb cb_;
};

}  // namespace Skiff::Event
