#pragma once

// RFC 6902 JSON Patch between two documents held as yaml-cpp trees: what skiff-control's admission
// webhook answers with (the pod before injection and after it). Thread: pure functions; any
// thread.

#include <string>

#include "absl/strings/string_view.h"
#include "yaml-cpp/yaml.h"

namespace Skiff::Inject {

// One reference token of an RFC 6901 JSON Pointer: "~" -> "~0", "/" -> "~1" (so the annotation
// "skiff.io/status" is the token "skiff.io~1status").
std::string escapePointerToken(absl::string_view token);

// A JSON Patch (a JSON array, "[]" when the documents are equal) that turns `before` into `after`.
// Maps are compared key by key (adds, removes, recursion into common keys); a sequence keeps its
// common prefix and suffix and patches the elements in between, so a container inserted in front
// of a pod's init containers is one "add" at index 0. Values compare by meaning (nodesEqual), so
// key order and quoting that does not change a value do not produce operations.
std::string createJsonPatch(const YAML::Node& before, const YAML::Node& after);

}  // namespace Skiff::Inject
