#include "source/skiffctl/control_plane_client.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"

namespace Skiff::Ctl {

namespace {

std::string envOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

// The server's {"error": ..., "errors": [...]} as text; the raw body when it is not that.
std::string serverMessage(const HttpResponse& response) {
  auto json = parseJson(response.body);
  if (json.ok() && json->has_struct_value()) {
    const auto& fields = json->struct_value().fields();
    const auto error = fields.find("error");
    if (error != fields.end()) {
      std::string out = error->second.string_value();
      const auto errors = fields.find("errors");
      if (errors != fields.end()) {
        for (const auto& line : errors->second.list_value().values()) {
          absl::StrAppend(&out, "\n  ", line.string_value());
        }
      }
      return out;
    }
  }
  return std::string(absl::StripTrailingAsciiWhitespace(response.body));
}

}  // namespace

std::vector<FlagSpec> controlPlaneFlags() {
  return {
      {"control-plane", 0, true, "URL",
       absl::StrCat("skiff-control's admin address (default $SKIFF_CONTROL_PLANE or ",
                    kDefaultControlPlane, ")")},
      {"token-file", 0, true, "FILE",
       "file holding the admin bearer token (default $SKIFF_CONTROL_TOKEN_FILE)"},
  };
}

absl::StatusOr<ControlPlaneClient> ControlPlaneClient::create(const ParsedFlags& flags) {
  const std::string url_text =
      flags.value("control-plane", envOr("SKIFF_CONTROL_PLANE", kDefaultControlPlane));
  auto url = parseHttpUrl(url_text);
  if (!url.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--control-plane ", url.status().message()));
  }
  std::string token;
  const std::string token_file = flags.value("token-file", envOr("SKIFF_CONTROL_TOKEN_FILE", ""));
  if (!token_file.empty()) {
    std::ifstream file(token_file);
    if (!file) {
      return absl::NotFoundError(
          absl::StrCat("--token-file ", token_file, ": cannot open: ", std::strerror(errno)));
    }
    std::stringstream content;
    content << file.rdbuf();
    token = std::string(absl::StripAsciiWhitespace(content.str()));
    if (token.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--token-file ", token_file, " is empty"));
    }
  }
  return ControlPlaneClient(url_text, std::move(*url), std::move(token));
}

absl::StatusOr<std::string> ControlPlaneClient::call(
    const std::string& method, const std::string& path,
    const std::map<std::string, std::string>& query, const std::string& body,
    const std::string& content_type) const {
  std::string target = path;
  char separator = '?';
  for (const auto& [key, value] : query) {
    absl::StrAppend(&target, std::string(1, separator), urlEncode(key), "=", urlEncode(value));
    separator = '&';
  }
  std::map<std::string, std::string> headers;
  if (!token_.empty()) {
    headers["Authorization"] = absl::StrCat("Bearer ", token_);
  }
  if (!content_type.empty()) {
    headers["Content-Type"] = content_type;
  }
  auto response = httpRequest(url_, method, target, body, headers, timeout_);
  if (!response.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot reach skiff-control at ", url_text_, ": ",
                                               response.status().message(),
                                               " (is it running? --control-plane URL)"));
  }
  if (response->status >= 200 && response->status < 300) {
    return std::move(response->body);
  }
  const std::string message = serverMessage(*response);
  const auto code = response->status == 404   ? absl::StatusCode::kNotFound
                    : response->status == 401 ? absl::StatusCode::kUnauthenticated
                    : response->status == 403 ? absl::StatusCode::kPermissionDenied
                    : response->status < 500  ? absl::StatusCode::kInvalidArgument
                                              : absl::StatusCode::kInternal;
  return absl::Status(code, absl::StrCat("skiff-control (HTTP ", response->status, "): ", message));
}

absl::StatusOr<google::protobuf::Value> parseJson(const std::string& text) {
  google::protobuf::Value value;
  const auto status = google::protobuf::util::JsonStringToMessage(text, &value);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON: ", std::string(status.message())));
  }
  return value;
}

absl::StatusOr<std::string> readInput(const std::string& path) {
  std::stringstream content;
  if (path == "-") {
    content << std::cin.rdbuf();
    return content.str();
  }
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  content << file.rdbuf();
  return content.str();
}

}  // namespace Skiff::Ctl
