#include "source/control/admin_auth.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "source/common/common/logger.h"
#include "source/control/json.h"

namespace Skiff::Control {

using Http::Admin::Request;
using Http::Admin::Response;

bool constantTimeEquals(absl::string_view expected, absl::string_view given) {
  // Every byte of `expected` is compared whatever `given` holds, so neither the position of the
  // first difference nor the length of `given` shows in the timing.
  volatile unsigned char difference = expected.size() == given.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char other = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    difference = difference | (static_cast<unsigned char>(expected[i]) ^ other);
  }
  return difference == 0;
}

Response jsonError(int code, absl::string_view message) {
  return Response{code, "application/json",
                  absl::StrCat("{\"error\":", Json::quote(message), "}\n")};
}

namespace {

// Paths open without credentials: probes and metrics scrapers carry none.
bool isOpenPath(absl::string_view path) {
  return path == "/ready" || path == "/stats" || absl::StartsWith(path, "/stats/");
}

}  // namespace

AdminCredentials::AdminCredentials(std::string token_file, Stats::Store& store)
    : token_file_(std::move(token_file)),
      unauthorized_(store.counter("control_plane.admin.unauthorized")),
      forbidden_(store.counter("control_plane.admin.forbidden")) {}

absl::StatusOr<std::unique_ptr<AdminCredentials>> AdminCredentials::create(
    const std::string& token_file, Stats::Store& store) {
  std::unique_ptr<AdminCredentials> credentials(new AdminCredentials(token_file, store));
  if (credentials->configured()) {
    if (auto status = credentials->load(); !status.ok()) {
      return status;
    }
    if (credentials->token_.size() < 16) {
      SKIFF_LOG(warn,
                "--admin-token-file %s: the token has only %d characters; use a long random "
                "one (e.g. head -c 32 /dev/urandom | base64)",
                token_file, credentials->token_.size());
    }
  }
  return credentials;
}

absl::Status AdminCredentials::load() {
  struct stat info {};
  if (::stat(token_file_.c_str(), &info) != 0) {
    return absl::NotFoundError(
        absl::StrCat("--admin-token-file ", token_file_, ": ", std::strerror(errno)));
  }
  std::ifstream file(token_file_);
  if (!file) {
    return absl::NotFoundError(
        absl::StrCat("--admin-token-file ", token_file_, ": cannot open: ", std::strerror(errno)));
  }
  std::stringstream content;
  content << file.rdbuf();
  const std::string token(absl::StripAsciiWhitespace(content.str()));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--admin-token-file ", token_file_, ": the file is empty"));
  }
  for (const char c : token) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
        !absl::ascii_isprint(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat("--admin-token-file ", token_file_,
                       ": the token must be one line of printable characters without spaces"));
    }
  }
  token_ = token;
  device_ = info.st_dev;
  inode_ = info.st_ino;
  size_ = info.st_size;
  mtime_ = info.st_mtim;
  return absl::OkStatus();
}

void AdminCredentials::refresh() {
  struct stat info {};
  if (::stat(token_file_.c_str(), &info) == 0 && info.st_dev == device_ && info.st_ino == inode_ &&
      info.st_size == size_ && info.st_mtim.tv_sec == mtime_.tv_sec &&
      info.st_mtim.tv_nsec == mtime_.tv_nsec) {
    return;
  }
  const std::string previous = token_;
  if (auto status = load(); !status.ok()) {
    SKIFF_LOG(warn, "%s; keeping the previous admin token", status.message());
    return;
  }
  if (token_ != previous) {
    SKIFF_LOG(info, "admin token re-read from %s", token_file_);
  }
}

std::optional<Response> AdminCredentials::check(const Request& request) {
  if (!configured() || isOpenPath(request.path)) {
    return std::nullopt;
  }
  refresh();
  const auto header = request.headers.find("authorization");
  absl::string_view given;
  if (header != request.headers.end()) {
    absl::string_view value = absl::StripAsciiWhitespace(header->second);
    // The scheme is case-insensitive (RFC 9110 §11.1).
    if (value.size() > 7 && absl::EqualsIgnoreCase(value.substr(0, 7), "bearer ")) {
      given = absl::StripLeadingAsciiWhitespace(value.substr(7));
    }
  }
  if (!given.empty() && constantTimeEquals(token_, given)) {
    return std::nullopt;
  }
  unauthorized_.inc();
  SKIFF_LOG(warn, "admin %s: %s", request.path,
            header == request.headers.end() ? "no credentials" : "wrong credentials");
  Response response = jsonError(
      401, header == request.headers.end()
               ? "unauthorized: this skiff-control requires \"Authorization: Bearer <token>\" "
                 "(the token is in the file given to its --admin-token-file; skiffctl: "
                 "--token-file FILE)"
               : "unauthorized: the bearer token does not match skiff-control's "
                 "--admin-token-file");
  response.headers.emplace_back("WWW-Authenticate",
                                header == request.headers.end()
                                    ? "Bearer realm=\"skiff-control\""
                                    : "Bearer realm=\"skiff-control\", error=\"invalid_token\"");
  return response;
}

std::optional<Response> AdminCredentials::checkMutationsEnabled() const {
  if (configured()) {
    return std::nullopt;
  }
  forbidden_.inc();
  return jsonError(403,
                   "forbidden: changes through the admin API are disabled because skiff-control "
                   "has no admin token. Start it with --admin-token-file FILE (FILE holds one "
                   "long random token) and send \"Authorization: Bearer <token>\" "
                   "(skiffctl: --token-file FILE or $SKIFF_CONTROL_TOKEN_FILE)");
}

}  // namespace Skiff::Control
