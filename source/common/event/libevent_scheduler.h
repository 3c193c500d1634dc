#pragma once

#include "source/common/event/dispatcher.h"
#include "source/common/event/libevent.h"

namespace Skiff::Event {

/**
 * Owns one libevent event_base and runs its loop. DispatcherImpl owns exactly one.
 *
 * Ordering: within one loop iteration libevent runs active events in priority order and, within a
 * priority, in activation order. The dispatcher's post queue and deferred-delete list are both
 * drained by events activated from inside the loop, so they run after the I/O callbacks that
 * queued work in the same iteration.
 */
class LibeventScheduler {
 public:
  LibeventScheduler();

  // Ends in event_base_loop(). Block keeps looping with no events registered.
  void run(Dispatcher::RunType mode);
  void exit();

  event_base& base() { return *libevent_; }

 private:
  Libevent::BasePtr libevent_;
};

}  // namespace Skiff::Event
