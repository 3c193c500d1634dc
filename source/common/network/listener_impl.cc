#include "source/common/network/listener_impl.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "source/common/common/logger.h"

namespace Skiff::Network {

ListenerImpl::ListenerImpl(Event::Dispatcher& dispatcher, int listen_fd,
                           ListenerCallbacks& callbacks, uint32_t max_accepts_per_wakeup)
    : listen_fd_(listen_fd),
      callbacks_(callbacks),
      max_accepts_per_wakeup_(max_accepts_per_wakeup),
      // Level-triggered: if a batch stops at the cap, the loop calls back for the rest.
      file_event_(dispatcher.createFileEvent(
          listen_fd, [this](uint32_t) { onReadReady(); }, Event::FileTriggerType::Level,
          Event::FileReadyType::Read)),
      back_off_timer_(dispatcher.createTimer([this] {
        if (enabled_) {
          file_event_->setEnabled(Event::FileReadyType::Read);
        }
      })) {}

void ListenerImpl::enable() {
  enabled_ = true;
  if (!back_off_timer_->enabled()) {
    file_event_->setEnabled(Event::FileReadyType::Read);
  }
}

void ListenerImpl::disable() {
  enabled_ = false;
  file_event_->setEnabled(0);
}

void ListenerImpl::backOff(int error) {
  back_off_ = back_off_.count() == 0 ? kMinBackOff : std::min(back_off_ * 2, kMaxBackOff);
  if (back_off_ == kMinBackOff) {
    // Once per episode: the back-off keeps a descriptor shortage from flooding the log.
    SKIFF_LOG(warn, "accept() failed: %s; pausing accepts (retrying with back-off up to 1 s)",
              strerror(error));
  }
  callbacks_.onAcceptResourceFailure(error);
  file_event_->setEnabled(0);
  back_off_timer_->enableTimer(back_off_);
}

void ListenerImpl::onReadReady() {
  for (uint32_t i = 0; i < max_accepts_per_wakeup_; ++i) {
    sockaddr_storage remote{};
    socklen_t len = sizeof(remote);
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&remote), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
        backOff(error);
      } else if (error != EAGAIN && error != EINTR && error != ECONNABORTED) {
        SKIFF_LOG(warn, "accept() failed: %s", strerror(error));
      }
      return;
    }
    if (back_off_.count() != 0) {
      SKIFF_LOG(info, "accepting again after a resource shortage");
      back_off_ = std::chrono::milliseconds(0);
    }
    callbacks_.onAccept(std::make_unique<IoHandle>(fd), Address::Instance::fromSockaddr(remote));
  }
}

}  // namespace Skiff::Network
