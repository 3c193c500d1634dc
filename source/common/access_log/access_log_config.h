#pragma once

// Access loggers from envoy.config.accesslog.v3.AccessLog, chosen by typed_config's type:
//   envoy.extensions.access_loggers.file.v3.FileAccessLog      (envoy.access_loggers.file)
//   envoy.extensions.access_loggers.stream.v3.StdoutAccessLog  (envoy.access_loggers.stdout)
//   envoy.extensions.access_loggers.stream.v3.StderrAccessLog  (envoy.access_loggers.stderr)
// With no format set, Envoy's default text format is used. Access log filters are not supported
// (not in the proto subset): every request is logged.
//
// Thread: main or control thread (createAccessLog opens files); validateAccessLog on any thread.

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/config/accesslog/v3/accesslog.pb.h"
#include "envoy/config/core/v3/substitution_format_string.pb.h"
#include "source/common/access_log/access_log.h"

namespace Skiff::AccessLog {

inline constexpr absl::string_view kFileAccessLogName = "envoy.access_loggers.file";
inline constexpr absl::string_view kStdoutAccessLogName = "envoy.access_loggers.stdout";
inline constexpr absl::string_view kStderrAccessLogName = "envoy.access_loggers.stderr";

// The logger `config` describes, writing through `manager`. Errors start with `path` (the field
// path of the AccessLog, e.g. "...http_connection_manager.access_log[0]") and name the field.
absl::StatusOr<InstanceSharedPtr> createAccessLog(
    const envoy::config::accesslog::v3::AccessLog& config, AccessLogManager& manager,
    absl::string_view path = "access_log");

// Every check createAccessLog makes (type, path, format) except opening the file.
absl::Status validateAccessLog(const envoy::config::accesslog::v3::AccessLog& config,
                               absl::string_view path = "access_log");

// The formatter a SubstitutionFormatString describes (text_format, text_format_source or
// json_format; omit_empty_values). `path` prefixes errors.
absl::StatusOr<Formatter::FormatterConstSharedPtr> createSubstitutionFormatter(
    const envoy::config::core::v3::SubstitutionFormatString& config, absl::string_view path);

}  // namespace Skiff::AccessLog
