#pragma once

// Kubernetes objects held as yaml-cpp trees: typing of scalars, building typed nodes, comparing
// trees, and writing them back as YAML (kubectl's block layout) or JSON. Used by the sidecar
// injector, which must turn the same tree into a YAML document (skiffctl inject) and a JSON Patch
// (skiff-control's admission webhook).
//
// yaml-cpp keeps no types: every scalar is a string. What it does keep is whether a scalar was
// written plain (tag "?"; "" for nodes built in code) or quoted (tag "!"), and that decides the
// type as YAML resolves it: only plain scalars can be null, booleans or numbers. Nodes built by
// stringNode() are tagged "!" so they stay strings ("true", "15001") whatever their text.
//
// Thread: pure functions; any thread.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "yaml-cpp/yaml.h"

namespace Skiff::Inject {

enum class ScalarType { Null, Bool, Int, Float, String };

// How a Null or Scalar node resolves. Plain scalars follow the YAML 1.2 core schema plus YAML
// 1.1's yes/no/on/off booleans (Kubernetes reads manifests with go-yaml, a YAML 1.1 parser).
// Explicit core tags (!!str, !!int, ...) win; other tags read as strings.
ScalarType scalarType(const YAML::Node& node);

// map[key], or a null node when `map` is not a map or has no such key. Never throws (yaml-cpp's
// own operator[] returns an invalid node for a missing key of a const map, and every accessor of
// that node throws), so lookups that may miss go through here.
YAML::Node lookup(const YAML::Node& map, absl::string_view key);

// A scalar node that is a string whatever its text.
YAML::Node stringNode(absl::string_view value);
// Plain scalars: a number, a boolean.
YAML::Node intNode(int64_t value);
YAML::Node boolNode(bool value);

// Deep equality by meaning: map key order is ignored, scalars compare by type and value (a plain
// `8080` equals a JSON 8080; it does not equal a quoted "8080").
bool nodesEqual(const YAML::Node& a, const YAML::Node& b);

// A YAML document in block style, two-space indents and sequences level with their key (as
// `kubectl get -o yaml` writes). Strings are plain where that reads back as the same string,
// single-quoted otherwise, multi-line ones as literal blocks. Ends with a newline.
std::string toYaml(const YAML::Node& node);

// Compact JSON. Plain scalars that resolve to numbers are written as JSON numbers (0x1f -> 31).
std::string toJson(const YAML::Node& node);

// Parses one YAML (or JSON) document. Errors read "<source>:<line>:<column>: <reason>", with
// `line_offset` added to yaml-cpp's line (for documents cut out of a larger stream). Never throws.
absl::StatusOr<YAML::Node> parseYaml(absl::string_view text, absl::string_view source,
                                     int line_offset = 0);

}  // namespace Skiff::Inject
