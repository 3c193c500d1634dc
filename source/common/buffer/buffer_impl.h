#pragma once

#include "source/common/buffer/buffer.h"
#include "source/common/event/libevent.h"

namespace Skiff::Buffer {

// Buffer::Instance over libevent's evbuffer (a chain of slices), without libevent's locking.
class OwnedImpl : public Instance {
 public:
  OwnedImpl();
  explicit OwnedImpl(absl::string_view data);

  void add(const void* data, uint64_t size) override;
  void add(absl::string_view data) override;
  void move(Instance& other) override;
  void move(Instance& other, uint64_t length) override;
  void drain(uint64_t size) override;
  uint64_t length() const override;
  std::string toString() const override;
  RawSlice frontSlice() const override;
  uint64_t getRawSlices(RawSlice* out, uint64_t max) const override;
  char* reserveContiguous(uint64_t size) override;
  void commit(uint64_t length) override;
  int64_t readFromFd(int fd, uint64_t max_length) override;
  int64_t writeToFd(int fd) override;

 private:
  Event::Libevent::BufferPtr buffer_;
  evbuffer_iovec reservation_{};  // Between reserveContiguous() and commit().
};

}  // namespace Skiff::Buffer
