// skiff-control's gRPC server over TLS and mutual TLS: throwaway certificates from the openssl
// CLI (gen_test_certs.sh), a real server on loopback and real gRPC clients with and without the
// right credentials.

#include "source/control/grpc_server.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "gtest/gtest.h"
#include "source/common/stats/stats_impl.h"
#include "source/control/ads_server.h"
#include "test/control/test_resources.h"

namespace Skiff::Control {
namespace {

namespace fs = std::filesystem;
using envoy::service::discovery::v3::AggregatedDiscoveryService;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;

std::string readAll(const fs::path& path) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

class GrpcServerTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    certs_ = new fs::path(fs::path(tmp != nullptr ? tmp : "/tmp") / "grpc_server_test_certs");
    fs::remove_all(*certs_);
    const std::string command =
        absl::StrCat("test/control/gen_test_certs.sh ", certs_->string(), " >/dev/null");
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*certs_);
    delete certs_;
  }

  void SetUp() override {
    ads_ = std::make_unique<AdsServer>(cache_, store_);
    cache_.setSnapshot("default", Control::Test::snapshot(Control::Test::cluster("c1")));
  }
  void TearDown() override {
    if (server_ != nullptr) {
      ads_->closeAllStreams();
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    }
  }

  static std::string cert(const std::string& name) { return (*certs_ / name).string(); }

  // Starts the server with `options` (address filled in); fails the test if it cannot.
  void start(GrpcServerOptions options) {
    options.address = "127.0.0.1:0";
    auto server = startGrpcServer(options, *ads_, port_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  // Client TLS credentials trusting our CA, presenting `client` ("client", "rogue") if given.
  static std::shared_ptr<grpc::ChannelCredentials> tlsCredentials(const std::string& client = "") {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = readAll(*certs_ / "ca.pem");
    if (!client.empty()) {
      ssl.pem_private_key = readAll(*certs_ / (client + ".key"));
      ssl.pem_cert_chain = readAll(*certs_ / (client + ".pem"));
    }
    return grpc::SslCredentials(ssl);
  }

  // Opens an ADS stream with `credentials` and asks for clusters. OK with the first response in
  // `response`, or the status the call failed with. A failed handshake fails the call at once
  // (the channel is not wait-for-ready); the deadline only bounds a hang.
  grpc::Status ask(const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                   DiscoveryResponse* response = nullptr) {
    grpc::ChannelArguments args;
    // The server certificate is for "localhost"; we connect to 127.0.0.1 to avoid ::1.
    args.SetSslTargetNameOverride("localhost");
    auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_), credentials, args);
    auto stub = AggregatedDiscoveryService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    auto stream = stub->StreamAggregatedResources(&context);
    DiscoveryRequest request;
    request.set_type_url(std::string(TypeUrl::kCluster));
    request.mutable_node()->set_id("sidecar-1");
    stream->Write(request);
    DiscoveryResponse got;
    if (stream->Read(&got)) {
      if (response != nullptr) {
        *response = got;
      }
      context.TryCancel();
      stream->Finish();
      return grpc::Status::OK;
    }
    return stream->Finish();
  }

  static fs::path* certs_;
  Stats::StoreImpl store_;
  SnapshotCache cache_;
  std::unique_ptr<AdsServer> ads_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

fs::path* GrpcServerTest::certs_ = nullptr;

TEST_F(GrpcServerTest, PlaintextByDefault) {
  start({});
  DiscoveryResponse response;
  ASSERT_TRUE(ask(grpc::InsecureChannelCredentials(), &response).ok());
  EXPECT_EQ(response.resources_size(), 1);
}

TEST_F(GrpcServerTest, Tls) {
  GrpcServerOptions options;
  options.tls_cert_file = cert("server.pem");
  options.tls_key_file = cert("server.key");
  start(options);

  DiscoveryResponse response;
  const grpc::Status ok = ask(tlsCredentials(), &response);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(response.type_url(), TypeUrl::kCluster);
  EXPECT_EQ(response.resources_size(), 1);
  // Without mutual TLS a client certificate is not asked for; one offered is simply not used.
  EXPECT_TRUE(ask(tlsCredentials("client")).ok());
  // A plaintext client cannot talk to a TLS server.
  EXPECT_EQ(ask(grpc::InsecureChannelCredentials()).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(GrpcServerTest, MutualTls) {
  GrpcServerOptions options;
  options.tls_cert_file = cert("server.pem");
  options.tls_key_file = cert("server.key");
  options.tls_client_ca_file = cert("ca.pem");
  start(options);

  // A client certificate from our CA: accepted, and /nodes shows who it is.
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto channel =
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_), tlsCredentials("client"), args);
  auto stub = AggregatedDiscoveryService::NewStub(channel);
  grpc::ClientContext context;
  auto stream = stub->StreamAggregatedResources(&context);
  DiscoveryRequest request;
  request.set_type_url(std::string(TypeUrl::kCluster));
  request.mutable_node()->set_id("sidecar-1");
  ASSERT_TRUE(stream->Write(request));
  DiscoveryResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.resources_size(), 1);
  const std::string nodes = ads_->nodesJson();
  EXPECT_NE(nodes.find("\"peer_identity\":\"sidecar-1\""), std::string::npos) << nodes;
  context.TryCancel();
  stream->Finish();

  // No client certificate, or one from another CA: the handshake fails.
  EXPECT_EQ(ask(tlsCredentials()).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ask(tlsCredentials("rogue")).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ask(grpc::InsecureChannelCredentials()).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(GrpcServerTest, BadCertificateFilesAreClearErrors) {
  GrpcServerOptions options;
  options.tls_cert_file = cert("nope.pem");
  options.tls_key_file = cert("server.key");
  auto credentials = serverCredentials(options);
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.status().message().find(
                absl::StrCat("--xds-tls-cert ", cert("nope.pem"), ": cannot open: ")),
            0)
      << credentials.status();

  // Key and certificate swapped.
  options.tls_cert_file = cert("server.key");
  options.tls_key_file = cert("server.pem");
  credentials = serverCredentials(options);
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.status().message(),
            absl::StrCat("--xds-tls-cert ", cert("server.key"),
                         ": not a PEM file with a CERTIFICATE block"));

  options.tls_cert_file = cert("server.pem");
  options.tls_key_file = cert("ca.pem");
  credentials = serverCredentials(options);
  ASSERT_FALSE(credentials.ok());
  EXPECT_NE(credentials.status().message().find("not a PEM file with a PRIVATE KEY block"),
            std::string::npos);

  options.tls_key_file = cert("server.key");
  options.tls_client_ca_file = cert("server.key");
  credentials = serverCredentials(options);
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.status().message().find("--xds-tls-client-ca "), 0);

  // A key that does not belong to the certificate: the server does not start.
  options.tls_client_ca_file.clear();
  options.tls_key_file = cert("client.key");
  options.address = "127.0.0.1:0";
  int port = 0;
  auto server = startGrpcServer(options, *ads_, port);
  EXPECT_FALSE(server.ok());
}

}  // namespace
}  // namespace Skiff::Control
