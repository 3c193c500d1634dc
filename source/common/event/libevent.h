#pragma once

#include <event2/buffer.h>
#include <event2/event.h>

#include "source/common/common/c_smart_ptr.h"

namespace Skiff::Event::Libevent {

// RAII owners of libevent's C structs; nothing in skiff frees them by hand.
using BasePtr = CSmartPtr<event_base, event_base_free>;
using BufferPtr = CSmartPtr<evbuffer, evbuffer_free>;

// Turns on libevent's pthread support once per process, before the first event_base is made, so
// event_active() on another thread's base (used by Dispatcher::post) is safe. Idempotent.
void initializeOnce();

}  // namespace Skiff::Event::Libevent
