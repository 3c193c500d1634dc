#pragma once

// Reads an envoy.config.core.v3.DataSource (direct response bodies, access log formats) at
// configuration time: inline_string, inline_bytes, a file, or an environment variable.
//
// Thread: any thread; reads files and the environment, so not for worker hot paths.

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/config/core/v3/base.pb.h"

namespace Skiff::Config {

// The bytes the source names. Errors start with `path`: an unset source, a file that cannot be
// read (with the OS's reason), an unset environment variable, or more than `max_size` bytes.
absl::StatusOr<std::string> readDataSource(const envoy::config::core::v3::DataSource& source,
                                           size_t max_size, absl::string_view path);

}  // namespace Skiff::Config
