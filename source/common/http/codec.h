#pragma once

// HTTP codec interfaces: what turns bytes on a Network::Connection into request/response streams
// and back. Modelled on Envoy's envoy/http/codec.h, smaller: HTTP/1.1 only, no metadata, no
// trailers on the encode side.
//
// Threads and ownership
// - A codec is created for one connection and used only on that connection's worker thread; no
//   method here is thread-safe and nothing in it takes a lock.
// - The codec does not own the Network::Connection. Whoever owns the connection (the HTTP
//   connection manager, a read filter owned by the connection; or a connection pool's client)
//   owns the codec and must destroy it before the connection (or together, in the connection's
//   deferred deletion).
// - The codec owns the per-stream encoders (ResponseEncoder on the server side, RequestEncoder on
//   the client side). The caller owns the decoders it hands in (RequestDecoder returned from
//   ServerConnectionCallbacks::newStream, ResponseDecoder passed to ClientConnection::newStream)
//   and StreamCallbacks it registers. The codec calls a decoder only until the stream ends (its
//   end_stream was delivered, or the stream was reset); after that it never touches it again.
//   The caller must not use an encoder after the stream ended (end_stream encoded and decoded,
//   or reset).
// - The codec writes to the connection itself (Connection::write) and closes it itself for
//   protocol reasons: a reset stream, `Connection: close`, HTTP/1.0 without keep-alive, a
//   response that ended before its request, an upgraded stream that ended. The owner only closes
//   for its own reasons (drain, timeouts).
// - The codec registers itself as Network::ConnectionCallbacks on the connection when it is
//   built. When the connection closes with a stream in flight it resets that stream
//   (StreamCallbacks::onResetStream), and it forwards the connection's write-buffer watermarks to
//   the active stream's callbacks. An owner that wants its streams reset before it hears about
//   the close should add its own ConnectionCallbacks after building the codec.
//
// Backpressure
// - Bodies are delivered as they arrive (decodeData per read), never buffered whole. A consumer
//   that cannot keep up calls Stream::readDisable(true) (the codec stops reading the socket)
//   and readDisable(false) when it drained.
// - A producer learns that the connection's write buffer is full through
//   StreamCallbacks::onAboveWriteBufferHighWatermark and should stop sending until
//   onBelowWriteBufferLowWatermark.

#include <cstdint>
#include <memory>

#include "absl/strings/string_view.h"
#include "source/common/buffer/buffer.h"
#include "source/common/http/header_map.h"

namespace Skiff::Http {

enum class Protocol { Http10, Http11 };

/**
 * The result of dispatch() and of encoding request headers. Value type, no allocation: reasons
 * are static strings. A protocol error carries the status code to answer with (400, 431, 413,
 * ...); a premature response means the upstream sent bytes when no request was outstanding.
 */
class CodecStatus {
 public:
  enum class Code {
    Ok,
    // The peer broke HTTP framing or a limit. Server side: answer httpCode() through the
    // stream's encoder if the response has not started (the codec then closes the connection),
    // otherwise reset it; nothing more of the request is delivered, and a request whose error
    // arrived with its headers was never delivered at all. Client side: the codec has already
    // reset the stream (ProtocolError) and closed the connection.
    ProtocolError,
    // Client side: the server sent data while no request was outstanding, or more than one
    // response. The connection is closed.
    PrematureResponse,
  };

  CodecStatus() = default;
  static CodecStatus ok() { return CodecStatus(); }
  // `details` must be a string literal (or otherwise outlive every copy), e.g.
  // "http1.invalid_header_name": short, stable, fit for access logs (%RESPONSE_CODE_DETAILS%).
  static CodecStatus protocolError(uint16_t http_code, const char* details) {
    return CodecStatus(Code::ProtocolError, http_code, details);
  }
  static CodecStatus prematureResponse(const char* details) {
    return CodecStatus(Code::PrematureResponse, 502, details);
  }

  bool isOk() const { return code_ == Code::Ok; }
  Code code() const { return code_; }
  // The status code to answer with: 400 (bad framing or syntax), 431 (header section too large
  // or too many headers), 413, 502 for a premature response. 0 when ok.
  uint16_t httpCode() const { return http_code_; }
  absl::string_view details() const { return details_; }

 private:
  CodecStatus(Code code, uint16_t http_code, const char* details)
      : code_(code), http_code_(http_code), details_(details) {}

  Code code_ = Code::Ok;
  uint16_t http_code_ = 0;
  const char* details_ = "";
};

/**
 * Why a stream ended early.
 */
enum class StreamResetReason {
  // We reset it (Stream::resetStream from our side: timeout, the other half went away).
  LocalReset,
  // The peer closed the connection in the middle of the stream.
  RemoteReset,
  // The connection closed (either side) while the stream was in flight and the close was not
  // tied to this stream's protocol (e.g. the owner closed the connection).
  ConnectionTermination,
  // The peer broke the protocol in the middle of the stream (bad chunk, overlong headers).
  ProtocolError,
  // A connection pool could not get a connection (used by the pool's failure reasons too).
  ConnectionFailure,
  // A circuit breaker or queue limit refused the stream.
  Overflow,
};

// "local reset", "remote reset", ... for logs and access logs.
inline absl::string_view resetReasonToString(StreamResetReason reason) {
  switch (reason) {
    case StreamResetReason::LocalReset:
      return "local reset";
    case StreamResetReason::RemoteReset:
      return "remote reset";
    case StreamResetReason::ConnectionTermination:
      return "connection termination";
    case StreamResetReason::ProtocolError:
      return "protocol error";
    case StreamResetReason::ConnectionFailure:
      return "connection failure";
    case StreamResetReason::Overflow:
      return "overflow";
  }
  return "unknown";
}

/**
 * Told about one stream's end and its connection's write-buffer pressure. Implemented by the
 * connection manager's stream and the router's upstream request. Called on the worker thread; a
 * registered callbacks object must be removed (Stream::removeCallbacks) before it is destroyed
 * if the stream may still be alive.
 */
class StreamCallbacks {
 public:
  virtual ~StreamCallbacks() = default;

  // The stream ended abnormally; no decoder call follows. Called once at most.
  // `transport_failure_reason` is the connection's failure text if it has one ("connection
  // reset by peer"), or empty.
  virtual void onResetStream(StreamResetReason reason,
                             absl::string_view transport_failure_reason) = 0;
  // The connection's write buffer went over its high watermark: stop producing data for this
  // stream until onBelowWriteBufferLowWatermark().
  virtual void onAboveWriteBufferHighWatermark() = 0;
  virtual void onBelowWriteBufferLowWatermark() = 0;
};

/**
 * One request/response exchange on a connection. Owned by the codec; valid until the stream
 * ends (see the file comment).
 */
class Stream {
 public:
  virtual ~Stream() = default;

  virtual void addCallbacks(StreamCallbacks& callbacks) = 0;
  virtual void removeCallbacks(StreamCallbacks& callbacks) = 0;
  // Ends the stream abnormally. On HTTP/1 this closes the connection without flushing (there
  // is no way to abandon one exchange and keep the framing). Registered callbacks get
  // onResetStream(reason) before this returns; remove yours first if you do not want it.
  virtual void resetStream(StreamResetReason reason) = 0;
  // Stops (true) or resumes (false) reading this stream's incoming data. Calls nest like
  // Network::Connection::readDisable. On HTTP/1 this is the connection's read side.
  virtual void readDisable(bool disable) = 0;
};

/**
 * The sending half of a stream.
 */
class StreamEncoder {
 public:
  virtual ~StreamEncoder() = default;

  // Sends body bytes; `data` is drained (its slices are moved, not copied, where framing
  // allows). With end_stream the message ends (a chunked body gets its last chunk). On an
  // upgraded (101) or CONNECT stream the bytes go out raw and end_stream half-closes the
  // connection (TCP FIN).
  virtual void encodeData(Buffer::Instance& data, bool end_stream) = 0;
  virtual Stream& getStream() = 0;
};

/**
 * Server side: sends the response to one request.
 *
 * Framing is the codec's: it writes `content-length` if the headers carry one, otherwise
 * `content-length: 0` when end_stream is set on the headers, otherwise chunked encoding (or, for
 * an HTTP/1.0 client, a close-delimited body); never a body for HEAD, 1xx, 204, 304. A
 * `transfer-encoding` field in the map is never written. The codec writes `connection: close`
 * (replacing the map's connection fields) and closes the connection after the response when
 * the connection cannot continue: the map says `connection: close`, the client asked to close
 * or spoke HTTP/1.0 without keep-alive, disableKeepAlive() was called, the request is still
 * arriving, or it failed to parse. For an HTTP/1.0 client that asked for keep-alive it writes
 * `connection: keep-alive`. A 101 response to an Upgrade request (or a 2xx to CONNECT) switches
 * both directions to raw bytes; any other answer to those closes the connection after it.
 */
class ResponseEncoder : public StreamEncoder {
 public:
  // Sends an interim response (100 Continue, 103 Early Hints) before encodeHeaders().
  virtual void encode1xxHeaders(const ResponseHeaderMap& headers) = 0;
  virtual void encodeHeaders(const ResponseHeaderMap& headers, bool end_stream) = 0;
  // The request this encoder answers: HTTP/1.0 or 1.1, and whether it was HEAD (no body is
  // written whatever encodeData is given).
  virtual Protocol protocol() const = 0;
};

/**
 * Client side: sends one request upstream.
 *
 * Writes the request line from method()/path(), then `host` from host(), then the fields.
 * Framing: `content-length` if present; otherwise nothing when end_stream is set on the headers
 * (`content-length: 0` for POST/PUT/PATCH); otherwise chunked. An Upgrade request
 * (`connection: upgrade` with `upgrade`) or CONNECT sends its body raw after the headers.
 */
class RequestEncoder : public StreamEncoder {
 public:
  // Fails (ProtocolError "http1.invalid_request_line", nothing written) if method, path or host
  // is empty or contains characters that cannot appear in a request line.
  virtual CodecStatus encodeHeaders(const RequestHeaderMap& headers, bool end_stream) = 0;
};

/**
 * Server side: receives one request. Implemented by the connection manager's stream.
 *
 * The codec delivers: decodeHeaders once, then decodeData zero or more times, the last with
 * end_stream (or end_stream on decodeHeaders when there is no body). Header maps are handed
 * over (the decoder owns them). The request line is in method()/path(); an absolute-form target
 * ("GET http://h:1/p HTTP/1.1") arrives as path "/p" and host "h:1". host() holds Host. The
 * `transfer-encoding` field is removed (framing is the codec's business); other hop-by-hop fields
 * (connection, keep-alive, proxy-connection, te, upgrade) stay for the connection manager to
 * strip or forward. `expect: 100-continue` stays in the map: the connection manager decides
 * whether to answer it with ResponseEncoder::encode1xxHeaders(100) and strips it.
 *
 * Upgrade (`connection: upgrade` + `upgrade: x`) and CONNECT: decodeHeaders has end_stream
 * false, and every byte after the header section is delivered raw through decodeData (tunnel),
 * until the client half-closes (end_stream) or the connection closes (reset).
 */
class RequestDecoder {
 public:
  virtual ~RequestDecoder() = default;

  virtual void decodeHeaders(RequestHeaderMapPtr&& headers, bool end_stream) = 0;
  // `data` is the codec's; drain or move what you keep (typically all of it).
  virtual void decodeData(Buffer::Instance& data, bool end_stream) = 0;
};

/**
 * Client side: receives the response to one request. Implemented by the router's upstream
 * request. Same delivery rules as RequestDecoder. 1xx responses other than 101 come through
 * decode1xxHeaders (zero or more times) before decodeHeaders. A 101, or a 2xx to CONNECT, makes
 * the rest of the bytes from upstream raw data for decodeData.
 */
class ResponseDecoder {
 public:
  virtual ~ResponseDecoder() = default;

  virtual void decode1xxHeaders(ResponseHeaderMapPtr&& headers) = 0;
  virtual void decodeHeaders(ResponseHeaderMapPtr&& headers, bool end_stream) = 0;
  virtual void decodeData(Buffer::Instance& data, bool end_stream) = 0;
};

/**
 * Limits and switches for the HTTP/1 codec. Built from config on main, copied into each codec.
 */
struct Http1Settings {
  // The request line plus header section (client side: status line plus headers) may take at
  // most this many bytes; more is 431 (502 for a response). Server side:
  // HttpConnectionManager.max_request_headers_kb (default 60); upstream pools use 60.
  uint32_t max_headers_kb = 60;
  // At most this many header fields; more is 431 (502 for a response).
  // HttpConnectionManager.common_http_protocol_options.max_headers_count (default 100); upstream
  // pools use the Cluster's common_http_protocol_options.max_headers_count.
  uint32_t max_headers_count = 100;
  // Accept HTTP/1.0 requests (a missing Host is then allowed).
  bool accept_http_10 = true;
};

/**
 * What both sides of a codec have.
 */
class Connection {
 public:
  virtual ~Connection() = default;

  // Parses as much of `data` as the current state allows and drains what it consumed. What is
  // left (a pipelined request waiting for the current response) stays in `data`; the codec
  // disables reading meanwhile and re-enables it when it can continue, and the network
  // connection then hands the leftover back in. end_stream: the peer half-closed (TCP FIN):
  // ends a close-delimited response body or an upgraded stream, resets a half-received message.
  // A non-ok status means the connection is unusable; see CodecStatus.
  virtual CodecStatus dispatch(Buffer::Instance& data, bool end_stream) = 0;
  // The protocol of the last message seen (HTTP/1.1 until one is).
  virtual Protocol protocol() const = 0;
};

/**
 * Server side callbacks: the connection manager.
 */
class ServerConnectionCallbacks {
 public:
  virtual ~ServerConnectionCallbacks() = default;

  // A request started (its first byte arrived). Returns the decoder for it; `encoder` sends its
  // response. HTTP/1 has at most one stream at a time: the next newStream comes after this
  // stream ended (response sent and request received, or reset). If dispatch() fails before any
  // stream exists, a stream is still created first, so the caller always has an encoder to
  // answer the error with.
  virtual RequestDecoder& newStream(ResponseEncoder& encoder) = 0;
};

/**
 * The server side of an HTTP/1 connection (downstream).
 */
class ServerConnection : public virtual Connection {
 public:
  // Graceful drain: the current (or next) response carries `connection: close` and the
  // connection closes after it; an idle connection is closed now.
  virtual void disableKeepAlive() = 0;
  // Like disableKeepAlive(), but an idle connection stays open for its next request (which gets
  // the last response). Closing an idle keep-alive connection races with the client's next
  // request: one already on the wire is lost, and the client cannot tell whether it was
  // processed. The caller closes a connection that stays idle (disableKeepAlive() later).
  virtual void closeAfterNextResponse() = 0;
};

using ServerConnectionPtr = std::unique_ptr<ServerConnection>;

/**
 * Told when a client stream finished, so a pool can reuse or discard the connection.
 */
class ClientConnectionCallbacks {
 public:
  virtual ~ClientConnectionCallbacks() = default;

  // The current stream completed normally: the response was fully decoded (after the decoder's
  // end_stream) and the request fully encoded, or the response ended first (then `reusable` is
  // false and the rest of the request must not be sent). `reusable` says the connection may
  // carry another request: keep-alive on both sides, clean framing, no stray bytes. A new stream
  // may be started from inside this callback. Not called for resets (a reset closes the
  // connection; watch the connection's events).
  virtual void onStreamComplete(bool reusable) = 0;
};

/**
 * The client side of an HTTP/1 connection (upstream). One request at a time, no pipelining.
 */
class ClientConnection : public virtual Connection {
 public:
  // Starts a request whose response goes to `decoder`. Only when idle (no stream in flight).
  virtual RequestEncoder& newStream(ResponseDecoder& decoder) = 0;
  // No stream in flight.
  virtual bool idle() const = 0;
};

using ClientConnectionPtr = std::unique_ptr<ClientConnection>;

}  // namespace Skiff::Http
