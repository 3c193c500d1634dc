// Access log formatting cost. Not a test:
//   bazel run --config=release //test/common/formatter:formatter_benchmark

#include "benchmark/benchmark.h"
#include "google/protobuf/util/json_util.h"
#include "source/common/formatter/json_formatter.h"
#include "source/common/formatter/substitution_formatter.h"

namespace Skiff::Formatter {
namespace {

struct Request {
  Request() {
    info.start_time = std::chrono::system_clock::now();
    info.protocol = StreamInfo::Protocol::Http11;
    info.response_code = 200;
    info.bytes_received = 0;
    info.bytes_sent = 1234;
    info.request_complete = std::chrono::milliseconds(3);
    info.downstream_remote_address = *Network::Address::Instance::parseWithPort("10.0.0.2:51000");
    info.upstream_remote_address = *Network::Address::Instance::parseWithPort("10.0.1.9:8080");
    request.setMethod("GET");
    request.setPath("/api/v1/items?page=2");
    request.setHost("shop.example.com");
    request.add("user-agent", "curl/7.88.1");
    request.add("x-request-id", "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2");
    request.add("x-forwarded-for", "192.0.2.10");
    response.setStatus(200);
    response.add("x-envoy-upstream-service-time", "2");
  }
  Context context() const { return Context{&request, &response, &info}; }

  StreamInfo::StreamInfo info;
  Http::RequestHeaderMap request;
  Http::ResponseHeaderMap response;
};

void BM_DefaultFormat(benchmark::State& state) {
  const Request r;
  auto formatter = createTextFormatter(kDefaultAccessLogFormat, false);
  std::string line;
  for (auto _ : state) {
    line.clear();
    (*formatter)->format(r.context(), line);
    benchmark::DoNotOptimize(line);
  }
  state.SetLabel(line.substr(0, line.size() - 1));
}
BENCHMARK(BM_DefaultFormat);

void BM_CustomStartTimeFormat(benchmark::State& state) {
  const Request r;
  auto formatter =
      createTextFormatter("%START_TIME(%Y/%m/%dT%H:%M:%S.%3f)% %RESPONSE_CODE%\n", false);
  std::string line;
  for (auto _ : state) {
    line.clear();
    (*formatter)->format(r.context(), line);
    benchmark::DoNotOptimize(line);
  }
}
BENCHMARK(BM_CustomStartTimeFormat);

void BM_JsonFormat(benchmark::State& state) {
  const Request r;
  google::protobuf::Struct format;
  (void)google::protobuf::util::JsonStringToMessage(R"({
    "start_time": "%START_TIME%", "method": "%REQ(:METHOD)%", "path": "%REQ(:PATH)%",
    "protocol": "%PROTOCOL%", "response_code": "%RESPONSE_CODE%", "flags": "%RESPONSE_FLAGS%",
    "bytes_received": "%BYTES_RECEIVED%", "bytes_sent": "%BYTES_SENT%", "duration": "%DURATION%",
    "user_agent": "%REQ(USER-AGENT)%", "request_id": "%REQ(X-REQUEST-ID)%",
    "authority": "%REQ(:AUTHORITY)%", "upstream_host": "%UPSTREAM_HOST%"})",
                                                    &format);
  auto formatter = createJsonFormatter(format, {});
  std::string line;
  for (auto _ : state) {
    line.clear();
    (*formatter)->format(r.context(), line);
    benchmark::DoNotOptimize(line);
  }
}
BENCHMARK(BM_JsonFormat);

}  // namespace
}  // namespace Skiff::Formatter

BENCHMARK_MAIN();
