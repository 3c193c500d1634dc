#pragma once

// The gRPC server skiff-control's xDS services run in: listen address, keepalive settings and
// transport security (plaintext, TLS, or mutual TLS).
//
// Certificate files are read once, when the server starts; replacing them takes a restart.
//
// Thread: call from one thread (skiff-control: main) at startup.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace Skiff::Control {

struct GrpcServerOptions {
  // "host:port"; port 0 picks one (reported by startGrpcServer).
  std::string address = "127.0.0.1:18000";
  // PEM files. Empty cert and key: plaintext. Both: TLS with that server certificate. With
  // `tls_client_ca_file` too: mutual TLS, where every client must present a certificate that
  // chains to one of the CA certificates in that file (others fail the handshake).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;

  bool tls() const { return !tls_cert_file.empty(); }
  bool mutualTls() const { return !tls_client_ca_file.empty(); }
};

// The server credentials for `options`, after reading and sanity-checking the files (each must
// exist and hold the PEM block it should). Errors name the file and the problem.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> serverCredentials(
    const GrpcServerOptions& options);

// Starts a gRPC server on `options.address` serving `services` (which must outlive it). The port
// actually bound is stored in `bound_port`.
absl::StatusOr<std::unique_ptr<grpc::Server>> startGrpcServer(
    const GrpcServerOptions& options, const std::vector<grpc::Service*>& services, int& bound_port);

}  // namespace Skiff::Control
