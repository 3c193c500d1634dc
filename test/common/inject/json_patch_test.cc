#include "source/common/inject/json_patch.h"

#include "gtest/gtest.h"
#include "source/common/inject/yaml_writer.h"
#include "test/common/inject/json_patch_apply.h"

namespace Skiff::Inject {
namespace {

YAML::Node load(const std::string& text) { return YAML::Load(text); }

// The patch, and that applying it to `before` gives `after`.
std::string roundTrip(const std::string& before_yaml, const std::string& after_yaml) {
  const YAML::Node before = load(before_yaml);
  const YAML::Node after = load(after_yaml);
  const std::string patch = createJsonPatch(before, after);
  const YAML::Node patched = applyJsonPatch(before, patch);
  EXPECT_TRUE(nodesEqual(patched, after))
      << "patch " << patch << "\ngave " << toJson(patched) << "\nwanted " << toJson(after);
  return patch;
}

TEST(JsonPatchTest, PointerTokens) {
  EXPECT_EQ(escapePointerToken("skiff.io/status"), "skiff.io~1status");
  EXPECT_EQ(escapePointerToken("a~b/c~/"), "a~0b~1c~0~1");
  EXPECT_EQ(escapePointerToken("plain"), "plain");
}

TEST(JsonPatchTest, EqualDocumentsGiveAnEmptyPatch) {
  EXPECT_EQ(roundTrip("{a: 1, b: [x]}", "{b: [x], a: 1}"), "[]");
  EXPECT_EQ(roundTrip("{a: 0x10}", "{\"a\": 16}"), "[]");
}

TEST(JsonPatchTest, Maps) {
  EXPECT_EQ(roundTrip("{a: 1}", "{a: 1, b: {c: 2}}"),
            R"([{"op":"add","path":"/b","value":{"c":2}}])");
  EXPECT_EQ(roundTrip("{a: 1, b: 2}", "{a: 1}"), R"([{"op":"remove","path":"/b"}])");
  EXPECT_EQ(roundTrip("{a: {x: 1}}", "{a: {x: '1'}}"),
            R"([{"op":"replace","path":"/a/x","value":"1"}])");
  EXPECT_EQ(roundTrip("{metadata: {annotations: {x: y}}}",
                      "{metadata: {annotations: {x: y, skiff.io/status: '{}'}}}"),
            R"([{"op":"add","path":"/metadata/annotations/skiff.io~1status","value":"{}"}])");
  roundTrip("{a: [1]}", "{a: {b: 1}}");
  roundTrip("{a~b: 1, c/d: 2}", "{a~b: 3, c/d: 4, e~/f: 5}");
}

TEST(JsonPatchTest, Sequences) {
  // Inserted in front: one add at index 0 per element, the rest untouched.
  EXPECT_EQ(roundTrip("[c]", "[a, b, c]"),
            R"([{"op":"add","path":"/0","value":"a"},{"op":"add","path":"/1","value":"b"}])");
  EXPECT_EQ(roundTrip("[a]", "[a, b]"), R"([{"op":"add","path":"/1","value":"b"}])");
  EXPECT_EQ(roundTrip("[a, b, c, d]", "[a, d]"),
            R"([{"op":"remove","path":"/1"},{"op":"remove","path":"/1"}])");
  EXPECT_EQ(roundTrip("[{n: a, v: 1}, {n: b}]", "[{n: a, v: 2}, {n: b}]"),
            R"([{"op":"replace","path":"/0/v","value":2}])");
  roundTrip("[a, b, a]", "[a, a, b, a]");
  roundTrip("[1, 2, 3]", "[4, 5]");
  roundTrip("[1, 2]", "[3, 1, 4, 2, 5]");
  roundTrip("[]", "[1]");
  roundTrip("[1]", "[]");
  roundTrip("{s: [[1], [2]]}", "{s: [[1, 2], [0, 2]]}");
}

TEST(JsonPatchTest, DifferentRootTypesReplaceTheDocument) {
  EXPECT_EQ(roundTrip("[1]", "{a: 1}"), R"([{"op":"replace","path":"","value":{"a":1}}])");
}

}  // namespace
}  // namespace Skiff::Inject
