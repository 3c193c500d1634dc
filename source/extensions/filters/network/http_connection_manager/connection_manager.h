#pragma once

// The HTTP connection manager network filter: owns the server codec of one downstream
// connection and turns each request into an ActiveStream that routes it, answers locally or hands
// it to the router, and writes the response back through the codec.
//
// Thread: one ConnectionManagerImpl per downstream connection, owned by the connection (as its
// read filter) and used only on the connection's worker.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "source/common/common/per_thread_pool.h"
#include "source/common/event/deadline_timer.h"
#include "source/common/event/timer.h"
#include "source/common/http/codec.h"
#include "source/common/network/connection.h"
#include "source/common/network/filter.h"
#include "source/extensions/filters/http/router/router.h"
#include "source/extensions/filters/network/http_connection_manager/config.h"

namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager {

class ConnectionManagerImpl;

/**
 * One request/response exchange. Created by the codec's newStream, destroyed (deferred) once
 * the response is complete or the stream was reset. HTTP/1.1 has one at a time per connection.
 */
class ActiveStream : public Http::RequestDecoder,
                     public Http::StreamCallbacks,
                     public HttpFilters::RouterFilter::FilterCallbacks,
                     public Event::DeferredDeletable,
                     public PerThreadPooled<ActiveStream> {
 public:
  ActiveStream(ConnectionManagerImpl& parent, Http::ResponseEncoder& encoder, uint64_t id);
  ~ActiveStream() override;

  // Http::RequestDecoder
  void decodeHeaders(Http::RequestHeaderMapPtr&& headers, bool end_stream) override;
  void decodeData(Buffer::Instance& data, bool end_stream) override;

  // Http::StreamCallbacks (the downstream stream)
  void onResetStream(Http::StreamResetReason reason,
                     absl::string_view transport_failure_reason) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

  // HttpFilters::RouterFilter::FilterCallbacks
  Event::Dispatcher& dispatcher() override;
  uint64_t streamId() const override { return id_; }
  void encode1xxHeaders(Http::ResponseHeaderMapPtr&& headers) override;
  void encodeHeaders(Http::ResponseHeaderMapPtr&& headers, bool end_stream) override;
  void encodeData(Buffer::Instance& data, bool end_stream) override;
  void sendLocalReply(uint32_t code, absl::string_view body, uint32_t response_flag,
                      absl::string_view details) override;
  void resetDownstream(uint32_t response_flag, absl::string_view details) override;
  void readDisableDownstream(bool disable) override;
  StreamInfo::StreamInfo& streamInfo() override { return stream_info_; }
  void setRouteTimeout(std::chrono::milliseconds timeout) override;

  // The codec failed to parse this request: answer `code` (if nothing was sent yet).
  void onCodecError(const Http::CodecStatus& status);
  // The stream idle or request timeout fired.
  void onIdleTimeout();
  void onRequestTimeout();
  void onRequestHeadersTimeout();
  bool finished() const { return finished_; }

 private:
  friend class ConnectionManagerImpl;

  void routeRequest(bool end_stream);
  // The stream is over: stats, access log, release the router and hand ourselves back.
  void finish() { finish(std::chrono::steady_clock::now()); }
  // `now`: the caller's reading of the clock, when it just took one.
  void finish(std::chrono::steady_clock::time_point now);
  void resetIdleTimer();
  void onResponseEnded();

  ConnectionManagerImpl& parent_;
  Http::ResponseEncoder& encoder_;
  const uint64_t id_;
  StreamInfo::StreamInfo stream_info_;
  Http::RequestHeaderMapPtr request_headers_;
  Http::ResponseHeaderMapPtr response_headers_;   // Kept for the access log.
  Router::RouteTableConstSharedPtr route_table_;  // The table this request was routed with.
  Router::RouteResult route_;
  HttpFilters::RouterFilter::RouteTarget target_;
  std::string cluster_from_header_;  // cluster_header's value, copied before headers change.
  HttpFilters::RouterFilter::Filter router_;
  bool router_started_{false};
  std::string upgrade_type_;
  // Progress.
  bool request_complete_{false};
  bool response_headers_sent_{false};
  bool response_complete_{false};
  bool upgrade_accepted_{false};  // A 101 went downstream: a tunnel until both sides end.
  bool finished_{false};
  bool read_disabled_{false};
  uint32_t read_disable_count_{0};
  uint32_t response_code_{0};
  // Static strings (string literals from the codec, router and here), so no copy per request.
  absl::string_view response_code_details_;
};

/**
 * The network filter. Holds the codec, the connection's timers and at most one ActiveStream.
 */
class ConnectionManagerImpl : public Network::ReadFilter,
                              public Network::ConnectionCallbacks,
                              public Http::ServerConnectionCallbacks {
 public:
  explicit ConnectionManagerImpl(ConnectionManagerConfigConstSharedPtr config);
  ~ConnectionManagerImpl() override;

  // Network::ReadFilter
  void initializeReadFilterCallbacks(Network::ReadFilterCallbacks& callbacks) override;
  Network::FilterStatus onNewConnection() override;
  Network::FilterStatus onData(Buffer::Instance& data, bool end_stream) override;
  void onDrainStart() override;

  // Network::ConnectionCallbacks
  void onEvent(Network::ConnectionEvent event) override;

  // Http::ServerConnectionCallbacks
  Http::RequestDecoder& newStream(Http::ResponseEncoder& encoder) override;

  const ConnectionManagerConfig& config() const { return *config_; }
  ConnectionManagerStats& stats() const { return *config_->stats; }
  Network::Connection& connection() { return *connection_; }
  // Per-worker randomness for request ids and weighted clusters.
  uint64_t nextRandom();

 private:
  friend class ActiveStream;

  void onStreamFinished(ActiveStream& stream);
  void onIdleTimeout();
  void onMaxDurationReached();
  void armIdleTimer();
  bool maxRequestsReached() const {
    return config_->max_requests_per_connection > 0 &&
           requests_ >= config_->max_requests_per_connection;
  }

  const ConnectionManagerConfigConstSharedPtr config_;
  Network::Connection* connection_{nullptr};
  Http::ServerConnectionPtr codec_;
  std::unique_ptr<ActiveStream> stream_;
  // Deadline timers: moved on every request or read without touching libevent's timer heap.
  std::unique_ptr<Event::DeadlineTimer> idle_timer_;         // No stream in flight.
  std::unique_ptr<Event::DeadlineTimer> stream_idle_timer_;  // The stream saw no activity.
  std::unique_ptr<Event::DeadlineTimer> route_timer_;        // The router's route timeout.
  Event::TimerPtr request_timer_;       // request_timeout of the active stream.
  Event::TimerPtr headers_timer_;       // request_headers_timeout of the active stream.
  Event::TimerPtr max_duration_timer_;  // max_connection_duration.
  Event::TimerPtr drain_timer_;         // drain_timeout: closes a connection idle since the drain.
  const std::chrono::steady_clock::time_point start_;
  uint64_t requests_{0};
  uint64_t next_stream_id_{1};
  uint64_t random_state_;
  bool draining_{false};
  bool closed_{false};
};

}  // namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager
