#include "source/common/inject/json_patch.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "source/common/common/json.h"
#include "source/common/inject/yaml_writer.h"

namespace Skiff::Inject {
namespace {

class PatchBuilder {
 public:
  std::vector<std::string> ops;

  void diff(const YAML::Node& before, const YAML::Node& after, const std::string& path) {
    if (before.IsMap() && after.IsMap()) {
      diffMaps(before, after, path);
    } else if (before.IsSequence() && after.IsSequence()) {
      diffSequences(before, after, path);
    } else if (!nodesEqual(before, after)) {
      add("replace", path, &after);
    }
  }

 private:
  void add(absl::string_view op, const std::string& path, const YAML::Node* value) {
    std::string out = absl::StrCat("{\"op\":\"", op, "\",\"path\":", Json::quote(path));
    if (value != nullptr) {
      absl::StrAppend(&out, ",\"value\":", toJson(*value));
    }
    out += "}";
    ops.push_back(std::move(out));
  }

  static std::string keyToken(const YAML::Node& key) {
    return escapePointerToken(key.IsScalar() ? key.Scalar() : toJson(key));
  }

  // The value under `key` (an undefined node when there is none). Returned by value: yaml-cpp's
  // iterators hand out pairs that die with the iterator.
  static YAML::Node find(const YAML::Node& map, const YAML::Node& key) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (nodesEqual(it->first, key)) {
        return it->second;
      }
    }
    return YAML::Node(YAML::NodeType::Undefined);
  }

  void diffMaps(const YAML::Node& before, const YAML::Node& after, const std::string& path) {
    for (auto it = before.begin(); it != before.end(); ++it) {
      const std::string child = absl::StrCat(path, "/", keyToken(it->first));
      if (const YAML::Node value = find(after, it->first); value.IsDefined()) {
        diff(it->second, value, child);
      } else {
        add("remove", child, nullptr);
      }
    }
    for (auto it = after.begin(); it != after.end(); ++it) {
      if (!find(before, it->first).IsDefined()) {
        const YAML::Node value = it->second;
        add("add", absl::StrCat(path, "/", keyToken(it->first)), &value);
      }
    }
  }

  void diffSequences(const YAML::Node& before, const YAML::Node& after, const std::string& path) {
    const size_t n = before.size();
    const size_t m = after.size();
    size_t prefix = 0;
    while (prefix < n && prefix < m && nodesEqual(before[prefix], after[prefix])) {
      ++prefix;
    }
    size_t suffix = 0;
    while (suffix < std::min(n, m) - prefix &&
           nodesEqual(before[n - 1 - suffix], after[m - 1 - suffix])) {
      ++suffix;
    }
    const size_t old_middle = n - prefix - suffix;
    const size_t new_middle = m - prefix - suffix;
    const size_t paired = std::min(old_middle, new_middle);
    // Paired elements first: they do not move anything. Then removals (each at the same index,
    // as the ones after it shift down) or insertions in increasing index order.
    for (size_t i = 0; i < paired; ++i) {
      diff(before[prefix + i], after[prefix + i], absl::StrCat(path, "/", prefix + i));
    }
    for (size_t i = paired; i < old_middle; ++i) {
      add("remove", absl::StrCat(path, "/", prefix + paired), nullptr);
    }
    for (size_t i = paired; i < new_middle; ++i) {
      const YAML::Node value = after[prefix + i];
      add("add", absl::StrCat(path, "/", prefix + i), &value);
    }
  }
};

}  // namespace

std::string escapePointerToken(absl::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (const char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string createJsonPatch(const YAML::Node& before, const YAML::Node& after) {
  PatchBuilder builder;
  builder.diff(before, after, "");
  return absl::StrCat("[", absl::StrJoin(builder.ops, ","), "]");
}

}  // namespace Skiff::Inject
