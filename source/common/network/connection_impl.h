#pragma once

#include <chrono>
#include <vector>

#include "source/common/buffer/buffer_impl.h"
#include "source/common/network/connection.h"
#include "source/common/network/filter.h"
#include "source/common/network/io_handle.h"

namespace Skiff::Network {

/**
 * A non-blocking TCP connection driven by one edge-triggered file event on its dispatcher.
 *
 * Memory is bounded by the buffer limit in both directions: reading stops while the read buffer
 * holds `limit` unconsumed bytes, and the write buffer's watermarks tell the producer (through
 * ConnectionCallbacks) to pause and resume. Thread: the dispatcher's, for everything.
 */
class ConnectionImpl : public virtual Connection, protected ReadFilterCallbacks {
 public:
  ConnectionImpl(Event::Dispatcher& dispatcher, IoHandlePtr&& socket,
                 Address::InstanceConstSharedPtr remote, Address::InstanceConstSharedPtr local,
                 bool connected, bool local_address_restored = false);
  ~ConnectionImpl() override;

  // Connection
  uint64_t id() const override { return id_; }
  Event::Dispatcher& dispatcher() override { return dispatcher_; }
  State state() const override { return state_; }
  const Address::InstanceConstSharedPtr& remoteAddress() const override { return remote_; }
  const Address::InstanceConstSharedPtr& localAddress() const override { return local_; }
  bool localAddressRestored() const override { return local_address_restored_; }
  void addConnectionCallbacks(ConnectionCallbacks& callbacks) override;
  void removeConnectionCallbacks(ConnectionCallbacks& callbacks) override;
  void addReadFilter(ReadFilterSharedPtr filter) override;
  void initializeReadFilters() override;
  void startDrain() override;
  void write(Buffer::Instance& data, bool end_stream) override;
  void readDisable(bool disable) override;
  bool readEnabled() const override { return read_disable_count_ == 0; }
  void enableHalfClose(bool enabled) override { half_close_enabled_ = enabled; }
  void setBufferLimits(uint32_t limit) override { buffer_limit_ = limit; }
  bool aboveHighWatermark() const override { return above_high_watermark_; }
  void close(ConnectionCloseType type) override;
  void setDelayedCloseTimeout(std::chrono::milliseconds timeout) override {
    delayed_close_timeout_ = timeout;
  }
  const std::string& transportFailureReason() const override { return failure_reason_; }
  uint64_t bytesReceived() const override { return bytes_received_; }
  uint64_t bytesSent() const override { return bytes_sent_; }

 protected:
  // ReadFilterCallbacks
  Connection& connection() override { return *this; }

  void onFileEvent(uint32_t events);
  void onReadReady();
  void onWriteReady();
  void onConnected();
  void closeSocket(ConnectionEvent event);
  void raiseEvent(ConnectionEvent event);
  void dispatchRead();
  void checkHighWatermark();
  void checkLowWatermark();
  // FlushWriteAndDelay after the flush: discards input until the peer's FIN or an error.
  void drainInputWhileLingering();
  void armDelayedCloseTimer();

  const uint64_t id_;
  Event::Dispatcher& dispatcher_;
  IoHandlePtr socket_;
  Address::InstanceConstSharedPtr remote_;
  Address::InstanceConstSharedPtr local_;
  Event::FileEventPtr file_event_;
  Buffer::OwnedImpl read_buffer_;
  Buffer::OwnedImpl write_buffer_;
  std::vector<ConnectionCallbacks*> callbacks_;
  std::vector<ReadFilterSharedPtr> read_filters_;
  std::string failure_reason_;
  uint64_t bytes_received_{0};
  uint64_t bytes_sent_{0};
  uint32_t buffer_limit_{0};       // 0: unlimited.
  uint64_t read_size_{16 * 1024};  // Adapts between 16 and 128 KiB to how much each read finds.
  uint32_t read_disable_count_{0};
  State state_{State::Open};
  bool connecting_{false};
  bool half_close_enabled_{false};
  bool read_end_stream_{false};      // Peer sent FIN.
  bool write_end_stream_{false};     // We were asked to send FIN after the buffered data.
  bool write_shutdown_done_{false};  // FIN sent.
  bool close_after_flush_{false};
  bool delayed_close_{false};  // close(FlushWriteAndDelay) was called.
  bool lingering_{false};      // Flushed and FIN sent; waiting for the peer's FIN.
  std::chrono::milliseconds delayed_close_timeout_{1000};
  Event::TimerPtr delayed_close_timer_;
  bool above_high_watermark_{false};
  bool dispatching_read_{false};
  const bool local_address_restored_;
};

// How an outbound socket is bound before it connects (a cluster's upstream_bind_config).
struct BindOptions {
  // Source address (port 0: the kernel picks the port at connect time). nullptr: no bind.
  Address::InstanceConstSharedPtr source_address;
  // IP_FREEBIND: the source address need not be configured on the host.
  bool freebind{false};
};

/**
 * An outbound connection with a connect timeout. Thread: the dispatcher's.
 */
class ClientConnectionImpl : public ConnectionImpl, public ClientConnection {
 public:
  ClientConnectionImpl(Event::Dispatcher& dispatcher, IoHandlePtr&& socket,
                       Address::InstanceConstSharedPtr remote,
                       std::chrono::milliseconds connect_timeout, BindOptions bind = {});

  void connect() override;
  bool connectTimedOut() const override { return connect_timed_out_; }

 private:
  // Binds the socket to bind_.source_address; false (with failure_reason_ set) if it cannot.
  bool bindSource();
  void failSoon();

  const std::chrono::milliseconds connect_timeout_;
  const BindOptions bind_;
  Event::TimerPtr connect_timer_;
  bool connect_timed_out_{false};
};

// Any thread: connections of either direction open in this process (a socket not yet closed).
// Shutdown waits for this to reach zero, so upstream connections still flushing data after their
// downstream went away are waited for too.
uint64_t openConnectionCount();

// Creates an outbound connection to `remote`; call connect() after installing callbacks. On
// socket() failure (descriptor exhaustion) the returned connection is already closed and
// connect() reports it as a RemoteClose event.
ClientConnectionPtr createClientConnection(Event::Dispatcher& dispatcher,
                                           Address::InstanceConstSharedPtr remote,
                                           std::chrono::milliseconds connect_timeout,
                                           BindOptions bind = {});

}  // namespace Skiff::Network
