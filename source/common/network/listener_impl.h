#pragma once

#include <chrono>

#include "source/common/event/dispatcher.h"
#include "source/common/network/listener.h"

namespace Skiff::Network {

/**
 * Accepts on a listen socket with a level-triggered event, at most `max_accepts_per_wakeup` per
 * loop pass. When accept() fails for lack of descriptors or memory the pending connection stays
 * queued in the kernel, so a level-triggered event would fire again at once and spin the loop:
 * instead the listener stops watching the socket and retries after a back-off (10 ms doubling to
 * 1 s, reset by the next successful accept). Thread: the dispatcher's.
 */
class ListenerImpl : public Listener {
 public:
  // `max_accepts_per_wakeup` bounds how long one busy listener can hold the loop.
  ListenerImpl(Event::Dispatcher& dispatcher, int listen_fd, ListenerCallbacks& callbacks,
               uint32_t max_accepts_per_wakeup = 64);

  void enable() override;
  void disable() override;

 private:
  void onReadReady();
  void backOff(int error);

  static constexpr std::chrono::milliseconds kMinBackOff{10};
  static constexpr std::chrono::milliseconds kMaxBackOff{1000};

  const int listen_fd_;
  ListenerCallbacks& callbacks_;
  const uint32_t max_accepts_per_wakeup_;
  Event::FileEventPtr file_event_;
  Event::TimerPtr back_off_timer_;
  std::chrono::milliseconds back_off_{0};  // 0: not backing off since the last good accept.
  bool enabled_{true};                     // What the owner asked for, whatever the back-off.
};

}  // namespace Skiff::Network
