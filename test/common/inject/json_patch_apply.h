#pragma once

// Applies an RFC 6902 JSON Patch (add, remove, replace: what createJsonPatch writes) to a yaml-cpp
// tree, as the API server applies a webhook's patch. Test-only; aborts the test on a patch that
// does not apply.

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "source/common/inject/yaml_writer.h"
#include "yaml-cpp/yaml.h"

namespace Skiff::Inject {

inline std::vector<std::string> pointerTokens(const std::string& pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) {
    return tokens;
  }
  EXPECT_EQ(pointer[0], '/') << pointer;
  for (absl::string_view raw : absl::StrSplit(absl::string_view(pointer).substr(1), '/')) {
    std::string token;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size()) {
        token += raw[i + 1] == '1' ? '/' : '~';
        ++i;
      } else {
        token += raw[i];
      }
    }
    tokens.push_back(token);
  }
  return tokens;
}

// Returns the patched document (a deep copy of `document`).
inline YAML::Node applyJsonPatch(const YAML::Node& document, const std::string& patch_json) {
  YAML::Node root = YAML::Clone(document);
  const YAML::Node patch = YAML::Load(patch_json);
  EXPECT_TRUE(patch.IsSequence()) << patch_json;
  for (const YAML::Node& op_node : patch) {
    const std::string op = op_node["op"].Scalar();
    const std::vector<std::string> tokens = pointerTokens(op_node["path"].Scalar());
    if (tokens.empty()) {
      EXPECT_EQ(op, "replace");
      root = YAML::Clone(op_node["value"]);
      continue;
    }
    YAML::Node parent = root;
    for (size_t i = 0; i + 1 < tokens.size(); ++i) {
      YAML::Node next = parent.IsSequence() ? parent[std::stoul(tokens[i])] : parent[tokens[i]];
      EXPECT_TRUE(next.IsDefined()) << "no " << tokens[i] << " in " << op_node["path"].Scalar();
      parent.reset(next);
    }
    const std::string& last = tokens.back();
    if (parent.IsMap()) {
      if (op == "remove") {
        EXPECT_TRUE(parent.remove(last)) << op_node["path"].Scalar();
      } else {
        if (op == "replace") {
          EXPECT_TRUE(lookup(parent, last).IsDefined() && !lookup(parent, last).IsNull());
        }
        parent[last] = YAML::Clone(op_node["value"]);
      }
      continue;
    }
    EXPECT_TRUE(parent.IsSequence()) << op_node["path"].Scalar();
    const size_t index = last == "-" ? parent.size() : std::stoul(last);
    YAML::Node rebuilt(YAML::NodeType::Sequence);
    for (size_t i = 0; i <= parent.size(); ++i) {
      if (i == index) {
        if (op == "add" || op == "replace") {
          rebuilt.push_back(YAML::Clone(op_node["value"]));
        }
        if (op == "add" && i < parent.size()) {
          rebuilt.push_back(parent[i]);
        }
        continue;
      }
      if (i < parent.size()) {
        rebuilt.push_back(parent[i]);
      }
    }
    EXPECT_LE(index, parent.size()) << op_node["path"].Scalar();
    parent = rebuilt;
  }
  return root;
}

}  // namespace Skiff::Inject
