#include "source/common/access_log/access_log_config.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "source/common/access_log/access_log_manager_impl.h"
#include "source/common/config/message_loader.h"

namespace Skiff::AccessLog {
namespace {

std::string tempPath(absl::string_view name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
  std::remove(path.c_str());
  return path;
}

std::string readFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

envoy::config::accesslog::v3::AccessLog parseYaml(const std::string& yaml) {
  envoy::config::accesslog::v3::AccessLog config;
  const absl::Status status =
      Config::loadMessageFromString(yaml, Config::ConfigFormat::Yaml, "<test>", config);
  EXPECT_TRUE(status.ok()) << status;
  return config;
}

class AccessLogConfigTest : public testing::Test {
 protected:
  AccessLogConfigTest() : manager_(options(), nullptr) {
    info_.start_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1000));
    info_.protocol = StreamInfo::Protocol::Http11;
    info_.response_code = 200;
    info_.bytes_sent = 5;
    info_.request_complete = std::chrono::milliseconds(3);
    request_.setMethod("GET");
    request_.setPath("/hello");
    request_.setHost("example.com");
  }

  static AccessLogManagerImpl::Options options() {
    AccessLogManagerImpl::Options options;
    options.flush_interval = std::chrono::hours(1);
    return options;
  }

  // Builds the logger from `yaml` (with $PATH replaced), logs the request, returns the file.
  std::string logOnce(const std::string& yaml) {
    // A fresh file each time: the manager keeps a file open while a logger may still use it.
    const std::string path = tempPath(absl::StrCat("config_test_", ++files_, ".log"));
    auto logger =
        createAccessLog(parseYaml(absl::StrReplaceAll(yaml, {{"$PATH", path}})), manager_);
    EXPECT_TRUE(logger.ok()) << logger.status();
    if (!logger.ok()) {
      return "<error>";
    }
    (*logger)->log(Formatter::Context{&request_, nullptr, &info_});
    manager_.flush();
    return readFile(path);
  }

  std::string error(const std::string& yaml) {
    const auto config = parseYaml(yaml);
    const absl::Status validated = validateAccessLog(config, "access_log[0]");
    auto created = createAccessLog(config, manager_, "access_log[0]");
    EXPECT_FALSE(created.ok());
    if (created.ok()) {
      return "";
    }
    // The validator agrees with the builder, except on opening the file.
    if (!validated.ok()) {
      EXPECT_EQ(validated.message(), created.status().message());
    }
    return std::string(created.status().message());
  }

  AccessLogManagerImpl manager_;
  int files_ = 0;
  StreamInfo::StreamInfo info_;
  Http::RequestHeaderMap request_;
};

TEST_F(AccessLogConfigTest, FileWithDefaultFormat) {
  EXPECT_EQ(logOnce(R"(
name: envoy.access_loggers.file
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
  path: $PATH
)"),
            "[1970-01-01T00:00:01.000Z] \"GET /hello HTTP/1.1\" 200 - 0 5 3 - \"-\" \"-\" \"-\" "
            "\"example.com\" \"-\"\n");
}

TEST_F(AccessLogConfigTest, FileWithTextFormat) {
  EXPECT_EQ(logOnce(R"(
name: envoy.access_loggers.file
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
  path: $PATH
  log_format:
    text_format_source: {inline_string: "%REQ(:PATH)% %RESPONSE_CODE% %UPSTREAM_HOST%\n"}
)"),
            "/hello 200 -\n");
}

TEST_F(AccessLogConfigTest, OmitEmptyValuesInText) {
  EXPECT_EQ(logOnce(R"(
name: envoy.access_loggers.file
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
  path: $PATH
  log_format:
    text_format: "[%UPSTREAM_HOST%]\n"
    omit_empty_values: true
)"),
            "[]\n");
}

TEST_F(AccessLogConfigTest, FileWithJsonFormat) {
  EXPECT_EQ(logOnce(R"(
name: envoy.access_loggers.file
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
  path: $PATH
  log_format:
    json_format:
      code: "%RESPONSE_CODE%"
      path: "%REQ(:PATH)%"
      upstream: "%UPSTREAM_HOST%"
)"),
            "{\"code\":200,\"path\":\"/hello\",\"upstream\":null}\n");
}

TEST_F(AccessLogConfigTest, DeprecatedFormats) {
  EXPECT_EQ(logOnce(R"(
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
  path: $PATH
  format: "%RESPONSE_CODE%\n"
)"),
            "200\n");
  EXPECT_EQ(logOnce(R"(
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
  path: $PATH
  json_format: {code: "%RESPONSE_CODE%"}
)"),
            "{\"code\":\"200\"}\n");
  EXPECT_EQ(logOnce(R"(
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
  path: $PATH
  typed_json_format: {code: "%RESPONSE_CODE%"}
)"),
            "{\"code\":200}\n");
}

TEST_F(AccessLogConfigTest, StdoutAndStderrBuild) {
  for (const char* type : {"StdoutAccessLog", "StderrAccessLog"}) {
    auto logger = createAccessLog(parseYaml(absl::StrCat(R"(
name: out
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.)",
                                                         type, R"(
  log_format: {text_format: "%RESPONSE_CODE%\n"}
)")),
                                  manager_);
    EXPECT_TRUE(logger.ok()) << type << ": " << logger.status();
  }
}

TEST_F(AccessLogConfigTest, Errors) {
  EXPECT_EQ(error("name: x"),
            "access_log[0].typed_config: required (access log \"x\"); skiff picks the logger by "
            "its type: FileAccessLog, StdoutAccessLog or StderrAccessLog");
  EXPECT_EQ(error(R"(
name: x
typed_config:
  "@type": type.googleapis.com/envoy.config.core.v3.DataSource
)"),
            "access_log[0].typed_config: unknown access logger type "
            "\"type.googleapis.com/envoy.config.core.v3.DataSource\" (access log \"x\"); skiff "
            "supports envoy.access_loggers.file "
            "(type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog), "
            "envoy.access_loggers.stdout "
            "(type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog) and "
            "envoy.access_loggers.stderr "
            "(type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog)");
  EXPECT_EQ(error(R"(
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
)"),
            "access_log[0].typed_config.path: must not be empty");
  EXPECT_EQ(error(R"(
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
  path: /tmp/x.log
  log_format: {text_format: "%BOGUS%"}
)"),
            "access_log[0].typed_config.log_format.text_format: unsupported command operator "
            "%BOGUS% at position 0");
  EXPECT_EQ(error(R"(
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
  path: /tmp/x.log
  log_format: {json_format: {a: {b: "%REQ%"}}}
)"),
            "access_log[0].typed_config.log_format.json_format.a.b: %REQ% at position 0 needs an "
            "argument: %REQ(...)%");
  EXPECT_EQ(error(R"(
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
  path: /tmp/x.log
  log_format: {omit_empty_values: true}
)"),
            "access_log[0].typed_config.log_format: must set text_format, text_format_source or "
            "json_format");
  EXPECT_EQ(error(R"(
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
  path: /tmp/x.log
  log_format: {text_format_source: {filename: /nonexistent/format.txt}}
)"),
            "access_log[0].typed_config.log_format.text_format_source.filename: cannot read "
            "\"/nonexistent/format.txt\": No such file or directory");
  EXPECT_EQ(error(R"(
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
  log_format: {text_format: "50%"}
)"),
            "access_log[0].typed_config.log_format.text_format: '%' at position 2 does not start "
            "a command operator (write %% for a literal '%')");
  // Only the builder opens files.
  const auto unopenable = parseYaml(R"(
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
  path: /nonexistent-dir/x.log
)");
  EXPECT_TRUE(validateAccessLog(unopenable).ok());
  auto created = createAccessLog(unopenable, manager_, "access_log[0]");
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().message(),
            "access_log[0].typed_config.path: cannot open access log file "
            "\"/nonexistent-dir/x.log\": No such file or directory");
}

}  // namespace
}  // namespace Skiff::AccessLog
