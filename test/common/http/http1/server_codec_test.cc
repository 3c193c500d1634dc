// The HTTP/1 server codec: request framing, strictness, pipelining, upgrade, response encoding.
// Driven through a FakeConnection (no sockets) so every input can also be fed split at every
// byte; server_codec_socket_test.cc covers the same codec over real sockets.

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "source/common/http/http1/codec_impl.h"
#include "test/common/http/http1/codec_test_util.h"

namespace Skiff::Http::Http1 {
namespace {

struct Result {
  CodecStatus status;
  std::string requests;  // RecordingServer::summary()
  std::string written;   // Bytes sent to the client.
  bool closed{false};
};

// Feeds `input` to a fresh server codec in pieces and answers each complete request with
// 200 "ok" at once.
Result runServer(absl::string_view input, size_t piece, bool eof = false,
                 Http1Settings settings = {}) {
  FakeConnection connection;
  RecordingServer server;
  ServerConnectionImpl codec(connection, server, settings);
  Feeder feeder(codec, connection);
  Result result;
  result.status = feeder.feedAll(input, piece, eof);
  result.requests = server.summary();
  result.written = connection.written;
  result.closed = connection.state() == Network::Connection::State::Closed;
  return result;
}

// Feeds `input` split in two at every position, and byte by byte; each must give `expected`.
void expectSameWhenSplit(absl::string_view input, const Result& expected, bool eof = false,
                         Http1Settings settings = {}) {
  for (size_t split = 1; split < input.size(); ++split) {
    FakeConnection connection;
    RecordingServer server;
    ServerConnectionImpl codec(connection, server, settings);
    Feeder feeder(codec, connection);
    feeder.add(input.substr(0, split));
    feeder.add(input.substr(split), eof);
    uint64_t before = feeder.buffer.length() + 1;
    while (feeder.buffer.length() > 0 && feeder.buffer.length() != before) {
      before = feeder.buffer.length();
      feeder.pump();
    }
    SCOPED_TRACE(absl::StrCat("split at ", split));
    EXPECT_EQ(feeder.status.code(), expected.status.code());
    EXPECT_EQ(feeder.status.httpCode(), expected.status.httpCode());
    EXPECT_EQ(server.summary(), expected.requests);
    EXPECT_EQ(connection.written, expected.written);
  }
  const Result bytewise = runServer(input, 1, eof, settings);
  EXPECT_EQ(bytewise.status.httpCode(), expected.status.httpCode());
  EXPECT_EQ(bytewise.requests, expected.requests);
  EXPECT_EQ(bytewise.written, expected.written);
}

constexpr absl::string_view kOk = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

struct ValidCase {
  const char* name;
  std::string input;
  std::string requests;  // Expected summary.
  std::string written;   // Expected bytes to the client.
  bool closed{false};
  bool eof{false};
};

std::string repeat(absl::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out.append(s.data(), s.size());
  }
  return out;
}

std::vector<ValidCase> validCases() {
  const std::string ok(kOk);
  return {
      {"get", "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n",
       "GET /a?b=c host=example.com [user-agent=t] body= END\n", ok},
      {"head", "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", "HEAD / host=h [] body= END\n",
       // A HEAD response carries the headers but never a body.
       "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"},
      {"content_length_body",
       "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world",
       "POST /upload host=h [content-length=11] body=hello world END\n", ok},
      {"chunked_body",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5\r\nhello\r\n1;ext=v\r\n \r\n5\r\nworld\r\n0\r\n\r\n",
       "POST / host=h [] body=hello world END\n", ok},
      {"chunked_with_trailers",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
       "3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n",
       "POST / host=h [] body=abc END\n", ok},
      {"empty_chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       "POST / host=h [] body= END\n", ok},
      {"header_case_and_whitespace",
       "GET / HTTP/1.1\r\nHOST: h\r\nX-Mixed-Case:   padded value  \r\nEmpty:\r\n\r\n",
       "GET / host=h [x-mixed-case=padded value,empty=] body= END\n", ok},
      {"repeated_fields_kept_in_order", "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nA: 3\r\n\r\n",
       "GET / host=h [a=1,b=2,a=3] body= END\n", ok},
      {"obs_text_value", "GET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9\r\n\r\n",
       "GET / host=h [x=caf\xc3\xa9] body= END\n", ok},
      {"pipelined_three",
       "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"
       "POST /3 HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx",
       "GET /1 host=h [] body= END\nGET /2 host=h [] body= END\n"
       "POST /3 host=h [content-length=1] body=x END\n",
       repeat(kOk, 3)},
      {"leading_empty_lines", "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
       "GET / host=h [] body= END\n", ok},
      {"http10_closes", "GET / HTTP/1.0\r\n\r\n", "GET / host= [] body= END\n",
       "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok", true},
      {"http10_keep_alive",
       "GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
       "GET /1 host= [connection=keep-alive] body= END\nGET /2 host= [] body= END\n",
       "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok"
       "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
       true},
      {"connection_close_stops_parsing",
       "GET /1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
       "GET /1 host=h [connection=close] body= END\n",
       "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok", true},
      {"absolute_form", "GET http://Example.com:8080/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n",
       "GET /p?q=1 host=Example.com:8080 [] body= END\n", ok},
      {"absolute_form_no_path", "GET https://example.com HTTP/1.1\r\nHost: x\r\n\r\n",
       "GET / host=example.com [] body= END\n", ok},
      {"absolute_form_query_only", "GET http://example.com?x HTTP/1.1\r\nHost: x\r\n\r\n",
       "GET /?x host=example.com [] body= END\n", ok},
      {"options_asterisk", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
       "OPTIONS * host=h [] body= END\n", ok},
      {"expect_100_continue_is_passed_on",
       "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
       "PUT / host=h [expect=100-continue,content-length=2] body=hi END\n", ok},
      {"eof_after_complete_request_closes_after_response", "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
       "GET / host=h [] body= END\n", ok, true, true},
  };
}

class ServerValidTest : public testing::TestWithParam<ValidCase> {};

TEST_P(ServerValidTest, ParsesAndAnswers) {
  const ValidCase& c = GetParam();
  const Result whole = runServer(c.input, 0, c.eof);
  EXPECT_TRUE(whole.status.isOk()) << whole.status.details();
  EXPECT_EQ(whole.requests, c.requests);
  EXPECT_EQ(whole.written, c.written);
  EXPECT_EQ(whole.closed, c.closed);
  expectSameWhenSplit(c.input, whole, c.eof);
}

INSTANTIATE_TEST_SUITE_P(Framing, ServerValidTest, testing::ValuesIn(validCases()),
                         [](const testing::TestParamInfo<ValidCase>& info) {
                           return std::string(info.param.name);
                         });

struct RejectCase {
  const char* name;
  std::string input;
  uint16_t code;
  const char* details;
};

std::vector<RejectCase> rejectCases() {
  return {
      {"content_length_and_chunked",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       400, "http1.content_length_conflict"},
      {"chunked_and_content_length",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
       "0\r\n\r\n",
       400, "http1.content_length_conflict"},
      {"duplicate_differing_content_length",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400,
       "http1.content_length_conflict"},
      {"duplicate_equal_content_length",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400,
       "http1.content_length_conflict"},
      {"content_length_list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc", 400,
       "http1.invalid_content_length"},
      {"content_length_negative", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400,
       "http1.invalid_content_length"},
      {"content_length_overflow",
       "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 400,
       "http1.invalid_content_length"},
      {"bad_chunk_size",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n", 400,
       "http1.invalid_chunk_size"},
      {"chunk_size_overflow",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", 400,
       "http1.invalid_chunk_size"},
      {"chunk_size_trailing_space",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n",
       400, "http1.invalid_chunk_size"},
      {"chunk_data_longer_than_size",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
       400, "http1.invalid_framing"},
      {"transfer_encoding_not_chunked",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
       "http1.unsupported_transfer_encoding"},
      {"chunked_not_last",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400,
       "http1.invalid_transfer_encoding"},
      {"other_coding_before_chunked",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
       "http1.unsupported_transfer_encoding"},
      {"obs_fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400, "http1.obs_fold"},
      {"obs_fold_tab", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", 400, "http1.obs_fold"},
      {"obs_fold_empty_first_line", "GET / HTTP/1.1\r\nHost: h\r\nX:\r\n b\r\n\r\n", 400,
       "http1.obs_fold"},
      {"obs_fold_hides_a_header",
       "GET / HTTP/1.1\r\nHost: h\r\n Transfer-Encoding: chunked\r\n\r\n", 400, "http1.obs_fold"},
      {"space_before_colon", "GET / HTTP/1.1\r\nHost: h\r\nX : a\r\n\r\n", 400,
       "http1.invalid_characters"},
      {"space_in_name", "GET / HTTP/1.1\r\nHost: h\r\nX Y: a\r\n\r\n", 400,
       "http1.invalid_characters"},
      {"separator_in_name", "GET / HTTP/1.1\r\nHost: h\r\n(x): a\r\n\r\n", 400,
       "http1.invalid_characters"},
      {"empty_name", "GET / HTTP/1.1\r\nHost: h\r\n: a\r\n\r\n", 400, "http1.invalid_header_name"},
      {"cr_in_value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400, "http1.invalid_framing"},
      {"bare_lf_line_end", "GET / HTTP/1.1\r\nHost: h\nX: a\r\n\r\n", 400,
       "http1.invalid_characters"},
      {"nul_in_value", std::string("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", 36), 400,
       "http1.invalid_characters"},
      {"control_in_value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", 400,
       "http1.invalid_characters"},
      {"del_in_value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fz\r\n\r\n", 400,
       "http1.invalid_characters"},
      {"missing_host", "GET / HTTP/1.1\r\nUser-Agent: t\r\n\r\n", 400, "http1.missing_host"},
      {"duplicate_host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
       "http1.duplicate_host"},
      {"http2_version", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 400, "http1.invalid_version"},
      {"http09", "GET /\r\n\r\n", 400, "http1.invalid_version"},
      {"unknown_method", "FOO / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "http1.invalid_method"},
      {"leading_space", " GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "http1.invalid_method"},
      {"space_in_target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400, "http1.invalid_framing"},
      {"relative_target", "GET foo HTTP/1.1\r\nHost: h\r\n\r\n", 400, "http1.invalid_url"},
      {"absolute_target_userinfo", "GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400,
       "http1.invalid_url"},
      {"unknown_scheme", "GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, "http1.invalid_url"},
      {"tls_handshake_bytes", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 400,
       "http1.invalid_method"},
  };
}

class ServerRejectTest : public testing::TestWithParam<RejectCase> {};

TEST_P(ServerRejectTest, RejectsWithCode) {
  const RejectCase& c = GetParam();
  FakeConnection connection;
  RecordingServer server;
  server.answer = RecordingServer::Answer::None;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  const CodecStatus status = feeder.feedAll(c.input, 0, false);
  ASSERT_FALSE(status.isOk()) << server.summary();
  EXPECT_EQ(status.code(), CodecStatus::Code::ProtocolError);
  EXPECT_EQ(status.httpCode(), c.code);
  EXPECT_EQ(status.details(), c.details);
  // A stream exists to answer with, and nothing of the bad request was delivered as complete.
  ASSERT_FALSE(server.streams.empty());
  RecordingServer::Stream& last = *server.streams.back();
  EXPECT_FALSE(last.complete) << server.summary();
  // The caller answers; the codec closes the connection after that answer.
  ResponseHeaderMap reply;
  reply.setStatus(status.httpCode());
  last.encoder.encodeHeaders(reply, true);
  EXPECT_TRUE(absl::StartsWith(connection.written, absl::StrCat("HTTP/1.1 ", c.code, " ")))
      << connection.written;
  EXPECT_NE(connection.written.find("connection: close\r\n"), std::string::npos);
  EXPECT_EQ(connection.state(), Network::Connection::State::Closed);
  EXPECT_EQ(connection.closed_with, Network::ConnectionCloseType::FlushWrite);
  // Further input is ignored and the error sticks.
  Buffer::OwnedImpl more("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(codec.dispatch(more, false).httpCode(), c.code);

  // The same verdict whatever the split.
  for (size_t split = 1; split < c.input.size(); ++split) {
    FakeConnection split_connection;
    RecordingServer split_server;
    split_server.answer = RecordingServer::Answer::None;
    ServerConnectionImpl split_codec(split_connection, split_server, {});
    Feeder split_feeder(split_codec, split_connection);
    split_feeder.add(c.input.substr(0, split));
    split_feeder.add(c.input.substr(split));
    EXPECT_EQ(split_feeder.status.httpCode(), c.code) << "split at " << split;
    EXPECT_EQ(split_feeder.status.details(), c.details) << "split at " << split;
  }
}

INSTANTIATE_TEST_SUITE_P(Strictness, ServerRejectTest, testing::ValuesIn(rejectCases()),
                         [](const testing::TestParamInfo<RejectCase>& info) {
                           return std::string(info.param.name);
                         });

// Names are lower-cased eight bytes at a time: every token character, at every offset.
TEST(ServerCodecTest, HeaderNamesLowerCased) {
  const std::string token =
      "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string expected = token;
  for (char& c : expected) {
    c = absl::ascii_tolower(static_cast<unsigned char>(c));
  }
  for (size_t offset = 0; offset < 9; ++offset) {
    const std::string name = std::string(offset, 'Q') + token;
    const Result result = runServer("GET / HTTP/1.1\r\nHost: h\r\n" + name + ": v\r\n\r\n", 0);
    EXPECT_EQ(result.requests,
              "GET / host=h [" + std::string(offset, 'q') + expected + "=v] body= END\n");
  }
}

TEST(ServerCodecTest, HeaderSectionLimitIs431) {
  Http1Settings settings;
  settings.max_headers_kb = 1;
  const std::string head = "GET / HTTP/1.1\r\nHost: h\r\n";
  // Exactly at the limit passes.
  std::string exact = head + "X: " + std::string(1024 - head.size() - 7, 'a') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), 1024u);
  EXPECT_TRUE(runServer(exact, 0, false, settings).status.isOk());
  // One byte more is 431, whether sent at once, per byte or split anywhere.
  std::string over = head + "X: " + std::string(1024 - head.size() - 6, 'a') + "\r\n\r\n";
  const Result result = runServer(over, 0, false, settings);
  EXPECT_EQ(result.status.httpCode(), 431);
  EXPECT_EQ(result.status.details(), "http1.headers_too_large");
  EXPECT_EQ(runServer(over, 1, false, settings).status.httpCode(), 431);
  // A never-ending header line stops at the limit, not at the end of memory.
  FakeConnection connection;
  RecordingServer server;
  ServerConnectionImpl codec(connection, server, settings);
  Feeder feeder(codec, connection);
  feeder.add("GET / HTTP/1.1\r\nHost: h\r\nX: ");
  for (int i = 0; i < 100 && feeder.status.isOk(); ++i) {
    feeder.add(std::string(100, 'a'));
  }
  EXPECT_EQ(feeder.status.httpCode(), 431);
  // A long URL counts too.
  EXPECT_EQ(runServer("GET /" + std::string(2000, 'u') + " HTTP/1.1\r\nHost: h\r\n\r\n", 0, false,
                      settings)
                .status.httpCode(),
            431);
}

TEST(ServerCodecTest, HeaderCountLimitIs431) {
  Http1Settings settings;
  settings.max_headers_count = 3;
  EXPECT_TRUE(runServer("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", 0, false, settings)
                  .status.isOk());
  const Result result =
      runServer("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 0, false, settings);
  EXPECT_EQ(result.status.httpCode(), 431);
  EXPECT_EQ(result.status.details(), "http1.too_many_headers");
}

TEST(ServerCodecTest, Http10RefusedWhenNotAccepted) {
  Http1Settings settings;
  settings.accept_http_10 = false;
  EXPECT_EQ(runServer("GET / HTTP/1.0\r\n\r\n", 0, false, settings).status.httpCode(), 426);
}

// A request body is delivered as it arrives, not gathered.
TEST(ServerCodecTest, BodyStreamsAsItArrives) {
  FakeConnection connection;
  RecordingServer server;
  server.answer = RecordingServer::Answer::None;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  feeder.add("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
  ASSERT_EQ(server.streams.size(), 1u);
  EXPECT_EQ(server.streams[0]->body, "abc");
  EXPECT_FALSE(server.streams[0]->complete);
  feeder.add("defg");
  EXPECT_EQ(server.streams[0]->body, "abcdefg");
  feeder.add("hij");
  EXPECT_TRUE(server.streams[0]->complete);
  EXPECT_EQ(feeder.buffer.length(), 0u);
}

TEST(ServerCodecTest, LargeBodySlicesAreMovedNotCopied) {
  FakeConnection connection;
  RecordingServer server;
  server.answer = RecordingServer::Answer::None;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  const std::string body(256 * 1024, 'b');
  feeder.add(
      absl::StrCat("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ", body.size(), "\r\n\r\n"));
  for (size_t i = 0; i < body.size(); i += 16384) {
    feeder.add(body.substr(i, 16384));
  }
  EXPECT_EQ(server.streams[0]->body, body);
  EXPECT_TRUE(server.streams[0]->complete);
}

// Pipelining: the second request is not parsed until the first response is complete, and then
// it is (the parked bytes are handed in again when the codec re-enables reading).
TEST(ServerCodecTest, PipelinedRequestWaitsForTheResponse) {
  FakeConnection connection;
  RecordingServer server;
  server.answer = RecordingServer::Answer::None;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  feeder.add("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(server.streams.size(), 1u);
  EXPECT_TRUE(server.streams[0]->complete);
  EXPECT_FALSE(connection.readEnabled());
  EXPECT_GT(feeder.buffer.length(), 0u);
  // More bytes wait too.
  feeder.add("GET /3 HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(server.streams.size(), 1u);

  server.streams[0]->respond();
  EXPECT_TRUE(connection.readEnabled());
  feeder.pump();
  ASSERT_EQ(server.streams.size(), 2u);
  EXPECT_EQ(server.streams[1]->trace, "GET /2 host=h []");
  server.streams[1]->respond(404, "");
  feeder.pump();
  ASSERT_EQ(server.streams.size(), 3u);
  server.streams[2]->respond();
  EXPECT_EQ(connection.written,
            absl::StrCat(kOk, "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n", kOk));
  EXPECT_EQ(connection.state(), Network::Connection::State::Open);
}

TEST(ServerCodecTest, PipelinedRequestsBeforeFinAreAllAnswered) {
  FakeConnection connection;
  RecordingServer server;
  server.answer = RecordingServer::Answer::None;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  feeder.add("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n", true);
  ASSERT_EQ(server.streams.size(), 1u);
  server.streams[0]->respond();
  EXPECT_EQ(connection.state(), Network::Connection::State::Open);
  feeder.pump();
  ASSERT_EQ(server.streams.size(), 2u);
  server.streams[1]->respond();
  // The client half-closed: after the last answer the connection closes.
  EXPECT_EQ(connection.state(), Network::Connection::State::Closed);
  EXPECT_EQ(connection.written, absl::StrCat(kOk, kOk));
}

TEST(ServerCodecTest, ChunkedResponseAndKeepAlive) {
  FakeConnection connection;
  RecordingServer server;
  server.answer = RecordingServer::Answer::None;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  feeder.add("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ResponseHeaderMap headers;
  headers.setStatus(200);
  headers.add("Content-Type", "text/plain");
  headers.add("Transfer-Encoding", "identity");  // Framing is the codec's: never written.
  auto& encoder = server.streams[0]->encoder;
  encoder.encodeHeaders(headers, false);
  Buffer::OwnedImpl a(std::string(20, 'a'));
  encoder.encodeData(a, false);
  Buffer::OwnedImpl empty;
  encoder.encodeData(empty, false);  // No empty chunk: that would end the body.
  Buffer::OwnedImpl b("bc");
  encoder.encodeData(b, true);
  EXPECT_EQ(connection.written,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
            "14\r\naaaaaaaaaaaaaaaaaaaa\r\n2\r\nbc\r\n0\r\n\r\n");
  EXPECT_EQ(connection.state(), Network::Connection::State::Open);
}

TEST(ServerCodecTest, Http10ResponseWithoutLengthIsCloseDelimited) {
  FakeConnection connection;
  RecordingServer server;
  server.answer = RecordingServer::Answer::None;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  feeder.add("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ResponseHeaderMap headers;
  headers.setStatus(200);
  auto& encoder = server.streams[0]->encoder;
  EXPECT_EQ(encoder.protocol(), Protocol::Http10);
  encoder.encodeHeaders(headers, false);
  Buffer::OwnedImpl body("streamed");
  encoder.encodeData(body, true);
  EXPECT_EQ(connection.written, "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nstreamed");
  EXPECT_EQ(connection.state(), Network::Connection::State::Closed);
}

TEST(ServerCodecTest, EmptyResponsesGetContentLengthZeroExceptNoBodyStatuses) {
  for (auto [status, expected] : std::vector<std::pair<uint32_t, std::string>>{
           {200, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"},
           {204, "HTTP/1.1 204 No Content\r\n\r\n"},
           {304, "HTTP/1.1 304 Not Modified\r\n\r\n"},
           {599, "HTTP/1.1 599 \r\ncontent-length: 0\r\n\r\n"}}) {
    FakeConnection connection;
    RecordingServer server;
    server.answer = RecordingServer::Answer::None;
    ServerConnectionImpl codec(connection, server, {});
    Feeder feeder(codec, connection);
    feeder.add("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    ResponseHeaderMap headers;
    headers.setStatus(status);
    server.streams[0]->encoder.encodeHeaders(headers, true);
    EXPECT_EQ(connection.written, expected);
  }
}

TEST(ServerCodecTest, Expect100ContinueThenBody) {
  FakeConnection connection;
  RecordingServer server;
  server.answer = RecordingServer::Answer::None;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  feeder.add("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  ASSERT_EQ(server.streams.size(), 1u);
  EXPECT_EQ(*server.streams[0]->request_headers->get("expect"), "100-continue");
  ResponseHeaderMap continue_headers;
  continue_headers.setStatus(100);
  server.streams[0]->encoder.encode1xxHeaders(continue_headers);
  EXPECT_EQ(connection.written, "HTTP/1.1 100 Continue\r\n\r\n");
  feeder.add("data");
  EXPECT_TRUE(server.streams[0]->complete);
  server.streams[0]->respond();
  EXPECT_EQ(connection.written, absl::StrCat("HTTP/1.1 100 Continue\r\n\r\n", kOk));
  EXPECT_EQ(connection.state(), Network::Connection::State::Open);
}

TEST(ServerCodecTest, ResponseBeforeRequestEndClosesTheConnection) {
  FakeConnection connection;
  RecordingServer server;
  server.answer = RecordingServer::Answer::None;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  feeder.add("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\npart");
  ResponseHeaderMap headers;
  headers.setStatus(413);
  server.streams[0]->encoder.encodeHeaders(headers, true);
  EXPECT_EQ(connection.written,
            "HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
  EXPECT_EQ(connection.state(), Network::Connection::State::Closed);
  EXPECT_EQ(connection.closed_with, Network::ConnectionCloseType::FlushWrite);
  EXPECT_FALSE(server.streams[0]->reset);
}

TEST(ServerCodecTest, UpgradeHandsOverRawBytesBothWays) {
  FakeConnection connection;
  RecordingServer server;
  server.answer = RecordingServer::Answer::None;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  feeder.add(
      "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: k\r\n\r\n\x81\x05hello");
  ASSERT_EQ(server.streams.size(), 1u);
  auto& stream = *server.streams[0];
  EXPECT_EQ(stream.trace,
            "GET /chat host=h [upgrade=websocket,connection=Upgrade,sec-websocket-key=k]");
  EXPECT_EQ(stream.body, "\x81\x05hello");
  EXPECT_FALSE(stream.complete);
  feeder.add("GET / HTTP/1.1\r\n\r\n");  // Not HTTP any more: just bytes.
  EXPECT_EQ(stream.body, "\x81\x05helloGET / HTTP/1.1\r\n\r\n");

  ResponseHeaderMap headers;
  headers.setStatus(101);
  headers.add("Upgrade", "websocket");
  headers.add("Connection", "Upgrade");
  stream.encoder.encodeHeaders(headers, false);
  Buffer::OwnedImpl frame("\x81\x02hi");
  stream.encoder.encodeData(frame, false);
  EXPECT_EQ(connection.written,
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n"
            "\x81\x02hi");
  // The client half-closes, then the upstream side ends: the tunnel is over.
  feeder.add("", true);
  EXPECT_TRUE(stream.complete);
  EXPECT_EQ(connection.state(), Network::Connection::State::Open);
  Buffer::OwnedImpl last("bye");
  stream.encoder.encodeData(last, true);
  EXPECT_TRUE(connection.write_ended);
  EXPECT_EQ(connection.state(), Network::Connection::State::Closed);
}

TEST(ServerCodecTest, RefusedUpgradeClosesAfterTheResponse) {
  const Result result = runServer(
      "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", 0);
  // RecordingServer answers only complete requests; an upgrade never completes. Answer by hand.
  FakeConnection connection;
  RecordingServer server;
  server.answer = RecordingServer::Answer::None;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  feeder.add("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
  server.streams[0]->respond(403, "no");
  EXPECT_EQ(connection.written,
            "HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno");
  EXPECT_EQ(connection.state(), Network::Connection::State::Closed);
  EXPECT_TRUE(result.status.isOk());
}

TEST(ServerCodecTest, ConnectTunnel) {
  FakeConnection connection;
  RecordingServer server;
  server.answer = RecordingServer::Answer::None;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  feeder.add("CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n\x00\x01", false);
  auto& stream = *server.streams[0];
  EXPECT_EQ(stream.trace, "CONNECT db.internal:5432 host=db.internal:5432 []");
  ResponseHeaderMap headers;
  headers.setStatus(200);
  stream.encoder.encodeHeaders(headers, false);
  EXPECT_EQ(connection.written, "HTTP/1.1 200 OK\r\n\r\n");
  Buffer::OwnedImpl reply("pong");
  stream.encoder.encodeData(reply, false);
  EXPECT_EQ(connection.written, "HTTP/1.1 200 OK\r\n\r\npong");
}

TEST(ServerCodecTest, ResetClosesWithoutFlushAndTellsCallbacks) {
  FakeConnection connection;
  RecordingServer server;
  server.answer = RecordingServer::Answer::None;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  feeder.add("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  server.streams[0]->encoder.getStream().resetStream(StreamResetReason::LocalReset);
  EXPECT_TRUE(server.streams[0]->reset);
  EXPECT_EQ(server.streams[0]->trace, "GET / host=h [] RESET(local reset)");
  EXPECT_EQ(connection.state(), Network::Connection::State::Closed);
  EXPECT_EQ(connection.closed_with, Network::ConnectionCloseType::NoFlush);
}

TEST(ServerCodecTest, ConnectionCloseResetsTheActiveStream) {
  FakeConnection connection;
  RecordingServer server;
  server.answer = RecordingServer::Answer::None;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  feeder.add("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab");
  connection.raiseAboveHighWatermark();
  EXPECT_EQ(server.streams[0]->above, 1);
  connection.remoteClose();
  EXPECT_EQ(server.streams[0]->trace, "POST / host=h [content-length=5] RESET(remote reset)");
}

TEST(ServerCodecTest, HalfCloseMidRequestResets) {
  FakeConnection connection;
  RecordingServer server;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  feeder.add("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab", true);
  EXPECT_TRUE(server.streams[0]->reset);
  EXPECT_EQ(connection.state(), Network::Connection::State::Closed);
}

TEST(ServerCodecTest, DisableKeepAlive) {
  // Idle: closes now.
  {
    FakeConnection connection;
    RecordingServer server;
    ServerConnectionImpl codec(connection, server, {});
    codec.disableKeepAlive();
    EXPECT_EQ(connection.state(), Network::Connection::State::Closed);
  }
  // In flight: the response says so, then the connection closes.
  FakeConnection connection;
  RecordingServer server;
  server.answer = RecordingServer::Answer::None;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  feeder.add("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  codec.disableKeepAlive();
  EXPECT_EQ(connection.state(), Network::Connection::State::Open);
  server.streams[0]->respond();
  EXPECT_EQ(connection.written,
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
  EXPECT_EQ(connection.state(), Network::Connection::State::Closed);
}

TEST(ServerCodecTest, CloseAfterNextResponseKeepsAnIdleConnectionForOneMoreRequest) {
  FakeConnection connection;
  RecordingServer server;
  ServerConnectionImpl codec(connection, server, {});
  codec.closeAfterNextResponse();
  // Idle: stays open, so a request already on its way is not lost.
  EXPECT_EQ(connection.state(), Network::Connection::State::Open);
  Feeder feeder(codec, connection);
  feeder.add("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(connection.written,
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
  EXPECT_EQ(connection.state(), Network::Connection::State::Closed);
}

TEST(ServerCodecTest, CloseAfterNextResponseThenDisableKeepAliveClosesWhenIdle) {
  FakeConnection connection;
  RecordingServer server;
  ServerConnectionImpl codec(connection, server, {});
  codec.closeAfterNextResponse();
  codec.disableKeepAlive();  // The drain timeout: still idle, closed now.
  EXPECT_EQ(connection.state(), Network::Connection::State::Closed);
}

// Bytes after a body that ends where Content-Length says are the next request, and are judged as
// one: garbage there is a 400 on a stream of its own, after the first response.
TEST(ServerCodecTest, BytesAfterTheBodyAreTheNextRequest) {
  FakeConnection connection;
  RecordingServer server;
  ServerConnectionImpl codec(connection, server, {});
  Feeder feeder(codec, connection);
  const CodecStatus status = feeder.feedAll(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\nGARBAGE / HTTP/1.1\r\n\r\n", 0,
      false);
  EXPECT_EQ(status.httpCode(), 400);
  ASSERT_EQ(server.streams.size(), 2u);
  EXPECT_TRUE(server.streams[0]->complete);
  EXPECT_EQ(server.streams[1]->trace, "");
  EXPECT_EQ(connection.written, kOk);
}

TEST(ServerCodecTest, GarbageOnIdleConnectionStillGetsAStream) {
  FakeConnection connection;
  RecordingServer server;
  server.answer = RecordingServer::Answer::None;
  ServerConnectionImpl codec(connection, server, {});
  Buffer::OwnedImpl garbage("\x01\x02\x03");
  const CodecStatus status = codec.dispatch(garbage, false);
  EXPECT_EQ(status.httpCode(), 400);
  ASSERT_EQ(server.streams.size(), 1u);
  EXPECT_EQ(garbage.length(), 0u);
}

}  // namespace
}  // namespace Skiff::Http::Http1
