#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "source/common/network/address.h"

namespace Skiff::Network {

/**
 * Owns one socket file descriptor and closes it on destruction. Move-only. Used by exactly one
 * thread at a time (a listen socket is created on main, then handed to one worker).
 */
class IoHandle {
 public:
  explicit IoHandle(int fd) : fd_(fd) {}
  ~IoHandle();
  IoHandle(const IoHandle&) = delete;
  IoHandle& operator=(const IoHandle&) = delete;

  int fd() const { return fd_; }
  bool isOpen() const { return fd_ >= 0; }
  void close();

 private:
  int fd_;
};

using IoHandlePtr = std::unique_ptr<IoHandle>;

// Creates a non-blocking listening TCP socket bound to `address`. With `reuse_port`, several
// sockets may bind the same address and the kernel spreads new connections across them, so each
// worker gets its own accept queue.
absl::StatusOr<IoHandlePtr> createListenSocket(const Address::Instance& address, bool reuse_port,
                                               int backlog);

// Creates a non-blocking TCP socket of `address`'s family (for an outbound connection).
absl::StatusOr<IoHandlePtr> createClientSocket(const Address::Instance& address);

Address::InstanceConstSharedPtr localAddress(int fd);
Address::InstanceConstSharedPtr peerAddress(int fd);

// The destination an accepted connection had before an iptables REDIRECT (or TPROXY) changed it:
// getsockopt(SOL_IP, SO_ORIGINAL_DST) for IPv4, (SOL_IPV6, IP6T_SO_ORIGINAL_DST) for IPv6. The
// kernel answers from conntrack; nullptr if it has no entry (the connection was not NATed, or
// conntrack is not loaded). For a tracked connection that was not redirected it returns the
// socket's own local address.
Address::InstanceConstSharedPtr originalDestination(int fd);

}  // namespace Skiff::Network
