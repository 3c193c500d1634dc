#pragma once

#include "source/common/event/dispatcher.h"
#include "source/common/network/listener.h"

namespace Skiff::Network {

class ListenerImpl : public Listener {
 public:
  // `max_accepts_per_wakeup` bounds how long one busy listener can hold the loop.
  ListenerImpl(Event::Dispatcher& dispatcher, int listen_fd, ListenerCallbacks& callbacks,
               uint32_t max_accepts_per_wakeup = 64);

  void enable() override;
  void disable() override;

 private:
  void onReadReady();

  const int listen_fd_;
  ListenerCallbacks& callbacks_;
  const uint32_t max_accepts_per_wakeup_;
  Event::FileEventPtr file_event_;
};

}  // namespace Skiff::Network
