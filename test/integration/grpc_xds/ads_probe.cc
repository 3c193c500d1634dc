// Opens one ADS stream to an xDS server (plaintext, TLS or mutual TLS), asks for one type and
// prints what came back:
//   ok <number of resources> <version_info>      (exit 0)
//   error <grpc status code> <message>           (exit 1)

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, server, "127.0.0.1:18000", "xDS server host:port");
ABSL_FLAG(std::string, type_url, "type.googleapis.com/envoy.config.cluster.v3.Cluster",
          "type to ask for");
ABSL_FLAG(std::string, node_id, "probe", "node.id");
ABSL_FLAG(std::string, ca, "", "PEM CA that signed the server certificate (enables TLS)");
ABSL_FLAG(std::string, cert, "", "PEM client certificate (mutual TLS)");
ABSL_FLAG(std::string, key, "", "PEM client key (mutual TLS)");
ABSL_FLAG(std::string, server_name, "localhost", "name to verify the server certificate for");
ABSL_FLAG(int, deadline_ms, 10000, "give up after this long");

namespace {

std::string readFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  if (!absl::GetFlag(FLAGS_ca).empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = readFile(absl::GetFlag(FLAGS_ca));
    if (!absl::GetFlag(FLAGS_cert).empty()) {
      ssl.pem_cert_chain = readFile(absl::GetFlag(FLAGS_cert));
      ssl.pem_private_key = readFile(absl::GetFlag(FLAGS_key));
    }
    credentials = grpc::SslCredentials(ssl);
    args.SetSslTargetNameOverride(absl::GetFlag(FLAGS_server_name));
  }
  auto channel = grpc::CreateCustomChannel(absl::GetFlag(FLAGS_server), credentials, args);
  auto stub = envoy::service::discovery::v3::AggregatedDiscoveryService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(absl::GetFlag(FLAGS_deadline_ms)));
  auto stream = stub->StreamAggregatedResources(&context);
  envoy::service::discovery::v3::DiscoveryRequest request;
  request.set_type_url(absl::GetFlag(FLAGS_type_url));
  request.mutable_node()->set_id(absl::GetFlag(FLAGS_node_id));
  stream->Write(request);
  envoy::service::discovery::v3::DiscoveryResponse response;
  if (stream->Read(&response)) {
    std::printf("ok %d %s\n", response.resources_size(), response.version_info().c_str());
    context.TryCancel();
    stream->Finish();
    return 0;
  }
  const grpc::Status status = stream->Finish();
  std::printf("error %d %s\n", static_cast<int>(status.error_code()),
              status.error_message().c_str());
  return 1;
}
