#include "source/control/options.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace Skiff::Control {

std::string usage() {
  return R"(usage: skiff-control --config-dir DIR [options]

      --config-dir DIR        one subdirectory per node group (default/ for every other sidecar),
                              each with YAML/JSON files of xDS resources; watched for changes
      --xds-address H:P       gRPC listen address for ADS and LDS/CDS/EDS/RDS
                              (default 127.0.0.1:18000, plaintext)
      --xds-tls-cert FILE     serve xDS over TLS with this PEM certificate (chain)...
      --xds-tls-key FILE      ...and this PEM private key
      --xds-tls-client-ca FILE
                              mutual TLS: require client certificates that chain to a CA in
                              this PEM file
      --admin-address H:P     admin HTTP address (default 127.0.0.1:18001): /ready /nodes /config
                              /listeners /clusters /endpoints /routes, POST /apply, DELETE
                              /resources, /stats /stats/prometheus
      --admin-token-file FILE bearer token the admin API requires (all but /ready, /stats*);
                              without it, reads are open and changes (POST /apply, DELETE
                              /resources) are refused
      --webhook-address H:P   serve the sidecar-injection admission webhook (HTTPS, POST /inject)
                              here, e.g. 0.0.0.0:15017 (default: off)
      --webhook-cert FILE     its PEM certificate chain; --webhook-key FILE its key (both
                              required with --webhook-address; re-read when they change)
      --webhook-client-ca FILE  require a client certificate signed by a CA in FILE (the API
                              server's, from its AdmissionConfiguration); without it anyone who
                              can reach the port may ask for reviews
      --inject-control-plane H:P    what injected sidecars connect to
                                    (default skiff-control.skiff-system.svc:18000)
      --inject-native-sidecar MODE  auto|true|false (default auto)
      --inject-kubernetes-version V the cluster's version, for auto (e.g. 1.28)
      --inject-no-capture           no skiff-init (no iptables redirection)
      --inject-image IMAGE          skiff's image; --inject-init-image IMAGE skiff-init's
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
    if (arg == "--inject-no-capture" && !has_value) {
      options.inject.capture = false;
      continue;
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
    } else if (arg == "--webhook-address") {
      options.webhook_address = value;
    } else if (arg == "--webhook-cert") {
      options.webhook_cert = value;
    } else if (arg == "--webhook-key") {
      options.webhook_key = value;
    } else if (arg == "--webhook-client-ca") {
      options.webhook_client_ca = value;
    } else if (arg == "--inject-control-plane") {
      options.inject.control_plane = value;
    } else if (arg == "--inject-native-sidecar") {
      auto mode = Inject::parseNativeSidecarMode(value);
      if (!mode.ok()) {
        return fail(std::string(mode.status().message()));
      }
      options.inject.native_sidecar = *mode;
    } else if (arg == "--inject-kubernetes-version") {
      options.inject.kubernetes_version = value;
    } else if (arg == "--inject-image") {
      options.inject.proxy_image = value;
    } else if (arg == "--inject-init-image") {
      options.inject.init_image = value;
    } else if (arg == "--xds-tls-cert") {
      options.xds_tls_cert = value;
    } else if (arg == "--xds-tls-key") {
      options.xds_tls_key = value;
    } else if (arg == "--xds-tls-client-ca") {
      options.xds_tls_client_ca = value;
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
  if (options.xds_tls_cert.empty() != options.xds_tls_key.empty()) {
    return fail("--xds-tls-cert and --xds-tls-key go together");
  }
  if (!options.xds_tls_client_ca.empty() && options.xds_tls_cert.empty()) {
    return fail("--xds-tls-client-ca needs --xds-tls-cert and --xds-tls-key");
  }
  std::string host;
  uint16_t port;
  for (const auto* address : {&options.xds_address, &options.admin_address}) {
    if (auto status = splitHostPort(*address, host, port); !status.ok()) {
      return fail(std::string(status.message()));
    }
  }
  if (!options.webhook_address.empty()) {
    if (auto status = splitHostPort(options.webhook_address, host, port); !status.ok()) {
      return fail(std::string(status.message()));
    }
    if (options.webhook_cert.empty() || options.webhook_key.empty()) {
      return fail("--webhook-address needs --webhook-cert and --webhook-key");
    }
  } else if (!options.webhook_client_ca.empty()) {
    return fail("--webhook-client-ca needs --webhook-address");
  }
  if (auto status = Inject::validateOptions(options.inject); !status.ok()) {
    return fail(absl::StrCat("--inject-*: ", status.message()));
  }
  return options;
}

}  // namespace Skiff::Control
