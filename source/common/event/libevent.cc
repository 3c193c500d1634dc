#include "source/common/event/libevent.h"

#include <event2/thread.h>

#include <mutex>

#include "source/common/common/assert.h"

namespace Skiff::Event::Libevent {

void initializeOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    RELEASE_ASSERT(evthread_use_pthreads() == 0, "libevent pthread support unavailable");
  });
}

}  // namespace Skiff::Event::Libevent
