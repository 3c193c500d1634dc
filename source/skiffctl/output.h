#pragma once

// skiffctl's output: aligned tables, YAML and indented JSON of parsed JSON values, and lookups
// into them. Pure functions; any thread.

#include <initializer_list>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace Skiff::Ctl {

// Columns separated by three spaces, each as wide as its widest cell (kubectl's layout).
std::string renderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// Block-style YAML, starting at `indent` levels (two spaces each). Strings are quoted only when
// plain style would change their meaning; whole numbers print without a fraction.
std::string toYaml(const google::protobuf::Value& value, int indent = 0);

// JSON indented by two spaces.
std::string toPrettyJson(const google::protobuf::Value& value);

// The value at `path` (object keys; a numeric key indexes a list), or null when absent.
const google::protobuf::Value* lookup(const google::protobuf::Value& value,
                                      std::initializer_list<absl::string_view> path);
// That value as text: strings as they are, numbers without a needless fraction, "" when absent.
std::string text(const google::protobuf::Value& value,
                 std::initializer_list<absl::string_view> path);
std::string scalarText(const google::protobuf::Value& value);

// "3d", "5h", "12m", "40s" since an RFC 3339 time; "" when it does not parse.
std::string ageSince(const std::string& rfc3339);

}  // namespace Skiff::Ctl
