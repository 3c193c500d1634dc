#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace Skiff::Event {

// Bits passed to FileReadyCb and to FileEvent::setEnabled().
struct FileReadyType {
  static constexpr uint32_t Read = 0x1;
  static constexpr uint32_t Write = 0x2;
  static constexpr uint32_t Closed = 0x4;  // Peer hung up (EV_CLOSED); only with Edge triggering.
};

// Edge: the callback runs once per readiness change; the owner must read/write until EAGAIN.
// Level: the callback runs on every loop iteration while the fd stays ready.
enum class FileTriggerType { Level, Edge };

using FileReadyCb = std::function<void(uint32_t events)>;

/**
 * Readiness notification for one file descriptor on a dispatcher. The event does not own the fd.
 * Created, changed and destroyed only on the dispatcher's thread; destroying it unregisters it.
 */
class FileEvent {
 public:
  virtual ~FileEvent() = default;

  // Runs the callback with `events` on the next loop iteration, as if the fd had become ready.
  // Used to resume processing of data already buffered in user space.
  virtual void activate(uint32_t events) = 0;

  // Replaces the set of events waited for (a mask of FileReadyType).
  virtual void setEnabled(uint32_t events) = 0;
};

using FileEventPtr = std::unique_ptr<FileEvent>;

}  // namespace Skiff::Event
