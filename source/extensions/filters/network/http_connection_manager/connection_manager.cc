#include "source/extensions/filters/network/http_connection_manager/connection_manager.h"

#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "source/common/buffer/buffer_impl.h"
#include "source/common/common/logger.h"
#include "source/common/event/deadline_timer.h"
#include "source/common/event/event_time.h"
#include "source/common/http/http1/codec_impl.h"
#include "source/common/overload/overload_state.h"

namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager {
namespace {

using std::chrono::steady_clock;
using StreamInfo::ResponseFlag;

uint64_t randomThunk(void* state) {
  return static_cast<ConnectionManagerImpl*>(state)->nextRandom();
}

int64_t millisSince(steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Event::EventTime::now() - start)
      .count();
}

void setContentLength(Http::ResponseHeaderMap& headers, size_t length) {
  char buf[24];
  char* end = absl::numbers_internal::FastIntToBuffer(static_cast<uint64_t>(length), buf);
  headers.addLowerCase("content-length", std::string(buf, end));
}

}  // namespace

// --- ActiveStream ---------------------------------------------------------------------------

ActiveStream::ActiveStream(ConnectionManagerImpl& parent, Http::ResponseEncoder& encoder,
                           uint64_t id)
    : parent_(parent),
      encoder_(encoder),
      id_(id),
      stream_info_(StreamInfo::StreamInfo::startNow()),
      router_(parent.config().router, parent.stats().router, *this) {
  Network::Connection& connection = parent.connection();
  stream_info_.connection_id = connection.id();
  stream_info_.downstream_remote_address = connection.remoteAddress();
  stream_info_.downstream_direct_remote_address = connection.remoteAddress();
  stream_info_.downstream_local_address = connection.localAddress();
  stream_info_.downstream_local_address_restored = connection.localAddressRestored();
}

ActiveStream::~ActiveStream() {
  if (!finished_) {
    finish();
  }
}

Event::Dispatcher& ActiveStream::dispatcher() { return parent_.connection().dispatcher(); }

void ActiveStream::resetIdleTimer() {
  if (parent_.stream_idle_timer_ != nullptr) {
    parent_.stream_idle_timer_->arm(parent_.config().stream_idle_timeout);
  }
}

void ActiveStream::decodeHeaders(Http::RequestHeaderMapPtr&& headers, bool end_stream) {
  request_headers_ = std::move(headers);
  request_complete_ = end_stream;
  stream_info_.protocol = encoder_.protocol() == Http::Protocol::Http10
                              ? StreamInfo::Protocol::Http10
                              : StreamInfo::Protocol::Http11;
  if (end_stream) {
    stream_info_.last_downstream_rx_byte_received =
        stream_info_.sinceStart(Event::EventTime::now());
  }
  if (parent_.headers_timer_ != nullptr) {
    parent_.headers_timer_->disableTimer();
  }
  if (end_stream && parent_.request_timer_ != nullptr) {
    parent_.request_timer_->disableTimer();
  }
  // (newStream armed the stream idle timer a moment ago.)
  const ConnectionManagerConfig& config = parent_.config();
  Http::RequestHeaderMap& h = *request_headers_;

  if (parent_.maxRequestsReached()) {
    // This is the connection's last request: the response says so and the connection closes.
    parent_.stats().downstream_cx_max_requests_reached.inc();
    parent_.codec_->disableKeepAlive();
  }

  // The overload manager's actions, as this worker last heard them (no lock: see
  // source/common/overload/overload_state.h).
  const auto& overload = Overload::ThreadLocalOverloadState::get();
  if (overload.getState(Overload::OverloadActionName::StopAcceptingRequests).isSaturated()) {
    parent_.stats().downstream_rq_overload_close.inc();
    sendLocalReply(503, "envoy overloaded", ResponseFlag::OverloadManager, "overload");
    return;
  }
  // With a scaled trigger, a share of connections (the action's value) closes after this
  // response, so keep-alive fades out as pressure rises (as Envoy does).
  const double keepalive_off =
      overload.getState(Overload::OverloadActionName::DisableHttpKeepalive).value();
  if (keepalive_off > 0 &&
      (keepalive_off >= 1 ||
       static_cast<double>(parent_.nextRandom() % 1000000) < keepalive_off * 1000000)) {
    parent_.stats().downstream_cx_overload_disable_keepalive.inc();
    parent_.codec_->disableKeepAlive();
  }

  // Expect: 100-continue is answered here (Envoy's default): the client may send its body now.
  if (const absl::string_view* expect = h.get("expect"); expect != nullptr) {
    if (absl::EqualsIgnoreCase(*expect, "100-continue")) {
      if (!end_stream) {
        Http::ResponseHeaderMap continue_headers;
        continue_headers.setStatus(100);
        encoder_.encode1xxHeaders(continue_headers);
      }
      h.remove("expect");
    }
  }

  const bool upgrade = isUpgradeRequest(h, &upgrade_type_);
  removeHopByHopHeaders(h, upgrade);
  const RequestHeaderResult result = mutateRequestHeaders(
      h, *parent_.connection().remoteAddress(), config.header_rules, randomThunk, &parent_);
  if (!result.downstream_address.empty() &&
      result.downstream_address != parent_.connection().remoteAddress()->ip()) {
    auto address = Network::Address::Instance::parse(result.downstream_address, 0);
    if (address.ok()) {
      stream_info_.downstream_remote_address = *address;
    }
  }
  routeRequest(end_stream);
}

void ActiveStream::routeRequest(bool end_stream) {
  const ConnectionManagerConfig& config = parent_.config();
  ConnectionManagerStats& stats = parent_.stats();
  route_table_ = config.routes->current();
  if (route_table_ != nullptr) {
    // The stream id picks the weighted cluster: a retry of this request keeps it.
    route_ = route_table_->route(*request_headers_, parent_.nextRandom());
  }
  if (!route_) {
    stats.no_route.inc();
    sendLocalReply(404, "route not found", ResponseFlag::NoRouteFound, "route_not_found");
    return;
  }
  const Router::RouteEntry& entry = *route_.route;
  stream_info_.route_name = entry.name();
  switch (entry.action()) {
    case Router::RouteEntry::Action::DirectResponse: {
      stats.rq_direct_response.inc();
      auto headers = std::make_unique<Http::ResponseHeaderMap>();
      headers->setStatus(entry.directResponseCode());
      response_code_details_ = "direct_response";
      const std::string& body = entry.directResponseBody();
      if (body.empty()) {
        encodeHeaders(std::move(headers), true);
        return;
      }
      headers->addLowerCase("content-type", "text/plain");
      setContentLength(*headers, body.size());
      encodeHeaders(std::move(headers), false);
      if (!finished_) {
        Buffer::OwnedImpl data(body);
        encodeData(data, true);
      }
      return;
    }
    case Router::RouteEntry::Action::Redirect: {
      stats.rq_redirect.inc();
      auto headers = std::make_unique<Http::ResponseHeaderMap>();
      headers->setStatus(entry.redirectResponseCode());
      headers->addLowerCase("location", entry.redirectLocation(*request_headers_));
      response_code_details_ = "redirect";
      encodeHeaders(std::move(headers), true);
      return;
    }
    case Router::RouteEntry::Action::Route:
      break;
  }
  if (!upgrade_type_.empty()) {
    const absl::optional<bool> on_route = entry.upgradeEnabled(upgrade_type_);
    const bool allowed = on_route.has_value() ? *on_route : config.upgradeAllowed(upgrade_type_);
    if (!allowed) {
      stats.downstream_rq_ws_on_non_ws_route.inc();
      sendLocalReply(403, "upgrade not allowed", 0, "upgrade_failed");
      return;
    }
    target_.upgrade = true;
  }
  if (!entry.clusterHeader().empty()) {
    // A view into a request header: copy it before the header mutations below may change it.
    cluster_from_header_.assign(route_.cluster_name.data(), route_.cluster_name.size());
    target_.cluster_name = cluster_from_header_;
  } else {
    target_.cluster_name = route_.cluster_name;
  }
  target_.cluster_not_found_code = entry.clusterNotFoundResponseCode();
  target_.timeout = entry.timeout();
  target_.retry_policy = &entry.retryPolicy();
  route_.finalizeRequestHeaders(*request_headers_, stream_info_,
                                /*insert_envoy_original_path=*/false);
  router_started_ = true;
  router_.onRequestHeaders(*request_headers_, end_stream, target_);
}

void ActiveStream::decodeData(Buffer::Instance& data, bool end_stream) {
  stream_info_.bytes_received += data.length();
  if (end_stream) {
    request_complete_ = true;
    stream_info_.last_downstream_rx_byte_received =
        stream_info_.sinceStart(Event::EventTime::now());
    if (parent_.request_timer_ != nullptr) {
      parent_.request_timer_->disableTimer();
    }
  }
  resetIdleTimer();
  if (router_started_ && !finished_) {
    router_.onRequestData(data, end_stream);
  } else {
    data.drain(data.length());
  }
  if (!finished_ && upgrade_accepted_ && request_complete_ && response_complete_) {
    finish();
  }
}

void ActiveStream::encode1xxHeaders(Http::ResponseHeaderMapPtr&& headers) {
  if (!finished_ && !response_headers_sent_) {
    encoder_.encode1xxHeaders(*headers);
  }
}

void ActiveStream::encodeHeaders(Http::ResponseHeaderMapPtr&& headers, bool end_stream) {
  if (finished_ || response_headers_sent_) {
    return;
  }
  response_headers_sent_ = true;
  response_code_ = headers->status();
  stream_info_.response_code = response_code_;
  if (response_code_details_.empty()) {
    response_code_details_ = "via_upstream";
  }
  if (route_) {
    route_.finalizeResponseHeaders(*headers, request_headers_.get(), stream_info_);
  }
  const ConnectionManagerConfig& config = parent_.config();
  mutateResponseHeaders(
      *headers, config.header_rules,
      request_headers_ != nullptr ? request_headers_->get("x-request-id") : nullptr);
  if (response_code_ == 101 && target_.upgrade) {
    upgrade_accepted_ = true;
    parent_.stats().downstream_cx_upgrades_total.inc();
    parent_.stats().downstream_cx_upgrades_active.inc();
  }
  if (!end_stream) {
    resetIdleTimer();
  }
  response_headers_ = std::move(headers);
  encoder_.encodeHeaders(*response_headers_, end_stream);
  if (end_stream) {
    onResponseEnded();
  }
}

void ActiveStream::encodeData(Buffer::Instance& data, bool end_stream) {
  if (finished_) {
    data.drain(data.length());
    return;
  }
  stream_info_.bytes_sent += data.length();
  resetIdleTimer();
  encoder_.encodeData(data, end_stream);
  if (end_stream) {
    onResponseEnded();
  }
}

void ActiveStream::onResponseEnded() {
  response_complete_ = true;
  const auto now = Event::EventTime::now();
  stream_info_.last_downstream_tx_byte_sent = stream_info_.sinceStart(now);
  // A tunnel lasts until the client's side ended too; anything else is done now (if the request
  // was still arriving, the codec closes the connection after this response).
  if (!finished_ && (!upgrade_accepted_ || request_complete_)) {
    finish(now);
  }
}

void ActiveStream::sendLocalReply(uint32_t code, absl::string_view body, uint32_t response_flag,
                                  absl::string_view details) {
  stream_info_.response_flags |= response_flag;
  if (finished_) {
    return;
  }
  if (response_headers_sent_) {
    // Part of a response is out: the only honest way to fail now is to reset.
    resetDownstream(response_flag, details);
    return;
  }
  response_code_details_ = details;
  auto headers = std::make_unique<Http::ResponseHeaderMap>();
  headers->setStatus(code);
  if (body.empty()) {
    encodeHeaders(std::move(headers), true);
    return;
  }
  headers->addLowerCase("content-type", "text/plain");
  setContentLength(*headers, body.size());
  encodeHeaders(std::move(headers), false);
  if (!finished_) {
    Buffer::OwnedImpl data(body);
    encodeData(data, true);
  }
}

void ActiveStream::resetDownstream(uint32_t response_flag, absl::string_view details) {
  stream_info_.response_flags |= response_flag;
  if (finished_) {
    return;
  }
  if (response_code_details_.empty()) {
    response_code_details_ = details;
  }
  parent_.stats().downstream_rq_tx_reset.inc();
  Http::Stream& stream = encoder_.getStream();
  stream.removeCallbacks(*this);
  finish();
  stream.resetStream(Http::StreamResetReason::LocalReset);
}

void ActiveStream::setRouteTimeout(std::chrono::milliseconds timeout) {
  if (finished_) {
    return;
  }
  auto& timer = parent_.route_timer_;
  if (timer == nullptr) {
    if (timeout.count() <= 0) {
      return;
    }
    ConnectionManagerImpl* parent = &parent_;
    timer = std::make_unique<Event::DeadlineTimer>(dispatcher(), [parent] {
      if (parent->stream_ != nullptr && !parent->stream_->finished()) {
        parent->stream_->router_.onRouteTimeout();
      }
    });
  }
  timer->arm(timeout);
}

void ActiveStream::readDisableDownstream(bool disable) {
  if (finished_) {
    return;
  }
  if (disable) {
    ++read_disable_count_;
  } else if (read_disable_count_ > 0) {
    --read_disable_count_;
  } else {
    return;
  }
  encoder_.getStream().readDisable(disable);
}

void ActiveStream::onResetStream(Http::StreamResetReason reason, absl::string_view) {
  if (finished_) {
    return;
  }
  parent_.stats().downstream_rq_rx_reset.inc();
  if (reason != Http::StreamResetReason::LocalReset) {
    stream_info_.setResponseFlag(ResponseFlag::DownstreamConnectionTermination);
  }
  finish();
}

void ActiveStream::onAboveWriteBufferHighWatermark() {
  if (router_started_ && !finished_) {
    router_.onDownstreamAboveWriteBufferHighWatermark();
  }
}

void ActiveStream::onBelowWriteBufferLowWatermark() {
  if (router_started_ && !finished_) {
    router_.onDownstreamBelowWriteBufferLowWatermark();
  }
}

void ActiveStream::onCodecError(const Http::CodecStatus& status) {
  stream_info_.setResponseFlag(ResponseFlag::DownstreamProtocolError);
  if (finished_) {
    return;
  }
  if (router_started_) {
    // A bad chunk in the middle of a forwarded body: the upstream must not see a truncated
    // request as complete.
    router_.onDestroy();
  }
  if (response_headers_sent_) {
    resetDownstream(ResponseFlag::DownstreamProtocolError, status.details());
    return;
  }
  const uint32_t code = status.httpCode() != 0 ? status.httpCode() : 400;
  sendLocalReply(code, code == 431 ? "request header fields too large" : "bad request",
                 ResponseFlag::DownstreamProtocolError, status.details());
}

void ActiveStream::onIdleTimeout() {
  parent_.stats().downstream_rq_idle_timeout.inc();
  if (router_started_) {
    router_.onDestroy();
  }
  sendLocalReply(408, "stream timeout", ResponseFlag::StreamIdleTimeout, "stream_idle_timeout");
}

void ActiveStream::onRequestTimeout() {
  parent_.stats().downstream_rq_timeout.inc();
  if (router_started_) {
    router_.onDestroy();
  }
  sendLocalReply(408, "request timeout", 0, "request_overall_timeout");
}

void ActiveStream::onRequestHeadersTimeout() {
  parent_.stats().downstream_rq_header_timeout.inc();
  sendLocalReply(408, "request header timeout", 0, "request_header_timeout");
}

void ActiveStream::finish(steady_clock::time_point now) {
  if (finished_) {
    return;
  }
  finished_ = true;
  if (router_started_) {
    router_.onDestroy();
  }
  // Undo pauses the router left on the downstream, so a kept-alive connection reads again.
  for (; read_disable_count_ > 0; --read_disable_count_) {
    encoder_.getStream().readDisable(false);
  }
  ConnectionManagerStats& stats = parent_.stats();
  stats.downstream_rq_active.dec();
  stats.downstream_rq_completed.inc();
  const uint32_t index = response_code_ / 100;
  if (index >= 1 && index <= 5) {
    stats.downstream_rq_class[index - 1]->inc();
  }
  stats.downstream_rq_time.recordValue(
      std::chrono::duration_cast<std::chrono::milliseconds>(stream_info_.sinceStart(now)).count());
  if (upgrade_accepted_) {
    stats.downstream_cx_upgrades_active.dec();
  }
  const auto& logs = parent_.config().access_logs;
  if (!logs.empty()) {
    stream_info_.request_complete = stream_info_.sinceStart(now);
    stream_info_.response_code_details.assign(response_code_details_.data(),
                                              response_code_details_.size());
    const Formatter::Context context{request_headers_.get(), response_headers_.get(),
                                     &stream_info_};
    for (const auto& log : logs) {
      log->log(context);
    }
  }
  parent_.onStreamFinished(*this);
}

// --- ConnectionManagerImpl -------------------------------------------------------------------

ConnectionManagerImpl::ConnectionManagerImpl(ConnectionManagerConfigConstSharedPtr config)
    : config_(std::move(config)), start_(Event::EventTime::now()) {
  thread_local uint64_t seed = std::random_device{}() | 1;
  seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  random_state_ = seed | 1;
}

ConnectionManagerImpl::~ConnectionManagerImpl() {
  if (stream_ != nullptr && !stream_->finished()) {
    stream_->finish();
  }
  stream_.reset();
}

uint64_t ConnectionManagerImpl::nextRandom() {
  random_state_ ^= random_state_ >> 12;
  random_state_ ^= random_state_ << 25;
  random_state_ ^= random_state_ >> 27;
  return random_state_ * 2685821657736338717ULL;
}

void ConnectionManagerImpl::initializeReadFilterCallbacks(Network::ReadFilterCallbacks& callbacks) {
  connection_ = &callbacks.connection();
  // A request followed by FIN still gets its answer: the codec sees the FIN as end of input.
  connection_->enableHalfClose(true);
  connection_->setDelayedCloseTimeout(config_->delayed_close_timeout);
  // The codec registers its own connection callbacks first, so a close resets the stream before
  // onEvent() here runs.
  codec_ = std::make_unique<Http::Http1::ServerConnectionImpl>(*connection_, *this,
                                                               config_->http1_settings);
  connection_->addConnectionCallbacks(*this);
}

Network::FilterStatus ConnectionManagerImpl::onNewConnection() {
  ConnectionManagerStats& s = stats();
  s.downstream_cx_total.inc();
  s.downstream_cx_active.inc();
  s.downstream_cx_http1_total.inc();
  s.downstream_cx_http1_active.inc();
  Event::Dispatcher& dispatcher = connection_->dispatcher();
  if (config_->idle_timeout.count() > 0) {
    idle_timer_ = std::make_unique<Event::DeadlineTimer>(dispatcher, [this] { onIdleTimeout(); });
    idle_timer_->arm(config_->idle_timeout);
  }
  if (config_->max_connection_duration.count() > 0) {
    max_duration_timer_ = dispatcher.createTimer([this] { onMaxDurationReached(); });
    max_duration_timer_->enableTimer(config_->max_connection_duration);
  }
  if (config_->stream_idle_timeout.count() > 0) {
    stream_idle_timer_ = std::make_unique<Event::DeadlineTimer>(dispatcher, [this] {
      if (stream_ != nullptr && !stream_->finished()) {
        stream_->onIdleTimeout();
      }
    });
  }
  if (config_->request_timeout.count() > 0) {
    request_timer_ = dispatcher.createTimer([this] {
      if (stream_ != nullptr && !stream_->finished()) {
        stream_->onRequestTimeout();
      }
    });
  }
  if (config_->request_headers_timeout.count() > 0) {
    headers_timer_ = dispatcher.createTimer([this] {
      if (stream_ != nullptr && !stream_->finished()) {
        stream_->onRequestHeadersTimeout();
      }
    });
  }
  return Network::FilterStatus::Continue;
}

Network::FilterStatus ConnectionManagerImpl::onData(Buffer::Instance& data, bool end_stream) {
  stats().downstream_cx_rx_bytes_total.add(data.length());
  const Http::CodecStatus status = codec_->dispatch(data, end_stream);
  if (!status.isOk()) {
    stats().downstream_cx_protocol_error.inc();
    SKIFF_LOG(debug, "[C%d] http: %s", connection_->id(), status.details());
    if (stream_ != nullptr && !stream_->finished()) {
      stream_->onCodecError(status);
    }
    // Nothing more is read from this client; let the answer reach it before the socket goes
    // (closing with unread input would reset the connection and could destroy the answer).
    if (connection_->state() != Network::Connection::State::Closed) {
      connection_->close(Network::ConnectionCloseType::FlushWriteAndDelay);
    }
  }
  return Network::FilterStatus::StopIteration;
}

Http::RequestDecoder& ConnectionManagerImpl::newStream(Http::ResponseEncoder& encoder) {
  ++requests_;
  ConnectionManagerStats& s = stats();
  s.downstream_rq_total.inc();
  s.downstream_rq_http1_total.inc();
  s.downstream_rq_active.inc();
  if (idle_timer_ != nullptr) {
    idle_timer_->disarm();
  }
  if (stream_ != nullptr) {
    // The previous stream ended inside this dispatch; it may still be on the stack above us.
    connection_->dispatcher().deferredDelete(std::move(stream_));
  }
  stream_ = std::make_unique<ActiveStream>(*this, encoder, next_stream_id_++);
  encoder.getStream().addCallbacks(*stream_);
  if (stream_idle_timer_ != nullptr) {
    stream_idle_timer_->arm(config_->stream_idle_timeout);
  }
  if (request_timer_ != nullptr) {
    request_timer_->enableTimer(config_->request_timeout);
  }
  if (headers_timer_ != nullptr) {
    headers_timer_->enableTimer(config_->request_headers_timeout);
  }
  return *stream_;
}

void ConnectionManagerImpl::onStreamFinished(ActiveStream& stream) {
  if (stream_idle_timer_ != nullptr) {
    stream_idle_timer_->disarm();
  }
  if (route_timer_ != nullptr) {
    route_timer_->disarm();
  }
  if (request_timer_ != nullptr) {
    request_timer_->disableTimer();
  }
  if (headers_timer_ != nullptr) {
    headers_timer_->disableTimer();
  }
  if (stream_.get() == &stream) {
    // We may be deep inside the stream's own callbacks: destroy it after they return.
    connection_->dispatcher().deferredDelete(std::move(stream_));
  }
  if (!closed_ && idle_timer_ != nullptr) {
    idle_timer_->arm(config_->idle_timeout);
  }
}

void ConnectionManagerImpl::onIdleTimeout() {
  stats().downstream_cx_idle_timeout.inc();
  if (stream_ == nullptr || stream_->finished()) {
    connection_->close(Network::ConnectionCloseType::FlushWrite);
  }
}

void ConnectionManagerImpl::onMaxDurationReached() {
  stats().downstream_cx_max_duration_reached.inc();
  // Like a drain: the current response (if any) is the last.
  codec_->disableKeepAlive();
}

void ConnectionManagerImpl::onDrainStart() {
  if (draining_ || closed_) {
    return;
  }
  draining_ = true;
  stats().downstream_cx_drain_close.inc();
  if (config_->drain_timeout.count() == 0) {
    codec_->disableKeepAlive();
    return;
  }
  // The current or next response is the last (`connection: close`). An idle connection is not
  // closed now: its client may be sending the next request at this moment, and a close would
  // lose it (chaos_test's SIGTERM under load lost ~400 of ~2,600 requests that way). A client
  // with requests to send gets drain_timeout to send one; a connection still idle then closes.
  codec_->closeAfterNextResponse();
  drain_timer_ = connection_->dispatcher().createTimer([this] { codec_->disableKeepAlive(); });
  drain_timer_->enableTimer(config_->drain_timeout);
}

void ConnectionManagerImpl::onEvent(Network::ConnectionEvent event) {
  if (event == Network::ConnectionEvent::Connected || closed_) {
    return;
  }
  closed_ = true;
  idle_timer_.reset();
  max_duration_timer_.reset();
  drain_timer_.reset();
  stream_idle_timer_.reset();
  route_timer_.reset();
  request_timer_.reset();
  headers_timer_.reset();
  if (stream_ != nullptr && !stream_->finished()) {
    // The codec normally reset it already; this is the backstop.
    stats().downstream_cx_destroy_active_rq.inc();
    stream_->stream_info_.setResponseFlag(ResponseFlag::DownstreamConnectionTermination);
    stream_->finish();
  }
  ConnectionManagerStats& s = stats();
  s.downstream_cx_active.dec();
  s.downstream_cx_http1_active.dec();
  s.downstream_cx_destroy.inc();
  if (event == Network::ConnectionEvent::RemoteClose) {
    s.downstream_cx_destroy_remote.inc();
  } else {
    s.downstream_cx_destroy_local.inc();
  }
  s.downstream_cx_tx_bytes_total.add(connection_->bytesSent());
  s.downstream_cx_length_ms.recordValue(millisSince(start_));
}

}  // namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager
