// libFuzzer target: the HTTP/1 request parser (server codec) on hostile bytes.
//
// Input: one control byte, then the bytes a client sends. The control byte picks the size of
// the pieces the input arrives in, whether the peer half-closes at the end, whether responses
// are sent at once or after each read (the pipelining path), and a small header limit.
//
// Besides "no crash, no leak, no sanitizer report", it checks an invariant: fed whole, the same
// bytes must give exactly the same requests, verdict and response bytes as fed in pieces. A
// parser whose result depends on where TCP split the stream is a request-smuggling bug.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "source/common/http/http1/codec_impl.h"
#include "test/common/http/http1/codec_test_util.h"

namespace Skiff::Http::Http1 {
namespace {

struct Outcome {
  std::vector<std::string> requests;  // One summary per stream.
  bool last_complete{false};          // The last stream got its end_stream.
  std::string written;
  CodecStatus status;
  bool closed{false};
};

Outcome run(absl::string_view input, size_t piece, bool eof, bool answer_later,
            const Http1Settings& settings) {
  FakeConnection connection;
  RecordingServer server;
  server.answer =
      answer_later ? RecordingServer::Answer::None : RecordingServer::Answer::OnComplete;
  ServerConnectionImpl codec(connection, server, settings);
  Feeder feeder(codec, connection);
  size_t answered = 0;
  auto answerComplete = [&] {
    // Answer every complete request not answered yet, then hand parked bytes in again.
    for (bool progress = true; progress;) {
      progress = false;
      for (; answered < server.streams.size(); ++answered) {
        RecordingServer::Stream& stream = *server.streams[answered];
        if (!stream.complete || stream.reset) {
          break;
        }
        stream.respond();
      }
      const uint64_t before = feeder.buffer.length();
      feeder.pump();
      progress = feeder.buffer.length() != before;
    }
  };
  size_t offset = 0;
  do {
    const size_t n = std::min(piece, input.size() - offset);
    feeder.add(input.substr(offset, n), eof && offset + n == input.size());
    offset += n;
    if (answer_later) {
      answerComplete();
    }
  } while (offset < input.size());
  if (!answer_later) {
    uint64_t before = feeder.buffer.length() + 1;
    while (feeder.buffer.length() > 0 && feeder.buffer.length() != before) {
      before = feeder.buffer.length();
      feeder.pump();
    }
  }
  // Whatever happened, answering the last stream must be safe (the connection manager answers
  // errors this way).
  if (!server.streams.empty()) {
    RecordingServer::Stream& last = *server.streams.back();
    if (!last.reset) {
      ResponseHeaderMap headers;
      headers.setStatus(feeder.status.isOk() ? 200 : feeder.status.httpCode());
      last.encoder.encodeHeaders(headers, false);
      Buffer::OwnedImpl body("x");
      last.encoder.encodeData(body, true);
    }
  }
  Outcome outcome;
  outcome.written = connection.written;
  outcome.status = feeder.status;
  outcome.closed = connection.state() == Network::Connection::State::Closed;
  for (const auto& stream : server.streams) {
    outcome.requests.push_back(stream->summary());
  }
  outcome.last_complete = !server.streams.empty() && server.streams.back()->complete;
  return outcome;
}

// The requests without the last one when the input failed (that one is the failed request).
std::vector<std::string> withoutFailed(const Outcome& outcome) {
  std::vector<std::string> requests = outcome.requests;
  if (!outcome.status.isOk() && !requests.empty()) {
    requests.pop_back();
  }
  return requests;
}

std::string join(const std::vector<std::string>& requests) {
  std::string out;
  for (const auto& request : requests) {
    out += request + "\n";
  }
  return out;
}

}  // namespace
}  // namespace Skiff::Http::Http1

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace Skiff::Http::Http1;
  if (size < 1) {
    return 0;
  }
  const uint8_t control = data[0];
  const absl::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t piece = 1 + (control & 0x0f) * (control & 0x0f);  // 1 .. 226 bytes
  const bool eof = control & 0x10;
  const bool answer_later = control & 0x20;
  Skiff::Http::Http1Settings settings;
  if (control & 0x40) {
    settings.max_headers_kb = 1;
    settings.max_headers_count = 8;
  }
  const Outcome split = run(input, piece, eof, answer_later, settings);
  if (!answer_later) {
    const Outcome whole = run(input, input.size() + 1, eof, false, settings);
    // The request that failed may have had its headers delivered or not, depending on whether
    // its error arrived in the same read (a body error can only be seen after the headers went
    // on). It must never be delivered complete, and everything before it must be identical.
    if (!whole.status.isOk() && (whole.last_complete || split.last_complete)) {
      abort();
    }
    if (withoutFailed(whole) != withoutFailed(split) || whole.written != split.written ||
        whole.status.httpCode() != split.status.httpCode() ||
        whole.status.details() != split.status.details()) {
      // The verdict depends on how the bytes were split. Say how before dying.
      fprintf(stderr, "fed whole: %s [%s] %s\nfed in %zu-byte pieces: %s [%s] %s\n",
              std::string(whole.status.details()).c_str(), join(whole.requests).c_str(),
              whole.written.c_str(), piece, std::string(split.status.details()).c_str(),
              join(split.requests).c_str(), split.written.c_str());
      abort();
    }
  }
  return 0;
}
