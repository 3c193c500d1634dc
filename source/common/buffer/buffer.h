#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace Skiff::Buffer {

// A contiguous piece of a buffer's memory.
struct RawSlice {
  void* mem = nullptr;
  uint64_t len = 0;
};

/**
 * A byte queue made of chained slices. Moving data between buffers relinks slices instead of
 * copying bytes, so a proxy forwards data from a socket into another socket's write buffer without
 * a memcpy. Not thread-safe: a buffer belongs to one connection on one worker.
 */
class Instance {
 public:
  virtual ~Instance() = default;

  virtual void add(const void* data, uint64_t size) = 0;
  virtual void add(absl::string_view data) = 0;
  // Moves all of `other` to the end of this buffer; `other` is left empty.
  virtual void move(Instance& other) = 0;
  // Moves at most `length` bytes from the front of `other`.
  virtual void move(Instance& other, uint64_t length) = 0;
  virtual void drain(uint64_t size) = 0;
  virtual uint64_t length() const = 0;
  // Copies the whole content out; for tests and small control messages, not the data path.
  virtual std::string toString() const = 0;

  // The first contiguous slice (empty when the buffer is), for parsers that read in place. Valid
  // until the buffer is next changed.
  virtual RawSlice frontSlice() const = 0;
  // Fills `out` with up to `max` slices from the front; returns how many it filled. Valid until
  // the buffer is next changed.
  virtual uint64_t getRawSlices(RawSlice* out, uint64_t max) const = 0;

  // Contiguous free space of at least `size` bytes at the end of the buffer, to serialize into
  // without intermediate copies. Call commit() with the bytes actually written (at most `size`)
  // before any other change to the buffer; until then the bytes are not part of the buffer.
  virtual char* reserveContiguous(uint64_t size) = 0;
  virtual void commit(uint64_t length) = 0;

  // Reads from a non-blocking socket straight into the buffer's free space, at most `max_length`
  // bytes. Returns bytes read, 0 on EOF, or -1 with errno set (EAGAIN when drained).
  virtual int64_t readFromFd(int fd, uint64_t max_length) = 0;
  // Writes as much as the socket takes with one sendmsg over the buffer's slices and drains what
  // was written. Returns bytes written or -1 with errno set. Never raises SIGPIPE.
  virtual int64_t writeToFd(int fd) = 0;
};

using InstancePtr = std::unique_ptr<Instance>;

}  // namespace Skiff::Buffer
