#include "source/common/formatter/substitution_formatter.h"

#include <cstdlib>
#include <random>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "source/common/formatter/time_format.h"

namespace Skiff::Formatter {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

Network::Address::InstanceConstSharedPtr addr(absl::string_view text) {
  return *Network::Address::Instance::parseWithPort(text);
}

std::chrono::system_clock::time_point fromMillis(int64_t ms) {
  return std::chrono::system_clock::time_point(milliseconds(ms));
}

// A request like the one in Envoy's access log documentation.
class FormatterTest : public testing::Test {
 protected:
  FormatterTest() {
    info_.start_time = fromMillis(1460751420310);  // 2016-04-15T20:17:00.310Z
    info_.protocol = StreamInfo::Protocol::Http2;
    info_.response_code = 204;
    info_.bytes_received = 154;
    info_.bytes_sent = 0;
    info_.request_complete = milliseconds(226);
    info_.last_downstream_rx_byte_received = milliseconds(12);
    info_.first_upstream_rx_byte_received = nanoseconds(100'900'000);  // 100.9 ms
    info_.last_downstream_tx_byte_sent = milliseconds(225);
    info_.connection_id = 42;
    info_.downstream_remote_address = addr("10.0.35.28:51234");
    info_.downstream_direct_remote_address = addr("10.0.0.9:40000");
    info_.downstream_local_address = addr("[::1]:10000");
    info_.upstream_remote_address = addr("10.0.2.1:80");
    info_.upstream_local_address = addr("10.0.1.1:33000");
    info_.upstream_cluster = std::make_shared<const std::string>("locations_cluster");
    info_.upstream_request_attempt_count = 2;
    info_.route_name = "locations_route";
    info_.response_code_details = "via_upstream";

    request_.setMethod("POST");
    request_.setPath("/api/v1/locations");
    request_.setHost("locations");
    request_.add("X-Forwarded-For", "10.0.35.28");
    request_.add("User-Agent", "nsq2http");
    request_.add("X-Request-Id", "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2");
    response_.setStatus(204);
    response_.add("x-envoy-upstream-service-time", "100");
  }

  std::string format(absl::string_view text, bool omit_empty = false) {
    auto parsed = FormatString::parse(text, {.omit_empty_values = omit_empty});
    EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    if (!parsed.ok()) {
      return "<error>";
    }
    return parsed->format(context());
  }

  Context context() { return Context{&request_, &response_, &info_}; }

  StreamInfo::StreamInfo info_;
  Http::RequestHeaderMap request_;
  Http::ResponseHeaderMap response_;
};

TEST_F(FormatterTest, DefaultFormatMatchesEnvoysExampleLine) {
  auto formatter = createTextFormatter(kDefaultAccessLogFormat, false);
  ASSERT_TRUE(formatter.ok()) << formatter.status();
  std::string line;
  (*formatter)->format(context(), line);
  // Envoy's documented example, with UPSTREAM_HOST as current Envoy prints it (no "tcp://").
  EXPECT_EQ(line,
            "[2016-04-15T20:17:00.310Z] \"POST /api/v1/locations HTTP/2\" 204 - 154 0 226 100 "
            "\"10.0.35.28\" \"nsq2http\" \"cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2\" \"locations\" "
            "\"10.0.2.1:80\"\n");
}

TEST_F(FormatterTest, DefaultFormatWithNothingKnown) {
  auto formatter = createTextFormatter(kDefaultAccessLogFormat, false);
  ASSERT_TRUE(formatter.ok());
  StreamInfo::StreamInfo empty;
  empty.start_time = fromMillis(0);
  Http::RequestHeaderMap request;
  std::string line;
  (*formatter)->format(Context{&request, nullptr, &empty}, line);
  EXPECT_EQ(line,
            "[1970-01-01T00:00:00.000Z] \"- - -\" 0 - 0 0 - - \"-\" \"-\" \"-\" \"-\" \"-\"\n");
}

TEST_F(FormatterTest, DefaultFormatUsesOriginalPathWhenPresent) {
  request_.add("x-envoy-original-path", "/before/rewrite");
  auto formatter = createTextFormatter(kDefaultAccessLogFormat, false);
  ASSERT_TRUE(formatter.ok());
  std::string line;
  (*formatter)->format(context(), line);
  EXPECT_NE(line.find("\"POST /before/rewrite HTTP/2\""), std::string::npos) << line;
}

struct OperatorCase {
  const char* format;
  const char* expected;
};

TEST_F(FormatterTest, EveryOperator) {
  const OperatorCase cases[] = {
      {"%START_TIME%", "2016-04-15T20:17:00.310Z"},
      {"%START_TIME()%", "2016-04-15T20:17:00.310Z"},
      {"%REQ(:METHOD)%", "POST"},
      {"%REQ(:path)%", "/api/v1/locations"},
      {"%REQ(:AUTHORITY)%", "locations"},
      {"%REQ(HOST)%", "locations"},
      {"%REQ(:scheme)%", "http"},
      {"%REQ(USER-AGENT)%", "nsq2http"},
      {"%REQ(X-MISSING)%", "-"},
      {"%REQ(X-MISSING?USER-AGENT)%", "nsq2http"},
      {"%REQ(USER-AGENT?X-FORWARDED-FOR)%", "nsq2http"},
      {"%REQ(X-MISSING?X-ALSO-MISSING)%", "-"},
      {"%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%", "100"},
      {"%RESP(:STATUS)%", "204"},
      {"%RESP(X-MISSING)%", "-"},
      {"%RESPONSE_CODE%", "204"},
      {"%RESPONSE_CODE_DETAILS%", "via_upstream"},
      {"%RESPONSE_FLAGS%", "-"},
      {"%BYTES_RECEIVED%", "154"},
      {"%BYTES_SENT%", "0"},
      {"%DURATION%", "226"},
      {"%REQUEST_DURATION%", "12"},
      {"%RESPONSE_DURATION%", "100"},
      {"%RESPONSE_TX_DURATION%", "124"},
      {"%PROTOCOL%", "HTTP/2"},
      {"%ROUTE_NAME%", "locations_route"},
      {"%UPSTREAM_HOST%", "10.0.2.1:80"},
      {"%UPSTREAM_CLUSTER%", "locations_cluster"},
      {"%UPSTREAM_TRANSPORT_FAILURE_REASON%", "-"},
      {"%UPSTREAM_REQUEST_ATTEMPT_COUNT%", "2"},
      {"%UPSTREAM_LOCAL_ADDRESS%", "10.0.1.1:33000"},
      {"%UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%", "10.0.1.1"},
      {"%UPSTREAM_LOCAL_PORT%", "33000"},
      {"%UPSTREAM_REMOTE_ADDRESS%", "10.0.2.1:80"},
      {"%UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", "10.0.2.1"},
      {"%UPSTREAM_REMOTE_PORT%", "80"},
      {"%DOWNSTREAM_REMOTE_ADDRESS%", "10.0.35.28:51234"},
      {"%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", "10.0.35.28"},
      {"%DOWNSTREAM_REMOTE_PORT%", "51234"},
      {"%DOWNSTREAM_DIRECT_REMOTE_ADDRESS%", "10.0.0.9:40000"},
      {"%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%", "10.0.0.9"},
      {"%DOWNSTREAM_DIRECT_REMOTE_PORT%", "40000"},
      {"%DOWNSTREAM_LOCAL_ADDRESS%", "[::1]:10000"},
      {"%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%", "::1"},
      {"%DOWNSTREAM_LOCAL_PORT%", "10000"},
      {"%CONNECTION_ID%", "42"},
      {"%ENVIRONMENT(SKIFF_FORMATTER_TEST_VAR)%", "from-env"},
      {"%ENVIRONMENT(SKIFF_FORMATTER_TEST_UNSET)%", "-"},
      // Truncation applies to any operator.
      {"%REQ(USER-AGENT):3%", "nsq"},
      {"%REQ(USER-AGENT):100%", "nsq2http"},
      {"%DOWNSTREAM_REMOTE_ADDRESS:4%", "10.0"},
      {"%REQ(X-MISSING):3%", "-"},
      // Escaping and literals.
      {"100%% sure", "100% sure"},
      {"a %PROTOCOL% b %RESPONSE_CODE%", "a HTTP/2 b 204"},
      {"", ""},
  };
  setenv("SKIFF_FORMATTER_TEST_VAR", "from-env", 1);
  unsetenv("SKIFF_FORMATTER_TEST_UNSET");
  for (const OperatorCase& c : cases) {
    EXPECT_EQ(format(c.format), c.expected) << c.format;
  }
}

TEST_F(FormatterTest, MissingValuesPrintDashOrNothing) {
  StreamInfo::StreamInfo empty;
  Http::RequestHeaderMap request;
  const char* operators[] = {
      "%DURATION%",
      "%REQUEST_DURATION%",
      "%RESPONSE_DURATION%",
      "%RESPONSE_TX_DURATION%",
      "%PROTOCOL%",
      "%ROUTE_NAME%",
      "%UPSTREAM_HOST%",
      "%UPSTREAM_CLUSTER%",
      "%UPSTREAM_LOCAL_ADDRESS%",
      "%DOWNSTREAM_REMOTE_ADDRESS%",
      "%DOWNSTREAM_LOCAL_PORT%",
      "%RESPONSE_CODE_DETAILS%",
      "%REQ(:METHOD)%",
      "%RESP(X-A)%",
      "%RESP(:STATUS)%",
  };
  for (const char* op : operators) {
    auto parsed = FormatString::parse(op, {});
    ASSERT_TRUE(parsed.ok()) << op;
    EXPECT_EQ(parsed->format(Context{&request, nullptr, &empty}), "-") << op;
    auto omitting = FormatString::parse(op, {.omit_empty_values = true});
    EXPECT_EQ(omitting->format(Context{&request, nullptr, &empty}), "") << op;
  }
  // Counters and the response code are always known (0 until set), as in Envoy.
  EXPECT_EQ(FormatString::parse("%RESPONSE_CODE% %BYTES_SENT%", {})
                ->format(Context{&request, nullptr, &empty}),
            "0 0");
  // No stream info at all: everything but headers is missing.
  EXPECT_EQ(FormatString::parse("%RESPONSE_CODE% %START_TIME%", {})->format(Context{}), "- -");
}

TEST_F(FormatterTest, EmptyHeaderValueIsPresent) {
  request_.add("x-empty", "");
  EXPECT_EQ(format("[%REQ(X-EMPTY)%]"), "[]");
}

TEST_F(FormatterTest, ResponseFlagsInEnvoysOrder) {
  info_.setResponseFlag(StreamInfo::UpstreamRetryLimitExceeded);
  info_.setResponseFlag(StreamInfo::UpstreamConnectionFailure);
  EXPECT_EQ(format("%RESPONSE_FLAGS%"), "UF,URX");
  info_.response_flags = StreamInfo::NoRouteFound;
  EXPECT_EQ(format("%RESPONSE_FLAGS%"), "NR");
}

TEST_F(FormatterTest, StartTimeFormats) {
  info_.start_time = std::chrono::system_clock::time_point(nanoseconds(1527590590528123456));
  const OperatorCase cases[] = {
      {"%START_TIME(%s.%3f)%", "1527590590.528"},
      {"%START_TIME(%s.%6f)%", "1527590590.528123"},
      {"%START_TIME(%s.%9f)%", "1527590590.528123456"},
      {"%START_TIME(%s.%f)%", "1527590590.528123456"},
      {"%START_TIME(%Y/%m/%dT%H:%M:%S%z %s)%", "2018/05/29T10:43:10+0000 1527590590"},
      {"%START_TIME(%Y-%m-%d)%", "2018-05-29"},
      {"%START_TIME(%H:%M:%E3S)%", "10:43:10.528"},
      {"%START_TIME(100%%)%", "100%"},
      {"%START_TIME(%Y):4%", "2018"},
  };
  for (const OperatorCase& c : cases) {
    EXPECT_EQ(format(c.format), c.expected) << c.format;
    // Again, from the per-thread cache.
    EXPECT_EQ(format(c.format), c.expected) << c.format;
  }
}

TEST(TimeFormatTest, FastDefaultMatchesAbsl) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    // Anywhere from 1970 to 2100, millisecond resolution.
    const int64_t ms = static_cast<int64_t>(rng() % 4102444800000ULL);
    const auto time = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
    std::string fast;
    appendIso8601Millis(time, fast);
    EXPECT_EQ(fast, absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms),
                                     absl::UTCTimeZone()));
  }
}

TEST(TimeFormatTest, CachedSecondsFollowTheClock) {
  TimeFormat format("%H:%M:%S");
  for (int64_t s = 0; s < 5; ++s) {
    std::string out;
    format.format(std::chrono::system_clock::time_point(std::chrono::seconds(3600 + s)), out);
    EXPECT_EQ(out, absl::StrCat("01:00:0", s));
  }
}

TEST_F(FormatterTest, HostnameIsTheMachines) {
  char buf[256];
  ASSERT_EQ(gethostname(buf, sizeof(buf)), 0);
  EXPECT_EQ(format("%HOSTNAME%"), std::string(buf));
}

TEST_F(FormatterTest, LiteralFormats) {
  auto literal = FormatString::parse("plain 100%% text", {});
  ASSERT_TRUE(literal.ok());
  EXPECT_TRUE(literal->isLiteral());
  EXPECT_EQ(literal->literalText(), "plain 100% text");
  auto dynamic = FormatString::parse("x %PROTOCOL%", {});
  EXPECT_FALSE(dynamic->isLiteral());
  EXPECT_FALSE(dynamic->isSingleOperator());
  EXPECT_TRUE(FormatString::parse("%PROTOCOL%", {})->isSingleOperator());
}

TEST(FormatStringParseTest, Errors) {
  const OperatorCase cases[] = {
      {"%FOO%", "unsupported command operator %FOO% at position 0"},
      {"a %DYNAMIC_METADATA(x)%", "unsupported command operator %DYNAMIC_METADATA% at position 2"},
      {"50%", "'%' at position 2 does not start a command operator (write %% for a literal '%')"},
      {"%protocol%", "'%' at position 0 does not start a command operator"},
      {"%PROTOCOL", "command operator %PROTOCOL at position 0 is not terminated by '%'"},
      {"%REQ(x", "%REQ(... at position 0: missing ')'"},
      {"%REQ%", "%REQ% at position 0 needs an argument: %REQ(...)%"},
      {"%REQ()%", "%REQ% at position 0 needs an argument"},
      {"%PROTOCOL(x)%", "%PROTOCOL% at position 0 takes no arguments"},
      {"%REQ(a?b?c)%", "at most one alternative header"},
      {"%REQ(a):x%", "%REQ% at position 0: ':' must be followed by a length in bytes"},
      {"%REQ(?b)%", "empty header name"},
      {"%ENVIRONMENT%", "needs an argument"},
  };
  for (const OperatorCase& c : cases) {
    auto parsed = FormatString::parse(c.format, {});
    ASSERT_FALSE(parsed.ok()) << c.format;
    EXPECT_NE(parsed.status().message().find(c.expected), absl::string_view::npos)
        << c.format << " -> " << parsed.status().message();
  }
}

}  // namespace
}  // namespace Skiff::Formatter
