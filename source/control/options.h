#pragma once

// skiff-control's command line. Pure functions; any thread.

#include <string>

#include "absl/status/statusor.h"
#include "source/common/common/logger.h"

namespace Skiff::Control {

struct Options {
  std::string config_dir;
  std::string xds_address = "127.0.0.1:18000";
  std::string admin_address = "127.0.0.1:18001";
  std::string admin_token_file;  // empty: no token, the admin API is read-only
  Logger::Level log_level = Logger::Level::info;
};

// Parses argv. The error is the usage text, with the mistake on its first line (for --help: the
// usage text alone).
absl::StatusOr<Options> parseOptions(int argc, const char* const* argv);

std::string usage();

// Splits "host:port" (IPv6 as "[::1]:18001"); port 0 is allowed (pick one).
absl::Status splitHostPort(const std::string& address, std::string& host, uint16_t& port);

}  // namespace Skiff::Control
