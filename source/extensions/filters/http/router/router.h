#pragma once

// The router (envoy.filters.http.router): forwards one downstream request to a host of the
// route's cluster through the worker's per-host connection pool, streams both bodies with
// backpressure, and handles the route timeout, per-try timeouts and retries.
//
// Thread and ownership: one Filter per downstream stream, owned by the connection manager's
// stream and used on its worker only. The filter never outlives its stream: the stream calls
// onDestroy() before it goes, which cancels a pending pool request or resets an upstream stream.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "source/common/buffer/buffer_impl.h"
#include "source/common/event/dispatcher.h"
#include "source/common/http/codec.h"
#include "source/common/stats/stats.h"
#include "source/common/stream_info/stream_info.h"
#include "source/common/upstream/cluster_manager.h"
#include "source/common/upstream/http_conn_pool.h"
#include "source/extensions/filters/http/router/retry_state.h"

namespace Skiff::Extensions::HttpFilters::RouterFilter {

// The router's own config (envoy.extensions.filters.http.router.v3.Router). Immutable, shared.
struct RouterConfig {
  bool suppress_envoy_headers{false};
  // A request body is kept for a retry only up to this many bytes; past it the request is not
  // retried (its beginning is gone).
  uint64_t retry_buffer_limit{64 * 1024};
  Upstream::ClusterManager* cluster_manager{nullptr};
};

// Envoy's router stats under http.<stat_prefix>. (no_route etc. are the connection manager's).
struct RouterStats {
  Stats::Counter& rq_total;
  Stats::Counter& rq_reset_after_downstream_response_started;
  Stats::Counter& no_cluster;
};

// What the router needs from the route the connection manager matched. The strings and the
// retry policy live in the immutable route table, which the stream holds for its whole life.
struct RouteTarget {
  absl::string_view cluster_name;
  // Status to answer when the cluster does not exist (cluster_not_found_response_code).
  uint32_t cluster_not_found_code{503};
  // Whole request including retries; 0 disables (Envoy's default 15 s is applied upstream).
  std::chrono::milliseconds timeout{15000};
  const Router::RetryPolicy* retry_policy{nullptr};  // nullptr or !enabled(): no retries.
  // The request is an upgrade the route or connection manager allows; after a 101 the stream
  // becomes a raw tunnel and the route timeout no longer applies.
  bool upgrade{false};
};

/**
 * What the router calls on its downstream stream (implemented by the connection manager's
 * ActiveStream). Worker thread.
 */
class FilterCallbacks {
 public:
  virtual ~FilterCallbacks() = default;

  virtual Event::Dispatcher& dispatcher() = 0;
  virtual uint64_t streamId() const = 0;
  // The response head from upstream (or a local reply's). `headers` is handed over.
  virtual void encode1xxHeaders(Http::ResponseHeaderMapPtr&& headers) = 0;
  virtual void encodeHeaders(Http::ResponseHeaderMapPtr&& headers, bool end_stream) = 0;
  virtual void encodeData(Buffer::Instance& data, bool end_stream) = 0;
  // Answers locally (if the response has not started) with `code`, a text/plain `body` and
  // the flag for the access log (0: none); `details` goes to %RESPONSE_CODE_DETAILS%.
  virtual void sendLocalReply(uint32_t code, absl::string_view body, uint32_t response_flag,
                              absl::string_view details) = 0;
  // The response already started and cannot be completed: reset the downstream stream.
  virtual void resetDownstream(uint32_t response_flag, absl::string_view details) = 0;
  // Stop / resume reading the downstream request (upstream backpressure).
  virtual void readDisableDownstream(bool disable) = 0;
  // The stream's facts for the access log; the router records the upstream side there.
  virtual StreamInfo::StreamInfo& streamInfo() = 0;
  // Arms (or with 0 disarms) the route timeout; when it expires the stream calls
  // Filter::onRouteTimeout(). The timer belongs to the connection, so keep-alive requests reuse
  // it instead of making one per request.
  virtual void setRouteTimeout(std::chrono::milliseconds timeout) = 0;
};

/**
 * One request's trip upstream, retries included. The connection manager calls onRequestHeaders
 * once, onRequestData for the body, the watermark calls while it streams the response, and
 * onDestroy() exactly once at the end.
 */
class Filter : public Upstream::HttpConnPoolCallbacks,
               public Http::ResponseDecoder,
               public Http::StreamCallbacks {
 public:
  Filter(const RouterConfig& config, RouterStats& stats, FilterCallbacks& callbacks);
  ~Filter() override;

  // `headers` stay owned by the stream and unchanged until onDestroy(); `route` too.
  void onRequestHeaders(Http::RequestHeaderMap& headers, bool end_stream, const RouteTarget& route);
  void onRequestData(Buffer::Instance& data, bool end_stream);
  // The downstream connection's write buffer is full / drained: pause / resume the upstream.
  void onDownstreamAboveWriteBufferHighWatermark();
  void onDownstreamBelowWriteBufferLowWatermark();
  // The stream is over (completed or reset): release everything upstream.
  void onDestroy();
  // The route timeout set through FilterCallbacks::setRouteTimeout expired.
  void onRouteTimeout();

  // Upstream::HttpConnPoolCallbacks
  void onPoolFailure(Upstream::PoolFailureReason reason,
                     absl::string_view transport_failure_reason) override;
  void onPoolReady(Http::RequestEncoder& encoder, const Upstream::Host& host) override;

  // Http::ResponseDecoder
  void decode1xxHeaders(Http::ResponseHeaderMapPtr&& headers) override;
  void decodeHeaders(Http::ResponseHeaderMapPtr&& headers, bool end_stream) override;
  void decodeData(Buffer::Instance& data, bool end_stream) override;

  // Http::StreamCallbacks (the upstream stream)
  void onResetStream(Http::StreamResetReason reason,
                     absl::string_view transport_failure_reason) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

 private:
  // Starts (or restarts, for a retry) an attempt: picks a host and asks its pool for a stream.
  // `cluster`: the thread-local cluster if the caller just looked it up, else null.
  void startAttempt(Upstream::ThreadLocalCluster* cluster = nullptr);
  // Sends headers and everything buffered so far once a stream is ready.
  void sendRequest();
  // An attempt ended without a usable response; retries or answers.
  void onAttemptFailure(AttemptFailure failure, uint32_t code, uint32_t flag,
                        absl::string_view details, absl::string_view body);
  // Tears the current attempt down (cancel the pool request / reset the upstream stream).
  void releaseAttempt(bool reset_upstream);
  bool maybeRetry(AttemptFailure* failure, uint32_t status);
  void scheduleRetry();
  void onPerTryTimeout();
  void finishUpstream();
  void recordUpstreamStatus(uint32_t status);
  void disableRetries();
  void disarmRouteTimer();
  // Made on first use: most requests have no body to hold and no retries.
  Buffer::Instance& pendingBody();
  Buffer::Instance& retryBody();
  uint64_t pendingBodyLength() const { return pending_body_ ? pending_body_->length() : 0; }
  void releaseDownstreamPause();
  void localReply(uint32_t code, absl::string_view body, uint32_t flag, absl::string_view details);

  const RouterConfig& config_;
  RouterStats& stats_;
  FilterCallbacks& callbacks_;

  // Per request.
  Http::RequestHeaderMap* request_headers_{nullptr};
  RouteTarget route_;
  Upstream::ClusterInfoConstSharedPtr cluster_;  // The config the request started with.
  std::unique_ptr<RetryState> retry_state_;
  std::unique_ptr<Buffer::OwnedImpl> pending_body_;  // Body not yet sent (waiting for a pool).
  std::unique_ptr<Buffer::OwnedImpl> retry_body_;    // A copy of the body sent, for retries.
  bool downstream_end_stream_{false};
  bool downstream_read_disabled_{false};  // We paused the downstream (pending body too large).
  bool response_started_{false};          // Headers went downstream.
  bool upgraded_{false};                  // 101 forwarded: raw tunnel.
  bool destroyed_{false};
  bool local_replied_{false};
  bool retrying_{false};  // Waiting out the back-off before the next attempt.
  std::chrono::steady_clock::time_point request_start_;

  // Per attempt.
  Upstream::ThreadLocalCluster* tl_cluster_{nullptr};
  const Upstream::Host* host_{nullptr};
  Upstream::Cancellable* pool_handle_{nullptr};
  Http::RequestEncoder* upstream_encoder_{nullptr};
  bool upstream_request_complete_{false};   // We sent end_stream upstream.
  bool upstream_response_complete_{false};  // Upstream sent end_stream.
  bool waiting_for_pool_{false};
  // Pauses the downstream's watermarks asked for, and how many were applied to the current
  // upstream stream (undone before it goes back to the pool).
  uint32_t upstream_read_disable_count_{0};
  uint32_t upstream_read_disables_applied_{0};
  // Pauses we put on the downstream because the upstream's write buffer was full.
  uint32_t downstream_pauses_{0};
  std::chrono::steady_clock::time_point attempt_start_;

  bool route_timer_armed_{false};
  Event::TimerPtr per_try_timer_;
  Event::TimerPtr retry_timer_;
};

}  // namespace Skiff::Extensions::HttpFilters::RouterFilter
