#pragma once

// Credentials for skiff-control's admin API: one bearer token, read from the file named by
// --admin-token-file (a Kubernetes Secret mount, typically).
//
// - Token configured: every request except /ready and /stats* (what kubelet probes and Prometheus
//   scrape) needs `Authorization: Bearer <token>`, else 401. The comparison takes the same time
//   wherever the first difference is.
// - No token configured: reads are open (the admin address is loopback by default) and mutating
//   calls are refused with 403 and a message saying how to enable them.
//
// The file is re-read when it changes (its inode, size or mtime; a Secret update swaps a symlink),
// so the token can be rotated without a restart. A file that becomes unreadable or empty keeps
// the previous token (logged): failing open is not an option, and failing closed would lock the
// operator out until skiff-control restarts.
//
// Thread: the admin server's thread (skiff-control: main) only.

#include <sys/types.h>

#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "source/common/http/admin_server.h"
#include "source/common/stats/stats.h"

namespace Skiff::Control {

// True when `given` equals `expected`; the time taken depends only on the length of `expected`.
bool constantTimeEquals(absl::string_view expected, absl::string_view given);

// A JSON error body: {"error": message}.
Http::Admin::Response jsonError(int code, absl::string_view message);

class AdminCredentials {
 public:
  // `token_file` empty: no token. Fails when the file cannot be read, is empty, or holds
  // whitespace inside the token (a trailing newline is fine).
  static absl::StatusOr<std::unique_ptr<AdminCredentials>> create(const std::string& token_file,
                                                                  Stats::Store& store);

  bool configured() const { return !token_file_.empty(); }

  // For AdminServer::setRequestFilter: a 401 response, or nullopt to let the request through.
  std::optional<Http::Admin::Response> check(const Http::Admin::Request& request);

  // For handlers that change state: a 403 response when no token is configured, else nullopt
  // (the request already passed check()).
  std::optional<Http::Admin::Response> checkMutationsEnabled() const;

 private:
  AdminCredentials(std::string token_file, Stats::Store& store);
  absl::Status load();
  void refresh();

  const std::string token_file_;
  std::string token_;
  // What the file looked like when token_ was read.
  dev_t device_ = 0;
  ino_t inode_ = 0;
  off_t size_ = 0;
  timespec mtime_{};
  Stats::Counter& unauthorized_;
  Stats::Counter& forbidden_;
};

}  // namespace Skiff::Control
