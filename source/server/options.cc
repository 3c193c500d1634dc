#include "source/server/options.h"

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace Skiff::Server {

std::string usage() {
  return R"(usage: skiff -c <bootstrap.yaml|json> [options]

  -c, --config-path PATH      bootstrap config (Envoy v3 shape, YAML or JSON)
      --config-yaml YAML      inline bootstrap YAML, merged over --config-path
      --concurrency N         worker threads (default: number of CPUs)
  -l, --log-level LEVEL       trace|debug|info|warning|error|critical|off (default info)
      --drain-time-s N        seconds open connections get to finish on shutdown (default 600)
      --mode serve|validate   validate: check the config, print errors, exit 0 or 1
      --drain-on-listener-update
                              when a listener changes, close its older connections after the
                              drain time (default: they run to completion on their old config)
      --control-plane-cpus LIST
                              keep main, the xDS control thread and their helper threads on
                              these CPUs (e.g. 0 or 0-1,4); workers may still use every CPU.
                              On a small machine this stops a big config push from delaying
                              requests (default: no pinning)
      --service-node ID       node.id if the bootstrap has none
      --service-cluster NAME  node.cluster if the bootstrap has none
  -h, --help                  this text
)";
}

absl::StatusOr<Options> parseOptions(int argc, const char* const* argv) {
  Options options;
  options.concurrency = std::max(1u, std::thread::hardware_concurrency());
  for (int i = 0; i < argc; ++i) {
    options.argv.push_back(argv[i]);
  }
  auto fail = [](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(why, "\n\n", usage()));
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_inline_value = false;
    if (absl::StartsWith(arg, "--")) {
      size_t eq = arg.find('=');
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_inline_value = true;
      }
    }
    if (arg == "-h" || arg == "--help") {
      return absl::InvalidArgumentError(usage());
    }
    auto next = [&]() -> bool {
      if (has_inline_value) {
        return true;
      }
      if (i + 1 >= argc) {
        return false;
      }
      value = argv[++i];
      return true;
    };
    if (arg == "-c" || arg == "--config-path") {
      if (!next()) return fail(absl::StrCat(arg, " needs a path"));
      options.config_path = value;
    } else if (arg == "--config-yaml") {
      if (!next()) return fail("--config-yaml needs a value");
      options.config_yaml = value;
    } else if (arg == "--concurrency") {
      if (!next() || !absl::SimpleAtoi(value, &options.concurrency) || options.concurrency == 0 ||
          options.concurrency > 256) {
        return fail("--concurrency needs a number from 1 to 256");
      }
    } else if (arg == "-l" || arg == "--log-level") {
      if (!next() || !Logger::parseLevel(value, options.log_level)) {
        return fail(absl::StrCat("--log-level: unknown level '", value, "'"));
      }
    } else if (arg == "--drain-time-s") {
      int64_t seconds;
      if (!next() || !absl::SimpleAtoi(value, &seconds) || seconds < 0) {
        return fail("--drain-time-s needs a number of seconds >= 0");
      }
      options.drain_time = std::chrono::seconds(seconds);
    } else if (arg == "--mode") {
      if (!next()) return fail("--mode needs serve or validate");
      if (value == "serve") {
        options.mode = Mode::Serve;
      } else if (value == "validate") {
        options.mode = Mode::Validate;
      } else {
        return fail(absl::StrCat("--mode: '", value, "' is not serve or validate"));
      }
    } else if (arg == "--drain-on-listener-update") {
      options.drain_on_listener_update = true;
    } else if (arg == "--control-plane-cpus") {
      if (!next()) return fail("--control-plane-cpus needs a CPU list, e.g. 0 or 0-1");
      auto cpus = Thread::CpuSet::parse(value);
      if (!cpus.ok()) {
        return fail(absl::StrCat("--control-plane-cpus: ", cpus.status().message()));
      }
      options.control_plane_cpus = *cpus;
    } else if (arg == "--service-node") {
      if (!next()) return fail("--service-node needs a value");
      options.service_node = value;
    } else if (arg == "--service-cluster") {
      if (!next()) return fail("--service-cluster needs a value");
      options.service_cluster = value;
    } else {
      return fail(absl::StrCat("unknown option '", arg, "'"));
    }
  }
  if (options.config_path.empty() && options.config_yaml.empty()) {
    return fail("no config: give -c/--config-path or --config-yaml");
  }
  return options;
}

}  // namespace Skiff::Server
