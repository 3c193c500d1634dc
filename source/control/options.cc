#include "source/control/options.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace Skiff::Control {

std::string usage() {
  return R"(usage: skiff-control --config-dir DIR [options]

      --config-dir DIR        one subdirectory per node group (default/ for every other sidecar),
                              each with YAML/JSON files of xDS resources; watched for changes
      --xds-address H:P       gRPC ADS listen address (default 127.0.0.1:18000)
      --admin-address H:P     admin HTTP address (default 127.0.0.1:18001): /ready /nodes /config
                              /listeners /clusters /endpoints /routes, POST /apply, DELETE
                              /resources, /stats /stats/prometheus
      --admin-token-file FILE bearer token the admin API requires (all but /ready, /stats*);
                              without it, reads are open and changes (POST /apply, DELETE
                              /resources) are refused
  -l, --log-level LEVEL       trace|debug|info|warning|error|critical|off (default info)
  -h, --help                  this text
)";
}

absl::Status splitHostPort(const std::string& address, std::string& host, uint16_t& port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat("\"", address, "\" is not host:port"));
  }
  host = address.substr(0, colon);
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
  }
  uint32_t value = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &value) || value > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("\"", address, "\": bad port"));
  }
  port = static_cast<uint16_t>(value);
  return absl::OkStatus();
}

absl::StatusOr<Options> parseOptions(int argc, const char* const* argv) {
  Options options;
  const auto fail = [](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(why, "\n\n", usage()));
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (absl::StartsWith(arg, "--") && arg.find('=') != std::string::npos) {
      value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
      has_value = true;
    }
    if (arg == "-h" || arg == "--help") {
      return absl::InvalidArgumentError(usage());
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        return fail(absl::StrCat(arg, " needs a value (or is unknown)"));
      }
      value = argv[++i];
    }
    if (arg == "--config-dir") {
      options.config_dir = value;
    } else if (arg == "--xds-address") {
      options.xds_address = value;
    } else if (arg == "--admin-address") {
      options.admin_address = value;
    } else if (arg == "--admin-token-file") {
      options.admin_token_file = value;
    } else if (arg == "-l" || arg == "--log-level") {
      if (!Logger::parseLevel(value, options.log_level)) {
        return fail(absl::StrCat("unknown log level \"", value, "\""));
      }
    } else {
      return fail(absl::StrCat("unknown option ", arg));
    }
  }
  if (options.config_dir.empty()) {
    return fail("--config-dir is required");
  }
  std::string host;
  uint16_t port;
  for (const auto* address : {&options.xds_address, &options.admin_address}) {
    if (auto status = splitHostPort(*address, host, port); !status.ok()) {
      return fail(std::string(status.message()));
    }
  }
  return options;
}

}  // namespace Skiff::Control
