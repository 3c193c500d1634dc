#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace Skiff::Event {

using TimerCb = std::function<void()>;

/**
 * A one-shot timer on a dispatcher. Created, armed, disarmed and destroyed only on the
 * dispatcher's thread. Destroying an armed timer disarms it; its callback will not run.
 */
class Timer {
 public:
  virtual ~Timer() = default;

  // Arms (or re-arms) the timer to fire once after `duration`. Zero fires on the next iteration.
  virtual void enableTimer(std::chrono::milliseconds duration) = 0;
  virtual void disableTimer() = 0;
  virtual bool enabled() = 0;
};

using TimerPtr = std::unique_ptr<Timer>;

}  // namespace Skiff::Event
