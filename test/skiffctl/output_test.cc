#include "source/skiffctl/output.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "source/skiffctl/control_plane_client.h"
#include "source/skiffctl/input_files.h"

namespace Skiff::Ctl {
namespace {

google::protobuf::Value json(const std::string& text) {
  auto value = parseJson(text);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *value : google::protobuf::Value();
}

TEST(OutputTest, TableAlignsColumns) {
  EXPECT_EQ(renderTable({"NAME", "ADDRESS"}, {{"ingress", "127.0.0.1:10000"}, {"x", ""}}),
            "NAME      ADDRESS\n"
            "ingress   127.0.0.1:10000\n"
            "x\n");
}

TEST(OutputTest, YamlQuotesOnlyWhatNeedsIt) {
  const auto value = json(R"({"resources": [{"@type": "type.googleapis.com/x.Y", "name": "a",
      "port_value": 10000, "ratio": 0.5, "flag": true, "word": "true", "num": "10000",
      "empty": {}, "none": [], "text": "two words: yes", "nested": {"list": ["a", {"b": 1}]}}]})");
  EXPECT_EQ(toYaml(value),
            "resources:\n"
            "- \"@type\": type.googleapis.com/x.Y\n"
            "  name: a\n"
            "  empty: {}\n"
            "  flag: true\n"
            "  nested:\n"
            "    list:\n"
            "    - a\n"
            "    - b: 1\n"
            "  none: []\n"
            "  num: \"10000\"\n"
            "  port_value: 10000\n"
            "  ratio: 0.5\n"
            "  text: \"two words: yes\"\n"
            "  word: \"true\"\n");
}

TEST(OutputTest, PrettyJsonAndLookups) {
  const auto value = json(R"({"b": [1, "x"], "a": {"c": null}})");
  EXPECT_EQ(toPrettyJson(value),
            "{\n  \"a\": {\n    \"c\": null\n  },\n  \"b\": [\n    1,\n    \"x\"\n  ]\n}\n");
  EXPECT_EQ(text(value, {"b", "1"}), "x");
  EXPECT_EQ(text(value, {"b", "0"}), "1");
  EXPECT_EQ(text(value, {"b", "2"}), "");
  EXPECT_EQ(lookup(value, {"a", "zz"}), nullptr);
}

TEST(OutputTest, Age) {
  EXPECT_EQ(ageSince("not a time"), "");
  EXPECT_EQ(ageSince("2000-01-01T00:00:00Z").back(), 'd');
}

TEST(InputFilesTest, OneFileAsIsSeveralInAnEnvelope) {
  auto one = resourcesRequest({{"l.yaml", "resources: []\n"}});
  EXPECT_EQ(one.body, "resources: []\n");
  EXPECT_EQ(one.content_type, "application/yaml");
  EXPECT_EQ(one.source, "l.yaml");
  auto two = resourcesRequest({{"a.yaml", "x: \"1\"\n"}, {"b.json", "{}"}});
  EXPECT_EQ(two.body,
            "{\"documents\":[{\"source\":\"a.yaml\",\"content\":\"x: \\\"1\\\"\\n\"},"
            "{\"source\":\"b.json\",\"content\":\"{}\"}]}");
  EXPECT_EQ(two.content_type, "application/json");
  EXPECT_EQ(two.source, "");
}

}  // namespace
}  // namespace Skiff::Ctl
