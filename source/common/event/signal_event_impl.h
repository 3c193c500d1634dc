#pragma once

#include "source/common/event/event_impl_base.h"
#include "source/common/event/libevent.h"
#include "source/common/event/signal_event.h"

namespace Skiff::Event {

// libevent signal event: the handler only wakes the loop; the callback runs as a normal event.
class SignalEventImpl : public SignalEvent, private ImplBase {
 public:
  SignalEventImpl(event_base& base, int signal_num, SignalCb cb);

 private:
  SignalCb cb_;
};

}  // namespace Skiff::Event
