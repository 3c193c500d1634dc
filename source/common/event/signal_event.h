#pragma once

#include <functional>
#include <memory>

namespace Skiff::Event {

using SignalCb = std::function<void()>;

/**
 * A POSIX signal delivered as an ordinary callback on a dispatcher's thread (never inside the
 * signal handler). Destroying it stops listening.
 */
class SignalEvent {
 public:
  virtual ~SignalEvent() = default;
};

using SignalEventPtr = std::unique_ptr<SignalEvent>;

}  // namespace Skiff::Event
