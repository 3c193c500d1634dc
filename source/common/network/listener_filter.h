#pragma once

#include <functional>
#include <utility>

#include "source/common/network/address.h"
#include "source/common/network/io_handle.h"

namespace Skiff::Network {

/**
 * A socket just accepted, before a connection is made of it: what listener filters look at and
 * may change (Envoy's ListenerFilterCallbacks / ConnectionSocket). Owns the socket until the
 * connection takes it. Used on the accepting worker's thread only.
 */
class AcceptedSocket {
 public:
  AcceptedSocket(IoHandlePtr&& io, Address::InstanceConstSharedPtr local,
                 Address::InstanceConstSharedPtr remote)
      : io_(std::move(io)), local_(std::move(local)), remote_(std::move(remote)) {}

  int fd() const { return io_->fd(); }
  const Address::InstanceConstSharedPtr& localAddress() const { return local_; }
  const Address::InstanceConstSharedPtr& remoteAddress() const { return remote_; }

  // Replaces the local address with the one the client originally connected to (before an
  // iptables redirect). Hand-off to another listener and ORIGINAL_DST clusters key on it.
  void restoreLocalAddress(Address::InstanceConstSharedPtr original) {
    local_ = std::move(original);
    restored_ = true;
  }
  bool localAddressRestored() const { return restored_; }

  IoHandlePtr releaseIoHandle() { return std::move(io_); }

 private:
  IoHandlePtr io_;
  Address::InstanceConstSharedPtr local_;
  Address::InstanceConstSharedPtr remote_;
  bool restored_{false};
};

// A listener filter (Envoy's Network::ListenerFilter): runs on every accepted socket, in the
// listener's order, before the filter chain is chosen. Built on main from config; it captures only
// immutable state and runs on workers, so it must be safe to call from several threads at once.
// Synchronous: skiff's listener filters do not wait for data (an inspector that peeks at the first
// bytes, like tls_inspector, will need an asynchronous form).
using ListenerFilterCb = std::function<void(AcceptedSocket& socket)>;

}  // namespace Skiff::Network
