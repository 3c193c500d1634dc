#pragma once

#include <cstdint>

#include "absl/container/inlined_vector.h"
#include "source/common/buffer/buffer.h"

namespace Skiff::Buffer {

/**
 * Buffer::Instance as a queue of heap slices. Each slice is one allocation: a small header and
 * then its bytes, of which [begin, end) hold data. The queue never holds an empty slice.
 *
 * Why not libevent's evbuffer (which this replaced): every evbuffer call checks for a lock and
 * walks a generic chain; the data path calls length(), drain(), move() and the reserve/commit
 * pair a few dozen times per proxied request, and here each is a few instructions. Slices come
 * in six power-of-two sizes (4 KiB to 128 KiB) and a thread keeps a few freed slices of each size
 * for the next allocation, so a connection that reads a small request into a fresh 16 KiB slice
 * and drains it does not go through malloc every time.
 *
 * Not thread-safe: a buffer belongs to one connection on one worker. Slices may be freed on
 * another thread than the one that allocated them (they then go to that thread's cache).
 */
class OwnedImpl final : public Instance {
 public:
  OwnedImpl() = default;
  explicit OwnedImpl(absl::string_view data);
  ~OwnedImpl() override;
  OwnedImpl(OwnedImpl&& other) noexcept;
  OwnedImpl& operator=(OwnedImpl&& other) noexcept;
  OwnedImpl(const OwnedImpl&) = delete;
  OwnedImpl& operator=(const OwnedImpl&) = delete;

  void add(const void* data, uint64_t size) override;
  void add(absl::string_view data) override;
  void move(Instance& other) override;
  void move(Instance& other, uint64_t length) override;
  void drain(uint64_t size) override;
  uint64_t length() const override { return length_; }
  std::string toString() const override;
  RawSlice frontSlice() const override;
  uint64_t getRawSlices(RawSlice* out, uint64_t max) const override;
  char* reserveContiguous(uint64_t size) override;
  void commit(uint64_t length) override;
  int64_t readFromFd(int fd, uint64_t max_length) override;
  int64_t writeToFd(int fd) override;

  // One slice: this header, then `capacity` bytes.
  struct Slice {
    uint32_t capacity;
    uint32_t begin;
    uint32_t end;
    uint8_t size_class;  // Index of its cache bucket; kNoClass for odd sizes.

    char* data() { return reinterpret_cast<char*>(this + 1); }
    uint32_t size() const { return end - begin; }
    uint32_t room() const { return capacity - end; }
  };

 private:
  bool emptyQueue() const { return head_ == slices_.size(); }
  Slice* front() const { return slices_[head_]; }
  Slice* back() const { return slices_.back(); }
  void pushBack(Slice* slice);
  void popFront();
  // The tail slice if it has `size` bytes of room, otherwise null.
  Slice* tailWithRoom(uint64_t size) const;
  void clear();

  // Slices live in slices_[head_, size): popping the front moves head_, and the vector is
  // compacted only when it would otherwise grow.
  absl::InlinedVector<Slice*, 4> slices_;
  size_t head_{0};
  uint64_t length_{0};
  // Between reserveContiguous() and commit(): a new slice not yet in the queue (null when the
  // reservation is in the tail slice's room).
  Slice* reserved_{nullptr};
};

}  // namespace Skiff::Buffer
