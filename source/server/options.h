#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "source/common/common/cpu_set.h"
#include "source/common/common/logger.h"

namespace Skiff::Server {

enum class Mode { Serve, Validate };

// The command line, in Envoy's spelling so Envoy users' scripts and manifests carry over.
struct Options {
  std::string config_path;
  std::string config_yaml;  // Inline bootstrap, merged over the file (Envoy's --config-yaml).
  uint32_t concurrency;     // Workers; defaults to the number of CPUs.
  Logger::Level log_level{Logger::Level::info};
  std::chrono::seconds drain_time{600};
  Mode mode{Mode::Serve};
  // Close connections accepted under a listener's old config drain_time after it changes.
  bool drain_on_listener_update{false};
  // --control-plane-cpus: main, the control thread and the threads they start stay on these
  // CPUs; the workers may use every CPU the process may.
  std::optional<Thread::CpuSet> control_plane_cpus;
  std::string service_node;
  std::string service_cluster;
  std::vector<std::string> argv;  // As given, for /server_info.
};

// Parses argv. Returns the usage text as the error for --help and for any mistake, with the
// mistake on the first line.
absl::StatusOr<Options> parseOptions(int argc, const char* const* argv);

std::string usage();

}  // namespace Skiff::Server
