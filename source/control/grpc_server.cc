#include "source/control/grpc_server.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace Skiff::Control {
namespace {

// The file's content, which must contain a PEM block whose label ends with `label_suffix`
// ("CERTIFICATE", "PRIVATE KEY": matches "RSA PRIVATE KEY", "EC PRIVATE KEY" too).
absl::StatusOr<std::string> readPem(const std::string& flag, const std::string& path,
                                    absl::string_view label_suffix) {
  std::ifstream file(path);
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " ", path, ": cannot open: ", std::strerror(errno)));
  }
  std::stringstream content;
  content << file.rdbuf();
  std::string pem = content.str();
  const size_t begin = pem.find("-----BEGIN ");
  const size_t end_of_label = begin == std::string::npos ? begin : pem.find("-----", begin + 11);
  if (end_of_label == std::string::npos ||
      !absl::EndsWith(absl::string_view(pem).substr(begin + 11, end_of_label - begin - 11),
                      label_suffix)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " ", path, ": not a PEM file with a ", label_suffix, " block"));
  }
  return pem;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> serverCredentials(
    const GrpcServerOptions& options) {
  if (!options.tls()) {
    if (!options.tls_key_file.empty() || options.mutualTls()) {
      return absl::InvalidArgumentError(
          "--xds-tls-key and --xds-tls-client-ca need --xds-tls-cert");
    }
    return grpc::InsecureServerCredentials();
  }
  if (options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("--xds-tls-cert needs --xds-tls-key");
  }
  auto cert = readPem("--xds-tls-cert", options.tls_cert_file, "CERTIFICATE");
  if (!cert.ok()) {
    return cert.status();
  }
  auto key = readPem("--xds-tls-key", options.tls_key_file, "PRIVATE KEY");
  if (!key.ok()) {
    return key.status();
  }
  grpc::SslServerCredentialsOptions ssl(
      options.mutualTls() ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (options.mutualTls()) {
    auto ca = readPem("--xds-tls-client-ca", options.tls_client_ca_file, "CERTIFICATE");
    if (!ca.ok()) {
      return ca.status();
    }
    ssl.pem_root_certs = std::move(*ca);
  }
  ssl.pem_key_cert_pairs.push_back({std::move(*key), std::move(*cert)});
  return grpc::SslServerCredentials(ssl);
}

absl::StatusOr<std::unique_ptr<grpc::Server>> startGrpcServer(
    const GrpcServerOptions& options, const std::vector<grpc::Service*>& services,
    int& bound_port) {
  auto credentials = serverCredentials(options);
  if (!credentials.ok()) {
    return credentials.status();
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.address, *credentials, &bound_port);
  for (grpc::Service* service : services) {
    builder.RegisterService(service);
  }
  // Sidecars hold their stream for hours; keepalive pings find the dead ones (a sidecar whose
  // node vanished without a FIN) instead of keeping their state forever.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10 * 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen for gRPC on ", options.address,
        options.tls() ? " (with TLS: are --xds-tls-cert and --xds-tls-key a matching pair?)" : ""));
  }
  return server;
}

}  // namespace Skiff::Control
