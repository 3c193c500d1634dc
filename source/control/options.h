#pragma once

// skiff-control's command line. Pure functions; any thread.

#include <string>

#include "absl/status/statusor.h"
#include "source/common/common/logger.h"
#include "source/common/inject/injector.h"

namespace Skiff::Control {

struct Options {
  std::string config_dir;
  std::string xds_address = "127.0.0.1:18000";
  std::string admin_address = "127.0.0.1:18001";
  // PEM files for the xDS gRPC server: cert and key for TLS, plus client CA for mutual TLS.
  std::string xds_tls_cert;
  std::string xds_tls_key;
  std::string xds_tls_client_ca;
  std::string admin_token_file;  // empty: no token, the admin API is read-only
  Logger::Level log_level = Logger::Level::info;
  // The admission webhook (webhook.h): off unless an address is given; then cert and key are
  // required. `inject` is what it injects (the --inject-* flags, skiffctl inject's defaults).
  std::string webhook_address;
  std::string webhook_cert;
  std::string webhook_key;
  std::string webhook_client_ca;  // optional: require client certificates signed by it
  Inject::Options inject;
};

// Parses argv. The error is the usage text, with the mistake on its first line (for --help: the
// usage text alone).
absl::StatusOr<Options> parseOptions(int argc, const char* const* argv);

std::string usage();

// Splits "host:port" (IPv6 as "[::1]:18001"); port 0 is allowed (pick one).
absl::Status splitHostPort(const std::string& address, std::string& host, uint16_t& port);

}  // namespace Skiff::Control
