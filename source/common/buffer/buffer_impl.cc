#include "source/common/buffer/buffer_impl.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include "source/common/common/assert.h"
#include "source/common/common/sanitizers.h"

namespace Skiff::Buffer {
namespace {

using Slice = OwnedImpl::Slice;

// Largest number of slices handed to one readv/sendmsg. Enough for 1 MiB of 16 KiB slices.
constexpr int kMaxIovecs = 64;

// Slice sizes: 4 KiB << class, for classes 0..5 (4 KiB to 128 KiB, the largest socket read).
constexpr uint32_t kMinSliceSize = 4096;
constexpr int kNumClasses = 6;
constexpr uint8_t kNoClass = 0xff;
// Freed slices a thread keeps per class: enough for the buffers one event-loop pass touches,
// small enough that an idle worker holds at most ~1 MiB.
constexpr int kCacheDepth[kNumClasses] = {8, 8, 8, 4, 2, 2};

// A small move is copied into the destination's tail instead of relinking slices: a response
// head and a small body then leave in one contiguous slice, and the source's slices go back to
// the cache at once instead of riding along half-empty.
constexpr uint64_t kCopyThreshold = 1024;

// Reading into the tail's leftover room only pays when the room is worth a syscall's iovec.
constexpr uint32_t kMinTailReadRoom = 512;

#ifndef SKIFF_ADDRESS_SANITIZER
// Per-thread free lists. A plain struct with a destructor: freed slices of an exiting thread
// go back to malloc.
struct SliceCache {
  Slice* free[kNumClasses][8] = {};
  int count[kNumClasses] = {};

  ~SliceCache() {
    for (int c = 0; c < kNumClasses; ++c) {
      for (int i = 0; i < count[c]; ++i) {
        ::free(free[c][i]);
      }
      count[c] = 0;
    }
  }
};

thread_local SliceCache t_cache;
#endif

int classFor(uint64_t size) {
  int c = 0;
  uint64_t capacity = kMinSliceSize;
  while (capacity < size) {
    if (++c == kNumClasses) {
      return -1;
    }
    capacity <<= 1;
  }
  return c;
}

// A slice with room for at least `size` bytes, empty.
Slice* newSlice(uint64_t size) {
  const int c = classFor(size);
#ifndef SKIFF_ADDRESS_SANITIZER
  if (c >= 0) {
    SliceCache& cache = t_cache;
    if (cache.count[c] > 0) {
      Slice* slice = cache.free[c][--cache.count[c]];
      slice->begin = 0;
      slice->end = 0;
      return slice;
    }
  }
#endif
  const uint64_t capacity = c >= 0 ? uint64_t{kMinSliceSize} << c : size;
  RELEASE_ASSERT(capacity <= UINT32_MAX, "buffer slice too large");
  void* mem = ::malloc(sizeof(Slice) + capacity);
  RELEASE_ASSERT(mem != nullptr, "oom");
  Slice* slice = new (mem) Slice;
  slice->capacity = static_cast<uint32_t>(capacity);
  slice->begin = 0;
  slice->end = 0;
  slice->size_class = c >= 0 ? static_cast<uint8_t>(c) : kNoClass;
  return slice;
}

void releaseSlice(Slice* slice) {
#ifndef SKIFF_ADDRESS_SANITIZER
  const uint8_t c = slice->size_class;
  if (c != kNoClass) {
    SliceCache& cache = t_cache;
    if (cache.count[c] < kCacheDepth[c]) {
      cache.free[c][cache.count[c]++] = slice;
      return;
    }
  }
#endif
  ::free(slice);
}

}  // namespace

OwnedImpl::OwnedImpl(absl::string_view data) { add(data); }

OwnedImpl::~OwnedImpl() { clear(); }

OwnedImpl::OwnedImpl(OwnedImpl&& other) noexcept
    : slices_(std::move(other.slices_)),
      head_(other.head_),
      length_(other.length_),
      reserved_(other.reserved_) {
  other.slices_.clear();
  other.head_ = 0;
  other.length_ = 0;
  other.reserved_ = nullptr;
}

OwnedImpl& OwnedImpl::operator=(OwnedImpl&& other) noexcept {
  if (this != &other) {
    clear();
    slices_ = std::move(other.slices_);
    head_ = other.head_;
    length_ = other.length_;
    reserved_ = other.reserved_;
    other.slices_.clear();
    other.head_ = 0;
    other.length_ = 0;
    other.reserved_ = nullptr;
  }
  return *this;
}

void OwnedImpl::clear() {
  for (size_t i = head_; i < slices_.size(); ++i) {
    releaseSlice(slices_[i]);
  }
  slices_.clear();
  head_ = 0;
  length_ = 0;
  if (reserved_ != nullptr) {
    releaseSlice(reserved_);
    reserved_ = nullptr;
  }
}

void OwnedImpl::pushBack(Slice* slice) {
  ASSERT(slice->size() > 0);
  if (head_ > 0 && slices_.size() == slices_.capacity()) {
    slices_.erase(slices_.begin(), slices_.begin() + head_);
    head_ = 0;
  }
  slices_.push_back(slice);
  length_ += slice->size();
}

void OwnedImpl::popFront() {
  Slice* slice = slices_[head_];
  length_ -= slice->size();
  releaseSlice(slice);
  if (++head_ == slices_.size()) {
    slices_.clear();
    head_ = 0;
  }
}

OwnedImpl::Slice* OwnedImpl::tailWithRoom(uint64_t size) const {
  if (emptyQueue()) {
    return nullptr;
  }
  Slice* tail = back();
  return tail->room() >= size ? tail : nullptr;
}

void OwnedImpl::add(const void* data, uint64_t size) {
  if (size == 0) {
    return;
  }
  const char* src = static_cast<const char*>(data);
  if (!emptyQueue()) {
    Slice* tail = back();
    const uint64_t n = std::min<uint64_t>(tail->room(), size);
    if (n > 0) {
      memcpy(tail->data() + tail->end, src, n);
      tail->end += n;
      length_ += n;
      src += n;
      size -= n;
    }
  }
  while (size > 0) {
    // Large adds take as many 128 KiB slices as they need.
    Slice* slice = newSlice(std::min<uint64_t>(size, uint64_t{kMinSliceSize} << (kNumClasses - 1)));
    const uint64_t n = std::min<uint64_t>(slice->capacity, size);
    memcpy(slice->data(), src, n);
    slice->end = static_cast<uint32_t>(n);
    pushBack(slice);
    src += n;
    size -= n;
  }
}

void OwnedImpl::add(absl::string_view data) { add(data.data(), data.size()); }

void OwnedImpl::move(Instance& other_instance) {
  // Every Instance in skiff is an OwnedImpl.
  auto& other = static_cast<OwnedImpl&>(other_instance);
  if (&other == this || other.length_ == 0) {
    return;
  }
  if (other.length_ <= kCopyThreshold) {
    if (Slice* tail = tailWithRoom(other.length_); tail != nullptr) {
      for (size_t i = other.head_; i < other.slices_.size(); ++i) {
        Slice* s = other.slices_[i];
        memcpy(tail->data() + tail->end, s->data() + s->begin, s->size());
        tail->end += s->size();
      }
      length_ += other.length_;
      other.drain(other.length_);
      return;
    }
  }
  if (emptyQueue() && reserved_ == nullptr && other.reserved_ == nullptr) {
    // Take the whole queue.
    std::swap(slices_, other.slices_);
    std::swap(head_, other.head_);
    std::swap(length_, other.length_);
    other.slices_.clear();
    other.head_ = 0;
    other.length_ = 0;
    return;
  }
  for (size_t i = other.head_; i < other.slices_.size(); ++i) {
    pushBack(other.slices_[i]);
  }
  other.slices_.clear();
  other.head_ = 0;
  other.length_ = 0;
}

void OwnedImpl::move(Instance& other_instance, uint64_t length) {
  auto& other = static_cast<OwnedImpl&>(other_instance);
  if (&other == this) {
    return;
  }
  length = std::min(length, other.length_);
  if (length == other.length_) {
    move(other);
    return;
  }
  while (length > 0) {
    Slice* s = other.front();
    if (s->size() <= length) {
      // Relink the whole slice.
      length -= s->size();
      other.length_ -= s->size();
      if (++other.head_ == other.slices_.size()) {
        other.slices_.clear();
        other.head_ = 0;
      }
      pushBack(s);
      continue;
    }
    // Copy the part of a slice.
    add(s->data() + s->begin, length);
    other.drain(length);
    break;
  }
}

void OwnedImpl::drain(uint64_t size) {
  size = std::min(size, length_);
  while (size > 0) {
    Slice* s = front();
    if (s->size() <= size) {
      size -= s->size();
      popFront();
      continue;
    }
    s->begin += static_cast<uint32_t>(size);
    length_ -= size;
    break;
  }
}

std::string OwnedImpl::toString() const {
  std::string out;
  out.reserve(length_);
  for (size_t i = head_; i < slices_.size(); ++i) {
    Slice* s = slices_[i];
    out.append(s->data() + s->begin, s->size());
  }
  return out;
}

RawSlice OwnedImpl::frontSlice() const {
  if (emptyQueue()) {
    return {};
  }
  Slice* s = front();
  return {s->data() + s->begin, s->size()};
}

uint64_t OwnedImpl::getRawSlices(RawSlice* out, uint64_t max) const {
  uint64_t filled = 0;
  for (size_t i = head_; i < slices_.size() && filled < max; ++i, ++filled) {
    Slice* s = slices_[i];
    out[filled] = {s->data() + s->begin, s->size()};
  }
  return filled;
}

char* OwnedImpl::reserveContiguous(uint64_t size) {
  ASSERT(reserved_ == nullptr);
  if (Slice* tail = tailWithRoom(size); tail != nullptr && size > 0) {
    return tail->data() + tail->end;
  }
  reserved_ = newSlice(std::max<uint64_t>(size, 1));
  return reserved_->data();
}

void OwnedImpl::commit(uint64_t length) {
  if (reserved_ != nullptr) {
    Slice* slice = reserved_;
    reserved_ = nullptr;
    ASSERT(length <= slice->capacity);
    if (length == 0) {
      releaseSlice(slice);
      return;
    }
    slice->end = static_cast<uint32_t>(length);
    pushBack(slice);
    return;
  }
  if (length == 0) {
    return;
  }
  Slice* tail = back();
  ASSERT(length <= tail->room());
  tail->end += static_cast<uint32_t>(length);
  length_ += length;
}

int64_t OwnedImpl::readFromFd(int fd, uint64_t max_length) {
  // Read straight into free space: the tail's room if it is worth it, then a new slice for the
  // rest. No ioctl(FIONREAD) per read.
  iovec iov[2];
  int n = 0;
  Slice* tail = nullptr;
  uint64_t want = max_length;
  if (!emptyQueue() && back()->room() >= std::min<uint64_t>(kMinTailReadRoom, max_length)) {
    tail = back();
    iov[0].iov_base = tail->data() + tail->end;
    iov[0].iov_len = std::min<uint64_t>(tail->room(), want);
    want -= iov[0].iov_len;
    n = 1;
  }
  Slice* fresh = nullptr;
  // A roomy tail is enough for this read: the read after a small one (usually EAGAIN) then
  // takes no slice from the cache just to give it back. A read that fills the tail is followed
  // by another (the caller reads until EAGAIN), which gets a fresh slice.
  if (tail != nullptr && tail->room() >= kMinSliceSize) {
    want = 0;
  }
  if (want > 0) {
    fresh = newSlice(want);
    iov[n].iov_base = fresh->data();
    iov[n].iov_len = want;
    ++n;
  }
  const ssize_t rc = ::readv(fd, iov, n);
  if (rc <= 0) {
    if (fresh != nullptr) {
      const int saved = errno;
      releaseSlice(fresh);
      errno = saved;
    }
    return rc;
  }
  uint64_t left = rc;
  if (tail != nullptr) {
    const uint64_t in_tail = std::min<uint64_t>(left, iov[0].iov_len);
    tail->end += static_cast<uint32_t>(in_tail);
    length_ += in_tail;
    left -= in_tail;
  }
  if (fresh != nullptr) {
    if (left > 0) {
      fresh->end = static_cast<uint32_t>(left);
      pushBack(fresh);
    } else {
      releaseSlice(fresh);
    }
  }
  return rc;
}

int64_t OwnedImpl::writeToFd(int fd) {
  if (length_ == 0) {
    return 0;
  }
  iovec iov[kMaxIovecs];
  int n = 0;
  for (size_t i = head_; i < slices_.size() && n < kMaxIovecs; ++i, ++n) {
    Slice* s = slices_[i];
    iov[n].iov_base = s->data() + s->begin;
    iov[n].iov_len = s->size();
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = n;
  const ssize_t rc = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  if (rc > 0) {
    drain(rc);
  }
  return rc;
}

}  // namespace Skiff::Buffer
