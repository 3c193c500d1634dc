#pragma once

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace Skiff::Thread {

/**
 * A mutex with Clang thread-safety annotations, so `ABSL_GUARDED_BY(mutex_)` is checked.
 *
 * Why not absl::Mutex: Debian's abseil is not built with -fsanitize=thread, so ThreadSanitizer
 * cannot see absl::Mutex's happens-before edges and reports races on everything it guards.
 * std::mutex goes through pthread_mutex_lock, which TSan intercepts.
 */
class ABSL_LOCKABLE MutexBasicLockable {
 public:
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mutex_.lock(); }
  void unlock() ABSL_UNLOCK_FUNCTION() { mutex_.unlock(); }

 private:
  std::mutex mutex_;
};

// Holds a MutexBasicLockable for the enclosing scope.
class ABSL_SCOPED_LOCKABLE LockGuard {
 public:
  explicit LockGuard(MutexBasicLockable& mutex) ABSL_EXCLUSIVE_LOCK_FUNCTION(mutex)
      : mutex_(mutex) {
    mutex_.lock();
  }
  ~LockGuard() ABSL_UNLOCK_FUNCTION() { mutex_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  MutexBasicLockable& mutex_;
};

}  // namespace Skiff::Thread
