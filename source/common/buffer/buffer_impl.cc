#include "source/common/buffer/buffer_impl.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

#include "source/common/common/assert.h"

namespace Skiff::Buffer {
namespace {

// Largest number of slices handed to one readv/sendmsg. Enough for 1 MiB of 16 KiB slices.
constexpr int kMaxIovecs = 64;

}  // namespace

OwnedImpl::OwnedImpl() : buffer_(evbuffer_new()) { RELEASE_ASSERT(buffer_ != nullptr, "oom"); }

OwnedImpl::OwnedImpl(absl::string_view data) : OwnedImpl() { add(data); }

void OwnedImpl::add(const void* data, uint64_t size) { evbuffer_add(buffer_.get(), data, size); }

void OwnedImpl::add(absl::string_view data) { add(data.data(), data.size()); }

void OwnedImpl::move(Instance& other) {
  // Every Instance in skiff is an OwnedImpl; relinking the chain avoids copying.
  evbuffer_add_buffer(buffer_.get(), static_cast<OwnedImpl&>(other).buffer_.get());
}

void OwnedImpl::move(Instance& other, uint64_t length) {
  evbuffer_remove_buffer(static_cast<OwnedImpl&>(other).buffer_.get(), buffer_.get(), length);
}

void OwnedImpl::drain(uint64_t size) { evbuffer_drain(buffer_.get(), size); }

uint64_t OwnedImpl::length() const { return evbuffer_get_length(buffer_.get()); }

std::string OwnedImpl::toString() const {
  std::string out(length(), '\0');
  evbuffer_copyout(buffer_.get(), out.data(), out.size());
  return out;
}

RawSlice OwnedImpl::frontSlice() const {
  evbuffer_iovec vec;
  if (evbuffer_peek(buffer_.get(), -1, nullptr, &vec, 1) <= 0) {
    return {};
  }
  return {vec.iov_base, vec.iov_len};
}

uint64_t OwnedImpl::getRawSlices(RawSlice* out, uint64_t max) const {
  evbuffer_iovec vec[kMaxIovecs];
  const int n = evbuffer_peek(buffer_.get(), -1, nullptr, vec,
                              static_cast<int>(std::min<uint64_t>(max, kMaxIovecs)));
  const uint64_t filled = std::min<uint64_t>(std::max(n, 0), std::min<uint64_t>(max, kMaxIovecs));
  for (uint64_t i = 0; i < filled; ++i) {
    out[i] = {vec[i].iov_base, vec[i].iov_len};
  }
  return filled;
}

char* OwnedImpl::reserveContiguous(uint64_t size) {
  // One iovec: libevent then guarantees a single extent of at least `size` bytes.
  const int n = evbuffer_reserve_space(buffer_.get(), size, &reservation_, 1);
  RELEASE_ASSERT(n == 1, "oom");
  return static_cast<char*>(reservation_.iov_base);
}

void OwnedImpl::commit(uint64_t length) {
  ASSERT(length <= reservation_.iov_len);
  reservation_.iov_len = length;
  evbuffer_commit_space(buffer_.get(), &reservation_, 1);
  reservation_ = {};
}

int64_t OwnedImpl::readFromFd(int fd, uint64_t max_length) {
  // Reserve free space (possibly in two slices) and read into it directly: no ioctl(FIONREAD)
  // per read, unlike evbuffer_read().
  evbuffer_iovec vec[2];
  int n = evbuffer_reserve_space(buffer_.get(), max_length, vec, 2);
  if (n <= 0) {
    errno = ENOMEM;
    return -1;
  }
  // The reservation may be larger than asked for; never read more than max_length.
  iovec iov[2];
  uint64_t want = max_length;
  for (int i = 0; i < n; ++i) {
    iov[i].iov_base = vec[i].iov_base;
    iov[i].iov_len = std::min<uint64_t>(vec[i].iov_len, want);
    want -= iov[i].iov_len;
  }
  ssize_t rc = ::readv(fd, iov, n);
  if (rc <= 0) {
    int saved = errno;
    evbuffer_commit_space(buffer_.get(), vec, 0);
    errno = saved;
    return rc;
  }
  size_t left = rc;
  for (int i = 0; i < n; ++i) {
    vec[i].iov_len = std::min(left, vec[i].iov_len);
    left -= vec[i].iov_len;
  }
  evbuffer_commit_space(buffer_.get(), vec, n);
  return rc;
}

int64_t OwnedImpl::writeToFd(int fd) {
  evbuffer_iovec vec[kMaxIovecs];
  int n = evbuffer_peek(buffer_.get(), -1, nullptr, vec, kMaxIovecs);
  if (n <= 0) {
    return 0;
  }
  n = std::min(n, kMaxIovecs);
  iovec iov[kMaxIovecs];
  for (int i = 0; i < n; ++i) {
    iov[i].iov_base = vec[i].iov_base;
    iov[i].iov_len = vec[i].iov_len;
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = n;
  ssize_t rc = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  if (rc > 0) {
    evbuffer_drain(buffer_.get(), rc);
  }
  return rc;
}

}  // namespace Skiff::Buffer
