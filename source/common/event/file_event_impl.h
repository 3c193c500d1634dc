#pragma once

#include "source/common/event/event_impl_base.h"
#include "source/common/event/file_event.h"
#include "source/common/event/libevent.h"

namespace Skiff::Event {

// libevent readiness event for one fd. Owned and used on its dispatcher's thread only.
class FileEventImpl : public FileEvent, private ImplBase {
 public:
  FileEventImpl(event_base& base, int fd, FileReadyCb cb, FileTriggerType trigger, uint32_t events);

  void activate(uint32_t events) override;
  void setEnabled(uint32_t events) override;

 private:
  void assign(uint32_t events);
  static void onEvent(evutil_socket_t, short what, void* arg);

  event_base& base_;
  const int fd_;
  FileReadyCb cb_;
  const FileTriggerType trigger_;
};

}  // namespace Skiff::Event
