// The HTTP/1 client codec: request encoding, response framing, interim responses, tunnels,
// reuse decisions and errors. Driven through a FakeConnection so every response can be fed split
// at every byte.

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "source/common/http/http1/codec_impl.h"
#include "test/common/http/http1/codec_test_util.h"

namespace Skiff::Http::Http1 {
namespace {

// Writes what the response side of a stream saw into one line. Body bytes are gathered until
// the next other event, so the line does not depend on how the bytes were split.
class RecordingResponse : public ResponseDecoder,
                          public StreamCallbacks,
                          public ClientConnectionCallbacks {
 public:
  void decode1xxHeaders(ResponseHeaderMapPtr&& headers) override {
    absl::StrAppend(&trace_, "[", headers->status(), " ", fieldsToString(*headers), "] ");
  }
  void decodeHeaders(ResponseHeaderMapPtr&& headers, bool end_stream) override {
    absl::StrAppend(&trace_, headers->status(), " ", fieldsToString(*headers));
    if (end_stream) {
      absl::StrAppend(&trace_, " END");
    }
  }
  void decodeData(Buffer::Instance& data, bool end_stream) override {
    has_body_ = true;
    body_ += data.toString();
    data.drain(data.length());
    if (end_stream) {
      flush();
      absl::StrAppend(&trace_, " END");
    }
  }
  void onResetStream(StreamResetReason reason, absl::string_view) override {
    flush();
    absl::StrAppend(&trace_, " RESET(", resetReasonToString(reason), ")");
  }
  void onAboveWriteBufferHighWatermark() override {}
  void onBelowWriteBufferLowWatermark() override {}
  void onStreamComplete(bool reusable) override {
    flush();
    absl::StrAppend(&trace_, reusable ? " REUSABLE" : " DONE");
  }

  std::string trace() const { return has_body_ ? absl::StrCat(trace_, " body=", body_) : trace_; }
  void clear() {
    trace_.clear();
    body_.clear();
    has_body_ = false;
  }

 private:
  void flush() {
    if (has_body_) {
      absl::StrAppend(&trace_, " body=", body_);
      body_.clear();
      has_body_ = false;
    }
  }

  std::string trace_;
  std::string body_;
  bool has_body_{false};
};

RequestHeaderMap request(absl::string_view method, absl::string_view path = "/") {
  RequestHeaderMap headers;
  headers.setMethod(method);
  headers.setPath(path);
  headers.setHost("backend:80");
  return headers;
}

struct Client {
  Client() : codec(connection, response, {}), feeder(codec, connection) {}

  // Starts a stream and sends `headers` (ending the request).
  void send(const RequestHeaderMap& headers, bool end_stream = true) {
    RequestEncoder& encoder = codec.newStream(response);
    encoder.getStream().addCallbacks(response);
    encoder_ = &encoder;
    ASSERT_TRUE(encoder.encodeHeaders(headers, end_stream).isOk());
  }

  FakeConnection connection;
  RecordingResponse response;
  ClientConnectionImpl codec;
  Feeder feeder;
  RequestEncoder* encoder_{nullptr};
};

TEST(ClientCodecTest, EncodesRequests) {
  {
    Client client;
    RequestHeaderMap headers = request("GET", "/p?q");
    headers.add("Host", "ignored");  // host() is what is sent.
    headers.add("Accept", "*/*");
    headers.add("Transfer-Encoding", "chunked");  // Framing is the codec's.
    client.send(headers);
    EXPECT_EQ(client.connection.written,
              "GET /p?q HTTP/1.1\r\nhost: backend:80\r\naccept: */*\r\n\r\n");
  }
  {
    Client client;
    client.send(request("POST"));
    EXPECT_EQ(client.connection.written,
              "POST / HTTP/1.1\r\nhost: backend:80\r\ncontent-length: 0\r\n\r\n");
  }
  {
    // Unknown length: chunked.
    Client client;
    client.send(request("PUT"), false);
    Buffer::OwnedImpl a("hello");
    client.encoder_->encodeData(a, false);
    Buffer::OwnedImpl b(std::string(16, 'x'));
    client.encoder_->encodeData(b, true);
    EXPECT_EQ(client.connection.written,
              "PUT / HTTP/1.1\r\nhost: backend:80\r\ntransfer-encoding: chunked\r\n\r\n"
              "5\r\nhello\r\n10\r\nxxxxxxxxxxxxxxxx\r\n0\r\n\r\n");
  }
  {
    // Known length: as is.
    Client client;
    RequestHeaderMap headers = request("POST");
    headers.add("content-length", "3");
    client.send(headers, false);
    Buffer::OwnedImpl body("abc");
    client.encoder_->encodeData(body, true);
    EXPECT_EQ(client.connection.written,
              "POST / HTTP/1.1\r\nhost: backend:80\r\ncontent-length: 3\r\n\r\nabc");
  }
}

TEST(ClientCodecTest, RefusesRequestLinesThatWouldSplit) {
  for (auto [method, path, host] :
       std::vector<std::tuple<std::string, std::string, std::string>>{{"", "/", "h"},
                                                                      {"GET", "", "h"},
                                                                      {"GET", "/a b", "h"},
                                                                      {"G T", "/", "h"},
                                                                      {"GET", "/\r\nX: y", "h"},
                                                                      {"GET", "/", ""},
                                                                      {"GET", "/", "h\r\nX: y"}}) {
    Client client;
    RequestEncoder& encoder = client.codec.newStream(client.response);
    RequestHeaderMap headers;
    headers.setMethod(method);
    headers.setPath(path);
    headers.setHost(host);
    EXPECT_FALSE(encoder.encodeHeaders(headers, true).isOk()) << method << " " << path;
    EXPECT_EQ(client.connection.written, "");
  }
}

struct ResponseCase {
  const char* name;
  std::string method;
  std::string response;
  std::string trace;
  bool eof{false};
};

std::vector<ResponseCase> responseCases() {
  return {
      {"content_length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello",
       "200 content-length=5,x=y body=hello END REUSABLE"},
      {"chunked", "GET",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
       "200  body=abcde END REUSABLE"},
      {"chunked_trailers", "GET",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nT: 1\r\n\r\n",
       "200  body=a END REUSABLE"},
      {"zero_length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
       "200 content-length=0 END REUSABLE"},
      {"close_delimited", "GET", "HTTP/1.1 200 OK\r\n\r\nuntil the end",
       "200  body=until the end END DONE", true},
      {"close_delimited_empty", "GET", "HTTP/1.1 200 OK\r\n\r\n", "200  body= END DONE", true},
      {"http10_no_keep_alive", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
       "200 content-length=2 body=hi END DONE"},
      {"http10_keep_alive", "GET",
       "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nhi",
       "200 content-length=2,connection=keep-alive body=hi END REUSABLE"},
      {"connection_close", "GET",
       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
       "200 content-length=2,connection=close body=hi END DONE"},
      {"head_has_no_body", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
       "200 content-length=100 END REUSABLE"},
      {"head_chunked_has_no_body", "HEAD", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
       "200  END REUSABLE"},
      {"no_content", "GET", "HTTP/1.1 204 No Content\r\n\r\n", "204  END REUSABLE"},
      {"not_modified", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
       "304 content-length=10 END REUSABLE"},
      {"continue_then_final", "GET",
       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
       "[100 ] 200 content-length=1 body=x END REUSABLE"},
      {"early_hints_then_final", "GET",
       "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
       "[103 link=</s.css>] [100 ] 204  END REUSABLE"},
      {"truncated_body", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
       "200 content-length=10 body=abc RESET(remote reset)", true},
      {"truncated_headers", "GET", "HTTP/1.1 200 OK\r\nContent-Le", " RESET(remote reset)", true},
      {"nothing_then_close", "GET", "", " RESET(remote reset)", true},
  };
}

class ClientResponseTest : public testing::TestWithParam<ResponseCase> {};

std::string runResponse(const ResponseCase& c, size_t split) {
  Client client;
  client.send(request(c.method));
  if (split == 0) {
    client.feeder.add(c.response, c.eof);
  } else {
    client.feeder.add(c.response.substr(0, split));
    client.feeder.add(c.response.substr(split), c.eof);
  }
  EXPECT_TRUE(client.feeder.status.isOk()) << client.feeder.status.details();
  return client.response.trace();
}

TEST_P(ClientResponseTest, Framing) {
  const ResponseCase& c = GetParam();
  EXPECT_EQ(runResponse(c, 0), c.trace);
  for (size_t split = 1; split < c.response.size(); ++split) {
    EXPECT_EQ(runResponse(c, split), c.trace) << "split at " << split;
  }
}

INSTANTIATE_TEST_SUITE_P(Responses, ClientResponseTest, testing::ValuesIn(responseCases()),
                         [](const testing::TestParamInfo<ResponseCase>& info) {
                           return std::string(info.param.name);
                         });

struct ErrorCase {
  const char* name;
  std::string response;
  const char* details;
};

class ClientErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(ClientErrorTest, ResetsAndCloses) {
  const ErrorCase& c = GetParam();
  Client client;
  client.send(request("GET"));
  client.feeder.add(c.response);
  EXPECT_EQ(client.feeder.status.code(), CodecStatus::Code::ProtocolError);
  EXPECT_EQ(client.feeder.status.httpCode(), 502);
  EXPECT_EQ(client.feeder.status.details(), c.details);
  EXPECT_TRUE(absl::EndsWith(client.response.trace(), " RESET(protocol error)"))
      << client.response.trace();
  EXPECT_EQ(client.connection.state(), Network::Connection::State::Closed);
  EXPECT_EQ(client.connection.closed_with, Network::ConnectionCloseType::NoFlush);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ClientErrorTest,
    testing::Values(
        ErrorCase{"bad_chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
                  "http1.invalid_chunk_size"},
        ErrorCase{"content_length_and_chunked",
                  "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                  "http1.content_length_conflict"},
        ErrorCase{"gzip_coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                  "http1.unsupported_transfer_encoding"},
        ErrorCase{"obs_fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", "http1.obs_fold"},
        ErrorCase{"bad_status", "HTTP/1.1 2000 OK\r\n\r\n", "http1.invalid_status"},
        ErrorCase{"not_http", "SSH-2.0-OpenSSH\r\n", "http1.invalid_framing"},
        ErrorCase{"unexpected_101",
                  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n",
                  "http1.unexpected_101"},
        ErrorCase{"http2_version", "HTTP/2.0 200 OK\r\n\r\n", "http1.invalid_version"}),
    [](const testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

TEST(ClientCodecTest, ResponseLimits) {
  Client client;
  client.send(request("GET"));
  client.feeder.add("HTTP/1.1 200 OK\r\nX: " + std::string(70 * 1024, 'a'));
  EXPECT_EQ(client.feeder.status.details(), "http1.headers_too_large");
  EXPECT_EQ(client.connection.state(), Network::Connection::State::Closed);
}

TEST(ClientCodecTest, BytesWithNoRequestOutstandingArePremature) {
  Client client;
  Buffer::OwnedImpl data("HTTP/1.1 200 OK\r\n\r\n");
  const CodecStatus status = client.codec.dispatch(data, false);
  EXPECT_EQ(status.code(), CodecStatus::Code::PrematureResponse);
  EXPECT_EQ(client.connection.state(), Network::Connection::State::Closed);
}

TEST(ClientCodecTest, StrayBytesAfterTheResponseMakeItNotReusable) {
  Client client;
  client.send(request("GET"));
  client.feeder.add("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxEXTRA");
  EXPECT_EQ(client.response.trace(), "200 content-length=1 body=x END DONE");
  // Arriving later, they are a premature response (nothing was asked).
  Client later;
  later.send(request("GET"));
  later.feeder.add("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
  EXPECT_EQ(later.response.trace(), "200 content-length=1 body=x END REUSABLE");
  later.feeder.add("EXTRA");
  EXPECT_EQ(later.feeder.status.code(), CodecStatus::Code::PrematureResponse);
}

TEST(ClientCodecTest, ResponseBeforeRequestEndIsNotReusable) {
  Client client;
  client.send(request("POST"), false);
  client.feeder.add("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(client.response.trace(), "413 content-length=0 END DONE");
  // The router stops sending; a late write is dropped.
  Buffer::OwnedImpl late("late");
  const std::string before = client.connection.written;
  client.encoder_->encodeData(late, true);
  EXPECT_EQ(client.connection.written, before);
}

TEST(ClientCodecTest, KeepAliveReuseCarriesSeveralRequests) {
  Client client;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.codec.idle());
    client.response.clear();
    client.send(request("GET", absl::StrCat("/", i)));
    EXPECT_FALSE(client.codec.idle());
    client.feeder.add(absl::StrCat("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", i));
    EXPECT_EQ(client.response.trace(),
              absl::StrCat("200 content-length=1 body=", i, " END REUSABLE"));
  }
  EXPECT_EQ(client.connection.state(), Network::Connection::State::Open);
}

TEST(ClientCodecTest, UpgradeSwitchesToRawBytes) {
  Client client;
  RequestHeaderMap headers = request("GET", "/ws");
  headers.add("Upgrade", "websocket");
  headers.add("Connection", "Upgrade");
  client.send(headers, false);
  EXPECT_EQ(
      client.connection.written,
      "GET /ws HTTP/1.1\r\nhost: backend:80\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n");
  client.feeder.add(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
      "Upgrade\r\n\r\n\x81\x01"
      "a");
  EXPECT_EQ(client.response.trace(),
            "101 upgrade=websocket,connection=Upgrade body=\x81\x01"
            "a");
  client.feeder.add("HTTP/1.1 200 OK\r\n\r\n");  // Just bytes now.
  EXPECT_EQ(client.response.trace(),
            "101 upgrade=websocket,connection=Upgrade body=\x81\x01"
            "aHTTP/1.1 200 OK\r\n\r\n");
  Buffer::OwnedImpl frame(
      "\x81\x01"
      "b");
  client.encoder_->encodeData(frame, true);
  EXPECT_TRUE(client.connection.write_ended);  // FIN: the request side of the tunnel ended.
  client.feeder.add("", true);
  EXPECT_TRUE(absl::EndsWith(client.response.trace(), "\r\n\r\n END DONE"))
      << client.response.trace();
}

TEST(ClientCodecTest, ConnectSwitchesToRawBytesOn2xx) {
  Client client;
  client.send(request("CONNECT", "db:5432"), false);
  EXPECT_EQ(client.connection.written, "CONNECT db:5432 HTTP/1.1\r\nhost: backend:80\r\n\r\n");
  client.feeder.add("HTTP/1.1 200 Connection Established\r\n\r\nraw");
  EXPECT_EQ(client.response.trace(), "200  body=raw");
}

TEST(ClientCodecTest, ConnectRefusedIsAnOrdinaryResponse) {
  Client client;
  client.send(request("CONNECT", "db:5432"), false);
  client.feeder.add("HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno");
  EXPECT_EQ(client.response.trace(), "403 content-length=2 body=no END DONE");
}

TEST(ClientCodecTest, ResetAndCloseTellTheStream) {
  {
    Client client;
    client.send(request("GET"));
    client.encoder_->getStream().resetStream(StreamResetReason::LocalReset);
    EXPECT_EQ(client.response.trace(), " RESET(local reset)");
    EXPECT_EQ(client.connection.state(), Network::Connection::State::Closed);
  }
  {
    Client client;
    client.send(request("GET"));
    client.connection.remoteClose();
    EXPECT_EQ(client.response.trace(), " RESET(remote reset)");
  }
  {
    // Closing an idle connection tells nobody.
    Client client;
    client.connection.remoteClose();
    EXPECT_EQ(client.response.trace(), "");
  }
}

}  // namespace
}  // namespace Skiff::Http::Http1
