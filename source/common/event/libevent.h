#pragma once

#include <event2/buffer.h>
#include <event2/event.h>

#include "source/common/common/c_smart_ptr.h"

namespace Skiff::Event::Libevent {

// RAII owners of libevent's C structs; nothing in skiff frees them by hand.
//
// libevent is used without its thread support (evthread_use_pthreads is never called): every
// event_base and its events belong to the one thread that runs the loop, so libevent takes no
// lock on any event operation. Cross-thread wake-ups go through DispatcherImpl::post().
using BasePtr = CSmartPtr<event_base, event_base_free>;
using BufferPtr = CSmartPtr<evbuffer, evbuffer_free>;

}  // namespace Skiff::Event::Libevent
