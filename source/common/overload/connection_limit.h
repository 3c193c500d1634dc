#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>

namespace Skiff::Overload {

/**
 * A count of open connections with a ceiling, shared by every worker (Envoy's
 * BasicResourceLimitImpl / the global downstream connection monitor). tryAcquire() and release()
 * are lock-free from any thread: a worker takes one slot per accepted connection and gives it
 * back when the connection closes, so the limit holds across workers without a lock.
 */
class ConnectionLimit {
 public:
  static constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

  explicit ConnectionLimit(uint64_t max = kUnlimited) : max_(max) {}

  // Takes a slot if fewer than max() are taken. Any thread.
  bool tryAcquire() {
    uint64_t current = current_.load(std::memory_order_relaxed);
    const uint64_t max = max_.load(std::memory_order_relaxed);
    while (current < max) {
      if (current_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }
  // Gives back a slot taken by tryAcquire(). Any thread.
  void release() { current_.fetch_sub(1, std::memory_order_relaxed); }

  uint64_t current() const { return current_.load(std::memory_order_relaxed); }
  uint64_t max() const { return max_.load(std::memory_order_relaxed); }
  // A lower ceiling does not close anything: it only refuses new connections until enough close.
  void setMax(uint64_t max) { max_.store(max, std::memory_order_relaxed); }

  /**
   * One taken slot, given back when the holder is destroyed or reset. Owned by whatever owns the
   * connection (a worker's ActiveConnection); keeps the limit alive while it holds a slot.
   */
  class Slot {
   public:
    Slot() = default;
    explicit Slot(std::shared_ptr<ConnectionLimit> limit) : limit_(std::move(limit)) {}
    Slot(Slot&&) = default;
    Slot& operator=(Slot&& other) {
      reset();
      limit_ = std::move(other.limit_);
      return *this;
    }
    ~Slot() { reset(); }

    void reset() {
      if (limit_ != nullptr) {
        limit_->release();
        limit_.reset();
      }
    }

   private:
    std::shared_ptr<ConnectionLimit> limit_;
  };

 private:
  std::atomic<uint64_t> current_{0};
  std::atomic<uint64_t> max_;
};

using ConnectionLimitSharedPtr = std::shared_ptr<ConnectionLimit>;

// Takes a slot of `limit` (null: no limit, an empty slot). False if the limit is reached.
inline bool tryAcquireSlot(const ConnectionLimitSharedPtr& limit, ConnectionLimit::Slot& slot) {
  if (limit == nullptr) {
    return true;
  }
  if (!limit->tryAcquire()) {
    return false;
  }
  slot = ConnectionLimit::Slot(limit);
  return true;
}

}  // namespace Skiff::Overload
