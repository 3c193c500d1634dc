// RouteConfigurations through skiff-control's admin API: POST /apply checks them with the group's
// files by the shared resource-set checks (the ones `skiffctl validate` runs), and what it
// accepts is served over RDS. The config directory is real files, the xDS server a real gRPC
// server on loopback with the test client of xds_test_client.h.

#include <event2/event.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/service/route/v3/rds.grpc.pb.h"
#include "gtest/gtest.h"
#include "source/common/stats/stats_impl.h"
#include "source/control/admin_api.h"
#include "source/control/ads_server.h"
#include "test/control/xds_test_client.h"

namespace Skiff::Control::Test {
namespace {

namespace fs = std::filesystem;
using envoy::service::route::v3::RouteDiscoveryService;
using Http::Admin::Method;
using Http::Admin::Request;
using Http::Admin::Response;

constexpr char kToken[] = "test-token-0123456789";

// Two static clusters, and a listener whose HTTP connection manager takes route configuration
// "web" over RDS.
constexpr char kGroupFiles[] = R"(resources:
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: backend_a
  connect_timeout: 0.25s
  load_assignment:
    cluster_name: backend_a
    endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8001}}}}]}]
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: backend_b
  connect_timeout: 0.25s
  load_assignment:
    cluster_name: backend_b
    endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8002}}}}]}]
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: http
  address: {socket_address: {address: 127.0.0.1, port_value: 10000}}
  filter_chains:
  - filters:
    - name: envoy.filters.network.http_connection_manager
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
        stat_prefix: http
        rds: {route_config_name: web, config_source: {ads: {}}}
        http_filters:
        - name: envoy.filters.http.router
          typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
)";

// A resources document with route configuration `name` sending everything to `cluster`.
std::string routeYaml(const std::string& name, const std::string& cluster) {
  return absl::StrCat(R"(resources:
- "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration
  name: )",
                      name, R"(
  virtual_hosts:
  - name: all
    domains: ["*"]
    routes:
    - match: {prefix: /}
      route: {cluster: )",
                      cluster, "}\n");
}

// The cluster the first route of `response`'s route configuration `name` sends to.
std::string routeCluster(const DiscoveryResponse& response, const std::string& name) {
  for (const auto& any : response.resources()) {
    envoy::config::route::v3::RouteConfiguration config;
    if (any.UnpackTo(&config) && config.name() == name) {
      return config.virtual_hosts(0).routes(0).route().cluster();
    }
  }
  return "";
}

class AppliedRoutesTest : public testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = fs::path(tmp != nullptr ? tmp : "/tmp") /
            absl::StrCat("applied_routes_",
                         testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "config" / "default");
    std::ofstream(root_ / "config" / "default" / "group.yaml") << kGroupFiles;
    std::ofstream(root_ / "config" / "default" / "routes.yaml") << routeYaml("web", "backend_a");
    std::ofstream(root_ / "token") << kToken << "\n";

    auto credentials = AdminCredentials::create((root_ / "token").string(), store_);
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    credentials_ = std::move(*credentials);
    source_ = std::make_unique<ConfigDirSource>((root_ / "config").string(), cache_, store_);
    ASSERT_TRUE(source_->reload().ok());
    base_ = event_base_new();
    admin_ = std::make_unique<Http::Admin::AdminServer>(*base_);
    admin_->setRequestFilter([this](const Request& r) { return credentials_->check(r); });
    registerResourceApi(*admin_, *source_, cache_, *credentials_);

    ads_ = std::make_unique<AdsServer>(cache_, store_);
    int port = 0;
    auto server = startGrpcServer("127.0.0.1:0", *ads_, port);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    rds_stub_ = RouteDiscoveryService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    ads_->closeAllStreams();
    server_->Shutdown(std::chrono::system_clock::now() + 2s);
    admin_.reset();
    source_.reset();
    event_base_free(base_);
    fs::remove_all(root_);
  }

  Response apply(const std::string& body, const std::string& source) {
    Request request;
    request.method = Method::Post;
    request.path = "/apply";
    request.query = {{"group", "default"}, {"source", source}};
    request.body = body;
    request.headers.emplace("authorization", absl::StrCat("Bearer ", kToken));
    return admin_->handle(request);
  }

  // A stream of the per-type RouteDiscoveryService.
  std::unique_ptr<SotwStream> rds() {
    return std::make_unique<SotwStream>(
        [this](grpc::ClientContext* context) { return rds_stub_->StreamRoutes(context); });
  }

  std::string version() { return cache_.getSnapshot("default")->version(); }

  fs::path root_;
  Stats::StoreImpl store_;
  SnapshotCache cache_;
  std::unique_ptr<AdminCredentials> credentials_;
  std::unique_ptr<ConfigDirSource> source_;
  event_base* base_ = nullptr;
  std::unique_ptr<Http::Admin::AdminServer> admin_;
  std::unique_ptr<AdsServer> ads_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<RouteDiscoveryService::Stub> rds_stub_;
};

TEST_F(AppliedRoutesTest, RouteToUnknownClusterIsRejectedValidOneIsServedOverRds) {
  auto stream = rds();
  ASSERT_TRUE(stream->send(request(kRds, {"web"})));
  auto first = stream->next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(routeCluster(*first, "web"), "backend_a");
  ASSERT_TRUE(stream->send(ack(*first, {"web"})));
  const std::string files_version = version();

  // The applied route names a cluster the group lacks: 400 with file, line, resource, field and
  // reason; nothing changes and nothing is pushed.
  Response response = apply(routeYaml("web", "backend_x"), "web.yaml");
  EXPECT_EQ(response.code, 400) << response.body;
  EXPECT_TRUE(absl::StrContains(response.body,
                                "web.yaml:2: route configuration \\\"web\\\".virtual_hosts[0]."
                                "routes[0].route.cluster: unknown cluster \\\"backend_x\\\""))
      << response.body;
  EXPECT_EQ(version(), files_version);
  EXPECT_TRUE(source_->applied("default").empty());
  EXPECT_TRUE(stream->quiet());

  // A valid one overrides the file's route configuration and reaches the RDS client.
  response = apply(routeYaml("web", "backend_b"), "web.yaml");
  ASSERT_EQ(response.code, 200) << response.body;
  EXPECT_TRUE(absl::StrContains(response.body,
                                "\"kind\":\"route\",\"name\":\"web\","
                                "\"action\":\"configured\",\"overrides\":"))
      << response.body;
  EXPECT_NE(version(), files_version);
  auto pushed = stream->next();
  ASSERT_TRUE(pushed.has_value());
  EXPECT_EQ(pushed->type_url(), kRds);
  EXPECT_EQ(names(*pushed), Names{"web"});
  EXPECT_EQ(routeCluster(*pushed, "web"), "backend_b");
  EXPECT_EQ(pushed->version_info(),
            resourceSetVersion(cache_.getSnapshot("default")->resources(kRds)));
  ASSERT_TRUE(stream->send(ack(*pushed, {"web"})));
  EXPECT_TRUE(stream->quiet());
}

TEST_F(AppliedRoutesTest, RouteThatOnlyTheAppliedLayerHasIsServedToItsSubscriber) {
  auto stream = rds();
  ASSERT_TRUE(stream->send(request(kRds, {"extra"})));
  auto first = stream->next();
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(names(*first).empty());
  ASSERT_TRUE(stream->send(ack(*first, {"extra"})));

  ASSERT_EQ(apply(routeYaml("extra", "backend_b"), "extra.yaml").code, 200);
  auto pushed = stream->next();
  ASSERT_TRUE(pushed.has_value());
  EXPECT_EQ(routeCluster(*pushed, "extra"), "backend_b");
  ASSERT_TRUE(stream->send(ack(*pushed, {"extra"})));

  // A file change re-validates the group with the applied layer (once): a route of the files
  // that breaks is rejected, and the applied route keeps being served as it is.
  std::ofstream(root_ / "config" / "default" / "routes.yaml") << routeYaml("web", "gone");
  ASSERT_TRUE(source_->reload().ok());
  EXPECT_EQ(store_.counter("control_plane.config.rejected").value(), 1);
  ASSERT_TRUE(source_->reload().ok());
  EXPECT_EQ(store_.counter("control_plane.config.rejected").value(), 1);
  EXPECT_TRUE(stream->quiet());
}

}  // namespace
}  // namespace Skiff::Control::Test
