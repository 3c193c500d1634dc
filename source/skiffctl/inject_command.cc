#include "source/skiffctl/inject_command.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "source/common/inject/manifest.h"

namespace Skiff::Ctl {
namespace {

constexpr char kUsage[] = R"(usage: skiffctl inject -f FILE|- [options]

Adds the skiff sidecar to every pod template in a Kubernetes manifest (Pod, Deployment,
StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, List; multi-document YAML). Documents it does
not change are written back byte for byte; injecting twice changes nothing.

  -f, --filename FILE           the manifest ("-" reads stdin)
  -o, --output FILE             write here instead of stdout
      --control-plane H:P       skiff-control's xDS address as pods reach it
                                (default skiff-control.skiff-system.svc:18000)
      --native-sidecar MODE     auto|true|false (default auto): skiff as an init container with
                                restartPolicy: Always (true) or as the first container (false);
                                auto = true unless --kubernetes-version is below 1.29
      --kubernetes-version V    the cluster's version (e.g. 1.28), for --native-sidecar=auto
      --no-capture              no skiff-init (no iptables redirection); the app talks to skiff's
                                listeners directly
      --image IMAGE             skiff's image (default skiff:<version>)
      --init-image IMAGE        skiff-init's image (default skiff-init:<version>)
      --exclude-inbound-ports P,P      inbound ports skiff-init does not redirect
      --exclude-outbound-ports P,P     outbound ports skiff-init does not redirect
      --exclude-outbound-cidrs C,C     outbound destinations skiff-init does not redirect
  -v, --verbose                 report each pod template on stderr
  -h, --help                    this text

A pod opts out with the label or annotation skiff.io/inject: "false".
)";

absl::Status parsePorts(const std::string& text, std::vector<uint16_t>& out) {
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    uint32_t port = 0;
    if (!absl::SimpleAtoi(part, &port) || port == 0 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("\"", part, "\" is not a port"));
    }
    out.push_back(static_cast<uint16_t>(port));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> readInput(const std::string& path) {
  std::stringstream content;
  if (path == "-") {
    content << std::cin.rdbuf();
    return content.str();
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  content << file.rdbuf();
  return content.str();
}

absl::Status writeOutput(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout)) {
      return absl::UnavailableError(absl::StrCat("stdout: ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  file.close();
  if (!file) {
    return absl::UnavailableError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

const char* outcomeText(Inject::Outcome outcome) {
  switch (outcome) {
    case Inject::Outcome::Injected:
      return "injected";
    case Inject::Outcome::AlreadyInjected:
      return "unchanged";
    case Inject::Outcome::Skipped:
      return "skipped";
  }
  return "?";
}

int run(const std::vector<std::string>& args) {
  Inject::Options options;
  std::string input;
  std::string output;
  bool verbose = false;
  const auto usage_error = [](const std::string& why) {
    std::fprintf(stderr, "skiffctl inject: %s\n\n%s", why.c_str(), kUsage);
    return 2;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    bool has_value = false;
    if (absl::StartsWith(arg, "--") && arg.find('=') != std::string::npos) {
      value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
      has_value = true;
    }
    if (arg == "-h" || arg == "--help") {
      std::printf("%s", kUsage);
      return 0;
    }
    if (arg == "--no-capture" || arg == "-v" || arg == "--verbose") {
      if (has_value) {
        return usage_error(absl::StrCat(arg, " takes no value"));
      }
      if (arg == "--no-capture") {
        options.capture = false;
      } else {
        verbose = true;
      }
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return usage_error(absl::StrCat(arg, " needs a value (or is unknown)"));
      }
      value = args[++i];
    }
    absl::Status status;
    if (arg == "-f" || arg == "--filename") {
      input = value;
    } else if (arg == "-o" || arg == "--output") {
      output = value;
    } else if (arg == "--control-plane") {
      options.control_plane = value;
    } else if (arg == "--native-sidecar") {
      auto mode = Inject::parseNativeSidecarMode(value);
      if (!mode.ok()) {
        return usage_error(std::string(mode.status().message()));
      }
      options.native_sidecar = *mode;
    } else if (arg == "--kubernetes-version") {
      options.kubernetes_version = value;
    } else if (arg == "--image") {
      options.proxy_image = value;
    } else if (arg == "--init-image") {
      options.init_image = value;
    } else if (arg == "--exclude-inbound-ports") {
      status = parsePorts(value, options.exclude_inbound_ports);
    } else if (arg == "--exclude-outbound-ports") {
      status = parsePorts(value, options.exclude_outbound_ports);
    } else if (arg == "--exclude-outbound-cidrs") {
      for (absl::string_view cidr : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        options.exclude_outbound_cidrs.emplace_back(cidr);
      }
    } else {
      return usage_error(absl::StrCat("unknown option ", arg));
    }
    if (!status.ok()) {
      return usage_error(absl::StrCat(arg, ": ", status.message()));
    }
  }
  if (input.empty()) {
    return usage_error("-f FILE (or -f - for stdin) is required");
  }
  if (auto status = Inject::validateOptions(options); !status.ok()) {
    return usage_error(std::string(status.message()));
  }

  auto text = readInput(input);
  if (!text.ok()) {
    std::fprintf(stderr, "skiffctl inject: %s\n", std::string(text.status().message()).c_str());
    return 1;
  }
  const std::string source = input == "-" ? "<stdin>" : input;
  auto result = Inject::injectManifest(*text, source, options);
  if (!result.ok()) {
    std::fprintf(stderr, "skiffctl inject: %s: %s\n", source.c_str(),
                 std::string(result.status().message()).c_str());
    return 1;
  }
  if (verbose) {
    for (const auto& document : result->documents) {
      for (const auto& pod : document.pods) {
        std::fprintf(stderr, "document %d (%s %s)%s%s: %s%s%s\n", document.number,
                     document.kind.c_str(), document.name.c_str(), pod.path.empty() ? "" : " ",
                     pod.path.c_str(), outcomeText(pod.result.outcome),
                     pod.result.reason.empty() ? "" : ": ", pod.result.reason.c_str());
      }
    }
  }
  if (auto status = writeOutput(output, result->text); !status.ok()) {
    std::fprintf(stderr, "skiffctl inject: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace

Command injectCommand() {
  return {"inject", "add the skiff sidecar to the pods of Kubernetes manifests", run};
}

}  // namespace Skiff::Ctl
