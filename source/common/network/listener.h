#pragma once

#include <memory>

#include "source/common/network/address.h"
#include "source/common/network/io_handle.h"

namespace Skiff::Network {

/**
 * Told about each accepted socket. Runs on the listener's dispatcher thread.
 */
class ListenerCallbacks {
 public:
  virtual ~ListenerCallbacks() = default;
  virtual void onAccept(IoHandlePtr&& socket, Address::InstanceConstSharedPtr remote) = 0;
  // accept() failed for lack of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM): the listener pauses
  // and retries after a back-off; this is for stats.
  virtual void onAcceptResourceFailure(int error) {}
};

/**
 * Accepts connections from a listen socket on one dispatcher. Does not own the listen socket
 * (the listener manager keeps it so a config change can reuse it). Used on its dispatcher's
 * thread only; destroying it stops accepting.
 */
class Listener {
 public:
  virtual ~Listener() = default;
  virtual void enable() = 0;
  virtual void disable() = 0;
};

using ListenerPtr = std::unique_ptr<Listener>;

}  // namespace Skiff::Network
