#include "source/common/formatter/json_formatter.h"

#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace Skiff::Formatter {
namespace {

google::protobuf::Struct structFromJson(const std::string& json) {
  google::protobuf::Struct result;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &result).ok()) << json;
  return result;
}

class JsonFormatterTest : public testing::Test {
 protected:
  JsonFormatterTest() {
    info_.start_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(0));
    info_.response_code = 200;
    info_.bytes_sent = 12;
    info_.protocol = StreamInfo::Protocol::Http11;
    info_.downstream_remote_address = *Network::Address::Instance::parseWithPort("1.2.3.4:5");
    request_.setMethod("GET");
    request_.setPath("/p");
    request_.add("user-agent", "curl \"quoted\"\n");
  }

  std::string format(const std::string& json, JsonFormatOptions options = {}) {
    auto formatter = createJsonFormatter(structFromJson(json), options);
    EXPECT_TRUE(formatter.ok()) << formatter.status();
    if (!formatter.ok()) {
      return "<error>";
    }
    std::string out;
    (*formatter)->format(Context{&request_, nullptr, &info_}, out);
    return out;
  }

  StreamInfo::StreamInfo info_;
  Http::RequestHeaderMap request_;
};

TEST_F(JsonFormatterTest, TypedValuesSortedKeysOneLine) {
  EXPECT_EQ(format(R"({"status": "%RESPONSE_CODE%", "method": "%REQ(:METHOD)%",
                       "duration": "%DURATION%", "bytes": "%BYTES_SENT%",
                       "proto": "%PROTOCOL%"})"),
            R"({"bytes":12,"duration":null,"method":"GET","proto":"HTTP/1.1","status":200})"
            "\n");
}

TEST_F(JsonFormatterTest, MixedTextIsAStringWithDashes) {
  EXPECT_EQ(format(R"({"line": "%REQ(:METHOD)% %REQ(:PATH)% took %DURATION%ms",
                       "code": "code=%RESPONSE_CODE%"})"),
            R"({"code":"code=200","line":"GET /p took -ms"})"
            "\n");
}

TEST_F(JsonFormatterTest, EscapesStrings) {
  EXPECT_EQ(format(R"({"ua": "%REQ(USER-AGENT)%"})"), "{\"ua\":\"curl \\\"quoted\\\"\\n\"}\n");
}

TEST_F(JsonFormatterTest, NestedObjectsListsAndConstants) {
  EXPECT_EQ(format(R"({"downstream": {"addr": "%DOWNSTREAM_REMOTE_ADDRESS%",
                                "port": "%DOWNSTREAM_REMOTE_PORT%"},
                 "tags": ["a", "%RESPONSE_CODE%", 3],
                 "version": 2, "ratio": 0.5, "on": true, "nothing": null})"),
            R"({"downstream":{"addr":"1.2.3.4:5","port":5},"nothing":null,"on":true,"ratio":0.5,)"
            R"("tags":["a",200,3],"version":2})"
            "\n");
}

TEST_F(JsonFormatterTest, OmitEmptyValuesDropsNullKeys) {
  EXPECT_EQ(format(R"({"a": "%DURATION%", "b": "%RESPONSE_CODE%", "c": "x%DURATION%y",
                       "d": {"e": "%UPSTREAM_HOST%"}, "l": ["%DURATION%", 1]})",
                   {.typed = true, .omit_empty_values = true}),
            R"({"b":200,"c":"xy","d":{},"l":[1]})"
            "\n");
}

TEST_F(JsonFormatterTest, UntypedRendersEverythingAsStrings) {
  EXPECT_EQ(format(R"({"status": "%RESPONSE_CODE%", "d": "%DURATION%", "n": 3})", {.typed = false}),
            R"({"d":"-","n":"3","status":"200"})"
            "\n");
}

TEST_F(JsonFormatterTest, TruncatedNumberIsAString) {
  EXPECT_EQ(format(R"({"s": "%RESPONSE_CODE:1%"})"), R"({"s":"2"})"
                                                     "\n");
}

TEST_F(JsonFormatterTest, ErrorsNameTheKey) {
  auto formatter =
      createJsonFormatter(structFromJson(R"({"a": {"b": "%NOPE%"}})"), JsonFormatOptions{});
  ASSERT_FALSE(formatter.ok());
  EXPECT_EQ(formatter.status().message(),
            "json_format.a.b: unsupported command operator %NOPE% at position 0");
}

}  // namespace
}  // namespace Skiff::Formatter
