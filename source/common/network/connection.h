#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "source/common/buffer/buffer.h"
#include "source/common/event/deferred_deletable.h"
#include "source/common/event/dispatcher.h"
#include "source/common/network/address.h"

namespace Skiff::Network {

enum class ConnectionEvent {
  RemoteClose,  // The peer closed or reset, or a socket error ended the connection.
  LocalClose,   // We closed it (including a failed or timed-out outbound connect).
  Connected,    // An outbound connection finished connecting.
};

enum class ConnectionCloseType {
  FlushWrite,  // Stop reading, send what is buffered, then close.
  NoFlush,     // Close now; buffered data is discarded.
  // Send what is buffered, send FIN, then keep reading (and discarding) until the peer closes or
  // the delayed-close timeout passes. Closing a socket with unread input makes the kernel send a
  // RST, and a RST can destroy the response the peer has not read yet (a 400 answering a request
  // whose body is still arriving); lingering like this lets the response reach the peer.
  FlushWriteAndDelay,
};

/**
 * Told about a connection's life and its write-buffer pressure. Runs on the connection's
 * dispatcher thread.
 */
class ConnectionCallbacks {
 public:
  virtual ~ConnectionCallbacks() = default;
  virtual void onEvent(ConnectionEvent event) = 0;
  // The write buffer went over the high watermark: the data's producer should stop (typically by
  // readDisable(true) on the connection it reads from) until onBelowWriteBufferLowWatermark.
  virtual void onAboveWriteBufferHighWatermark() {}
  virtual void onBelowWriteBufferLowWatermark() {}
};

class ReadFilter;
using ReadFilterSharedPtr = std::shared_ptr<ReadFilter>;

/**
 * A TCP connection owned by one worker's dispatcher. Every method must be called on that
 * dispatcher's thread. The owner destroys a closed connection through deferredDelete().
 */
class Connection : public Event::DeferredDeletable {
 public:
  enum class State { Open, Closing, Closed };

  ~Connection() override = default;

  virtual uint64_t id() const = 0;
  virtual Event::Dispatcher& dispatcher() = 0;
  virtual State state() const = 0;
  virtual const Address::InstanceConstSharedPtr& remoteAddress() const = 0;
  virtual const Address::InstanceConstSharedPtr& localAddress() const = 0;
  // True when localAddress() is the destination the client connected to before an iptables
  // redirect (restored by the original_dst listener filter), not the proxy's own listen address.
  // An ORIGINAL_DST cluster connects only to such an address.
  virtual bool localAddressRestored() const { return false; }

  virtual void addConnectionCallbacks(ConnectionCallbacks& callbacks) = 0;
  virtual void removeConnectionCallbacks(ConnectionCallbacks& callbacks) = 0;
  virtual void addReadFilter(ReadFilterSharedPtr filter) = 0;
  // Calls onNewConnection() on the read filters; done once filters are installed.
  virtual void initializeReadFilters() = 0;
  // Tells the read filters that the connection should end at their next clean point
  // (ReadFilter::onDrainStart). Idempotent per filter is the filter's business.
  virtual void startDrain() {}

  // Queues `data` (moved out of the argument) for writing. With end_stream, the write side is
  // shut down (TCP FIN) once everything queued has been sent.
  virtual void write(Buffer::Instance& data, bool end_stream) = 0;

  // Stops or resumes reading from the socket. Calls nest: reading resumes after as many
  // readDisable(false) calls as there were readDisable(true) calls.
  virtual void readDisable(bool disable) = 0;
  virtual bool readEnabled() const = 0;

  // With half-close enabled, a FIN from the peer is delivered to the filters as end_stream and
  // the connection stays open for writing until we end our side too.
  virtual void enableHalfClose(bool enabled) = 0;

  // Sets the per-connection buffer limit: reads pause when this many bytes are unread, and the
  // write buffer's high watermark is this value (low watermark is half of it).
  virtual void setBufferLimits(uint32_t limit) = 0;
  virtual bool aboveHighWatermark() const = 0;

  virtual void close(ConnectionCloseType type) = 0;
  // How long FlushWriteAndDelay waits: for write progress while flushing, then for the peer's FIN.
  // Zero closes as soon as the write buffer is flushed (like FlushWrite).
  virtual void setDelayedCloseTimeout(std::chrono::milliseconds timeout) = 0;

  // Why the connection failed, for logs and stats ("connection refused", "connect timeout").
  virtual const std::string& transportFailureReason() const = 0;

  // Bytes moved so far, for access logs and stats.
  virtual uint64_t bytesReceived() const = 0;
  virtual uint64_t bytesSent() const = 0;
};

using ConnectionPtr = std::unique_ptr<Connection>;

/**
 * An outbound connection. connect() starts the non-blocking connect; Connected or a close event
 * follows on the dispatcher.
 */
class ClientConnection : public virtual Connection {
 public:
  virtual void connect() = 0;
  // True when the connection was closed because the connect timeout expired.
  virtual bool connectTimedOut() const = 0;
};

using ClientConnectionPtr = std::unique_ptr<ClientConnection>;

}  // namespace Skiff::Network
