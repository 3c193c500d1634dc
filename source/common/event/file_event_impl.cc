#include "source/common/event/file_event_impl.h"

namespace Skiff::Event {

FileEventImpl::FileEventImpl(event_base& base, int fd, FileReadyCb cb, FileTriggerType trigger,
                             uint32_t events)
    : base_(base), fd_(fd), cb_(std::move(cb)), trigger_(trigger) {
  assign(events);
}

void FileEventImpl::assign(uint32_t events) {
  short what = EV_PERSIST;
  if (trigger_ == FileTriggerType::Edge) {
    what |= EV_ET;
    if (events & FileReadyType::Closed) {
      what |= EV_CLOSED;
    }
  }
  if (events & FileReadyType::Read) {
    what |= EV_READ;
  }
  if (events & FileReadyType::Write) {
    what |= EV_WRITE;
  }
  event_assign(&raw_event_, &base_, fd_, what, &FileEventImpl::onEvent, this);
  assigned_ = true;
  event_add(&raw_event_, nullptr);
}

void FileEventImpl::onEvent(evutil_socket_t, short what, void* arg) {
  auto* self = static_cast<FileEventImpl*>(arg);
  uint32_t events = 0;
  if (what & EV_READ) {
    events |= FileReadyType::Read;
  }
  if (what & EV_WRITE) {
    events |= FileReadyType::Write;
  }
  if (what & EV_CLOSED) {
    events |= FileReadyType::Closed;
  }
  self->cb_(events);
}

void FileEventImpl::activate(uint32_t events) {
  short what = 0;
  if (events & FileReadyType::Read) {
    what |= EV_READ;
  }
  if (events & FileReadyType::Write) {
    what |= EV_WRITE;
  }
  if (events & FileReadyType::Closed) {
    what |= EV_CLOSED;
  }
  event_active(&raw_event_, what, 0);
}

void FileEventImpl::setEnabled(uint32_t events) {
  event_del(&raw_event_);
  assign(events);
}

}  // namespace Skiff::Event
