#pragma once

#include <event2/event.h>
#include <event2/event_struct.h>

namespace Skiff::Event {

/**
 * Base of every libevent-backed event (file, timer, signal, schedulable callback). Holds the
 * `struct event` inline, so no separate allocation, and unregisters it on destruction so a
 * destroyed object can never be called back.
 */
class ImplBase {
 protected:
  ImplBase() = default;
  ~ImplBase() {
    if (assigned_) {
      event_del(&raw_event_);
    }
  }
  ImplBase(const ImplBase&) = delete;
  ImplBase& operator=(const ImplBase&) = delete;

  event raw_event_;
  bool assigned_{false};  // event_assign() has been called on raw_event_.
};

}  // namespace Skiff::Event
