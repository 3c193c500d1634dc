#pragma once

// The interface the router uses to get an upstream HTTP/1.1 stream: a per-worker, per-host
// connection pool. It lives in upstream (not http) because it is built from a cluster's
// settings, and upstream may use the http codec but not the other way round.

#include <memory>

#include "absl/strings/string_view.h"
#include "source/common/http/codec.h"
#include "source/common/upstream/cluster_manager.h"

namespace Skiff::Upstream {

enum class PoolFailureReason {
  // A circuit breaker (max pending requests) or the queue limit refused the request.
  Overflow,
  // Connecting failed: refused, reset during the handshake, no descriptor.
  ConnectionFailure,
  // The cluster's connect_timeout expired.
  Timeout,
  // The pool was destroyed or drained while the request waited.
  PoolDrained,
};

inline absl::string_view poolFailureReasonToString(PoolFailureReason reason) {
  switch (reason) {
    case PoolFailureReason::Overflow:
      return "overflow";
    case PoolFailureReason::ConnectionFailure:
      return "connection failure";
    case PoolFailureReason::Timeout:
      return "connect timeout";
    case PoolFailureReason::PoolDrained:
      return "pool drained";
  }
  return "unknown";
}

/**
 * A request waiting for a connection. cancel() withdraws it: no callback follows.
 */
class Cancellable {
 public:
  virtual ~Cancellable() = default;
  virtual void cancel() = 0;
};

/**
 * The result of HttpConnPool::newStream. Exactly one of the two is called, once, on the worker
 * thread, unless the request is cancelled first.
 */
class HttpConnPoolCallbacks {
 public:
  virtual ~HttpConnPoolCallbacks() = default;

  virtual void onPoolFailure(PoolFailureReason reason,
                             absl::string_view transport_failure_reason) = 0;
  // A connection is ready and `encoder` belongs to this request until its response ended (the
  // decoder got end_stream) or the stream was reset; register StreamCallbacks on
  // encoder.getStream() to hear of resets (a reset you cause yourself is reported to them too).
  // The pool keeps a pointer to the headers given to encodeHeaders until the response starts,
  // to send them again on a fresh connection (see HttpConnPool): they must live that long, as
  // the downstream request's headers do. `host` is the pool's host (valid for the pool's life).
  virtual void onPoolReady(Http::RequestEncoder& encoder, const Host& host) = 0;
};

/**
 * Connections to one upstream host, owned and used by one worker thread (no locks).
 *
 * Idle connections are reused most-recently-used first (the warmest socket, and idle ones at the
 * bottom of the stack age out through the idle timeout). A request that finds no idle connection
 * waits in a FIFO queue while a new connection is made (within the circuit breakers). A
 * connection the server closes while idle is dropped silently; a request that was given such a
 * connection in the same instant, before a byte of it was written, is moved once to a fresh
 * connection instead of failing.
 */
class HttpConnPool {
 public:
  virtual ~HttpConnPool() = default;

  // Asks for a stream whose response goes to `decoder`. If a connection is idle, onPoolReady
  // runs before this returns and the result is nullptr; if the request cannot be queued,
  // onPoolFailure(Overflow) runs before it returns and the result is nullptr. Otherwise the
  // request waits and the returned handle (valid until a callback ran) can cancel it.
  virtual Cancellable* newStream(Http::ResponseDecoder& decoder,
                                 HttpConnPoolCallbacks& callbacks) = 0;

  // Connections open (idle, busy or connecting) and requests waiting.
  virtual bool hasActiveConnections() const = 0;
  // Closes idle connections now and busy ones when their stream ends; new requests still get
  // new connections, which close when their stream ends (or at once if nothing waits for them):
  // a drained pool keeps no idle connection. For a cluster update that changed connection
  // settings, and for the server's drain (requests on draining downstream connections still
  // arrive, and a pooled connection made for one must not hold the drain open).
  virtual void drainConnections() = 0;
};

using HttpConnPoolPtr = std::unique_ptr<HttpConnPool>;

}  // namespace Skiff::Upstream
