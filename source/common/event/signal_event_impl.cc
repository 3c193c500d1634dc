#include "source/common/event/signal_event_impl.h"

namespace Skiff::Event {

SignalEventImpl::SignalEventImpl(event_base& base, int signal_num, SignalCb cb)
    : cb_(std::move(cb)) {
  evsignal_assign(
      &raw_event_, &base, signal_num,
      [](evutil_socket_t, short, void* arg) { static_cast<SignalEventImpl*>(arg)->cb_(); }, this);
  assigned_ = true;
  evsignal_add(&raw_event_, nullptr);
}

}  // namespace Skiff::Event
