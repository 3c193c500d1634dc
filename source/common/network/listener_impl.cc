#include "source/common/network/listener_impl.h"

#include <sys/socket.h>

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
          Event::FileReadyType::Read)) {}

void ListenerImpl::enable() { file_event_->setEnabled(Event::FileReadyType::Read); }

void ListenerImpl::disable() { file_event_->setEnabled(0); }

void ListenerImpl::onReadReady() {
  for (uint32_t i = 0; i < max_accepts_per_wakeup_; ++i) {
    sockaddr_storage remote{};
    socklen_t len = sizeof(remote);
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&remote), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
        // EMFILE/ENFILE/ENOBUFS: the connection stays queued in the kernel; log and retry on the
        // next wake-up rather than spin.
        SKIFF_LOG(warn, "accept() failed: %s", strerror(errno));
      }
      return;
    }
    callbacks_.onAccept(std::make_unique<IoHandle>(fd), Address::Instance::fromSockaddr(remote));
  }
}

}  // namespace Skiff::Network
