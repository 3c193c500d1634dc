#pragma once

// HTTP/1.1 codecs on llhttp (Node.js's parser, built in strict mode). See codec.h for the
// contract; this file is about how.
//
// Parsing happens in place: the codec peeks the input buffer's first slice, runs llhttp over it,
// then drains what was parsed. Body bytes are moved out of the input (whole slices are relinked,
// not copied) into a body buffer handed to decodeData. No decoder is ever called from inside
// llhttp: the llhttp callbacks only record, and the codec delivers after llhttp_execute returns,
// so a decoder may do anything (answer, reset, close) without re-entering the parser.
//
// The parser pauses after every message. On the server that is how pipelining is serialized:
// the next request is parsed only once the current response is complete. On the client it is
// where the connection is handed back to the pool.

#include <llhttp.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/inlined_vector.h"
#include "source/common/buffer/buffer_impl.h"
#include "source/common/http/codec.h"
#include "source/common/network/connection.h"

namespace Skiff::Http::Http1 {

/**
 * The registered StreamCallbacks of the one stream in flight. Entries removed while a callback
 * runs are nulled out rather than erased.
 */
class StreamCallbackList {
 public:
  void add(StreamCallbacks& callbacks) { list_.push_back(&callbacks); }
  void remove(StreamCallbacks& callbacks);
  void clear() { list_.clear(); }
  void runReset(StreamResetReason reason, absl::string_view transport_failure_reason);
  void runAboveHighWatermark();
  void runBelowLowWatermark();

 private:
  absl::InlinedVector<StreamCallbacks*, 4> list_;
};

/**
 * What the server and client codecs share: the llhttp parser, the in-place parse loop, header
 * collection and validation, and the connection's events. Worker thread only.
 */
class ConnectionImpl : public virtual Http::Connection, public Network::ConnectionCallbacks {
 public:
  ~ConnectionImpl() override;

  // Http::Connection
  Protocol protocol() const override { return protocol_; }

  // Network::ConnectionCallbacks
  void onEvent(Network::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

 protected:
  ConnectionImpl(Network::Connection& connection, const Http1Settings& settings,
                 llhttp_type_t type);

  // Why llhttp_execute stopped, as seen by the parse loop.
  enum class ParseResult { Continue, Paused, Error };

  // Runs llhttp over `data` until it is consumed, the parser pauses at a message end (the
  // subclass's onMessageComplete decides whether to go on) or an error. Returns the error status.
  CodecStatus parseLoop(Buffer::Instance& data);
  // Records a parse failure (sticky) and lets the subclass tell its stream.
  CodecStatus parseFailed(CodecStatus status);
  void closeConnection(Network::ConnectionCloseType type);
  // Inside llhttp: records a protocol error for the parse loop; returns llhttp's error value.
  int fail(uint16_t http_code, const char* details);
  // Resets the per-message state so the parser can take the next message.
  void resetMessageState();
  // The status for an llhttp error code.
  CodecStatus statusFromLlhttp(llhttp_errno_t err) const;

  // Subclass hooks. Inside llhttp:
  virtual void allocHeaders() = 0;
  virtual HeaderMap& headers() = 0;
  // A complete header field named like one a codec treats specially (4 or 17 bytes: host,
  // transfer-encoding; name lower-case, value trimmed). Returns a protocol error to refuse the
  // message; sets `keep` false to leave the field out of the map.
  virtual CodecStatus onHeaderField(absl::string_view name, absl::string_view value,
                                    bool& keep) = 0;
  virtual void onUrl(const char* at, size_t length) = 0;
  // Returns llhttp's on_headers_complete value (0, 1 skip body, 2 upgrade) or -1 with
  // callback_status_ set.
  virtual int onHeadersComplete() = 0;
  // Outside llhttp, in the parse loop:
  // Whether the parser may run now (server: not while a response is pending).
  virtual bool canParse() const = 0;
  // A message began (the first byte of a request / response arrived).
  virtual void onMessageBeginOutside() {}
  // Deliver headers and body gathered by the last llhttp_execute. `message_complete`: the
  // message ended in it (the parser is paused after it).
  virtual void deliver(bool message_complete, Buffer::Instance& rest) = 0;
  // After deliver(), with the message complete: returns true to keep parsing `rest`.
  virtual bool onMessageComplete(Buffer::Instance& rest) = 0;
  // The parser failed on input; the subclass decides how to tell its stream.
  virtual void onParseError(const CodecStatus& status) = 0;

  // Writes one piece of an outgoing message's body (either direction): as is when `raw` (a
  // tunnel, which then ends the connection's write side with `end_stream`), in chunked framing
  // with the last chunk at `end_stream` when `chunked`, as is otherwise.
  void encodeBody(Buffer::Instance& data, bool end_stream, bool raw, bool chunked);

  Network::Connection& connection_;
  const Http1Settings settings_;
  llhttp_t parser_;
  Protocol protocol_{Protocol::Http11};
  StreamCallbackList stream_callbacks_;
  bool stream_active_{false};  // A stream exists and has not ended.

  // Per message.
  bool message_begun_{false};
  bool headers_complete_{false};
  bool headers_delivered_{false};
  bool message_complete_{false};
  bool keep_alive_{false};    // llhttp_should_keep_alive at message end.
  bool upgrade_{false};       // The message switched the connection to raw bytes.
  uint32_t header_bytes_{0};  // Bytes of the header section parsed so far.
  uint32_t header_count_{0};
  // The header map being filled (headers() of the message being parsed).
  HeaderMap* header_map_{nullptr};
  // The field being parsed. While it lies within the slice llhttp runs over, it is two spans of
  // that slice, copied into the map once complete. A field cut off by the slice's end is moved
  // into the map (field_open_) and its further bytes appended there.
  absl::string_view name_span_;
  absl::string_view value_span_;
  bool field_open_{false};
  Buffer::OwnedImpl body_;    // Body bytes gathered by one llhttp_execute, delivered after it.
  Buffer::OwnedImpl output_;  // Encoded bytes on their way to the connection.

  bool connection_closed_{false};  // The connection raised its close event.
  bool closing_{false};            // We asked it to close.
  bool dispatching_{false};
  bool tunnel_{false};  // Raw bytes after an accepted upgrade / CONNECT.
  CodecStatus failed_;  // Sticky: once parsing failed, every dispatch returns this.
  CodecStatus callback_status_;

 private:
  struct BodySpan {
    uint64_t offset;
    uint64_t length;
  };

  static const llhttp_settings_t kSettings;
  static int onMessageBeginCb(llhttp_t* parser);
  static int onUrlCb(llhttp_t* parser, const char* at, size_t length);
  static int onHeaderFieldCb(llhttp_t* parser, const char* at, size_t length);
  static int onHeaderValueCb(llhttp_t* parser, const char* at, size_t length);
  static int onHeaderValueCompleteCb(llhttp_t* parser);
  static int onHeadersCompleteCb(llhttp_t* parser);
  static int onBodyCb(llhttp_t* parser, const char* at, size_t length);
  static int onMessageCompleteCb(llhttp_t* parser);

  // Moves the spans of the field being parsed into a field at the end of the map.
  void spillField();
  int onHeaderFieldData(const char* at, size_t length);
  int onHeaderValueData(const char* at, size_t length);
  int onHeaderValueComplete();
  // Drains the `consumed` bytes parsed from the front slice, moving body spans into body_.
  void consumeSlice(Buffer::Instance& data, uint64_t consumed);

  // The slice llhttp is running over and the body spans it reported.
  const char* slice_begin_{nullptr};
  absl::InlinedVector<BodySpan, 4> body_spans_;
  // obs-fold detection: whether a line feed appeared between a header's name and its value
  // spans (a folded continuation line), across slice boundaries.
  const char* fold_gap_start_{nullptr};  // In the current slice; nullptr: the slice's start.
  bool fold_gap_active_{false};
  bool fold_gap_lf_{false};
};

/**
 * The downstream side: parses requests, encodes responses. One stream at a time; a pipelined
 * request waits in the connection's read buffer (reading off) until the current response is
 * complete.
 */
class ServerConnectionImpl : public ConnectionImpl, public ServerConnection {
 public:
  ServerConnectionImpl(Network::Connection& connection, ServerConnectionCallbacks& callbacks,
                       const Http1Settings& settings);

  // Http::Connection
  CodecStatus dispatch(Buffer::Instance& data, bool end_stream) override;
  // Http::ServerConnection
  void disableKeepAlive() override;
  void closeAfterNextResponse() override { keep_alive_disabled_ = true; }

 private:
  class ResponseEncoderImpl : public ResponseEncoder, public Stream {
   public:
    explicit ResponseEncoderImpl(ServerConnectionImpl& parent) : parent_(parent) {}

    // StreamEncoder
    void encodeData(Buffer::Instance& data, bool end_stream) override;
    Stream& getStream() override { return *this; }
    // ResponseEncoder
    void encode1xxHeaders(const ResponseHeaderMap& headers) override;
    void encodeHeaders(const ResponseHeaderMap& headers, bool end_stream) override;
    Protocol protocol() const override { return parent_.protocol_; }
    // Stream
    void addCallbacks(StreamCallbacks& callbacks) override {
      parent_.stream_callbacks_.add(callbacks);
    }
    void removeCallbacks(StreamCallbacks& callbacks) override {
      parent_.stream_callbacks_.remove(callbacks);
    }
    void resetStream(StreamResetReason reason) override;
    void readDisable(bool disable) override;

    void reset();

   private:
    friend class ServerConnectionImpl;
    ServerConnectionImpl& parent_;
    bool headers_encoded_{false};
    bool chunked_{false};
    bool raw_{false};      // Accepted upgrade / CONNECT: bytes go out as they are.
    bool no_body_{false};  // HEAD, 204, 304: body bytes are dropped.
    bool ended_{false};
  };

  // ConnectionImpl
  void allocHeaders() override;
  HeaderMap& headers() override { return *request_headers_; }
  CodecStatus onHeaderField(absl::string_view name, absl::string_view value, bool& keep) override;
  void onUrl(const char* at, size_t length) override;
  int onHeadersComplete() override;
  bool canParse() const override;
  void onMessageBeginOutside() override;
  void deliver(bool message_complete, Buffer::Instance& rest) override;
  bool onMessageComplete(Buffer::Instance& rest) override;
  void onParseError(const CodecStatus& status) override;

  void onEvent(Network::ConnectionEvent event) override;

  void newStream();
  void onResponseComplete();
  // The stream is over (response sent, request received, or neither will be): get ready for
  // the next request or close.
  void endStream();
  void onEndOfStream();

  ServerConnectionCallbacks& callbacks_;
  ResponseEncoderImpl encoder_;
  RequestDecoder* decoder_{nullptr};
  RequestHeaderMapPtr request_headers_;
  std::string url_;
  bool host_seen_{false};
  // Per request.
  bool request_complete_{false};
  bool response_complete_{false};
  bool request_head_{false};
  bool request_connect_{false};
  bool request_upgrade_{false};
  bool close_after_response_{false};
  // Per connection.
  bool keep_alive_disabled_{false};
  bool read_disabled_for_pipeline_{false};
  bool peer_half_closed_{false};
};

/**
 * The upstream side: encodes requests, parses responses. One request at a time.
 */
class ClientConnectionImpl : public ConnectionImpl, public ClientConnection {
 public:
  ClientConnectionImpl(Network::Connection& connection, ClientConnectionCallbacks& callbacks,
                       const Http1Settings& settings);

  // Http::Connection
  CodecStatus dispatch(Buffer::Instance& data, bool end_stream) override;
  // Http::ClientConnection
  RequestEncoder& newStream(ResponseDecoder& decoder) override;
  bool idle() const override { return !stream_active_; }

 private:
  class RequestEncoderImpl : public RequestEncoder, public Stream {
   public:
    explicit RequestEncoderImpl(ClientConnectionImpl& parent) : parent_(parent) {}

    // StreamEncoder
    void encodeData(Buffer::Instance& data, bool end_stream) override;
    Stream& getStream() override { return *this; }
    // RequestEncoder
    CodecStatus encodeHeaders(const RequestHeaderMap& headers, bool end_stream) override;
    // Stream
    void addCallbacks(StreamCallbacks& callbacks) override {
      parent_.stream_callbacks_.add(callbacks);
    }
    void removeCallbacks(StreamCallbacks& callbacks) override {
      parent_.stream_callbacks_.remove(callbacks);
    }
    void resetStream(StreamResetReason reason) override;
    void readDisable(bool disable) override;

    void reset();

   private:
    friend class ClientConnectionImpl;
    ClientConnectionImpl& parent_;
    bool headers_encoded_{false};
    bool chunked_{false};
    bool raw_{false};
    bool ended_{false};
  };

  // ConnectionImpl
  void allocHeaders() override;
  HeaderMap& headers() override { return *response_headers_; }
  CodecStatus onHeaderField(absl::string_view name, absl::string_view value, bool& keep) override;
  void onUrl(const char*, size_t) override {}
  int onHeadersComplete() override;
  bool canParse() const override;
  void deliver(bool message_complete, Buffer::Instance& rest) override;
  bool onMessageComplete(Buffer::Instance& rest) override;
  void onParseError(const CodecStatus& status) override;

  void onEvent(Network::ConnectionEvent event) override;

  void onRequestComplete();
  void streamComplete(bool reusable);
  void resetActiveStream(StreamResetReason reason, Network::ConnectionCloseType close_type);

  ClientConnectionCallbacks& callbacks_;
  RequestEncoderImpl encoder_;
  ResponseDecoder* decoder_{nullptr};
  ResponseHeaderMapPtr response_headers_;
  // Per request.
  bool request_complete_{false};
  bool response_complete_{false};
  bool request_head_{false};
  bool request_connect_{false};
  bool request_upgrade_{false};
  bool request_close_{false};
  bool response_1xx_{false};
};

}  // namespace Skiff::Http::Http1
