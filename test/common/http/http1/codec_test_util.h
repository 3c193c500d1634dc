#pragma once

// Helpers for driving the HTTP/1 codecs without sockets: a connection that records what is
// written, decoders that write a trace of what they were told, and a feeder that hands input to
// dispatch() the way Network::ConnectionImpl does (leftover bytes stay in the read buffer and
// are handed in again when reading is re-enabled). Shared by the codec tests and the fuzzers.

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "source/common/buffer/buffer_impl.h"
#include "source/common/http/codec.h"
#include "source/common/network/connection.h"

namespace Skiff::Http::Http1 {

/**
 * A Network::Connection that keeps written bytes in a string and raises close events at once.
 */
class FakeConnection : public Network::Connection {
 public:
  uint64_t id() const override { return 1; }
  Event::Dispatcher& dispatcher() override { abort(); }
  State state() const override { return state_; }
  const Network::Address::InstanceConstSharedPtr& remoteAddress() const override {
    return address_;
  }
  const Network::Address::InstanceConstSharedPtr& localAddress() const override { return address_; }
  void addConnectionCallbacks(Network::ConnectionCallbacks& callbacks) override {
    callbacks_.push_back(&callbacks);
  }
  void removeConnectionCallbacks(Network::ConnectionCallbacks& callbacks) override {
    for (auto& entry : callbacks_) {
      if (entry == &callbacks) {
        entry = nullptr;
      }
    }
  }
  void addReadFilter(Network::ReadFilterSharedPtr) override {}
  void initializeReadFilters() override {}
  void write(Buffer::Instance& data, bool end_stream) override {
    written += data.toString();
    data.drain(data.length());
    if (end_stream) {
      write_ended = true;
    }
  }
  void readDisable(bool disable) override {
    if (disable) {
      ++read_disabled;
    } else if (read_disabled > 0) {
      --read_disabled;
    }
  }
  bool readEnabled() const override { return read_disabled == 0; }
  void enableHalfClose(bool) override {}
  void setBufferLimits(uint32_t) override {}
  bool aboveHighWatermark() const override { return false; }
  void setDelayedCloseTimeout(std::chrono::milliseconds) override {}
  void close(Network::ConnectionCloseType type) override {
    if (state_ == State::Closed) {
      return;
    }
    closed_with = type;
    state_ = State::Closed;
    raise(Network::ConnectionEvent::LocalClose);
  }
  const std::string& transportFailureReason() const override { return failure_; }
  uint64_t bytesReceived() const override { return 0; }
  uint64_t bytesSent() const override { return written.size(); }

  // The peer closed.
  void remoteClose() {
    if (state_ != State::Closed) {
      state_ = State::Closed;
      raise(Network::ConnectionEvent::RemoteClose);
    }
  }
  void raise(Network::ConnectionEvent event) {
    for (size_t i = 0; i < callbacks_.size(); ++i) {
      if (callbacks_[i] != nullptr) {
        callbacks_[i]->onEvent(event);
      }
    }
  }
  void raiseAboveHighWatermark() {
    for (auto* callbacks : callbacks_) {
      if (callbacks != nullptr) {
        callbacks->onAboveWriteBufferHighWatermark();
      }
    }
  }

  std::string written;
  bool write_ended{false};
  int read_disabled{0};
  Network::ConnectionCloseType closed_with{Network::ConnectionCloseType::FlushWrite};

 private:
  State state_{State::Open};
  Network::Address::InstanceConstSharedPtr address_;
  std::string failure_;
  std::vector<Network::ConnectionCallbacks*> callbacks_;
};

// "name=value,name=value" of a header map, for traces.
inline std::string fieldsToString(const HeaderMap& headers) {
  std::string out;
  for (const auto& field : headers.fields()) {
    absl::StrAppend(&out, out.empty() ? "" : ",", field.name, "=", field.value);
  }
  return out;
}

/**
 * Records every request a server codec delivers as one trace line and optionally answers it.
 */
class RecordingServer : public ServerConnectionCallbacks {
 public:
  enum class Answer {
    None,        // Never answer (the test does it).
    OnComplete,  // Answer 200 from inside the request's end_stream callback.
  };

  class Stream : public RequestDecoder, public StreamCallbacks {
   public:
    Stream(RecordingServer& parent, ResponseEncoder& encoder) : parent_(parent), encoder(encoder) {
      encoder.getStream().addCallbacks(*this);
    }
    void decodeHeaders(RequestHeaderMapPtr&& headers, bool end_stream) override {
      absl::StrAppend(&trace, headers->method(), " ", headers->path(), " host=", headers->host(),
                      " [", fieldsToString(*headers), "]");
      request_headers = std::move(headers);
      if (end_stream) {
        onEnd();
      }
    }
    void decodeData(Buffer::Instance& data, bool end_stream) override {
      body += data.toString();
      data.drain(data.length());
      if (end_stream) {
        onEnd();
      }
    }
    void onResetStream(StreamResetReason reason, absl::string_view) override {
      reset = true;
      absl::StrAppend(&trace, " RESET(", resetReasonToString(reason), ")");
    }
    void onAboveWriteBufferHighWatermark() override { ++above; }
    void onBelowWriteBufferLowWatermark() override { ++below; }

    void onEnd() {
      complete = true;
      if (parent_.answer == Answer::OnComplete) {
        respond();
      }
    }
    void respond(uint32_t status = 200, absl::string_view body_text = "ok") {
      ResponseHeaderMap headers;
      headers.setStatus(status);
      headers.addLowerCase("content-length", std::to_string(body_text.size()));
      encoder.encodeHeaders(headers, body_text.empty());
      if (!body_text.empty()) {
        Buffer::OwnedImpl data(body_text);
        encoder.encodeData(data, true);
      }
    }
    std::string summary() const {
      return absl::StrCat(trace, " body=", body, complete ? " END" : "");
    }

    RecordingServer& parent_;
    ResponseEncoder& encoder;
    RequestHeaderMapPtr request_headers;
    std::string trace;
    std::string body;
    bool complete{false};
    bool reset{false};
    int above{0};
    int below{0};
  };

  RequestDecoder& newStream(ResponseEncoder& encoder) override {
    streams.push_back(std::make_unique<Stream>(*this, encoder));
    return *streams.back();
  }

  std::string summary() const {
    std::string out;
    for (const auto& stream : streams) {
      absl::StrAppend(&out, stream->summary(), "\n");
    }
    return out;
  }

  Answer answer{Answer::OnComplete};
  std::deque<std::unique_ptr<Stream>> streams;
};

/**
 * Hands bytes to `codec.dispatch` the way Network::ConnectionImpl does: what arrives is appended
 * to a read buffer (each piece its own slice, so parsing crosses slice boundaries); while reading
 * is enabled the whole buffer is dispatched; what the codec leaves stays there until it enables
 * reading again (pump()). After the peer's FIN, leftover data is handed in again with end_stream.
 */
class Feeder {
 public:
  Feeder(Connection& codec, FakeConnection& connection) : codec_(codec), connection_(connection) {}

  // New bytes from the peer; `eof` means a FIN follows them.
  CodecStatus add(absl::string_view bytes, bool eof = false) {
    if (!bytes.empty()) {
      Buffer::OwnedImpl slice(bytes);
      buffer.move(slice);
    }
    eof_ = eof_ || eof;
    if (connection_.state() != Network::Connection::State::Open || !connection_.readEnabled()) {
      return status;
    }
    return dispatch();
  }
  // Reading was enabled again: hand in what is left.
  CodecStatus pump() {
    if (connection_.state() == Network::Connection::State::Open && connection_.readEnabled() &&
        buffer.length() > 0) {
      return dispatch();
    }
    return status;
  }
  // All of `input` in pieces of `piece` bytes (0: at once), then pump() until nothing moves.
  CodecStatus feedAll(absl::string_view input, size_t piece, bool eof) {
    if (input.empty()) {
      return add("", eof);
    }
    size_t offset = 0;
    while (offset < input.size()) {
      const size_t n = piece == 0 ? input.size() : std::min(piece, input.size() - offset);
      add(input.substr(offset, n), eof && offset + n == input.size());
      offset += n;
    }
    uint64_t before = buffer.length() + 1;
    while (buffer.length() > 0 && buffer.length() != before) {
      before = buffer.length();
      pump();
    }
    return status;
  }

  Buffer::OwnedImpl buffer;
  CodecStatus status;

 private:
  CodecStatus dispatch() {
    CodecStatus result = codec_.dispatch(buffer, eof_);
    if (status.isOk() && !result.isOk()) {
      status = result;
    }
    return status;
  }

  Connection& codec_;
  FakeConnection& connection_;
  bool eof_{false};
};

}  // namespace Skiff::Http::Http1
