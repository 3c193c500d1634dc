#include "source/common/network/connection_impl.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "source/common/common/assert.h"
#include "source/common/common/logger.h"
#include "source/common/event/event_time.h"

namespace Skiff::Network {
namespace {

// Reads start small and double while they come back full, up to the largest size: a bulk
// transfer takes few syscalls, while a chatty connection does not allocate (and fault in) a big
// buffer for every few bytes it reads.
constexpr uint64_t kMinReadSize = 16 * 1024;
constexpr uint64_t kMaxReadSize = 128 * 1024;
// Without a buffer limit, one wake-up reads at most this much before the filters run.
constexpr uint64_t kMaxReadPerWakeup = 1024 * 1024;

std::atomic<uint64_t> g_next_connection_id{1};
std::atomic<uint64_t> g_open_connections{0};

}  // namespace

ConnectionImpl::ConnectionImpl(Event::Dispatcher& dispatcher, IoHandlePtr&& socket,
                               Address::InstanceConstSharedPtr remote,
                               Address::InstanceConstSharedPtr local, bool connected,
                               bool local_address_restored)
    : id_(g_next_connection_id.fetch_add(1, std::memory_order_relaxed)),
      dispatcher_(dispatcher),
      socket_(std::move(socket)),
      remote_(std::move(remote)),
      local_(std::move(local)),
      connecting_(!connected),
      local_address_restored_(local_address_restored) {
  if (socket_->isOpen()) {
    g_open_connections.fetch_add(1, std::memory_order_relaxed);
    int one = 1;
    // A proxy forwards whatever it has at once; Nagle would add up to 40 ms to small messages.
    setsockopt(socket_->fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    file_event_ = dispatcher_.createFileEvent(
        socket_->fd(), [this](uint32_t events) { onFileEvent(events); },
        Event::FileTriggerType::Edge,
        Event::FileReadyType::Read | Event::FileReadyType::Write | Event::FileReadyType::Closed);
  }
}

ConnectionImpl::~ConnectionImpl() {
  ASSERT(state_ == State::Closed || !socket_->isOpen());
  file_event_.reset();
  delayed_close_timer_.reset();
  lingering_ = false;
  if (socket_->isOpen()) {
    g_open_connections.fetch_sub(1, std::memory_order_relaxed);
  }
}

uint64_t openConnectionCount() { return g_open_connections.load(std::memory_order_relaxed); }

void ConnectionImpl::addConnectionCallbacks(ConnectionCallbacks& callbacks) {
  callbacks_.push_back(&callbacks);
}

void ConnectionImpl::removeConnectionCallbacks(ConnectionCallbacks& callbacks) {
  // Null out rather than erase: this may run from inside raiseEvent()'s loop.
  std::replace(callbacks_.begin(), callbacks_.end(), &callbacks,
               static_cast<ConnectionCallbacks*>(nullptr));
}

void ConnectionImpl::addReadFilter(ReadFilterSharedPtr filter) {
  filter->initializeReadFilterCallbacks(*this);
  read_filters_.push_back(std::move(filter));
}

void ConnectionImpl::startDrain() {
  // A filter may close the connection from its callback; iterate over a copy of the pointers.
  std::vector<ReadFilterSharedPtr> filters = read_filters_;
  for (auto& filter : filters) {
    if (state() != State::Open) {
      return;
    }
    filter->onDrainStart();
  }
}

void ConnectionImpl::initializeReadFilters() {
  for (auto& filter : read_filters_) {
    if (state_ != State::Open || filter->onNewConnection() == FilterStatus::StopIteration) {
      return;
    }
  }
}

void ConnectionImpl::onFileEvent(uint32_t events) {
  if (state_ == State::Closed) {
    return;
  }
  // Everything this event sets off (filters, codecs, streams, pools) shares one clock read.
  Event::EventTime::Scope event_time;
  if (events & Event::FileReadyType::Write) {
    onWriteReady();
  }
  if (state_ != State::Closed &&
      (events & (Event::FileReadyType::Read | Event::FileReadyType::Closed))) {
    onReadReady();
  }
}

void ConnectionImpl::onReadReady() {
  if (lingering_) {
    drainInputWhileLingering();
    return;
  }
  if (connecting_ || read_disable_count_ > 0 || state_ != State::Open) {
    return;
  }
  if (read_end_stream_) {
    // The peer already sent FIN, so there is nothing more to read; but a reader that paused
    // with data left in the buffer (an HTTP/1 codec holding back a pipelined request) gets that
    // data, and the end of stream, again once it resumes.
    if (read_buffer_.length() > 0) {
      dispatchRead();
    }
    return;
  }
  bool hit_limit = false;
  uint64_t read_this_pass = 0;
  while (true) {
    uint64_t room = read_size_;
    if (buffer_limit_ > 0) {
      if (read_buffer_.length() >= buffer_limit_) {
        hit_limit = true;
        break;
      }
      room = std::min<uint64_t>(room, buffer_limit_ - read_buffer_.length());
    } else if (read_this_pass >= kMaxReadPerWakeup) {
      // No limit configured: still hand over what was read and yield to other connections.
      hit_limit = true;
      break;
    }
    int64_t rc = read_buffer_.readFromFd(socket_->fd(), room);
    if (rc > 0) {
      if (static_cast<uint64_t>(rc) == read_size_) {
        read_size_ = std::min(read_size_ * 2, kMaxReadSize);
      } else if (static_cast<uint64_t>(rc) < read_size_ / 4) {
        read_size_ = std::max(read_size_ / 2, kMinReadSize);
      }
      // Keep reading until EAGAIN even after a short read: a FIN or a reset that arrived with
      // the data raises no further edge, and libevent reports a reset (EPOLLHUP|EPOLLERR) as
      // plain read+write readiness, so the next read() is the only way to see it.
      bytes_received_ += rc;
      read_this_pass += rc;
      continue;
    }
    if (rc == 0) {
      read_end_stream_ = true;
      break;
    }
    if (errno == EAGAIN || errno == EINTR) {
      break;
    }
    failure_reason_ = strerror(errno);
    closeSocket(ConnectionEvent::RemoteClose);
    return;
  }

  if (read_buffer_.length() > 0 || read_end_stream_) {
    dispatchRead();
  }
  if (state_ == State::Closed) {
    return;
  }
  if (read_end_stream_) {
    if (!half_close_enabled_) {
      closeSocket(ConnectionEvent::RemoteClose);
    } else if (write_shutdown_done_) {
      closeSocket(ConnectionEvent::RemoteClose);
    }
    return;
  }
  if (hit_limit && read_disable_count_ == 0 &&
      (buffer_limit_ == 0 || read_buffer_.length() < buffer_limit_)) {
    // The filters made room; continue on the next loop pass so other connections get a turn.
    file_event_->activate(Event::FileReadyType::Read);
  }
}

void ConnectionImpl::dispatchRead() {
  if (dispatching_read_) {
    return;
  }
  dispatching_read_ = true;
  for (auto& filter : read_filters_) {
    if (filter->onData(read_buffer_, read_end_stream_) == FilterStatus::StopIteration ||
        state_ == State::Closed) {
      break;
    }
  }
  dispatching_read_ = false;
}

void ConnectionImpl::write(Buffer::Instance& data, bool end_stream) {
  if (state_ == State::Closed || write_end_stream_) {
    // Writing after close or after FIN is a caller bug; dropping keeps memory bounded.
    data.drain(data.length());
    return;
  }
  write_buffer_.move(data);
  if (end_stream) {
    write_end_stream_ = true;
  }
  checkHighWatermark();
  if (!connecting_ && file_event_ != nullptr) {
    // Flush later in this loop iteration so several writes coalesce into one sendmsg.
    file_event_->activate(Event::FileReadyType::Write);
  }
}

void ConnectionImpl::onWriteReady() {
  if (connecting_) {
    int error = 0;
    socklen_t len = sizeof(error);
    getsockopt(socket_->fd(), SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) {
      failure_reason_ = strerror(error);
      closeSocket(ConnectionEvent::RemoteClose);
      return;
    }
    onConnected();
    if (state_ == State::Closed) {
      return;
    }
  }
  // Write until the buffer is empty or the kernel pushes back. In the common case (a small
  // response) the first sendmsg takes everything and there is no second call.
  while (write_buffer_.length() > 0) {
    int64_t rc = write_buffer_.writeToFd(socket_->fd());
    if (rc < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        break;
      }
      failure_reason_ = strerror(errno);
      closeSocket(ConnectionEvent::RemoteClose);
      return;
    }
    bytes_sent_ += rc;
    if (delayed_close_timer_ != nullptr) {
      // The peer is taking the data: give it the full timeout again.
      armDelayedCloseTimer();
    }
  }
  checkLowWatermark();
  if (state_ == State::Closed || write_buffer_.length() > 0) {
    return;
  }
  if (write_end_stream_ && !write_shutdown_done_) {
    ::shutdown(socket_->fd(), SHUT_WR);
    write_shutdown_done_ = true;
    if (read_end_stream_ && !close_after_flush_) {
      closeSocket(ConnectionEvent::LocalClose);
      return;
    }
  }
  if (close_after_flush_) {
    if (delayed_close_ && !read_end_stream_ && delayed_close_timeout_.count() > 0) {
      if (!write_shutdown_done_) {
        ::shutdown(socket_->fd(), SHUT_WR);
        write_shutdown_done_ = true;
      }
      lingering_ = true;
      armDelayedCloseTimer();
      drainInputWhileLingering();
      return;
    }
    closeSocket(ConnectionEvent::LocalClose);
  }
}

void ConnectionImpl::armDelayedCloseTimer() {
  if (delayed_close_timer_ == nullptr) {
    delayed_close_timer_ =
        dispatcher_.createTimer([this] { closeSocket(ConnectionEvent::LocalClose); });
  }
  delayed_close_timer_->enableTimer(delayed_close_timeout_);
}

void ConnectionImpl::drainInputWhileLingering() {
  Buffer::OwnedImpl discard;
  while (state_ != State::Closed) {
    const int64_t rc = discard.readFromFd(socket_->fd(), 64 * 1024);
    if (rc > 0) {
      bytes_received_ += rc;
      discard.drain(discard.length());
      continue;
    }
    if (rc < 0 && (errno == EAGAIN || errno == EINTR)) {
      return;
    }
    // FIN (nothing more will come, so closing cannot provoke a RST) or an error.
    closeSocket(ConnectionEvent::LocalClose);
  }
}

void ConnectionImpl::onConnected() {
  connecting_ = false;
  local_ = Network::localAddress(socket_->fd());
  raiseEvent(ConnectionEvent::Connected);
  // Data may have arrived together with the connect completing.
  if (state_ == State::Open && file_event_ != nullptr) {
    file_event_->activate(Event::FileReadyType::Read);
  }
}

void ConnectionImpl::readDisable(bool disable) {
  if (state_ == State::Closed) {
    return;
  }
  if (disable) {
    ++read_disable_count_;
    return;
  }
  ASSERT(read_disable_count_ > 0);
  if (read_disable_count_ == 0) {
    return;
  }
  if (--read_disable_count_ == 0 && file_event_ != nullptr && !connecting_) {
    // Edge triggering will not report data that arrived while reading was off; look now.
    file_event_->activate(Event::FileReadyType::Read);
  }
}

void ConnectionImpl::checkHighWatermark() {
  if (buffer_limit_ == 0 || above_high_watermark_ || write_buffer_.length() <= buffer_limit_) {
    return;
  }
  above_high_watermark_ = true;
  for (size_t i = 0; i < callbacks_.size(); ++i) {
    if (callbacks_[i] != nullptr) {
      callbacks_[i]->onAboveWriteBufferHighWatermark();
    }
  }
}

void ConnectionImpl::checkLowWatermark() {
  if (!above_high_watermark_ || write_buffer_.length() >= buffer_limit_ / 2) {
    return;
  }
  above_high_watermark_ = false;
  for (size_t i = 0; i < callbacks_.size(); ++i) {
    if (callbacks_[i] != nullptr) {
      callbacks_[i]->onBelowWriteBufferLowWatermark();
    }
  }
}

void ConnectionImpl::close(ConnectionCloseType type) {
  if (state_ == State::Closed) {
    return;
  }
  const bool linger = type == ConnectionCloseType::FlushWriteAndDelay &&
                      delayed_close_timeout_.count() > 0 && !read_end_stream_;
  if (type == ConnectionCloseType::NoFlush || (write_buffer_.length() == 0 && !linger) ||
      connecting_ || file_event_ == nullptr) {
    closeSocket(ConnectionEvent::LocalClose);
    return;
  }
  state_ = State::Closing;
  close_after_flush_ = true;
  delayed_close_ = type == ConnectionCloseType::FlushWriteAndDelay;
  if (delayed_close_ && delayed_close_timeout_.count() > 0) {
    // A peer that stops reading must not keep the connection forever.
    armDelayedCloseTimer();
  }
  file_event_->activate(Event::FileReadyType::Write);
}

void ConnectionImpl::closeSocket(ConnectionEvent event) {
  if (state_ == State::Closed) {
    return;
  }
  file_event_.reset();
  delayed_close_timer_.reset();
  lingering_ = false;
  if (socket_->isOpen()) {
    g_open_connections.fetch_sub(1, std::memory_order_relaxed);
  }
  socket_->close();
  state_ = State::Closed;
  write_buffer_.drain(write_buffer_.length());
  raiseEvent(event);
}

void ConnectionImpl::raiseEvent(ConnectionEvent event) {
  // Index loop: callbacks may add or null out entries while we iterate.
  for (size_t i = 0; i < callbacks_.size(); ++i) {
    if (callbacks_[i] != nullptr) {
      callbacks_[i]->onEvent(event);
    }
  }
}

ClientConnectionImpl::ClientConnectionImpl(Event::Dispatcher& dispatcher, IoHandlePtr&& socket,
                                           Address::InstanceConstSharedPtr remote,
                                           std::chrono::milliseconds connect_timeout,
                                           BindOptions bind)
    : ConnectionImpl(dispatcher, std::move(socket), std::move(remote), nullptr, false),
      connect_timeout_(connect_timeout),
      bind_(std::move(bind)) {}

void ClientConnectionImpl::failSoon() {
  // Fail asynchronously so the caller never sees a callback before connect() returns. Until then
  // the socket must not report: a socket that never connected (bind failed) or whose connect()
  // failed at once polls writable with SO_ERROR 0, which would read as "connected".
  if (file_event_ != nullptr) {
    file_event_->setEnabled(0);
  }
  connect_timer_ = dispatcher_.createTimer([this] { closeSocket(ConnectionEvent::RemoteClose); });
  connect_timer_->enableTimer(std::chrono::milliseconds(0));
}

bool ClientConnectionImpl::bindSource() {
  const Address::Instance& source = *bind_.source_address;
  if (source.version() != remote_->version()) {
    // Connecting from no particular address would defeat the point of binding (an inbound
    // passthrough bound to 127.0.0.6 would be captured again), so this is an error.
    failure_reason_ =
        absl::StrCat("source address ", source.asString(), " is not of the upstream's IP family");
    return false;
  }
  const int fd = socket_->fd();
  int one = 1;
  if (source.port() == 0) {
    // Pick the port at connect() time (per 4-tuple), not at bind() time (per address): binding
    // many sockets to one source address must not exhaust the ephemeral ports.
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
  }
  if (bind_.freebind) {
    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
  }
  if (::bind(fd, source.sockAddr(), source.sockAddrLen()) != 0) {
    failure_reason_ =
        absl::StrCat("cannot bind source address ", source.asString(), ": ", strerror(errno));
    return false;
  }
  return true;
}

void ClientConnectionImpl::connect() {
  if (!socket_->isOpen()) {
    failure_reason_ = "cannot create socket (descriptor limit?)";
    // socket() failed at creation; report it on the next loop pass, not from inside connect().
    failSoon();
    return;
  }
  if (bind_.source_address != nullptr && !bindSource()) {
    failSoon();
    return;
  }
  int rc = ::connect(socket_->fd(), remote_->sockAddr(), remote_->sockAddrLen());
  if (rc != 0 && errno != EINPROGRESS) {
    failure_reason_ = strerror(errno);
    failSoon();
    return;
  }
  // Both the immediate and the in-progress case finish in onWriteReady(): the socket reports
  // writable once the handshake is done.
  if (connect_timeout_.count() > 0) {
    connect_timer_ = dispatcher_.createTimer([this] {
      if (connecting_) {
        connect_timed_out_ = true;
        failure_reason_ = "connect timeout";
        closeSocket(ConnectionEvent::LocalClose);
      }
    });
    connect_timer_->enableTimer(connect_timeout_);
  }
}

ClientConnectionPtr createClientConnection(Event::Dispatcher& dispatcher,
                                           Address::InstanceConstSharedPtr remote,
                                           std::chrono::milliseconds connect_timeout,
                                           BindOptions bind) {
  auto socket = createClientSocket(*remote);
  IoHandlePtr handle = socket.ok() ? std::move(*socket) : std::make_unique<IoHandle>(-1);
  auto connection = std::make_unique<ClientConnectionImpl>(
      dispatcher, std::move(handle), std::move(remote), connect_timeout, std::move(bind));
  return connection;
}

}  // namespace Skiff::Network
