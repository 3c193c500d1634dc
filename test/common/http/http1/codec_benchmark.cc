// Cost of the HTTP/1 codecs on the proxy path, per request: the server side parses a small
// request and encodes its response; the client side encodes the request upstream and parses the
// response. Run:
//   bazel run -c opt //test/common/http/http1:codec_benchmark
// Instructions per request (user space, what the targets count):
//   tools/bench/http1_codec_instructions
// which runs this binary under callgrind with `--iterations N`.

#include <cstring>
#include <string>

#include "benchmark/benchmark.h"
#include "source/common/http/http1/codec_impl.h"
#include "test/common/http/http1/codec_test_util.h"

namespace Skiff::Http::Http1 {
namespace {

// What wrk and a typical backend send.
constexpr absl::string_view kRequest =
    "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:10000\r\nUser-Agent: wrk/4.1.0\r\n"
    "Accept: */*\r\n\r\n";
constexpr absl::string_view kResponse =
    "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
    "Content-Type: text/html\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\n"
    "hello world\n";

// A connection whose writes are dropped (the bytes would go to a socket).
class SinkConnection : public FakeConnection {
 public:
  void write(Buffer::Instance& data, bool) override {
    bytes += data.length();
    data.drain(data.length());
  }
  uint64_t bytes{0};
};

// Answers every request at once with a fixed small response, reusing one header map.
class Answerer : public ServerConnectionCallbacks, public RequestDecoder {
 public:
  Answerer() {
    response_.setStatus(200);
    response_.addLowerCase("content-type", "text/html");
    response_.addLowerCase("content-length", "12");
  }
  RequestDecoder& newStream(ResponseEncoder& encoder) override {
    encoder_ = &encoder;
    return *this;
  }
  void decodeHeaders(RequestHeaderMapPtr&& headers, bool end_stream) override {
    benchmark::DoNotOptimize(headers->path().size());
    if (end_stream) {
      respond();
    }
  }
  void decodeData(Buffer::Instance& data, bool end_stream) override {
    data.drain(data.length());
    if (end_stream) {
      respond();
    }
  }
  void respond() {
    encoder_->encodeHeaders(response_, false);
    body_.add("hello world\n");  // As a router would move the upstream's bytes in.
    encoder_->encodeData(body_, true);
  }

 private:
  ResponseEncoder* encoder_{nullptr};
  Buffer::OwnedImpl body_;
  ResponseHeaderMap response_;
};

class ResponseSink : public ResponseDecoder, public ClientConnectionCallbacks {
 public:
  void decode1xxHeaders(ResponseHeaderMapPtr&&) override {}
  void decodeHeaders(ResponseHeaderMapPtr&& headers, bool) override {
    benchmark::DoNotOptimize(headers->status());
  }
  void decodeData(Buffer::Instance& data, bool) override { data.drain(data.length()); }
  void onStreamComplete(bool reusable) override { reusable_ = reusable; }
  bool reusable_{false};
};

struct ServerSide {
  Buffer::OwnedImpl input;  // The connection's read buffer.
  SinkConnection connection;
  Answerer answerer;
  ServerConnectionImpl codec{connection, answerer, Http1Settings{}};
};

struct ClientSide {
  ClientSide() {
    request.setMethod("GET");
    request.setPath("/index.html");
    request.setHost("backend:8080");
    request.addLowerCase("user-agent", "wrk/4.1.0");
    request.addLowerCase("accept", "*/*");
    request.addLowerCase("x-forwarded-for", "127.0.0.1");
    request.addLowerCase("x-request-id", "4f0c51f6-0bd3-4c1e-a0fb-3c3e2b6e1d1a");
  }
  Buffer::OwnedImpl input;
  SinkConnection connection;
  ResponseSink sink;
  ClientConnectionImpl codec{connection, sink, Http1Settings{}};
  RequestHeaderMap request;
};

// One request through the server codec: the request's bytes (already read into the
// connection's buffer) parsed, its response encoded.
__attribute__((noinline)) void serverRoundTrip(ServerSide& side) {
  side.codec.dispatch(side.input, false);
}

// One request through the client codec: encoded upstream, its response (already read) parsed.
__attribute__((noinline)) void clientRoundTrip(ClientSide& side) {
  RequestEncoder& encoder = side.codec.newStream(side.sink);
  encoder.encodeHeaders(side.request, true);
  side.codec.dispatch(side.input, false);
}

void BM_ServerRequestResponse(benchmark::State& state) {
  ServerSide side;
  for (auto _ : state) {
    side.input.add(kRequest);
    serverRoundTrip(side);
  }
  state.SetBytesProcessed(state.iterations() * kRequest.size());
}
BENCHMARK(BM_ServerRequestResponse);

void BM_ClientRequestResponse(benchmark::State& state) {
  ClientSide side;
  for (auto _ : state) {
    side.input.add(kResponse);
    clientRoundTrip(side);
  }
  if (!side.sink.reusable_) {
    state.SkipWithError("connection not reusable");
  }
}
BENCHMARK(BM_ClientRequestResponse);

// A 64 KiB chunked upload, delivered in 16 KiB reads.
void BM_ServerChunkedUpload(benchmark::State& state) {
  ServerSide side;
  std::string body;
  for (int i = 0; i < 16; ++i) {
    body += "1000\r\n" + std::string(4096, 'x') + "\r\n";
  }
  body += "0\r\n\r\n";
  const std::string request =
      "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body;
  for (auto _ : state) {
    Buffer::OwnedImpl input;
    for (size_t off = 0; off < request.size(); off += 16384) {
      Buffer::OwnedImpl read(absl::string_view(request).substr(off, 16384));
      input.move(read);
      side.codec.dispatch(input, false);
    }
  }
  state.SetBytesProcessed(state.iterations() * request.size());
}
BENCHMARK(BM_ServerChunkedUpload);

}  // namespace
}  // namespace Skiff::Http::Http1

int main(int argc, char** argv) {
  // --iterations N: run each round trip N times without the benchmark library (for callgrind,
  // which counts the instructions of serverRoundTrip and clientRoundTrip separately).
  if (argc == 3 && strcmp(argv[1], "--iterations") == 0) {
    const long n = atol(argv[2]);
    Skiff::Http::Http1::ServerSide server;
    Skiff::Http::Http1::ClientSide client;
    for (long i = 0; i < n; ++i) {
      server.input.add(Skiff::Http::Http1::kRequest);
      Skiff::Http::Http1::serverRoundTrip(server);
      client.input.add(Skiff::Http::Http1::kResponse);
      Skiff::Http::Http1::clientRoundTrip(client);
    }
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
