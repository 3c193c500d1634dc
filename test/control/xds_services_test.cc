// skiff-control's per-type xDS services (LDS, CDS, EDS, RDS; SotW and delta) and the
// RouteConfiguration type end to end: a real gRPC server on loopback, a raw test client.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "envoy/service/cluster/v3/cds.grpc.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "envoy/service/endpoint/v3/eds.grpc.pb.h"
#include "envoy/service/listener/v3/lds.grpc.pb.h"
#include "envoy/service/route/v3/rds.grpc.pb.h"
#include "gtest/gtest.h"
#include "source/common/stats/stats_impl.h"
#include "source/control/ads_server.h"
#include "test/control/test_resources.h"
#include "test/control/xds_test_client.h"

namespace Skiff::Control::Test {
namespace {

using envoy::service::cluster::v3::ClusterDiscoveryService;
using envoy::service::discovery::v3::AggregatedDiscoveryService;
using envoy::service::endpoint::v3::EndpointDiscoveryService;
using envoy::service::listener::v3::ListenerDiscoveryService;
using envoy::service::route::v3::RouteDiscoveryService;

using Seen = std::pair<std::string, Names>;

class XdsServicesTest : public testing::Test {
 protected:
  void SetUp() override {
    ads_ = std::make_unique<AdsServer>(cache_, store_);
    int port = 0;
    auto server = startGrpcServer("127.0.0.1:0", *ads_, port);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    ads_stub_ = AggregatedDiscoveryService::NewStub(channel_);
    lds_stub_ = ListenerDiscoveryService::NewStub(channel_);
    cds_stub_ = ClusterDiscoveryService::NewStub(channel_);
    eds_stub_ = EndpointDiscoveryService::NewStub(channel_);
    rds_stub_ = RouteDiscoveryService::NewStub(channel_);
  }

  void TearDown() override {
    ads_->closeAllStreams();
    server_->Shutdown(std::chrono::system_clock::now() + 2s);
  }

  // A SotW stream of the service serving `type_url` ("" = ADS).
  std::unique_ptr<SotwStream> sotw(const std::string& type_url) {
    return std::make_unique<SotwStream>([this, type_url](grpc::ClientContext* context) {
      if (type_url == kLds) return lds_stub_->StreamListeners(context);
      if (type_url == kCds) return cds_stub_->StreamClusters(context);
      if (type_url == kEds) return eds_stub_->StreamEndpoints(context);
      if (type_url == kRds) return rds_stub_->StreamRoutes(context);
      return ads_stub_->StreamAggregatedResources(context);
    });
  }
  std::unique_ptr<DeltaStream> delta(const std::string& type_url) {
    return std::make_unique<DeltaStream>([this, type_url](grpc::ClientContext* context) {
      if (type_url == kLds) return lds_stub_->DeltaListeners(context);
      if (type_url == kCds) return cds_stub_->DeltaClusters(context);
      if (type_url == kEds) return eds_stub_->DeltaEndpoints(context);
      if (type_url == kRds) return rds_stub_->DeltaRoutes(context);
      return ads_stub_->DeltaAggregatedResources(context);
    });
  }

  // The gRPC-client shaped group: listener "echo" -> route "echo-routes" -> cluster `cluster`.
  SnapshotConstSharedPtr grpcGroup(const std::string& cluster_name, int port) {
    return snapshot(apiListener("echo", "echo-routes"), route("echo-routes", cluster_name),
                    cluster(cluster_name), endpoints(cluster_name, port));
  }

  Stats::StoreImpl store_;
  SnapshotCache cache_;
  std::unique_ptr<AdsServer> ads_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<AggregatedDiscoveryService::Stub> ads_stub_;
  std::unique_ptr<ListenerDiscoveryService::Stub> lds_stub_;
  std::unique_ptr<ClusterDiscoveryService::Stub> cds_stub_;
  std::unique_ptr<EndpointDiscoveryService::Stub> eds_stub_;
  std::unique_ptr<RouteDiscoveryService::Stub> rds_stub_;
};

TEST_F(XdsServicesTest, EachPerTypeSotwServiceServesItsType) {
  cache_.setSnapshot("default", grpcGroup("c1", 8001));
  const std::vector<std::pair<std::string, Names>> cases = {
      {kLds, {"echo"}}, {kCds, {"c1"}}, {kEds, {"c1"}}, {kRds, {"echo-routes"}}};
  for (const auto& [type_url, expected] : cases) {
    SCOPED_TRACE(type_url);
    auto stream = sotw(type_url);
    // The type is implied by the service: an empty type_url is fine. EDS and RDS name resources.
    const bool named = type_url == kEds || type_url == kRds;
    ASSERT_TRUE(stream->send(request("", named ? expected : Names{})));
    auto response = stream->next();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->type_url(), type_url);
    EXPECT_EQ(names(*response), expected);
    ASSERT_TRUE(stream->send(ack(*response, named ? expected : Names{})));
    EXPECT_TRUE(stream->quiet());
  }
  EXPECT_EQ(store_.counter("control_plane.ads.acks").value(), 4);
}

TEST_F(XdsServicesTest, EachPerTypeDeltaServiceServesItsType) {
  cache_.setSnapshot("default", grpcGroup("c1", 8001));
  const std::vector<std::pair<std::string, Names>> cases = {
      {kLds, {"echo"}}, {kCds, {"c1"}}, {kEds, {"c1"}}, {kRds, {"echo-routes"}}};
  for (const auto& [type_url, expected] : cases) {
    SCOPED_TRACE(type_url);
    auto stream = delta(type_url);
    const bool named = type_url == kEds || type_url == kRds;
    Names subscribe = named ? expected : Names{"*"};
    if (named) {
      subscribe.push_back("missing");
    }
    ASSERT_TRUE(stream->send(deltaRequest(type_url, subscribe)));
    auto response = stream->next();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->type_url(), type_url);
    EXPECT_EQ(keys(deltaResources(*response)), expected);
    EXPECT_EQ(removed(*response), named ? Names{"missing"} : Names{});
    ASSERT_TRUE(stream->send(deltaAck(*response)));
    EXPECT_TRUE(stream->quiet());
  }
}

TEST_F(XdsServicesTest, PerTypeStreamRejectsAnotherTypeWithAClearError) {
  cache_.setSnapshot("default", grpcGroup("c1", 8001));
  auto stream = sotw(kCds);
  ASSERT_TRUE(stream->send(request(kLds)));
  grpc::Status status = stream->status();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "this cds stream serves only type.googleapis.com/envoy.config.cluster.v3.Cluster, not "
            "type.googleapis.com/envoy.config.listener.v3.Listener (use its own service or ADS)");

  auto delta_stream = delta(kRds);
  ASSERT_TRUE(delta_stream->send(deltaRequest(kEds, {"c1"})));
  status = delta_stream->status();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("serves only " + kRds), std::string::npos);
  EXPECT_EQ(store_.counter("control_plane.ads.protocol_errors").value(), 2);
}

TEST_F(XdsServicesTest, PerTypeStreamsOfOneNodeAreIndependent) {
  cache_.setSnapshot("default", grpcGroup("c1", 8001));
  auto cds = sotw(kCds);
  auto lds = sotw(kLds);
  ASSERT_TRUE(cds->send(request(kCds)));
  ASSERT_TRUE(lds->send(request(kLds)));
  auto clusters = cds->next();
  auto listeners = lds->next();
  ASSERT_TRUE(clusters.has_value() && listeners.has_value());
  // The CDS stream NACKs; the LDS stream ACKs. Neither resends.
  ASSERT_TRUE(cds->send(nack(*clusters, "", "no thanks")));
  ASSERT_TRUE(lds->send(ack(*listeners)));
  EXPECT_TRUE(cds->quiet());
  EXPECT_TRUE(lds->quiet());
  const std::string nodes = ads_->nodesJson();
  EXPECT_NE(nodes.find("\"service\":\"cds\""), std::string::npos) << nodes;
  EXPECT_NE(nodes.find("\"service\":\"lds\""), std::string::npos) << nodes;
  EXPECT_NE(nodes.find("no thanks"), std::string::npos) << nodes;

  // A cluster change goes to the CDS stream only (the listener is unchanged).
  cache_.setSnapshot("default",
                     snapshot(apiListener("echo", "echo-routes"), route("echo-routes", "c1"),
                              cluster("c1", "2s"), endpoints("c1", 8001)));
  auto update = cds->next();
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(update->type_url(), kCds);
  EXPECT_NE(update->version_info(), clusters->version_info());
  EXPECT_TRUE(lds->quiet());
}

TEST_F(XdsServicesTest, AdsPushesRoutesAfterListenersAndDropsOldClustersLast) {
  cache_.setSnapshot("default", grpcGroup("c1", 8001));
  auto stream = sotw("");
  // Subscribed the way gRPC does: listener by name, then its route, cluster and endpoints.
  const std::vector<std::pair<std::string, Names>> subscriptions = {
      {kLds, {"echo"}}, {kRds, {"echo-routes"}}, {kCds, {"c1", "c2"}}, {kEds, {"c1", "c2"}}};
  for (const auto& [type_url, resource_names] : subscriptions) {
    ASSERT_TRUE(stream->send(request(type_url, resource_names)));
    auto response = stream->next();
    ASSERT_TRUE(response.has_value()) << type_url;
    ASSERT_TRUE(stream->send(ack(*response, resource_names)));
  }
  EXPECT_TRUE(stream->quiet());

  // The route moves to a new cluster c2 and c1 goes away.
  cache_.setSnapshot("default", grpcGroup("c2", 8002));
  std::vector<Seen> seen;
  for (int i = 0; i < 4; ++i) {
    auto response = stream->next();
    ASSERT_TRUE(response.has_value()) << "response " << i;
    seen.emplace_back(response->type_url(), names(*response));
    Names resource_names;
    for (const auto& [type_url, subscribed] : subscriptions) {
      if (type_url == response->type_url()) {
        resource_names = subscribed;
      }
    }
    ASSERT_TRUE(stream->send(ack(*response, resource_names)));
    if (response->type_url() == kRds) {
      envoy::config::route::v3::RouteConfiguration config;
      ASSERT_TRUE(response->resources(0).UnpackTo(&config));
      EXPECT_EQ(config.virtual_hosts(0).routes(0).route().cluster(), "c2");
    }
  }
  EXPECT_TRUE(stream->quiet());
  // c2 added while c1 is kept, its endpoints, the route switch, then c1 dropped.
  EXPECT_EQ(seen[0], (Seen{kCds, {"c1", "c2"}}));
  EXPECT_EQ(seen[1], (Seen{kEds, {"c2"}}));
  EXPECT_EQ(seen[2], (Seen{kRds, {"echo-routes"}}));
  EXPECT_EQ(seen[3], (Seen{kCds, {"c2"}}));
}

TEST_F(XdsServicesTest, DeltaAdsRemovesReferrersFirst) {
  cache_.setSnapshot("default", grpcGroup("c1", 8001));
  auto stream = delta("");
  const std::vector<std::pair<std::string, Names>> subscriptions = {
      {kLds, {"*"}}, {kRds, {"echo-routes"}}, {kCds, {"*"}}, {kEds, {"c1"}}};
  for (const auto& [type_url, resource_names] : subscriptions) {
    ASSERT_TRUE(stream->send(deltaRequest(type_url, resource_names)));
    auto response = stream->next();
    ASSERT_TRUE(response.has_value()) << type_url;
    ASSERT_TRUE(stream->send(deltaAck(*response)));
  }
  EXPECT_TRUE(stream->quiet());

  // Everything goes away except an unrelated cluster.
  cache_.setSnapshot("default", snapshot(cluster("other"), endpoints("other", 9000)));
  std::vector<Seen> seen;
  for (int i = 0; i < 5; ++i) {
    auto response = stream->next();
    ASSERT_TRUE(response.has_value()) << "response " << i;
    Names what = keys(deltaResources(*response));
    for (const auto& name : removed(*response)) {
      what.push_back("-" + name);
    }
    seen.emplace_back(response->type_url(), what);
    ASSERT_TRUE(stream->send(deltaAck(*response)));
  }
  EXPECT_TRUE(stream->quiet());
  // Additions first, then removals referrer first: listener, its route, the cluster, then the
  // cluster's endpoints (EDS was subscribed to c1 by name).
  EXPECT_EQ(seen[0], (Seen{kCds, {"other"}}));
  EXPECT_EQ(seen[1], (Seen{kLds, {"-echo"}}));
  EXPECT_EQ(seen[2], (Seen{kRds, {"-echo-routes"}}));
  EXPECT_EQ(seen[3], (Seen{kCds, {"-c1"}}));
  EXPECT_EQ(seen[4], (Seen{kEds, {"-c1"}}));
}

}  // namespace
}  // namespace Skiff::Control::Test
