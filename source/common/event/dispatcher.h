#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "source/common/event/deferred_deletable.h"
#include "source/common/event/file_event.h"
#include "source/common/event/signal_event.h"
#include "source/common/event/timer.h"

namespace Skiff::Event {

using PostCb = absl::AnyInvocable<void() &&>;

/**
 * An event loop bound to one thread. Each worker, the main thread and the control thread own one.
 *
 * Threading: post() is the only method that may be called from any thread. Everything else,
 * including creating events and running the loop, belongs to the thread that runs the loop
 * (isThreadSafe() says whether the caller is on it). Before run() is first called, the creating
 * thread may set the dispatcher up.
 */
class Dispatcher {
 public:
  enum class RunType {
    Block,     // Run until exit() is called, even while no events are registered.
    NonBlock,  // Run callbacks that are ready now, then return.
  };

  virtual ~Dispatcher() = default;

  // Name used in logs and thread names: "main", "worker_0", ...
  virtual const std::string& name() const = 0;

  virtual FileEventPtr createFileEvent(int fd, FileReadyCb cb, FileTriggerType trigger,
                                       uint32_t events) = 0;
  virtual TimerPtr createTimer(TimerCb cb) = 0;
  virtual SignalEventPtr listenForSignal(int signal_num, SignalCb cb) = 0;

  // Destroys `object` on this thread after the current batch of callbacks has returned. Objects
  // are destroyed in the order they were handed over.
  virtual void deferredDelete(DeferredDeletablePtr&& object) = 0;

  // Thread-safe. Queues `callback` to run on this dispatcher's thread and wakes the loop.
  // Callbacks posted from one thread run in the order they were posted. Callbacks still queued
  // when the dispatcher is destroyed are destroyed without being run.
  virtual void post(PostCb callback) = 0;

  virtual void run(RunType type) = 0;

  // Makes run() return after the current iteration. Thread-safe.
  virtual void exit() = 0;

  // True when called on the thread that runs (or, before the first run(), created) this loop.
  virtual bool isThreadSafe() const = 0;
};

using DispatcherPtr = std::unique_ptr<Dispatcher>;

}  // namespace Skiff::Event
