#include "source/common/upstream/http_conn_pool_impl.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "source/common/common/assert.h"
#include "source/common/common/per_thread_pool.h"
#include "source/common/event/event_time.h"
#include "source/common/network/connection_impl.h"

namespace Skiff::Upstream {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t millisecondsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Event::EventTime::now() - start)
      .count();
}

// RFC 9110 9.2.2: a request the client may send again without asking whether it was processed.
bool idempotent(absl::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

}  // namespace

/**
 * One request, from newStream() until its response ended or it was reset. It stands between the
 * router and the codec stream of whatever connection carries it, so that a request can move to
 * another connection (the idle-close race) without the router noticing.
 */
class HttpConnPoolImpl::PoolStream : public Http::RequestEncoder,
                                     public Http::Stream,
                                     public Http::ResponseDecoder,
                                     public Http::StreamCallbacks,
                                     public Cancellable,
                                     public Event::DeferredDeletable,
                                     public PerThreadPooled<HttpConnPoolImpl::PoolStream> {
 public:
  PoolStream(HttpConnPoolImpl& pool, Http::ResponseDecoder& decoder,
             HttpConnPoolCallbacks& callbacks)
      : pool_(pool), decoder_(decoder), pool_callbacks_(callbacks) {}

  // Http::RequestEncoder
  Http::CodecStatus encodeHeaders(const Http::RequestHeaderMap& headers, bool end_stream) override {
    headers_ = &headers;
    headers_end_stream_ = end_stream;
    if (inner_ == nullptr) {
      return Http::CodecStatus::protocolError(500, "pool.stream_not_ready");
    }
    return inner_->encodeHeaders(headers, end_stream);
  }
  void encodeData(Buffer::Instance& data, bool end_stream) override {
    body_encoded_ = true;
    if (inner_ == nullptr) {
      data.drain(data.length());
      return;
    }
    inner_->encodeData(data, end_stream);
  }
  Http::Stream& getStream() override { return *this; }

  // Http::Stream
  void addCallbacks(Http::StreamCallbacks& callbacks) override { callbacks_.push_back(&callbacks); }
  void removeCallbacks(Http::StreamCallbacks& callbacks) override {
    std::replace(callbacks_.begin(), callbacks_.end(), &callbacks,
                 static_cast<Http::StreamCallbacks*>(nullptr));
  }
  void resetStream(Http::StreamResetReason reason) override {
    local_reset_ = true;
    if (inner_ != nullptr) {
      inner_->getStream().resetStream(reason);  // The codec calls onResetStream below.
    } else if (list_ != nullptr) {
      pool_.cancel(*this, reason);  // Waiting to be moved to a fresh connection.
    }
  }
  void readDisable(bool disable) override {
    if (inner_ != nullptr) {
      inner_->getStream().readDisable(disable);
    }
  }

  // Http::ResponseDecoder
  void decode1xxHeaders(Http::ResponseHeaderMapPtr&& headers) override {
    response_started_ = true;
    decoder_.decode1xxHeaders(std::move(headers));
  }
  void decodeHeaders(Http::ResponseHeaderMapPtr&& headers, bool end_stream) override {
    response_started_ = true;
    decoder_.decodeHeaders(std::move(headers), end_stream);
  }
  void decodeData(Buffer::Instance& data, bool end_stream) override {
    response_started_ = true;
    decoder_.decodeData(data, end_stream);
  }

  // Http::StreamCallbacks, registered on the codec's stream.
  void onResetStream(Http::StreamResetReason reason,
                     absl::string_view transport_failure_reason) override {
    pool_.onStreamReset(*this, reason, transport_failure_reason);
  }
  void onAboveWriteBufferHighWatermark() override {
    for (size_t i = 0; i < callbacks_.size(); ++i) {
      if (callbacks_[i] != nullptr) {
        callbacks_[i]->onAboveWriteBufferHighWatermark();
      }
    }
  }
  void onBelowWriteBufferLowWatermark() override {
    for (size_t i = 0; i < callbacks_.size(); ++i) {
      if (callbacks_[i] != nullptr) {
        callbacks_[i]->onBelowWriteBufferLowWatermark();
      }
    }
  }

  // Cancellable
  void cancel() override { pool_.cancel(*this, std::nullopt); }

  void runReset(Http::StreamResetReason reason, absl::string_view transport_failure_reason) {
    for (size_t i = 0; i < callbacks_.size(); ++i) {
      if (callbacks_[i] != nullptr) {
        Http::StreamCallbacks* callbacks = callbacks_[i];
        callbacks_[i] = nullptr;
        callbacks->onResetStream(reason, transport_failure_reason);
      }
    }
  }

  // Whether a reset may be hidden from the router by sending the request again on a fresh
  // connection: the connection had served requests before and closed before a byte of
  // response, and the whole request is its headers (so it can be replayed from them), which
  // either never reached the socket or are safe to repeat (idempotent method, RFC 9112 9.3.1).
  bool retryable(Http::StreamResetReason reason, uint64_t bytes_sent) const {
    if (local_reset_ || retried_ || !reused_ || response_started_ || body_encoded_ ||
        headers_ == nullptr || !headers_end_stream_) {
      return false;
    }
    if (reason != Http::StreamResetReason::RemoteReset &&
        reason != Http::StreamResetReason::ConnectionTermination) {
      return false;
    }
    return bytes_sent == bytes_sent_at_start_ || idempotent(headers_->method());
  }

  HttpConnPoolImpl& pool_;
  Http::ResponseDecoder& decoder_;
  HttpConnPoolCallbacks& pool_callbacks_;
  absl::InlinedVector<Http::StreamCallbacks*, 2> callbacks_;
  ActiveClient* client_{nullptr};
  Http::RequestEncoder* inner_{nullptr};
  // While waiting: the list holding it and where.
  StreamList* list_{nullptr};
  StreamList::iterator position_;
  const Http::RequestHeaderMap* headers_{nullptr};
  uint64_t bytes_sent_at_start_{0};
  bool headers_end_stream_{false};
  bool body_encoded_{false};
  bool response_started_{false};
  bool local_reset_{false};
  bool retried_{false};
  bool reused_{false};
};

/**
 * One upstream connection with its codec.
 */
class HttpConnPoolImpl::ActiveClient : public Network::ConnectionCallbacks,
                                       public Http::ClientConnectionCallbacks,
                                       public Event::DeferredDeletable {
 public:
  explicit ActiveClient(HttpConnPoolImpl& pool) : pool_(pool), created_(Event::EventTime::now()) {}

  // Network::ConnectionCallbacks
  void onEvent(Network::ConnectionEvent event) override {
    if (event == Network::ConnectionEvent::Connected) {
      pool_.onConnected(*this);
    } else {
      pool_.onClientClosed(*this, event);
    }
  }
  // The codec passes watermarks to the stream itself.
  void onAboveWriteBufferHighWatermark() override {}
  void onBelowWriteBufferLowWatermark() override {}

  // Http::ClientConnectionCallbacks
  void onStreamComplete(bool reusable) override { pool_.onStreamComplete(*this, reusable); }

  HttpConnPoolImpl& pool_;
  const Clock::time_point created_;
  Clock::time_point idle_since_;
  Network::ClientConnectionPtr connection_;
  std::unique_ptr<Http::Http1::ClientConnectionImpl> codec_;  // Destroyed before the connection.
  std::unique_ptr<PoolStream> stream_;
  ClientState state_{ClientState::Connecting};
  ClientList::iterator position_;
  uint64_t requests_{0};
  bool drain_{false};  // Close once the current stream ends.
  bool closed_{false};
  bool remote_ended_{false};  // The server half-closed; we closed in answer.
};

namespace {

// Hands what the upstream sends to the codec. With half-close on (so that a tunnel's FIN
// passes through), a FIN on an idle connection does not close it by itself: we do.
class CodecReadFilter : public Network::ReadFilter {
 public:
  CodecReadFilter(Http::ClientConnection& codec, Stats::Counter& protocol_errors,
                  bool& remote_ended)
      : codec_(codec), protocol_errors_(protocol_errors), remote_ended_(remote_ended) {}

  void initializeReadFilterCallbacks(Network::ReadFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  Network::FilterStatus onNewConnection() override { return Network::FilterStatus::Continue; }
  Network::FilterStatus onData(Buffer::Instance& data, bool end_stream) override {
    const Http::CodecStatus status = codec_.dispatch(data, end_stream);
    // On an error the codec has already reset the stream and closed the connection.
    if (!status.isOk()) {
      protocol_errors_.inc();
    } else if (end_stream && codec_.idle() &&
               callbacks_->connection().state() == Network::Connection::State::Open) {
      remote_ended_ = true;  // Our close finishes what the server began.
      callbacks_->connection().close(Network::ConnectionCloseType::NoFlush);
    }
    return Network::FilterStatus::StopIteration;
  }

 private:
  Http::ClientConnection& codec_;
  Stats::Counter& protocol_errors_;
  bool& remote_ended_;
  Network::ReadFilterCallbacks* callbacks_{nullptr};
};

}  // namespace

HttpConnPoolImpl::HttpConnPoolImpl(Event::Dispatcher& dispatcher, ClusterInfoConstSharedPtr cluster,
                                   const Host& host)
    : dispatcher_(dispatcher),
      cluster_(std::move(cluster)),
      stats_(*cluster_->stats),
      resources_(*cluster_->resource_manager),
      host_(host),
      settings_{.max_headers_kb = 60,
                .max_headers_count = cluster_->max_response_headers_count,
                .accept_http_10 = true} {}

HttpConnPoolImpl::~HttpConnPoolImpl() {
  destroying_ = true;
  for (StreamList* list : {&retry_pending_, &pending_}) {
    while (!list->empty()) {
      std::unique_ptr<PoolStream> stream = takePending(*list, list->begin());
      if (stream->retried_) {
        stream->runReset(Http::StreamResetReason::ConnectionTermination, "pool destroyed");
      } else {
        stream->pool_callbacks_.onPoolFailure(PoolFailureReason::PoolDrained, "pool destroyed");
      }
    }
  }
  // Closing resets a stream in flight (the codec tells it) and does the accounting.
  for (ClientList* list : {&busy_, &ready_, &connecting_}) {
    for (auto& client : *list) {
      if (!client->closed_) {
        client->connection_->close(Network::ConnectionCloseType::NoFlush);
      }
    }
    list->clear();
  }
}

Cancellable* HttpConnPoolImpl::newStream(Http::ResponseDecoder& decoder,
                                         HttpConnPoolCallbacks& callbacks) {
  if (!resources_.requests.canCreate()) {
    stats_.upstream_rq_pending_overflow.inc();
    callbacks.onPoolFailure(PoolFailureReason::Overflow, "max requests reached");
    return nullptr;
  }
  auto stream = std::make_unique<PoolStream>(*this, decoder, callbacks);
  if (!ready_.empty()) {
    attach(std::move(stream), *ready_.front());
    return nullptr;
  }
  if (!resources_.pending_requests.canCreate()) {
    stats_.upstream_rq_pending_overflow.inc();
    callbacks.onPoolFailure(PoolFailureReason::Overflow, "max pending requests reached");
    return nullptr;
  }
  PoolStream* raw = stream.get();
  resources_.pending_requests.inc();
  stats_.upstream_rq_pending_total.inc();
  stats_.upstream_rq_pending_active.inc();
  pending_.push_back(std::move(stream));
  raw->list_ = &pending_;
  raw->position_ = std::prev(pending_.end());
  createClientsForPending();
  return raw;
}

bool HttpConnPoolImpl::hasActiveConnections() const {
  return !connecting_.empty() || !ready_.empty() || !busy_.empty() || !pending_.empty() ||
         !retry_pending_.empty();
}

void HttpConnPoolImpl::drainConnections() {
  draining_ = true;
  while (!ready_.empty()) {
    closeClient(*ready_.front());
  }
  for (auto& client : busy_) {
    client->drain_ = true;
  }
  for (auto& client : connecting_) {
    client->drain_ = true;
  }
}

HttpConnPoolImpl::ClientList& HttpConnPoolImpl::listFor(ClientState state) {
  switch (state) {
    case ClientState::Connecting:
      return connecting_;
    case ClientState::Ready:
      return ready_;
    case ClientState::Busy:
      break;
  }
  return busy_;
}

void HttpConnPoolImpl::createClientsForPending() {
  while (connecting_.size() < pending_.size() + retry_pending_.size()) {
    if (!resources_.connections.canCreate()) {
      stats_.upstream_cx_overflow.inc();
      return;
    }
    createClient();
  }
}

void HttpConnPoolImpl::createClient() {
  auto client = std::make_unique<ActiveClient>(*this);
  ActiveClient& raw = *client;
  raw.connection_ =
      Network::createClientConnection(dispatcher_, host_.address, cluster_->connect_timeout);
  raw.connection_->setBufferLimits(cluster_->per_connection_buffer_limit_bytes);
  raw.connection_->enableHalfClose(true);
  // The codec first: on a close it resets the stream before the pool hears of the close.
  raw.codec_ =
      std::make_unique<Http::Http1::ClientConnectionImpl>(*raw.connection_, raw, settings_);
  raw.connection_->addConnectionCallbacks(raw);
  raw.connection_->addReadFilter(std::make_shared<CodecReadFilter>(
      *raw.codec_, stats_.upstream_cx_protocol_error, raw.remote_ended_));
  resources_.connections.inc();
  stats_.upstream_cx_total.inc();
  stats_.upstream_cx_http1_total.inc();
  stats_.upstream_cx_active.inc();
  connecting_.push_back(std::move(client));
  raw.position_ = std::prev(connecting_.end());
  raw.connection_->connect();
}

std::unique_ptr<HttpConnPoolImpl::PoolStream> HttpConnPoolImpl::takePending(
    StreamList& list, StreamList::iterator it) {
  std::unique_ptr<PoolStream> stream = std::move(*it);
  list.erase(it);
  stream->list_ = nullptr;
  resources_.pending_requests.dec();
  stats_.upstream_rq_pending_active.dec();
  return stream;
}

void HttpConnPoolImpl::moveToReady(ActiveClient& client) {
  ClientList& from = listFor(client.state_);
  ready_.splice(ready_.begin(), from, client.position_);
  client.position_ = ready_.begin();
  client.state_ = ClientState::Ready;
  client.idle_since_ = Event::EventTime::now();
}

void HttpConnPoolImpl::attach(std::unique_ptr<PoolStream> owned, ActiveClient& client) {
  ASSERT(client.state_ == ClientState::Ready && client.stream_ == nullptr);
  busy_.splice(busy_.end(), ready_, client.position_);
  client.position_ = std::prev(busy_.end());
  client.state_ = ClientState::Busy;
  PoolStream& stream = *owned;
  client.stream_ = std::move(owned);
  stream.client_ = &client;
  stream.reused_ = client.requests_ > 0;
  stream.bytes_sent_at_start_ = client.connection_->bytesSent();
  ++client.requests_;
  resources_.requests.inc();
  stats_.upstream_rq_total.inc();
  stats_.upstream_rq_active.inc();
  Http::RequestEncoder& inner = client.codec_->newStream(stream);
  inner.getStream().addCallbacks(stream);
  stream.inner_ = &inner;
  if (stream.retried_) {
    // The router already has the encoder and sent its headers: send them again.
    stream.inner_->encodeHeaders(*stream.headers_, true);
  } else {
    stream.pool_callbacks_.onPoolReady(stream, host_);
  }
}

void HttpConnPoolImpl::releaseRequest() {
  resources_.requests.dec();
  stats_.upstream_rq_active.dec();
}

void HttpConnPoolImpl::onConnected(ActiveClient& client) {
  stats_.upstream_cx_connect_ms.recordValue(millisecondsSince(client.created_));
  moveToReady(client);
  // Requests moved off a closed connection go first: they are the oldest.
  if (!retry_pending_.empty()) {
    attach(takePending(retry_pending_, retry_pending_.begin()), client);
  } else if (!pending_.empty()) {
    attach(takePending(pending_, pending_.begin()), client);
  } else if (client.drain_ || draining_) {
    closeClient(client);
  } else {
    armIdleTimer();
  }
}

void HttpConnPoolImpl::onStreamComplete(ActiveClient& client, bool reusable) {
  std::unique_ptr<PoolStream> stream = std::move(client.stream_);
  stream->client_ = nullptr;
  stream->inner_ = nullptr;
  releaseRequest();
  dispatcher_.deferredDelete(std::move(stream));
  const uint32_t max_requests = cluster_->max_requests_per_connection;
  const bool used_up = max_requests > 0 && client.requests_ >= max_requests;
  if (!reusable || client.drain_ || used_up || (draining_ && pending_.empty())) {
    if (used_up) {
      stats_.upstream_cx_max_requests.inc();
    }
    closeClient(client);
    createClientsForPending();
    return;
  }
  moveToReady(client);
  if (!pending_.empty()) {
    attach(takePending(pending_, pending_.begin()), client);
  } else {
    armIdleTimer();
  }
}

void HttpConnPoolImpl::onStreamReset(PoolStream& stream, Http::StreamResetReason reason,
                                     absl::string_view transport_failure_reason) {
  ActiveClient* client = stream.client_;
  ASSERT(client != nullptr && client->stream_.get() == &stream);
  std::unique_ptr<PoolStream> owned = std::move(client->stream_);
  stream.client_ = nullptr;
  stream.inner_ = nullptr;
  releaseRequest();
  if (!destroying_ && stream.retryable(reason, client->connection_->bytesSent())) {
    // The connection closed under a request that can be sent again: do so on a fresh one.
    stream.retried_ = true;
    stats_.upstream_rq_pool_retry.inc();
    resources_.pending_requests.inc();
    stats_.upstream_rq_pending_active.inc();
    retry_pending_.push_back(std::move(owned));
    stream.list_ = &retry_pending_;
    stream.position_ = std::prev(retry_pending_.end());
    createClientsForPending();
    if (!connecting_.empty()) {
      return;
    }
    // No connection can be made for it: the router hears of the reset after all.
    owned = takePending(retry_pending_, stream.position_);
  }
  owned->runReset(reason, transport_failure_reason);
  dispatcher_.deferredDelete(std::move(owned));
}

void HttpConnPoolImpl::cancel(PoolStream& stream, std::optional<Http::StreamResetReason> reset) {
  if (stream.list_ == nullptr) {
    return;
  }
  std::unique_ptr<PoolStream> owned = takePending(*stream.list_, stream.position_);
  if (reset.has_value()) {
    owned->runReset(*reset, "");
  } else {
    stats_.upstream_rq_cancelled.inc();
  }
  dispatcher_.deferredDelete(std::move(owned));
}

void HttpConnPoolImpl::closeClient(ActiveClient& client) {
  if (!client.closed_) {
    client.connection_->close(Network::ConnectionCloseType::NoFlush);
  }
}

void HttpConnPoolImpl::onClientClosed(ActiveClient& client, Network::ConnectionEvent event) {
  client.closed_ = true;
  const ClientState state = client.state_;
  Network::ClientConnection& connection = *client.connection_;
  const bool timed_out = state == ClientState::Connecting && connection.connectTimedOut();
  if (state == ClientState::Connecting) {
    (timed_out ? stats_.upstream_cx_connect_timeout : stats_.upstream_cx_connect_fail).inc();
  }
  if (state == ClientState::Busy) {
    stats_.upstream_cx_destroy_with_active_rq.inc();
  }
  stats_.upstream_cx_destroy.inc();
  (event == Network::ConnectionEvent::RemoteClose || client.remote_ended_
       ? stats_.upstream_cx_destroy_remote
       : stats_.upstream_cx_destroy_local)
      .inc();
  stats_.upstream_cx_active.dec();
  stats_.upstream_cx_rx_bytes_total.add(connection.bytesReceived());
  stats_.upstream_cx_tx_bytes_total.add(connection.bytesSent());
  stats_.upstream_cx_length_ms.recordValue(millisecondsSince(client.created_));
  resources_.connections.dec();
  if (client.stream_ != nullptr) {
    // The codec resets its stream on close, so this is only a stream it never saw.
    std::unique_ptr<PoolStream> stream = std::move(client.stream_);
    releaseRequest();
    stream->runReset(Http::StreamResetReason::ConnectionTermination,
                     connection.transportFailureReason());
    dispatcher_.deferredDelete(std::move(stream));
  }
  if (destroying_) {
    return;  // The destructor clears the lists.
  }
  const std::string failure = connection.transportFailureReason();
  ClientList& list = listFor(state);
  std::unique_ptr<ActiveClient> owned = std::move(*client.position_);
  list.erase(client.position_);
  dispatcher_.deferredDelete(std::move(owned));

  if (state == ClientState::Connecting) {
    // Each connecting connection stands for one waiting request; fail the ones no longer
    // covered, oldest first.
    const PoolFailureReason reason =
        timed_out ? PoolFailureReason::Timeout : PoolFailureReason::ConnectionFailure;
    while (pendingCount() > connecting_.size()) {
      if (!retry_pending_.empty()) {
        std::unique_ptr<PoolStream> stream = takePending(retry_pending_, retry_pending_.begin());
        stream->runReset(Http::StreamResetReason::ConnectionFailure, failure);
        dispatcher_.deferredDelete(std::move(stream));
        continue;
      }
      std::unique_ptr<PoolStream> stream = takePending(pending_, pending_.begin());
      stats_.upstream_rq_pending_failure_eject.inc();
      stream->pool_callbacks_.onPoolFailure(reason, failure);
      dispatcher_.deferredDelete(std::move(stream));
    }
  } else {
    createClientsForPending();
  }
}

void HttpConnPoolImpl::armIdleTimer() {
  if (cluster_->http_idle_timeout.count() == 0 || ready_.empty()) {
    return;
  }
  if (idle_timer_ == nullptr) {
    idle_timer_ = dispatcher_.createTimer([this] { onIdleTimer(); });
  }
  if (!idle_timer_->enabled()) {
    idle_timer_->enableTimer(cluster_->http_idle_timeout);
  }
}

void HttpConnPoolImpl::onIdleTimer() {
  const auto timeout = cluster_->http_idle_timeout;
  const Clock::time_point now = Clock::now();
  // The least recently used are at the back.
  while (!ready_.empty() && ready_.back()->idle_since_ + timeout <= now) {
    stats_.upstream_cx_idle_timeout.inc();
    closeClient(*ready_.back());
  }
  if (!ready_.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        ready_.back()->idle_since_ + timeout - now);
    idle_timer_->enableTimer(std::max(left, std::chrono::milliseconds(1)));
  }
}

}  // namespace Skiff::Upstream
