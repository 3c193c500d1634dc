#pragma once

// Loads protobuf messages from YAML or JSON text, the way Envoy reads its bootstrap: YAML is turned
// into proto3 JSON and parsed with the protobuf JSON parser, so `typed_config` with an "@type"
// works for every message type linked into the binary. Unknown fields are errors.
//
// Thread: pure functions; any thread.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace Skiff::Config {

enum class ConfigFormat {
  // JSON if the first non-blank character is '{', otherwise YAML.
  Auto,
  Yaml,
  Json,
};

// ".yaml"/".yml" -> Yaml, ".json" -> Json, anything else -> Auto.
ConfigFormat formatFromPath(absl::string_view path);

// Parses `content` into `message` (which is cleared first). `source_name` (a file name, or e.g.
// "<string>") starts every error message. YAML errors name the line (1-based) and the field path,
// e.g. `bootstrap.yaml:12: static_resources.listeners[0].adress: unknown field`. Several errors are
// joined with newlines. Never throws.
absl::Status loadMessageFromString(absl::string_view content, ConfigFormat format,
                                   absl::string_view source_name,
                                   google::protobuf::Message& message);

// The YAML half of the above, exposed for tests: converts `yaml` to proto3 JSON for a message of
// type `descriptor`. Scalars are typed by the schema (so `port_value: 10000`, `port_value:
// "10000"`, `connect_timeout: 0.25s` and `name: 1234` all work); inside
// google.protobuf.Struct/Value, where there is no schema, plain scalars are typed YAML-style (null,
// true/false, numbers) and quoted ones stay strings.
absl::StatusOr<std::string> yamlToJson(absl::string_view yaml,
                                       const google::protobuf::Descriptor& descriptor,
                                       absl::string_view source_name);

}  // namespace Skiff::Config
