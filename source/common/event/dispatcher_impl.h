#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "source/common/common/thread.h"
#include "source/common/event/dispatcher.h"
#include "source/common/event/event_impl_base.h"
#include "source/common/event/libevent_scheduler.h"

namespace Skiff::Event {

/**
 * libevent implementation of Dispatcher: a LibeventScheduler (which owns the event_base through
 * CSmartPtr<event_base, event_base_free>) plus a cross-thread post queue and a deferred-delete
 * list. See Dispatcher for the threading contract.
 *
 * libevent runs without its thread support (no evthread_use_pthreads): an event_base and its
 * events are only ever touched by the loop's thread, so every event operation on the data path
 * (activating a write, re-arming a timer) goes without a mutex. The one cross-thread entry, post(),
 * queues under its own lock and wakes the loop through an eventfd the loop watches; exit() from
 * another thread is a post.
 *
 * Posted callbacks run for at most kPostBudget per loop iteration (at least one callback each
 * time); the rest continue on the next iteration, after the I/O that became ready meanwhile. A
 * flood of posts thus delays a worker's connections by about the budget, not by the whole flood.
 * run(NonBlock) drains the whole queue (the final pass at shutdown).
 */
class DispatcherImpl : public Dispatcher {
 public:
  // How long posted callbacks may run before the loop turns to I/O again.
  static constexpr std::chrono::microseconds kPostBudget{1000};

  explicit DispatcherImpl(std::string name);
  ~DispatcherImpl() override;

  const std::string& name() const override { return name_; }
  FileEventPtr createFileEvent(int fd, FileReadyCb cb, FileTriggerType trigger,
                               uint32_t events) override;
  TimerPtr createTimer(TimerCb cb) override;
  SignalEventPtr listenForSignal(int signal_num, SignalCb cb) override;
  void deferredDelete(DeferredDeletablePtr&& object) override;
  void post(PostCb callback) override;
  void run(RunType type) override;
  void exit() override;
  bool isThreadSafe() const override;

  // The raw event_base, for libraries that take one (evhttp for the admin server). Same thread
  // rules as the dispatcher.
  event_base& base() { return base_scheduler_.base(); }

 private:
  // A manually activated libevent event: drains the deferred-delete list. Loop thread only.
  class SchedulableCallback : private ImplBase {
   public:
    SchedulableCallback(event_base& base, std::function<void()> cb);
    void schedule();

   private:
    std::function<void()> cb_;
  };

  // The eventfd post() writes to wake the loop; closed after the event watching it is gone.
  struct WakeFd {
    WakeFd();
    ~WakeFd();
    const int fd;
  };

  // A persistent read event on the wake eventfd: drains the post queue.
  class WakeEvent : private ImplBase {
   public:
    WakeEvent(event_base& base, int fd, std::function<void()> cb);

   private:
    std::function<void()> cb_;
  };

  void onWake();
  void runPostCallbacks();
  void clearDeferredDeleteList();

  const std::string name_;
  LibeventScheduler base_scheduler_;
  // Set when run() starts; until then the creating thread owns the dispatcher.
  std::atomic<std::thread::id> run_tid_;

  Thread::MutexBasicLockable post_lock_;
  std::vector<PostCb> post_callbacks_ ABSL_GUARDED_BY(post_lock_);
  // A drain is pending, running or resuming: posts need not wake the loop.
  bool drain_scheduled_ ABSL_GUARDED_BY(post_lock_){false};
  WakeFd wake_fd_;
  WakeEvent wake_event_;
  // Loop thread only: callbacks taken off post_callbacks_ and not run yet (the budget ran out),
  // the zero-delay timer that resumes them on the next iteration, and whether the budget applies.
  std::deque<PostCb> running_;
  TimerPtr post_continue_;
  bool drain_all_{false};

  // Two lists so that objects deferred while the current list is being destroyed wait for the
  // next pass instead of invalidating the iteration.
  std::vector<DeferredDeletablePtr> to_delete_1_;
  std::vector<DeferredDeletablePtr> to_delete_2_;
  std::vector<DeferredDeletablePtr>* current_to_delete_{&to_delete_1_};
  bool deferred_deleting_{false};
  SchedulableCallback deferred_delete_cb_;
};

}  // namespace Skiff::Event
