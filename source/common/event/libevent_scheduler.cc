#include "source/common/event/libevent_scheduler.h"

#include "source/common/common/assert.h"

namespace Skiff::Event {

LibeventScheduler::LibeventScheduler() {
  libevent_ = Libevent::BasePtr(event_base_new());
  RELEASE_ASSERT(libevent_ != nullptr, "event_base_new failed");
}

void LibeventScheduler::run(Dispatcher::RunType mode) {
  int flags = 0;
  switch (mode) {
    case Dispatcher::RunType::Block:
      flags = EVLOOP_NO_EXIT_ON_EMPTY;
      break;
    case Dispatcher::RunType::NonBlock:
      flags = EVLOOP_NONBLOCK;
      break;
  }
  event_base_loop(libevent_.get(), flags);
}

void LibeventScheduler::exit() { event_base_loopexit(libevent_.get(), nullptr); }

}  // namespace Skiff::Event
