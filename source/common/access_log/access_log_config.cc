#include "source/common/access_log/access_log_config.h"

#include "absl/strings/str_cat.h"
#include "envoy/extensions/access_loggers/file/v3/file.pb.h"
#include "envoy/extensions/access_loggers/stream/v3/stream.pb.h"
#include "source/common/access_log/file_access_log_impl.h"
#include "source/common/config/datasource.h"
#include "source/common/config/utility.h"
#include "source/common/formatter/json_formatter.h"

// Envoy's deprecated fields (exact_match, append, total_weight, format, ...) are still part of the
// API skiff accepts; reading them is intended.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace Skiff::AccessLog {
namespace {

using envoy::config::accesslog::v3::AccessLog;
using envoy::config::core::v3::SubstitutionFormatString;
using envoy::extensions::access_loggers::file::v3::FileAccessLog;
using envoy::extensions::access_loggers::stream::v3::StderrAccessLog;
using envoy::extensions::access_loggers::stream::v3::StdoutAccessLog;

// Format files are small; anything bigger is a mistake.
constexpr size_t kMaxFormatSourceBytes = 64 * 1024;

absl::Status prefixed(const absl::Status& status, absl::string_view path) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", status.message()));
}

absl::StatusOr<Formatter::FormatterConstSharedPtr> textFormatter(absl::string_view format,
                                                                 bool omit_empty_values,
                                                                 absl::string_view path) {
  auto formatter = Formatter::createTextFormatter(format, omit_empty_values);
  if (!formatter.ok()) {
    return prefixed(formatter.status(), path);
  }
  return formatter;
}

absl::StatusOr<Formatter::FormatterConstSharedPtr> jsonFormatter(
    const google::protobuf::Struct& format, Formatter::JsonFormatOptions options,
    absl::string_view path) {
  auto formatter = Formatter::createJsonFormatter(format, options);
  if (!formatter.ok()) {
    // The JSON formatter names the key path starting at "json_format".
    const absl::string_view message = formatter.status().message();
    return absl::InvalidArgumentError(
        absl::StrCat(path, message.substr(std::min(message.size(), sizeof("json_format") - 1))));
  }
  return formatter;
}

absl::StatusOr<Formatter::FormatterConstSharedPtr> defaultFormatter() {
  return Formatter::createTextFormatter(Formatter::kDefaultAccessLogFormat, false);
}

// What the typed_config asks for: a formatter and an output path.
struct Parsed {
  Formatter::FormatterConstSharedPtr formatter;
  std::string file_path;
};

absl::StatusOr<Parsed> parse(const AccessLog& config, absl::string_view path) {
  // Referenced so the release build's --gc-sections keeps these types in the descriptor pool:
  // they are only ever reached through an Any.
  (void)FileAccessLog::default_instance();
  (void)StdoutAccessLog::default_instance();
  (void)StderrAccessLog::default_instance();

  const std::string config_path = absl::StrCat(path, ".typed_config");
  if (!config.has_typed_config()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config_path, ": required (access log \"", config.name(),
                     "\"); skiff picks the logger by its type: FileAccessLog, StdoutAccessLog or "
                     "StderrAccessLog"));
  }
  const absl::string_view type = Config::typeNameFromUrl(config.typed_config().type_url());
  Parsed parsed;
  if (type == FileAccessLog::descriptor()->full_name()) {
    auto file = Config::parseTypedConfig<FileAccessLog>(config.typed_config(), config_path);
    if (!file.ok()) {
      return file.status();
    }
    if (file->path().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(config_path, ".path: must not be empty"));
    }
    parsed.file_path = file->path();
    absl::StatusOr<Formatter::FormatterConstSharedPtr> formatter;
    switch (file->access_log_format_case()) {
      case FileAccessLog::kFormat:
        // Envoy's deprecated `format`: empty means the default.
        formatter = file->format().empty() ? defaultFormatter()
                                           : textFormatter(file->format(), false,
                                                           absl::StrCat(config_path, ".format"));
        break;
      case FileAccessLog::kJsonFormat:
        // Deprecated and untyped: every value is a string.
        formatter = jsonFormatter(file->json_format(), {.typed = false},
                                  absl::StrCat(config_path, ".json_format"));
        break;
      case FileAccessLog::kTypedJsonFormat:
        formatter = jsonFormatter(file->typed_json_format(), {.typed = true},
                                  absl::StrCat(config_path, ".typed_json_format"));
        break;
      case FileAccessLog::kLogFormat:
        formatter = createSubstitutionFormatter(file->log_format(),
                                                absl::StrCat(config_path, ".log_format"));
        break;
      case FileAccessLog::ACCESS_LOG_FORMAT_NOT_SET:
        formatter = defaultFormatter();
        break;
    }
    if (!formatter.ok()) {
      return formatter.status();
    }
    parsed.formatter = std::move(*formatter);
    return parsed;
  }
  const bool is_stdout = type == StdoutAccessLog::descriptor()->full_name();
  if (is_stdout || type == StderrAccessLog::descriptor()->full_name()) {
    // The two messages have the same shape: one optional log_format.
    const envoy::config::core::v3::SubstitutionFormatString* log_format = nullptr;
    StdoutAccessLog out;
    StderrAccessLog err;
    if (is_stdout) {
      auto unpacked = Config::parseTypedConfig<StdoutAccessLog>(config.typed_config(), config_path);
      if (!unpacked.ok()) {
        return unpacked.status();
      }
      out = std::move(*unpacked);
      log_format = out.has_log_format() ? &out.log_format() : nullptr;
    } else {
      auto unpacked = Config::parseTypedConfig<StderrAccessLog>(config.typed_config(), config_path);
      if (!unpacked.ok()) {
        return unpacked.status();
      }
      err = std::move(*unpacked);
      log_format = err.has_log_format() ? &err.log_format() : nullptr;
    }
    auto formatter =
        log_format != nullptr
            ? createSubstitutionFormatter(*log_format, absl::StrCat(config_path, ".log_format"))
            : defaultFormatter();
    if (!formatter.ok()) {
      return formatter.status();
    }
    parsed.formatter = std::move(*formatter);
    parsed.file_path = is_stdout ? "/dev/stdout" : "/dev/stderr";
    return parsed;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(config_path, ": unknown access logger type \"", config.typed_config().type_url(),
                   "\" (access log \"", config.name(), "\"); skiff supports ", kFileAccessLogName,
                   " (", Config::kTypeUrlPrefix, FileAccessLog::descriptor()->full_name(), "), ",
                   kStdoutAccessLogName, " (", Config::kTypeUrlPrefix,
                   StdoutAccessLog::descriptor()->full_name(), ") and ", kStderrAccessLogName, " (",
                   Config::kTypeUrlPrefix, StderrAccessLog::descriptor()->full_name(), ")"));
}

}  // namespace

absl::StatusOr<Formatter::FormatterConstSharedPtr> createSubstitutionFormatter(
    const SubstitutionFormatString& config, absl::string_view path) {
  switch (config.format_case()) {
    case SubstitutionFormatString::kTextFormat:
      return textFormatter(config.text_format(), config.omit_empty_values(),
                           absl::StrCat(path, ".text_format"));
    case SubstitutionFormatString::kTextFormatSource: {
      const std::string source_path = absl::StrCat(path, ".text_format_source");
      auto text =
          Config::readDataSource(config.text_format_source(), kMaxFormatSourceBytes, source_path);
      if (!text.ok()) {
        return text.status();
      }
      return textFormatter(*text, config.omit_empty_values(), source_path);
    }
    case SubstitutionFormatString::kJsonFormat:
      return jsonFormatter(config.json_format(),
                           {.typed = true, .omit_empty_values = config.omit_empty_values()},
                           absl::StrCat(path, ".json_format"));
    case SubstitutionFormatString::FORMAT_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": must set text_format, text_format_source or json_format"));
}

absl::StatusOr<InstanceSharedPtr> createAccessLog(const AccessLog& config,
                                                  AccessLogManager& manager,
                                                  absl::string_view path) {
  auto parsed = parse(config, path);
  if (!parsed.ok()) {
    return parsed.status();
  }
  auto file = manager.createAccessLogFile(parsed->file_path);
  if (!file.ok()) {
    return prefixed(file.status(), absl::StrCat(path, ".typed_config.path"));
  }
  return std::make_shared<FileAccessLogImpl>(std::move(parsed->formatter), std::move(*file));
}

absl::Status validateAccessLog(const AccessLog& config, absl::string_view path) {
  return parse(config, path).status();
}

}  // namespace Skiff::AccessLog
