// The server codec over real loopback sockets and Network::ConnectionImpl: pipelined requests
// answered later (reading stops, then the parked bytes are handed in again), a client that
// half-closes after its requests, a rejected request answered and closed, a body streamed with
// backpressure. The client side is a plain blocking socket, as curl or a fuzzer would be.

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/http/http1/codec_impl.h"
#include "source/common/network/connection_impl.h"
#include "source/common/network/listener_impl.h"

namespace Skiff::Http::Http1 {
namespace {

using namespace std::chrono_literals;

// The connection manager's part, reduced: a read filter that dispatches into the codec, answers
// a codec error with its status code, and records the requests.
class Server : public Network::ListenerCallbacks,
               public Network::ReadFilter,
               public ServerConnectionCallbacks {
 public:
  class Stream : public RequestDecoder {
   public:
    explicit Stream(ResponseEncoder& encoder) : encoder(encoder) {}
    void decodeHeaders(RequestHeaderMapPtr&& h, bool end_stream) override {
      headers = std::move(h);
      complete = end_stream;
    }
    void decodeData(Buffer::Instance& data, bool end_stream) override {
      body_bytes += data.length();
      data.drain(data.length());
      complete = end_stream;
    }
    void respond(absl::string_view text) {
      ResponseHeaderMap response;
      response.setStatus(200);
      response.addLowerCase("content-length", std::to_string(text.size()));
      encoder.encodeHeaders(response, false);
      Buffer::OwnedImpl data(text);
      encoder.encodeData(data, true);
      responded = true;
    }

    ResponseEncoder& encoder;
    RequestHeaderMapPtr headers;
    uint64_t body_bytes{0};
    bool complete{false};
    bool responded{false};
  };

  explicit Server(Event::Dispatcher& dispatcher) : dispatcher_(dispatcher) {
    auto any = *Network::Address::Instance::parse("127.0.0.1", 0);
    socket_ = std::move(*Network::createListenSocket(*any, false, 16));
    address = Network::localAddress(socket_->fd());
    listener_ = std::make_unique<Network::ListenerImpl>(dispatcher_, socket_->fd(), *this);
  }
  ~Server() override {
    if (connection != nullptr && connection->state() != Network::Connection::State::Closed) {
      connection->close(Network::ConnectionCloseType::NoFlush);
    }
    codec.reset();
  }

  void onAccept(Network::IoHandlePtr&& socket,
                Network::Address::InstanceConstSharedPtr remote) override {
    connection = std::make_unique<Network::ConnectionImpl>(dispatcher_, std::move(socket), remote,
                                                           address, true);
    connection->enableHalfClose(true);
    connection->setBufferLimits(buffer_limit);
    codec = std::make_unique<ServerConnectionImpl>(*connection, *this, Http1Settings{});
    connection->addReadFilter(std::shared_ptr<Network::ReadFilter>(this, [](auto*) {}));
    connection->initializeReadFilters();
  }
  void initializeReadFilterCallbacks(Network::ReadFilterCallbacks&) override {}
  Network::FilterStatus onNewConnection() override { return Network::FilterStatus::Continue; }
  Network::FilterStatus onData(Buffer::Instance& data, bool end_stream) override {
    const CodecStatus status = codec->dispatch(data, end_stream);
    if (!status.isOk()) {
      error = status;
      ResponseHeaderMap response;
      response.setStatus(status.httpCode());
      streams.back()->encoder.encodeHeaders(response, true);
    }
    return Network::FilterStatus::StopIteration;
  }
  RequestDecoder& newStream(ResponseEncoder& encoder) override {
    streams.push_back(std::make_unique<Stream>(encoder));
    return *streams.back();
  }

  bool runUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      dispatcher_.run(Event::Dispatcher::RunType::NonBlock);
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }

  Network::Address::InstanceConstSharedPtr address;
  std::unique_ptr<Network::ConnectionImpl> connection;
  std::unique_ptr<ServerConnectionImpl> codec;
  std::deque<std::unique_ptr<Stream>> streams;
  CodecStatus error;
  uint32_t buffer_limit{0};

 private:
  Event::Dispatcher& dispatcher_;
  Network::IoHandlePtr socket_;
  std::unique_ptr<Network::ListenerImpl> listener_;
};

// A blocking client socket.
class RawClient {
 public:
  explicit RawClient(const Network::Address::Instance& address) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(connect(fd_, address.sockAddr(), address.sockAddrLen()), 0);
    fcntl(fd_, F_SETFL, O_NONBLOCK);
  }
  ~RawClient() { close(fd_); }
  void send(absl::string_view data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += n;
      } else {
        pollfd p{fd_, POLLOUT, 0};
        poll(&p, 1, 10);
      }
    }
  }
  void shutdownWrite() { shutdown(fd_, SHUT_WR); }
  // Reads what is there; sets eof when the server closed.
  void readAvailable() {
    char buf[65536];
    while (true) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        received.append(buf, n);
      } else {
        if (n == 0) {
          eof = true;
        }
        return;
      }
    }
  }

  std::string received;
  bool eof{false};

 private:
  int fd_;
};

class ServerCodecSocketTest : public testing::Test {
 protected:
  Event::DispatcherImpl dispatcher_{"test"};
  Server server_{dispatcher_};
};

TEST_F(ServerCodecSocketTest, PipelinedRequestsAnsweredLaterInOrder) {
  RawClient client(*server_.address);
  client.send(
      "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"
      "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n");
  std::string expected;
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(server_.runUntil([&] {
      return server_.streams.size() == static_cast<size_t>(i) && server_.streams.back()->complete;
    })) << i;
    EXPECT_EQ(server_.streams.back()->headers->path(), absl::StrCat("/", i));
    // Nothing more is parsed while this one waits for its answer.
    for (int spin = 0; spin < 20; ++spin) {
      dispatcher_.run(Event::Dispatcher::RunType::NonBlock);
    }
    EXPECT_EQ(server_.streams.size(), static_cast<size_t>(i));
    const std::string text = absl::StrCat("answer ", i);
    server_.streams.back()->respond(text);
    absl::StrAppend(&expected, "HTTP/1.1 200 OK\r\ncontent-length: ", text.size(), "\r\n\r\n",
                    text);
  }
  ASSERT_TRUE(server_.runUntil([&] {
    client.readAvailable();
    return client.received.size() >= expected.size();
  }));
  EXPECT_EQ(client.received, expected);
  EXPECT_FALSE(client.eof);
}

TEST_F(ServerCodecSocketTest, HalfClosedClientGetsEveryAnswerThenTheClose) {
  RawClient client(*server_.address);
  client.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
  client.shutdownWrite();
  for (int i = 1; i <= 2; ++i) {
    ASSERT_TRUE(server_.runUntil([&] {
      return server_.streams.size() == static_cast<size_t>(i) && server_.streams.back()->complete;
    })) << i;
    server_.streams.back()->respond("x");
  }
  ASSERT_TRUE(server_.runUntil([&] {
    client.readAvailable();
    return client.eof;
  }));
  EXPECT_EQ(client.received,
            "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx"
            "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx");
}

TEST_F(ServerCodecSocketTest, SmugglingAttemptIsAnswered400AndClosed) {
  RawClient client(*server_.address);
  client.send(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\nGET /admin HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(server_.runUntil([&] {
    client.readAvailable();
    return client.eof;
  }));
  EXPECT_EQ(client.received,
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
  EXPECT_EQ(server_.error.details(), "http1.content_length_conflict");
  ASSERT_EQ(server_.streams.size(), 1u);
  EXPECT_EQ(server_.streams[0]->headers, nullptr);  // Nothing of it was delivered.
}

TEST_F(ServerCodecSocketTest, OversizeHeadersAre431) {
  RawClient client(*server_.address);
  client.send("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(100 * 1024, 'a') + "\r\n\r\n");
  ASSERT_TRUE(server_.runUntil([&] {
    client.readAvailable();
    return client.eof;
  }));
  EXPECT_EQ(client.received,
            "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n"
            "connection: close\r\n\r\n");
}

// A body far larger than the connection's buffer limit arrives in pieces while the consumer
// holds reading off now and then: it is never gathered whole.
TEST_F(ServerCodecSocketTest, LargeBodyStreamsWithBackpressure) {
  server_.buffer_limit = 64 * 1024;
  RawClient client(*server_.address);
  const uint64_t size = 8 * 1024 * 1024;
  client.send(absl::StrCat("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ", size, "\r\n\r\n"));
  std::thread sender([&] {
    const std::string chunk(64 * 1024, 'b');
    for (uint64_t sent = 0; sent < size; sent += chunk.size()) {
      client.send(chunk);
    }
  });
  ASSERT_TRUE(server_.runUntil(
      [&] { return !server_.streams.empty() && server_.streams[0]->body_bytes > 0; }));
  auto& stream = *server_.streams[0];
  // The consumer is full: reading stops, the rest waits in the kernel, not in skiff.
  stream.encoder.getStream().readDisable(true);
  const uint64_t held = stream.body_bytes;
  const uint64_t received = server_.connection->bytesReceived();
  for (int spin = 0; spin < 50; ++spin) {
    dispatcher_.run(Event::Dispatcher::RunType::NonBlock);
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(stream.body_bytes, held);
  EXPECT_EQ(server_.connection->bytesReceived(), received);
  EXPECT_LE(received - held, 64u * 1024 + 1024);  // At most one buffer limit unconsumed.
  stream.encoder.getStream().readDisable(false);
  ASSERT_TRUE(server_.runUntil([&] { return stream.complete; }));
  sender.join();
  EXPECT_EQ(stream.body_bytes, size);
}

}  // namespace
}  // namespace Skiff::Http::Http1
