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
  bool was_empty;
  {
    Thread::LockGuard lock(post_lock_);
    was_empty = post_callbacks_.empty();
    post_callbacks_.push_back(std::move(callback));
  }
  // One wake-up per batch: later posts find the queue non-empty and rely on the pending drain.
  if (was_empty) {
    const uint64_t one = 1;
    // Only fails if the counter would overflow, and then the loop is awake anyway.
    [[maybe_unused]] const ssize_t rc = ::write(wake_fd_.fd, &one, sizeof(one));
  }
}

void DispatcherImpl::onWake() {
  // Reset the counter before taking the queue: a post after the swap below writes again.
  uint64_t count;
  [[maybe_unused]] const ssize_t rc = ::read(wake_fd_.fd, &count, sizeof(count));
  runPostCallbacks();
}

void DispatcherImpl::runPostCallbacks() {
  std::vector<PostCb> callbacks;
  {
    Thread::LockGuard lock(post_lock_);
    callbacks.swap(post_callbacks_);
  }
  // Run outside the lock: a callback may post again (to this or another dispatcher).
  for (auto& callback : callbacks) {
    std::move(callback)();
  }
}

void DispatcherImpl::run(RunType type) {
  run_tid_.store(std::this_thread::get_id());
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
