// libFuzzer target: the HTTP/1 response parser (client codec) on hostile bytes from an upstream.
//
// Input: one control byte, then the bytes the upstream sends. The control byte picks the request
// the responses answer (GET, HEAD, POST with a streamed body, CONNECT, a WebSocket upgrade), the
// size of the pieces the bytes arrive in, and whether the upstream closes at the end. Each time a
// response completes on a reusable connection, a new request is sent, as a pool would.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "source/common/http/http1/codec_impl.h"
#include "test/common/http/http1/codec_test_util.h"

namespace Skiff::Http::Http1 {
namespace {

class Driver : public ResponseDecoder, public StreamCallbacks, public ClientConnectionCallbacks {
 public:
  explicit Driver(uint8_t kind) : kind_(kind), codec_(connection_, *this, {}) {}

  void decode1xxHeaders(ResponseHeaderMapPtr&& headers) override {
    check(!ended_ && !headers_seen_);
    check(headers->status() >= 100 && headers->status() < 200);
  }
  void decodeHeaders(ResponseHeaderMapPtr&& headers, bool end_stream) override {
    check(!ended_ && !headers_seen_);
    headers_seen_ = true;
    ended_ = end_stream;
  }
  void decodeData(Buffer::Instance& data, bool end_stream) override {
    check(!ended_ && headers_seen_);
    data.drain(data.length());
    ended_ = end_stream;
  }
  void onResetStream(StreamResetReason, absl::string_view) override {
    check(active_);
    active_ = false;
  }
  void onAboveWriteBufferHighWatermark() override {}
  void onBelowWriteBufferLowWatermark() override {}
  void onStreamComplete(bool reusable) override {
    check(active_ && ended_);
    active_ = false;
    if (reusable && ++requests_ < 16) {
      start();
    }
  }

  void start() {
    headers_seen_ = false;
    ended_ = false;
    active_ = true;
    RequestEncoder& encoder = codec_.newStream(*this);
    encoder.getStream().addCallbacks(*this);
    RequestHeaderMap headers;
    headers.setHost("upstream");
    headers.setPath("/");
    bool end_stream = true;
    switch (kind_ % 5) {
      case 0:
        headers.setMethod("GET");
        break;
      case 1:
        headers.setMethod("HEAD");
        break;
      case 2:
        headers.setMethod("POST");
        end_stream = false;
        break;
      case 3:
        headers.setMethod("CONNECT");
        headers.setPath("db:5432");
        end_stream = false;
        break;
      default:
        headers.setMethod("GET");
        headers.add("upgrade", "websocket");
        headers.add("connection", "upgrade");
        end_stream = false;
        break;
    }
    check(encoder.encodeHeaders(headers, end_stream).isOk());
    if (!end_stream) {
      Buffer::OwnedImpl body("request body");
      encoder.encodeData(body, true);
    }
  }

  void feed(absl::string_view input, size_t piece, bool eof) {
    Feeder feeder(codec_, connection_);
    size_t offset = 0;
    do {
      const size_t n = std::min(piece, input.size() - offset);
      feeder.add(input.substr(offset, n), eof && offset + n == input.size());
      offset += n;
    } while (offset < input.size());
    if (!feeder.status.isOk()) {
      // Any failure leaves the stream reset and the connection closed.
      check(!active_);
      check(connection_.state() == Network::Connection::State::Closed);
    }
  }

 private:
  static void check(bool ok) {
    if (!ok) {
      abort();
    }
  }

  const uint8_t kind_;
  FakeConnection connection_;
  ClientConnectionImpl codec_;
  bool headers_seen_{false};
  bool ended_{false};
  bool active_{false};
  int requests_{0};
};

}  // namespace
}  // namespace Skiff::Http::Http1

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  const uint8_t control = data[0];
  const absl::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  Skiff::Http::Http1::Driver driver(control & 0x07);
  driver.start();
  const size_t piece = (control & 0x80) ? input.size() + 1 : 1 + ((control >> 3) & 0x07) * 17;
  driver.feed(input, piece, control & 0x40);
  return 0;
}
