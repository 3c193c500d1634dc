#include "source/extensions/filters/http/router/router.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "source/common/common/logger.h"
#include "source/common/event/event_time.h"

namespace Skiff::Extensions::HttpFilters::RouterFilter {
namespace {

using std::chrono::steady_clock;

int64_t millisSince(steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Event::EventTime::now() - start)
      .count();
}

using StreamInfo::ResponseFlag;

constexpr absl::string_view kResetBefore =
    "upstream connect error or disconnect/reset before headers. reset reason: ";

// What the load balancer may know about a request: for ORIGINAL_DST, the downstream connection's
// restored destination, which the connection manager put in the stream info; for a retry, the
// hosts its earlier attempts used (the retry policy's previous_hosts predicate).
class StreamLbContext : public Upstream::LoadBalancerContext {
 public:
  StreamLbContext(const StreamInfo::StreamInfo& info, const RetryState* retry_state)
      : info_(info), retry_state_(retry_state) {}
  const Network::Address::InstanceConstSharedPtr* restoredDestination() const override {
    return info_.downstream_local_address_restored ? &info_.downstream_local_address : nullptr;
  }
  bool shouldSelectAnotherHost(const Upstream::Host& host) const override {
    return retry_state_ != nullptr && retry_state_->shouldSelectAnotherHost(host);
  }
  uint32_t hostSelectionRetryCount() const override {
    return retry_state_ != nullptr ? retry_state_->hostSelectionRetryCount() : 0;
  }

 private:
  const StreamInfo::StreamInfo& info_;
  const RetryState* retry_state_;
};

}  // namespace

Filter::Filter(const RouterConfig& config, RouterStats& stats, FilterCallbacks& callbacks)
    : config_(config), stats_(stats), callbacks_(callbacks) {}

Filter::~Filter() {
  if (!destroyed_) {
    onDestroy();
  }
}

void Filter::onRequestHeaders(Http::RequestHeaderMap& headers, bool end_stream,
                              const RouteTarget& route) {
  stats_.rq_total.inc();
  request_headers_ = &headers;
  route_ = route;
  downstream_end_stream_ = end_stream;
  request_start_ = Event::EventTime::now();

  Upstream::ThreadLocalCluster* cluster =
      config_.cluster_manager->threadLocal().get(route.cluster_name);
  if (cluster == nullptr) {
    stats_.no_cluster.inc();
    localReply(route.cluster_not_found_code, "", ResponseFlag::NoClusterFound, "cluster_not_found");
    return;
  }
  // The pool enforces max_requests and max_pending_requests (onPoolFailure(Overflow)).
  cluster_ = cluster->info();
  callbacks_.streamInfo().upstream_cluster =
      std::shared_ptr<const std::string>(cluster_, &cluster_->name);
  if (route.retry_policy != nullptr && route.retry_policy->enabled() && !route.upgrade) {
    retry_state_ = std::make_unique<RetryState>(
        *route.retry_policy, callbacks_.streamId() * 0x9E3779B97F4A7C15ULL ^
                                 static_cast<uint64_t>(request_start_.time_since_epoch().count()));
  }
  if (end_stream && route_.timeout.count() > 0) {
    route_timer_armed_ = true;
    callbacks_.setRouteTimeout(route_.timeout);
  }
  startAttempt(cluster);
}

void Filter::startAttempt(Upstream::ThreadLocalCluster* cluster) {
  // Look the cluster up on every retry: an update may have replaced it since the last attempt.
  // The first attempt uses the one onRequestHeaders just found.
  tl_cluster_ = cluster != nullptr
                    ? cluster
                    : config_.cluster_manager->threadLocal().get(route_.cluster_name);
  if (tl_cluster_ == nullptr) {
    stats_.no_cluster.inc();
    localReply(route_.cluster_not_found_code, "", ResponseFlag::NoClusterFound,
               "cluster_not_found");
    return;
  }
  const StreamLbContext lb_context(callbacks_.streamInfo(), retry_state_.get());
  host_ = tl_cluster_->chooseHost(&lb_context);
  Upstream::HttpConnPool* pool = host_ != nullptr ? tl_cluster_->httpConnPool(*host_) : nullptr;
  if (pool == nullptr) {
    host_ = nullptr;
    tl_cluster_->info()->stats->upstream_cx_none_healthy.inc();
    localReply(503, "no healthy upstream", ResponseFlag::NoHealthyUpstream, "no_healthy_upstream");
    return;
  }
  tl_cluster_->onRequestStart(*host_);
  if (retry_state_ != nullptr) {
    retry_state_->onHostAttempted(*host_);
  }
  StreamInfo::StreamInfo& info = callbacks_.streamInfo();
  ++info.upstream_request_attempt_count;
  info.upstream_remote_address = host_->address;
  upstream_request_complete_ = false;
  upstream_response_complete_ = false;
  // The first attempt starts with the request (onRequestHeaders just read the clock).
  attempt_start_ = cluster != nullptr ? request_start_ : Event::EventTime::now();
  // The pool may answer before newStream returns (an idle connection, or an overflow).
  waiting_for_pool_ = true;
  Upstream::Cancellable* handle = pool->newStream(*this, *this);
  if (waiting_for_pool_) {
    pool_handle_ = handle;
  }
}

void Filter::onPoolReady(Http::RequestEncoder& encoder, const Upstream::Host& host) {
  Upstream::reportOutlierResult(*cluster_, &host,
                                Upstream::OutlierResult::LocalOriginConnectSuccess);
  waiting_for_pool_ = false;
  pool_handle_ = nullptr;
  upstream_encoder_ = &encoder;
  Http::Stream& stream = encoder.getStream();
  stream.addCallbacks(*this);
  for (uint32_t i = 0; i < upstream_read_disable_count_; ++i) {
    stream.readDisable(true);
  }
  upstream_read_disables_applied_ = upstream_read_disable_count_;
  callbacks_.streamInfo().upstream_remote_address = host.address;
  if (retry_state_ != nullptr && route_.retry_policy->per_try_timeout.count() > 0) {
    if (per_try_timer_ == nullptr) {
      per_try_timer_ = callbacks_.dispatcher().createTimer([this] { onPerTryTimeout(); });
    }
    per_try_timer_->enableTimer(route_.retry_policy->per_try_timeout);
  }
  sendRequest();
}

void Filter::sendRequest() {
  const bool end_with_headers = downstream_end_stream_ && pendingBodyLength() == 0;
  const Http::CodecStatus status =
      upstream_encoder_->encodeHeaders(*request_headers_, end_with_headers);
  if (!status.isOk()) {
    // Nothing was written: the request itself cannot be expressed upstream.
    releaseAttempt(/*reset_upstream=*/true);
    localReply(400, "invalid request", 0, status.details());
    return;
  }
  if (end_with_headers) {
    upstream_request_complete_ = true;
  } else if (pendingBodyLength() > 0 || downstream_end_stream_) {
    upstream_request_complete_ = downstream_end_stream_;
    // The encoder may reset the stream (and so this attempt) from inside; it drains what it
    // takes either way.
    upstream_encoder_->encodeData(pendingBody(), downstream_end_stream_);
  }
  if (pending_body_ != nullptr) {
    pending_body_->drain(pending_body_->length());
  }
  if (downstream_read_disabled_) {
    downstream_read_disabled_ = false;
    callbacks_.readDisableDownstream(false);
  }
}

void Filter::onRequestData(Buffer::Instance& data, bool end_stream) {
  if (destroyed_) {
    data.drain(data.length());
    return;
  }
  downstream_end_stream_ = end_stream;
  if (end_stream && route_.timeout.count() > 0 && !route_timer_armed_ && !upgraded_ &&
      !route_.upgrade) {
    route_timer_armed_ = true;
    callbacks_.setRouteTimeout(route_.timeout);
  }
  if (retry_state_ != nullptr) {
    if (retryBody().length() + data.length() > config_.retry_buffer_limit) {
      disableRetries();
    } else if (data.length() > 0) {
      const std::string copy = data.toString();
      retryBody().add(copy);
    }
  }
  if (upstream_encoder_ != nullptr) {
    upstream_request_complete_ = end_stream;
    upstream_encoder_->encodeData(data, end_stream);
    return;
  }
  if (upstream_response_complete_ || local_replied_) {
    // Nowhere to send it: the answer is already given.
    data.drain(data.length());
    return;
  }
  // Waiting for a connection (or a retry): hold the body, and stop reading when it grows.
  pendingBody().move(data);
  const uint64_t limit = cluster_ != nullptr ? cluster_->per_connection_buffer_limit_bytes : 0;
  if (!downstream_read_disabled_ && limit > 0 && pendingBodyLength() > limit) {
    downstream_read_disabled_ = true;
    callbacks_.readDisableDownstream(true);
  }
}

void Filter::localReply(uint32_t code, absl::string_view body, uint32_t flag,
                        absl::string_view details) {
  local_replied_ = true;
  callbacks_.sendLocalReply(code, body, flag, details);
}

Buffer::Instance& Filter::pendingBody() {
  if (pending_body_ == nullptr) {
    pending_body_ = std::make_unique<Buffer::OwnedImpl>();
  }
  return *pending_body_;
}

Buffer::Instance& Filter::retryBody() {
  if (retry_body_ == nullptr) {
    retry_body_ = std::make_unique<Buffer::OwnedImpl>();
  }
  return *retry_body_;
}

void Filter::disarmRouteTimer() {
  if (route_timer_armed_) {
    route_timer_armed_ = false;
    callbacks_.setRouteTimeout(std::chrono::milliseconds(0));
  }
}

void Filter::disableRetries() {
  retry_state_.reset();
  if (retry_body_ != nullptr) {
    retry_body_->drain(retry_body_->length());
  }
}

void Filter::decode1xxHeaders(Http::ResponseHeaderMapPtr&& headers) {
  if (!response_started_) {
    callbacks_.encode1xxHeaders(std::move(headers));
  }
}

void Filter::recordUpstreamStatus(uint32_t status) {
  const uint32_t index = status / 100;
  if (index >= 1 && index <= 5 && tl_cluster_ != nullptr) {
    cluster_->stats->upstream_rq_class[index - 1]->inc();
  }
}

void Filter::decodeHeaders(Http::ResponseHeaderMapPtr&& headers, bool end_stream) {
  const uint32_t status = headers->status();
  Upstream::reportOutlierHttpStatus(*cluster_, host_, status);
  StreamInfo::StreamInfo& info = callbacks_.streamInfo();
  if (!info.first_upstream_rx_byte_received.has_value()) {
    info.first_upstream_rx_byte_received = info.sinceStart(Event::EventTime::now());
  }
  if (per_try_timer_ != nullptr) {
    per_try_timer_->disableTimer();
  }
  if (end_stream) {
    upstream_response_complete_ = true;
  }
  if (retry_state_ != nullptr && retry_state_->wouldRetryOnStatus(status)) {
    switch (retry_state_->tryRetry(*cluster_->resource_manager)) {
      case RetryState::Decision::Retry:
        recordUpstreamStatus(status);
        cluster_->stats->upstream_rq_retry.inc();
        releaseAttempt(/*reset_upstream=*/!end_stream || !upstream_request_complete_);
        scheduleRetry();
        return;
      case RetryState::Decision::LimitExceeded:
        cluster_->stats->upstream_rq_retry_limit_exceeded.inc();
        callbacks_.streamInfo().setResponseFlag(ResponseFlag::UpstreamRetryLimitExceeded);
        break;
      case RetryState::Decision::Overflow:
        cluster_->stats->upstream_rq_retry_overflow.inc();
        break;
    }
  } else if (retry_state_ != nullptr && retry_state_->retriesDone() > 0) {
    cluster_->stats->upstream_rq_retry_success.inc();
  }
  recordUpstreamStatus(status);
  if (status == 101 && route_.upgrade) {
    // A raw tunnel from now on; it lasts as long as both sides want.
    upgraded_ = true;
    disarmRouteTimer();
  }
  if (!config_.suppress_envoy_headers) {
    char buf[24];
    char* end = absl::numbers_internal::FastIntToBuffer(millisSince(attempt_start_), buf);
    headers->addLowerCase("x-envoy-upstream-service-time", std::string(buf, end));
  }
  response_started_ = true;
  if (end_stream) {
    finishUpstream();
  }
  callbacks_.encodeHeaders(std::move(headers), end_stream);
}

void Filter::decodeData(Buffer::Instance& data, bool end_stream) {
  if (end_stream) {
    upstream_response_complete_ = true;
    if (!upgraded_ || upstream_request_complete_) {
      finishUpstream();
    }
  }
  callbacks_.encodeData(data, end_stream);
}

void Filter::finishUpstream() {
  disarmRouteTimer();
  if (per_try_timer_ != nullptr) {
    per_try_timer_->disableTimer();
  }
  if (upstream_encoder_ != nullptr) {
    Http::Stream& stream = upstream_encoder_->getStream();
    // The connection goes back to the pool: it must not stay paused on our account.
    for (; upstream_read_disables_applied_ > 0; --upstream_read_disables_applied_) {
      stream.readDisable(false);
    }
    stream.removeCallbacks(*this);
    upstream_encoder_ = nullptr;
  }
  if (host_ != nullptr) {
    tl_cluster_->onRequestDone(*host_);
    const Upstream::ClusterStats& cstats = *cluster_->stats;
    cstats.upstream_rq_completed.inc();
    cstats.upstream_rq_time.recordValue(millisSince(attempt_start_));
    host_ = nullptr;
  }
  releaseDownstreamPause();
  if (retry_state_ != nullptr) {
    retry_state_->onRetryDone();
  }
}

void Filter::releaseDownstreamPause() {
  // Pauses we put on the downstream for the upstream's sake end with the attempt.
  for (; downstream_pauses_ > 0; --downstream_pauses_) {
    callbacks_.readDisableDownstream(false);
  }
}

void Filter::releaseAttempt(bool reset_upstream) {
  if (per_try_timer_ != nullptr) {
    per_try_timer_->disableTimer();
  }
  if (pool_handle_ != nullptr) {
    pool_handle_->cancel();
    pool_handle_ = nullptr;
  }
  waiting_for_pool_ = false;
  if (upstream_encoder_ != nullptr) {
    Http::Stream& stream = upstream_encoder_->getStream();
    upstream_encoder_ = nullptr;
    stream.removeCallbacks(*this);
    if (reset_upstream) {
      cluster_->stats->upstream_rq_tx_reset.inc();
      stream.resetStream(Http::StreamResetReason::LocalReset);
    } else {
      for (; upstream_read_disables_applied_ > 0; --upstream_read_disables_applied_) {
        stream.readDisable(false);
      }
    }
  }
  upstream_read_disables_applied_ = 0;
  if (host_ != nullptr) {
    tl_cluster_->onRequestDone(*host_);
    host_ = nullptr;
  }
  releaseDownstreamPause();
}

void Filter::scheduleRetry() {
  // The next attempt resends the whole body so far.
  if (pending_body_ != nullptr) {
    pending_body_->drain(pending_body_->length());
  }
  if (retry_body_ != nullptr && retry_body_->length() > 0) {
    pendingBody().add(retry_body_->toString());
  }
  upstream_response_complete_ = false;
  if (retry_timer_ == nullptr) {
    retry_timer_ = callbacks_.dispatcher().createTimer([this] {
      retrying_ = false;
      startAttempt();
    });
  }
  retrying_ = true;
  retry_timer_->enableTimer(retry_state_->nextBackOff());
}

void Filter::onAttemptFailure(AttemptFailure failure, uint32_t code, uint32_t flag,
                              absl::string_view details, absl::string_view body) {
  if (retry_state_ != nullptr && retry_state_->wouldRetryOnFailure(failure)) {
    switch (retry_state_->tryRetry(*cluster_->resource_manager)) {
      case RetryState::Decision::Retry:
        cluster_->stats->upstream_rq_retry.inc();
        releaseAttempt(/*reset_upstream=*/true);
        scheduleRetry();
        return;
      case RetryState::Decision::LimitExceeded:
        cluster_->stats->upstream_rq_retry_limit_exceeded.inc();
        flag |= ResponseFlag::UpstreamRetryLimitExceeded;
        break;
      case RetryState::Decision::Overflow:
        cluster_->stats->upstream_rq_retry_overflow.inc();
        break;
    }
  }
  releaseAttempt(/*reset_upstream=*/true);
  finishUpstream();
  localReply(code, body, flag, details);
}

void Filter::onPoolFailure(Upstream::PoolFailureReason reason,
                           absl::string_view transport_failure_reason) {
  waiting_for_pool_ = false;
  pool_handle_ = nullptr;
  if (reason == Upstream::PoolFailureReason::Overflow) {
    releaseAttempt(false);
    finishUpstream();
    localReply(503, absl::StrCat(kResetBefore, "overflow"), ResponseFlag::UpstreamOverflow,
               "upstream_reset_before_response_started{overflow}");
    return;
  }
  Upstream::reportOutlierResult(*cluster_, host_,
                                reason == Upstream::PoolFailureReason::Timeout
                                    ? Upstream::OutlierResult::LocalOriginTimeout
                                    : Upstream::OutlierResult::LocalOriginConnectFailed);
  const absl::string_view why = Upstream::poolFailureReasonToString(reason);
  const absl::string_view failure =
      transport_failure_reason.empty() ? why : transport_failure_reason;
  callbacks_.streamInfo().upstream_transport_failure_reason.assign(failure.data(), failure.size());
  std::string body = absl::StrCat(kResetBefore, "connection failure");
  if (!transport_failure_reason.empty()) {
    absl::StrAppend(&body, ", transport failure reason: ", transport_failure_reason);
  } else if (reason == Upstream::PoolFailureReason::Timeout) {
    absl::StrAppend(&body, ", transport failure reason: ", why);
  }
  onAttemptFailure(AttemptFailure::ConnectFailure, 503, ResponseFlag::UpstreamConnectionFailure,
                   "upstream_reset_before_response_started{connection_failure}", body);
}

void Filter::onResetStream(Http::StreamResetReason reason,
                           absl::string_view transport_failure_reason) {
  // The upstream stream is gone; the codec no longer knows us.
  upstream_encoder_ = nullptr;
  upstream_read_disables_applied_ = 0;
  cluster_->stats->upstream_rq_rx_reset.inc();
  const uint32_t flag = reason == Http::StreamResetReason::ConnectionTermination ||
                                reason == Http::StreamResetReason::RemoteReset
                            ? ResponseFlag::UpstreamConnectionTermination
                            : ResponseFlag::UpstreamRemoteReset;
  if (response_started_) {
    // Too late to answer: the client has part of a response. Tell it by resetting.
    releaseAttempt(false);
    finishUpstream();
    stats_.rq_reset_after_downstream_response_started.inc();
    callbacks_.resetDownstream(flag, "upstream_reset_after_response_started");
    return;
  }
  Upstream::reportOutlierResult(*cluster_, host_,
                                Upstream::OutlierResult::LocalOriginConnectFailed);
  if (reason == Http::StreamResetReason::ProtocolError) {
    // The upstream's answer could not be parsed: a bad gateway, not a retriable reset.
    releaseAttempt(false);
    finishUpstream();
    localReply(502, "upstream sent an invalid response", ResponseFlag::UpstreamProtocolError,
               "upstream_reset_before_response_started{protocol_error}");
    return;
  }
  const AttemptFailure failure = reason == Http::StreamResetReason::ConnectionFailure
                                     ? AttemptFailure::ConnectFailure
                                     : AttemptFailure::Reset;
  std::string body = absl::StrCat(kResetBefore, Http::resetReasonToString(reason));
  if (!transport_failure_reason.empty()) {
    absl::StrAppend(&body, ", transport failure reason: ", transport_failure_reason);
  }
  onAttemptFailure(
      failure, 503,
      failure == AttemptFailure::ConnectFailure ? ResponseFlag::UpstreamConnectionFailure : flag,
      "upstream_reset_before_response_started", body);
}

void Filter::onPerTryTimeout() {
  Upstream::reportOutlierResult(*cluster_, host_, Upstream::OutlierResult::LocalOriginTimeout);
  cluster_->stats->upstream_rq_per_try_timeout.inc();
  onAttemptFailure(AttemptFailure::PerTryTimeout, 504, ResponseFlag::UpstreamRequestTimeout,
                   "upstream_per_try_timeout", "upstream request timeout");
}

void Filter::onRouteTimeout() {
  Upstream::reportOutlierResult(*cluster_, response_started_ ? nullptr : host_,
                                Upstream::OutlierResult::LocalOriginTimeout);
  cluster_->stats->upstream_rq_timeout.inc();
  if (retry_timer_ != nullptr) {
    retry_timer_->disableTimer();
    retrying_ = false;
  }
  disableRetries();
  releaseAttempt(/*reset_upstream=*/true);
  finishUpstream();
  if (response_started_) {
    callbacks_.resetDownstream(ResponseFlag::UpstreamRequestTimeout, "upstream_response_timeout");
    return;
  }
  localReply(504, "upstream request timeout", ResponseFlag::UpstreamRequestTimeout,
             "upstream_response_timeout");
}

void Filter::onAboveWriteBufferHighWatermark() {
  // The upstream connection cannot take the request body as fast as the client sends it.
  ++downstream_pauses_;
  callbacks_.readDisableDownstream(true);
}

void Filter::onBelowWriteBufferLowWatermark() {
  if (downstream_pauses_ > 0) {
    --downstream_pauses_;
    callbacks_.readDisableDownstream(false);
  }
}

void Filter::onDownstreamAboveWriteBufferHighWatermark() {
  // The client reads the response slower than the upstream sends it.
  ++upstream_read_disable_count_;
  if (upstream_encoder_ != nullptr) {
    ++upstream_read_disables_applied_;
    upstream_encoder_->getStream().readDisable(true);
  }
}

void Filter::onDownstreamBelowWriteBufferLowWatermark() {
  if (upstream_read_disable_count_ == 0) {
    return;
  }
  --upstream_read_disable_count_;
  if (upstream_encoder_ != nullptr && upstream_read_disables_applied_ > 0) {
    --upstream_read_disables_applied_;
    upstream_encoder_->getStream().readDisable(false);
  }
}

void Filter::onDestroy() {
  if (destroyed_) {
    return;
  }
  destroyed_ = true;
  disarmRouteTimer();
  retry_timer_.reset();
  const bool complete = upstream_request_complete_ && upstream_response_complete_;
  releaseAttempt(/*reset_upstream=*/!complete);
  per_try_timer_.reset();
  if (retry_state_ != nullptr) {
    retry_state_->onRetryDone();
  }
  retry_state_.reset();
}

}  // namespace Skiff::Extensions::HttpFilters::RouterFilter
