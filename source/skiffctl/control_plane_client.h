#pragma once

// How skiffctl reaches skiff-control's admin API: the address (--control-plane URL, else
// $SKIFF_CONTROL_PLANE, else http://127.0.0.1:18001) and the bearer token (--token-file FILE,
// else $SKIFF_CONTROL_TOKEN_FILE; none by default). Errors from the server are turned into one
// readable message: its "error" line, then each of its "errors" lines indented.
//
// Thread: any; one client per command run.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"
#include "source/skiffctl/flags.h"
#include "source/skiffctl/http_client.h"

namespace Skiff::Ctl {

inline constexpr char kDefaultControlPlane[] = "http://127.0.0.1:18001";

// --control-plane and --token-file, for every command that talks to skiff-control.
std::vector<FlagSpec> controlPlaneFlags();

class ControlPlaneClient {
 public:
  // Reads the token file now (a missing file is an error naming it).
  static absl::StatusOr<ControlPlaneClient> create(const ParsedFlags& flags);

  // `method` `path`?`query` with `body`. A 2xx answer gives the body; any other status an error
  // with the server's message (and, for 401/403, what to do about it).
  absl::StatusOr<std::string> call(const std::string& method, const std::string& path,
                                   const std::map<std::string, std::string>& query = {},
                                   const std::string& body = "",
                                   const std::string& content_type = "") const;

  const std::string& url() const { return url_text_; }

 private:
  ControlPlaneClient(std::string url_text, HttpUrl url, std::string token)
      : url_text_(std::move(url_text)), url_(std::move(url)), token_(std::move(token)) {}

  std::string url_text_;
  HttpUrl url_;
  std::string token_;
  std::chrono::milliseconds timeout_{30000};
};

// Parses JSON text into a Value (objects, lists, strings, numbers, booleans, null).
absl::StatusOr<google::protobuf::Value> parseJson(const std::string& text);

// Reads a whole file; "-" is stdin.
absl::StatusOr<std::string> readInput(const std::string& path);

}  // namespace Skiff::Ctl
