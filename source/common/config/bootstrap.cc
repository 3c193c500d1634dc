#include "source/common/config/bootstrap.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "source/common/common/logger.h"
#include "source/common/config/validation.h"

namespace Skiff::Config {
namespace {

// The JSON parser resolves "@type" in the generated descriptor pool, which only holds messages
// whose .pb.cc is linked in. Referring to each typed_config message here keeps them linked.
void ensureTypedConfigTypesLinked() {
  (void)envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy::descriptor();
}

}  // namespace

absl::StatusOr<envoy::config::bootstrap::v3::Bootstrap> parseBootstrapFromString(
    absl::string_view content, ConfigFormat format, absl::string_view source_name) {
  ensureTypedConfigTypesLinked();
  envoy::config::bootstrap::v3::Bootstrap bootstrap;
  absl::Status status = loadMessageFromString(content, format, source_name, bootstrap);
  if (!status.ok()) {
    return status;
  }
  return bootstrap;
}

absl::StatusOr<envoy::config::bootstrap::v3::Bootstrap> loadBootstrapFromString(
    absl::string_view content, ConfigFormat format, absl::string_view source_name) {
  auto bootstrap = parseBootstrapFromString(content, format, source_name);
  if (!bootstrap.ok()) {
    return bootstrap.status();
  }
  absl::Status status = validateBootstrap(*bootstrap);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ": invalid bootstrap:\n", status.message()));
  }
  return bootstrap;
}

absl::StatusOr<envoy::config::bootstrap::v3::Bootstrap> loadBootstrapFromFile(
    absl::string_view path) {
  const std::string file(path);
  std::ifstream in(file, std::ios::in | std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(file, ": cannot open: ", std::strerror(errno)));
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    return absl::UnavailableError(absl::StrCat(file, ": read failed"));
  }
  SKIFF_LOG(info, "loading bootstrap from %s", file);
  return loadBootstrapFromString(content.str(), formatFromPath(file), file);
}

}  // namespace Skiff::Config
