// skiff: the sidecar proxy's entry point. Parses the command line, loads and validates the
// bootstrap, then hands everything to Server::InstanceImpl.
#include <malloc.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "source/common/common/logger.h"
#include "source/common/config/bootstrap.h"
#include "source/common/config/validation.h"
#include "source/server/options.h"
#include "source/server/server.h"

namespace {

// The file (if any) with --config-yaml merged over it, as Envoy does; validated later, once the
// command line's node overrides are in.
absl::StatusOr<envoy::config::bootstrap::v3::Bootstrap> loadBootstrap(
    const Skiff::Server::Options& options) {
  envoy::config::bootstrap::v3::Bootstrap bootstrap;
  if (!options.config_path.empty()) {
    std::ifstream file(options.config_path);
    if (!file) {
      return absl::NotFoundError(
          absl::StrCat(options.config_path, ": cannot open: ", std::strerror(errno)));
    }
    std::stringstream content;
    content << file.rdbuf();
    auto parsed = Skiff::Config::parseBootstrapFromString(
        content.str(), Skiff::Config::formatFromPath(options.config_path), options.config_path);
    if (!parsed.ok()) {
      return parsed.status();
    }
    bootstrap = std::move(*parsed);
  }
  if (!options.config_yaml.empty()) {
    auto overlay = Skiff::Config::parseBootstrapFromString(
        options.config_yaml, Skiff::Config::ConfigFormat::Yaml, "--config-yaml");
    if (!overlay.ok()) {
      return overlay.status();
    }
    bootstrap.MergeFrom(*overlay);
  }
  return bootstrap;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace Skiff;
  // Buffers are allocated and freed at a high rate on the data path. With glibc's defaults the
  // freed memory keeps going back to the kernel (trim, and mmap for chunks of 128 KiB and up),
  // and every later read faults in fresh zeroed pages: most of a bulk transfer's kernel time.
  // Keep up to 16 MiB of free heap per arena and never mmap buffer-sized chunks.
  mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
  mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
  // No fastbins. After a big config is freed (100,000 clusters removed), an arena's fastbins
  // hold millions of small chunks, and the next large allocation there merges them all
  // (malloc_consolidate) while holding the arena's lock: a 135 ms stall of the workers that
  // freed into main's arena at that moment (control_isolation, burst-lds after huge-remove).
  // The per-thread tcache still serves small sizes without a lock.
  mallopt(M_MXFAST, 0);
  // Each listener holds one socket per worker and each proxied connection two: lift the soft
  // descriptor limit to the hard one, as a proxy with thousands of listeners needs.
  rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  auto options = Server::parseOptions(argc, argv);
  if (!options.ok()) {
    std::fprintf(stderr, "%s\n", std::string(options.status().message()).c_str());
    return 1;
  }
  Logger::setLevel(options->log_level);

  auto bootstrap = loadBootstrap(*options);
  if (!bootstrap.ok()) {
    std::fprintf(stderr, "invalid config: %s\n", std::string(bootstrap.status().message()).c_str());
    return 1;
  }
  if (!options->service_node.empty() && bootstrap->node().id().empty()) {
    bootstrap->mutable_node()->set_id(options->service_node);
  }
  if (!options->service_cluster.empty() && bootstrap->node().cluster().empty()) {
    bootstrap->mutable_node()->set_cluster(options->service_cluster);
  }
  if (auto status = Config::validateBootstrap(*bootstrap); !status.ok()) {
    std::fprintf(stderr, "invalid config:\n%s\n", std::string(status.message()).c_str());
    return 1;
  }
  if (options->mode == Server::Mode::Validate) {
    std::printf("configuration '%s' OK\n",
                options->config_path.empty() ? "--config-yaml" : options->config_path.c_str());
    return 0;
  }

  Server::InstanceImpl server(std::move(*options), std::move(*bootstrap));
  if (auto status = server.initialize(); !status.ok()) {
    SKIFF_LOG(critical, "cannot start: %s", status.message());
    return 1;
  }
  return server.run();
}
