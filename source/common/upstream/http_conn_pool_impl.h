#pragma once

#include <chrono>
#include <list>
#include <memory>
#include <optional>

#include "absl/container/inlined_vector.h"
#include "source/common/event/dispatcher.h"
#include "source/common/http/http1/codec_impl.h"
#include "source/common/network/connection.h"
#include "source/common/network/filter.h"
#include "source/common/upstream/http_conn_pool.h"

namespace Skiff::Upstream {

/**
 * HttpConnPool over HTTP/1.1 connections (see http_conn_pool.h for the contract). Worker thread
 * only; built per worker and host from the cluster's shared, immutable ClusterInfo, whose
 * ResourceManager (circuit breakers) all workers share.
 *
 * Limits: a request is refused (onPoolFailure(Overflow)) when the cluster's max_requests are in
 * flight, or when it would have to wait and max_pending_requests are waiting. A new connection
 * is made per waiting request up to max_connections; past that the request waits for a busy one
 * (upstream_cx_overflow counts the refusals).
 */
class HttpConnPoolImpl : public HttpConnPool {
 public:
  HttpConnPoolImpl(Event::Dispatcher& dispatcher, ClusterInfoConstSharedPtr cluster,
                   const Host& host);
  ~HttpConnPoolImpl() override;

  // HttpConnPool
  Cancellable* newStream(Http::ResponseDecoder& decoder, HttpConnPoolCallbacks& callbacks) override;
  bool hasActiveConnections() const override;
  void drainConnections() override;

  // For tests and admin: connections by state, requests waiting.
  size_t connectingCount() const { return connecting_.size(); }
  size_t readyCount() const { return ready_.size(); }
  size_t busyCount() const { return busy_.size(); }
  size_t pendingCount() const { return pending_.size() + retry_pending_.size(); }

 private:
  class ActiveClient;
  class PoolStream;
  using ClientList = std::list<std::unique_ptr<ActiveClient>>;
  using StreamList = std::list<std::unique_ptr<PoolStream>>;
  enum class ClientState { Connecting, Ready, Busy };

  void createClient();
  // Makes connections for waiting requests, within max_connections.
  void createClientsForPending();
  void attach(std::unique_ptr<PoolStream> stream, ActiveClient& client);
  void onConnected(ActiveClient& client);
  void onStreamComplete(ActiveClient& client, bool reusable);
  void onStreamReset(PoolStream& stream, Http::StreamResetReason reason,
                     absl::string_view transport_failure_reason);
  void onClientClosed(ActiveClient& client, Network::ConnectionEvent event);
  // Withdraws a waiting request: cancelled by the router (no reason, no callback), or reset by it
  // while waiting for a fresh connection (its callbacks hear `reset`).
  void cancel(PoolStream& stream, std::optional<Http::StreamResetReason> reset);
  void moveToReady(ActiveClient& client);
  void closeClient(ActiveClient& client);
  void armIdleTimer();
  void onIdleTimer();
  void releaseRequest();
  std::unique_ptr<PoolStream> takePending(StreamList& list, StreamList::iterator it);
  ClientList& listFor(ClientState state);

  Event::Dispatcher& dispatcher_;
  const ClusterInfoConstSharedPtr cluster_;
  ClusterStats& stats_;
  ResourceManager& resources_;
  const Host host_;
  const Http::Http1Settings settings_;
  // Ready is a stack: front is the most recently used. The idle timer expires from the back.
  ClientList connecting_;
  ClientList ready_;
  ClientList busy_;
  StreamList pending_;        // FIFO.
  StreamList retry_pending_;  // Moved off a connection that closed: served by fresh ones only.
  Event::TimerPtr idle_timer_;
  bool draining_{false};  // drainConnections() was called: keep no idle connection.
  bool destroying_{false};
};

}  // namespace Skiff::Upstream
