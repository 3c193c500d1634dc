#include "source/common/event/dispatcher_impl.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "source/common/common/assert.h"
#include "source/common/event/file_event_impl.h"
#include "source/common/event/signal_event_impl.h"
#include "source/common/event/timer_impl.h"

namespace Skiff::Event {

DispatcherImpl::SchedulableCallback::SchedulableCallback(event_base& base, std::function<void()> cb)
    : cb_(std::move(cb)) {
  event_assign(
      &raw_event_, &base, -1, 0,
      [](evutil_socket_t, short, void* arg) { static_cast<SchedulableCallback*>(arg)->cb_(); },
      this);
  assigned_ = true;
}

void DispatcherImpl::SchedulableCallback::schedule() { event_active(&raw_event_, EV_TIMEOUT, 0); }

DispatcherImpl::WakeFd::WakeFd() : fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  RELEASE_ASSERT(fd >= 0, "eventfd failed");
}

DispatcherImpl::WakeFd::~WakeFd() { ::close(fd); }

DispatcherImpl::WakeEvent::WakeEvent(event_base& base, int fd, std::function<void()> cb)
    : cb_(std::move(cb)) {
  event_assign(
      &raw_event_, &base, fd, EV_READ | EV_PERSIST,
      [](evutil_socket_t, short, void* arg) { static_cast<WakeEvent*>(arg)->cb_(); }, this);
  assigned_ = true;
  event_add(&raw_event_, nullptr);
}

namespace {
// The dispatcher whose run() is on this thread's stack, for exit() to tell a call from inside its
// own loop (act now) from any other (post).
thread_local DispatcherImpl* t_running = nullptr;
}  // namespace

DispatcherImpl::DispatcherImpl(std::string name)
    : name_(std::move(name)),
      run_tid_(std::this_thread::get_id()),
      wake_event_(base_scheduler_.base(), wake_fd_.fd, [this] { onWake(); }),
      post_continue_(
          std::make_unique<TimerImpl>(base_scheduler_.base(), [this] { runPostCallbacks(); })),
      deferred_delete_cb_(base_scheduler_.base(), [this] { clearDeferredDeleteList(); }) {}

DispatcherImpl::~DispatcherImpl() {
  // Objects still waiting for deferred deletion belong to this thread; free them here rather
  // than leak them.
  clearDeferredDeleteList();
  clearDeferredDeleteList();
}

FileEventPtr DispatcherImpl::createFileEvent(int fd, FileReadyCb cb, FileTriggerType trigger,
                                             uint32_t events) {
  ASSERT(isThreadSafe());
  return std::make_unique<FileEventImpl>(base(), fd, std::move(cb), trigger, events);
}

TimerPtr DispatcherImpl::createTimer(TimerCb cb) {
  ASSERT(isThreadSafe());
  return std::make_unique<TimerImpl>(base(), std::move(cb));
}

SignalEventPtr DispatcherImpl::listenForSignal(int signal_num, SignalCb cb) {
  ASSERT(isThreadSafe());
  return std::make_unique<SignalEventImpl>(base(), signal_num, std::move(cb));
}

void DispatcherImpl::deferredDelete(DeferredDeletablePtr&& object) {
  ASSERT(isThreadSafe());
  current_to_delete_->emplace_back(std::move(object));
  if (current_to_delete_->size() == 1) {
    deferred_delete_cb_.schedule();
  }
}

void DispatcherImpl::clearDeferredDeleteList() {
  if (deferred_deleting_) {
    return;
  }
  std::vector<DeferredDeletablePtr>* to_delete = current_to_delete_;
  if (to_delete->empty()) {
    return;
  }
  // Switch lists first: destructors may defer more objects, which land in the other list and get
  // their own scheduled pass.
  current_to_delete_ = (to_delete == &to_delete_1_) ? &to_delete_2_ : &to_delete_1_;
  deferred_deleting_ = true;
  for (auto& object : *to_delete) {
    object.reset();
  }
  to_delete->clear();
  deferred_deleting_ = false;
}

void DispatcherImpl::post(PostCb callback) {
  bool wake;
  {
    Thread::LockGuard lock(post_lock_);
    post_callbacks_.push_back(std::move(callback));
    // One wake-up per drain: while one is pending, running, or resuming after I/O (the budget
    // ran out), it picks this up. Waking it again would run it again in the same libevent pass,
    // ahead of the I/O it yielded to (a callback re-posting itself would starve I/O for good).
    wake = !drain_scheduled_;
    drain_scheduled_ = true;
  }
  if (wake) {
    const uint64_t one = 1;
    // Only fails if the counter would overflow, and then the loop is awake anyway.
    [[maybe_unused]] const ssize_t rc = ::write(wake_fd_.fd, &one, sizeof(one));
  }
}

void DispatcherImpl::onWake() {
  // Reset the counter; posts made from now on either find drain_scheduled_ set (and are picked up
  // by this drain or its continuation) or come after the drain ended and write again.
  uint64_t count;
  [[maybe_unused]] const ssize_t rc = ::read(wake_fd_.fd, &count, sizeof(count));
  runPostCallbacks();
}

void DispatcherImpl::runPostCallbacks() {
  const auto deadline = std::chrono::steady_clock::now() + kPostBudget;
  while (true) {
    if (running_.empty()) {
      std::vector<PostCb> callbacks;
      {
        Thread::LockGuard lock(post_lock_);
        callbacks.swap(post_callbacks_);
        if (callbacks.empty()) {
          drain_scheduled_ = false;  // The next post wakes the loop again.
          return;
        }
      }
      for (auto& callback : callbacks) {
        running_.push_back(std::move(callback));
      }
    }
    // Run outside the lock: a callback may post again (to this or another dispatcher).
    PostCb callback = std::move(running_.front());
    running_.pop_front();
    std::move(callback)();
    if (!drain_all_ && std::chrono::steady_clock::now() >= deadline) {
      break;
    }
  }
  // Budget spent: the rest waits for the next iteration (a zero timer fires after the poll);
  // drain_scheduled_ stays set, so posts meanwhile do not wake the loop ahead of the I/O.
  post_continue_->enableTimer(std::chrono::milliseconds(0));
}

void DispatcherImpl::run(RunType type) {
  run_tid_.store(std::this_thread::get_id());
  drain_all_ = type == RunType::NonBlock;
  // Work posted before the loop started left the eventfd readable: the loop drains it.
  DispatcherImpl* const outer = t_running;
  t_running = this;
  base_scheduler_.run(type);
  t_running = outer;
}

void DispatcherImpl::exit() {
  if (t_running == this) {
    base_scheduler_.exit();
    return;
  }
  // Another thread (or before run()): the base is the loop thread's; let it exit itself.
  post([this] { base_scheduler_.exit(); });
}

bool DispatcherImpl::isThreadSafe() const {
  return run_tid_.load(std::memory_order_relaxed) == std::this_thread::get_id();
}

}  // namespace Skiff::Event
