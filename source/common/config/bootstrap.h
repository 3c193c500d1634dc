#pragma once

// Reads the bootstrap (the file given with --config-path) into the xDS v3 Bootstrap message and
// validates it. YAML and JSON are accepted, with the same shapes Envoy accepts.
//
// Thread: pure functions; call on the main thread at startup (any thread is safe).

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "source/common/config/message_loader.h"

namespace Skiff::Config {

// Reads `path` (format from the extension: .yaml/.yml, .json, else by content), parses and
// validates it. Errors start with the path; YAML errors name the line; validation errors name
// the field path and the reason, all of them, one per line.
absl::StatusOr<envoy::config::bootstrap::v3::Bootstrap> loadBootstrapFromFile(
    absl::string_view path);

// As above for text already in memory; `source_name` is used in error messages.
absl::StatusOr<envoy::config::bootstrap::v3::Bootstrap> loadBootstrapFromString(
    absl::string_view content, ConfigFormat format = ConfigFormat::Auto,
    absl::string_view source_name = "<bootstrap>");

// Parsing only, without validateBootstrap() (for tools and tests).
absl::StatusOr<envoy::config::bootstrap::v3::Bootstrap> parseBootstrapFromString(
    absl::string_view content, ConfigFormat format = ConfigFormat::Auto,
    absl::string_view source_name = "<bootstrap>");

}  // namespace Skiff::Config
