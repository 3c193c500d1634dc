// Protocol tests of skiff-control's ADS server: a real gRPC server on loopback, driven by a test
// client that writes raw DiscoveryRequests and reads raw DiscoveryResponses. No mocks.

#include "source/control/ads_server.h"

#include <chrono>
#include <thread>

#include "gtest/gtest.h"
#include "source/common/stats/stats_impl.h"
#include "test/control/test_resources.h"
#include "test/control/xds_test_client.h"

namespace Skiff::Control::Test {
namespace {

using envoy::service::discovery::v3::AggregatedDiscoveryService;

class AdsServerTest : public testing::Test {
 protected:
  void SetUp() override {
    ads_ = std::make_unique<AdsServer>(cache_, store_);
    int port = 0;
    auto server = startGrpcServer("127.0.0.1:0", *ads_, port);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = AggregatedDiscoveryService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    ads_->closeAllStreams();
    server_->Shutdown(std::chrono::system_clock::now() + 2s);
  }

  std::unique_ptr<SotwStream> sotw() {
    return std::make_unique<SotwStream>(
        [this](grpc::ClientContext* context) { return stub_->StreamAggregatedResources(context); });
  }
  std::unique_ptr<DeltaStream> delta() {
    return std::make_unique<DeltaStream>(
        [this](grpc::ClientContext* context) { return stub_->DeltaAggregatedResources(context); });
  }

  // Subscribes `stream` to `type_url` and returns the first response (ACKed).
  DiscoveryResponse subscribe(SotwStream& stream, const std::string& type_url,
                              std::vector<std::string> resource_names = {}) {
    EXPECT_TRUE(stream.send(request(type_url, resource_names)));
    auto response = stream.next();
    EXPECT_TRUE(response.has_value()) << "no response for " << type_url;
    if (!response) {
      return {};
    }
    EXPECT_EQ(response->type_url(), type_url);
    EXPECT_TRUE(stream.send(ack(*response, resource_names)));
    return *response;
  }

  Stats::StoreImpl store_;
  SnapshotCache cache_;
  std::unique_ptr<AdsServer> ads_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<AggregatedDiscoveryService::Stub> stub_;
};

TEST_F(AdsServerTest, InitialRequestAndAckDoNotRepeat) {
  cache_.setSnapshot("default", snapshot(cluster("c1"), cluster("c2")));
  auto stream = sotw();
  ASSERT_TRUE(stream->send(request(kCds)));
  auto response = stream->next();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->type_url(), kCds);
  EXPECT_EQ(names(*response), (Names{"c1", "c2"}));
  EXPECT_FALSE(response->version_info().empty());
  EXPECT_FALSE(response->nonce().empty());
  EXPECT_EQ(response->control_plane().identifier(), "skiff-control");
  ASSERT_TRUE(stream->send(ack(*response)));
  EXPECT_TRUE(stream->quiet());
  EXPECT_EQ(store_.counter("control_plane.ads.acks").value(), 1);

  // A new snapshot with the same clusters (e.g. a comment changed) sends nothing.
  cache_.setSnapshot("default", snapshot(cluster("c1"), cluster("c2")));
  EXPECT_TRUE(stream->quiet());
  // A changed cluster sends the complete set again, with a new version and nonce.
  cache_.setSnapshot("default", snapshot(cluster("c1", "2s"), cluster("c2")));
  auto update = stream->next();
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(names(*update), (Names{"c1", "c2"}));
  EXPECT_NE(update->version_info(), response->version_info());
  EXPECT_NE(update->nonce(), response->nonce());
}

TEST_F(AdsServerTest, WaitsForASnapshotThenAnswers) {
  auto stream = sotw();
  ASSERT_TRUE(stream->send(request(kLds)));
  EXPECT_TRUE(stream->quiet());
  cache_.setSnapshot("default", snapshot(cluster("c1")));
  // An empty listener set is still an answer: the sidecar learns it has no listeners.
  auto response = stream->next();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->type_url(), kLds);
  EXPECT_EQ(response->resources_size(), 0);
  EXPECT_FALSE(response->version_info().empty());
}

TEST_F(AdsServerTest, NackedVersionIsNotResentButTheNextOneIs) {
  cache_.setSnapshot("default", snapshot(cluster("c1"), listener("l1", 10001, "c1")));
  auto stream = sotw();
  subscribe(*stream, kCds);
  ASSERT_TRUE(stream->send(request(kLds)));
  auto first = stream->next();
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(stream->send(nack(*first, "", "listener l1: port in use")));
  EXPECT_TRUE(stream->quiet());
  // An unrelated change (clusters only) does not resend the rejected listeners.
  cache_.setSnapshot("default",
                     snapshot(cluster("c1"), cluster("c2"), listener("l1", 10001, "c1")));
  auto cds = stream->next();
  ASSERT_TRUE(cds.has_value());
  EXPECT_EQ(cds->type_url(), kCds);
  ASSERT_TRUE(stream->send(ack(*cds)));
  EXPECT_TRUE(stream->quiet());
  EXPECT_NE(ads_->nodesJson().find("listener l1: port in use"), std::string::npos)
      << ads_->nodesJson();

  // The fixed listener is sent.
  cache_.setSnapshot("default",
                     snapshot(cluster("c1"), cluster("c2"), listener("l1", 10002, "c1")));
  auto fixed = stream->next();
  ASSERT_TRUE(fixed.has_value());
  EXPECT_EQ(fixed->type_url(), kLds);
  EXPECT_NE(fixed->version_info(), first->version_info());
  ASSERT_TRUE(stream->send(ack(*fixed)));
  EXPECT_TRUE(stream->quiet());
  EXPECT_EQ(store_.counter("control_plane.ads.nacks").value(), 1);
}

TEST_F(AdsServerTest, StaleNonceIsIgnored) {
  cache_.setSnapshot("default", snapshot(cluster("c1"), cluster("c2")));
  auto stream = sotw();
  ASSERT_TRUE(stream->send(request(kCds)));
  auto first = stream->next();
  ASSERT_TRUE(first.has_value());
  cache_.setSnapshot("default", snapshot(cluster("c1"), cluster("c2"), cluster("c3")));
  auto second = stream->next();
  ASSERT_TRUE(second.has_value());
  // Answers the first response after the second was sent: ignored, even though it would change
  // the subscription (which would otherwise produce a response).
  ASSERT_TRUE(stream->send(ack(*first, {"c1"})));
  EXPECT_TRUE(stream->quiet());
  EXPECT_EQ(store_.counter("control_plane.ads.stale_nonces").value(), 1);
  // The current nonce is accepted.
  ASSERT_TRUE(stream->send(ack(*second, {"c1"})));
  auto narrowed = stream->next();
  ASSERT_TRUE(narrowed.has_value());
  EXPECT_EQ(names(*narrowed), (Names{"c1"}));
}

TEST_F(AdsServerTest, WildcardAndNamedSubscriptions) {
  cache_.setSnapshot("default", snapshot(cluster("c1"), cluster("c2"), endpoints("c1", 8001),
                                         endpoints("c2", 8002)));
  auto stream = sotw();
  // "*" is the explicit wildcard.
  auto cds = subscribe(*stream, kCds, {"*"});
  EXPECT_EQ(names(cds), (Names{"c1", "c2"}));
  // EDS carries only the requested names.
  auto eds = subscribe(*stream, kEds, {"c1", "missing"});
  EXPECT_EQ(names(eds), (Names{"c1"}));
  EXPECT_TRUE(stream->quiet());
  // A requested name that appears later is sent when it is created.
  cache_.setSnapshot("default", snapshot(cluster("c1"), cluster("c2"), endpoints("c1", 8001),
                                         endpoints("c2", 8002), endpoints("missing", 8003)));
  auto later = stream->next();
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->type_url(), kEds);
  EXPECT_EQ(names(*later), (Names{"c1", "missing"}));
  ASSERT_TRUE(stream->send(ack(*later, {"c1", "missing"})));
  // Adding a name re-sends the set with the new name.
  ASSERT_TRUE(stream->send(ack(*later, {"c1", "c2", "missing"})));
  auto grown = stream->next();
  ASSERT_TRUE(grown.has_value());
  EXPECT_EQ(names(*grown), (Names{"c1", "c2", "missing"}));
}

TEST_F(AdsServerTest, EmptyNamesAfterNamedSubscriptionIsNotWildcard) {
  cache_.setSnapshot("default", snapshot(cluster("c1"), cluster("c2")));
  auto stream = sotw();
  auto named = subscribe(*stream, kCds, {"c1"});
  EXPECT_EQ(names(named), (Names{"c1"}));
  // Legacy rule: empty is wildcard only if no name was ever sent; now it unsubscribes everything.
  ASSERT_TRUE(stream->send(ack(named, {})));
  auto empty = stream->next();
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->resources_size(), 0);
}

TEST_F(AdsServerTest, PushesClustersThenEndpointsThenListeners) {
  cache_.setSnapshot("default",
                     snapshot(cluster("c1"), endpoints("c1", 8001), listener("l1", 10001, "c1")));
  auto stream = sotw();
  // Subscribed in the "wrong" order on purpose.
  subscribe(*stream, kLds);
  subscribe(*stream, kCds);
  subscribe(*stream, kEds, {"c1", "c2"});
  EXPECT_TRUE(stream->quiet());

  // l1 moves to a new cluster c2 and c1 goes away.
  cache_.setSnapshot("default",
                     snapshot(cluster("c2"), endpoints("c2", 8002), listener("l1", 10001, "c2")));
  std::vector<std::pair<std::string, Names>> seen;
  for (int i = 0; i < 4; ++i) {
    auto response = stream->next();
    ASSERT_TRUE(response.has_value()) << "response " << i;
    seen.emplace_back(response->type_url(), names(*response));
    ASSERT_TRUE(stream->send(ack(*response, response->type_url() == kEds
                                                ? std::vector<std::string>{"c1", "c2"}
                                                : std::vector<std::string>{})));
  }
  EXPECT_TRUE(stream->quiet());
  // Make-before-break: c2 added while c1 is kept, endpoints, the listener switch, then c1 dropped.
  EXPECT_EQ(seen[0], (std::pair<std::string, Names>{kCds, {"c1", "c2"}}));
  EXPECT_EQ(seen[1], (std::pair<std::string, Names>{kEds, {"c2"}}));
  EXPECT_EQ(seen[2], (std::pair<std::string, Names>{kLds, {"l1"}}));
  EXPECT_EQ(seen[3], (std::pair<std::string, Names>{kCds, {"c2"}}));
}

TEST_F(AdsServerTest, MissingTypeUrlClosesTheStream) {
  cache_.setSnapshot("default", snapshot(cluster("c1")));
  auto stream = sotw();
  ASSERT_TRUE(stream->send(request("")));
  const grpc::Status status = stream->status();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "type URL is required for ADS");
}

TEST_F(AdsServerTest, MissingNodeOnFirstRequestClosesTheStream) {
  auto stream = sotw();
  ASSERT_TRUE(stream->send(request(kCds, {}, "", "", /*node_id=*/"")));
  const grpc::Status status = stream->status();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("node"), std::string::npos);
}

TEST_F(AdsServerTest, NodeIsOnlyNeededOnTheFirstRequest) {
  cache_.setSnapshot("default", snapshot(cluster("c1"), listener("l1", 10001, "c1")));
  auto stream = sotw();
  subscribe(*stream, kCds);
  ASSERT_TRUE(stream->send(request(kLds, {}, "", "", /*node_id=*/"")));
  auto response = stream->next();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(names(*response), (Names{"l1"}));
}

TEST_F(AdsServerTest, UnknownTypeGetsAnEmptyResponse) {
  auto stream = sotw();
  const std::string secret = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
  ASSERT_TRUE(stream->send(request(secret, {"cert"})));
  auto response = stream->next();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->type_url(), secret);
  EXPECT_EQ(response->version_info(), "");
  EXPECT_EQ(response->resources_size(), 0);
  EXPECT_FALSE(response->nonce().empty());
  ASSERT_TRUE(stream->send(ack(*response, {"cert"})));
  EXPECT_TRUE(stream->quiet());
}

TEST_F(AdsServerTest, ReconnectWithCurrentVersionGetsNothingNew) {
  cache_.setSnapshot("default", snapshot(cluster("c1")));
  std::string version;
  {
    auto stream = sotw();
    version = subscribe(*stream, kCds).version_info();
  }
  auto stream = sotw();
  ASSERT_TRUE(stream->send(request(kCds, {}, version)));
  EXPECT_TRUE(stream->quiet());
  // ...but it gets the next change.
  cache_.setSnapshot("default", snapshot(cluster("c1"), cluster("c2")));
  auto response = stream->next();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(names(*response), (Names{"c1", "c2"}));

  // A client reporting an old version gets the current one at once.
  auto other = sotw();
  ASSERT_TRUE(other->send(request(kCds, {}, version)));
  auto current = other->next();
  ASSERT_TRUE(current.has_value());
  EXPECT_EQ(current->version_info(), response->version_info());
}

TEST_F(AdsServerTest, NodesArePlacedInTheirGroups) {
  cache_.setSnapshot("default", snapshot(cluster("shared")));
  cache_.setSnapshot("sidecar-2", snapshot(cluster("own")));
  auto first = sotw();
  EXPECT_EQ(names(subscribe(*first, kCds)), (Names{"shared"}));
  auto second = sotw();
  ASSERT_TRUE(second->send(request(kCds, {}, "", "", "sidecar-2")));
  auto own = second->next();
  ASSERT_TRUE(own.has_value());
  EXPECT_EQ(names(*own), (Names{"own"}));
  // The group goes away: sidecar-2 falls back to default.
  ASSERT_TRUE(second->send(ack(*own)));
  cache_.clearSnapshot("sidecar-2");
  auto fallback = second->next();
  ASSERT_TRUE(fallback.has_value());
  EXPECT_EQ(names(*fallback), (Names{"shared"}));
  EXPECT_TRUE(first->quiet(100ms));
  const std::string nodes = ads_->nodesJson();
  EXPECT_NE(nodes.find("\"node_id\":\"sidecar-2\",\"node_cluster\":\"test\",\"group\":\"default\""),
            std::string::npos)
      << nodes;
}

TEST_F(AdsServerTest, ShutdownClosesStreamsWithUnavailable) {
  cache_.setSnapshot("default", snapshot(cluster("c1")));
  auto stream = sotw();
  subscribe(*stream, kCds);
  ads_->closeAllStreams();
  EXPECT_EQ(stream->status().error_code(), grpc::StatusCode::UNAVAILABLE);
}

// Many sidecars on one server: every stream gets the change, in order, and is ACKed.
TEST_F(AdsServerTest, ManyStreamsAllGetTheUpdate) {
  cache_.setSnapshot("default", snapshot(cluster("c1"), listener("l1", 10001, "c1")));
  constexpr int kStreams = 200;
  std::vector<std::unique_ptr<SotwStream>> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(sotw());
    ASSERT_TRUE(streams.back()->send(request(kCds, {}, "", "", absl::StrCat("sidecar-", i))));
  }
  for (auto& stream : streams) {
    auto response = stream->next();
    ASSERT_TRUE(response.has_value());
    ASSERT_TRUE(stream->send(ack(*response)));
    ASSERT_TRUE(stream->send(request(kLds)));
    auto lds = stream->next();
    ASSERT_TRUE(lds.has_value());
    ASSERT_TRUE(stream->send(ack(*lds)));
  }
  cache_.setSnapshot("default",
                     snapshot(cluster("c1"), cluster("c2"), listener("l1", 10001, "c2")));
  for (auto& stream : streams) {
    auto cds = stream->next();
    auto lds = stream->next();
    ASSERT_TRUE(cds.has_value() && lds.has_value());
    EXPECT_EQ(cds->type_url(), kCds);
    EXPECT_EQ(lds->type_url(), kLds);
  }
  EXPECT_EQ(ads_->streamCount(), kStreams);
}

// ---- Delta ----------------------------------------------------------------------------------

TEST_F(AdsServerTest, DeltaWildcardSendsOnlyChanges) {
  cache_.setSnapshot("default", snapshot(cluster("c1"), cluster("c2")));
  auto stream = delta();
  ASSERT_TRUE(stream->send(deltaRequest(kCds, {"*"})));
  auto first = stream->next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(keys(deltaResources(*first)), (Names{"c1", "c2"}));
  EXPECT_FALSE(first->nonce().empty());
  ASSERT_TRUE(stream->send(deltaAck(*first)));
  EXPECT_TRUE(stream->quiet());

  // c1 changes, c2 goes, c3 arrives: only c1 and c3 are sent, c2 is removed.
  cache_.setSnapshot("default", snapshot(cluster("c1", "3s"), cluster("c3")));
  auto update = stream->next();
  ASSERT_TRUE(update.has_value());
  EXPECT_EQ(keys(deltaResources(*update)), (Names{"c1", "c3"}));
  ASSERT_TRUE(stream->send(deltaAck(*update)));
  auto removal = stream->next();
  ASSERT_TRUE(removal.has_value());
  EXPECT_EQ(removed(*removal), (Names{"c2"}));
  EXPECT_EQ(removal->resources_size(), 0);
  ASSERT_TRUE(stream->send(deltaAck(*removal)));
  EXPECT_TRUE(stream->quiet());
}

TEST_F(AdsServerTest, DeltaSubscribeUnsubscribeAndMissingNames) {
  cache_.setSnapshot("default",
                     snapshot(cluster("c1"), endpoints("c1", 8001), endpoints("c2", 8002)));
  auto stream = delta();
  ASSERT_TRUE(stream->send(deltaRequest(kEds, {"c1", "nope"})));
  auto first = stream->next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(keys(deltaResources(*first)), (Names{"c1"}));
  EXPECT_EQ(removed(*first), (Names{"nope"}));
  ASSERT_TRUE(stream->send(deltaAck(*first)));

  // Subscribing adds c2 only; re-subscribing c1 must be answered even though the client has it.
  ASSERT_TRUE(stream->send(deltaRequest(kEds, {"c2", "c1"})));
  auto second = stream->next();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(keys(deltaResources(*second)), (Names{"c1", "c2"}));
  EXPECT_TRUE(removed(*second).empty());
  ASSERT_TRUE(stream->send(deltaAck(*second)));

  // After unsubscribing c1, changes to it are not sent.
  ASSERT_TRUE(stream->send(deltaRequest(kEds, {}, {"c1"})));
  EXPECT_TRUE(stream->quiet());
  cache_.setSnapshot("default", snapshot(cluster("c1"), endpoints("c1", 9001),
                                         endpoints("c2", 8002), endpoints("nope", 8003)));
  // ...but the missing name that now exists is.
  auto created = stream->next();
  ASSERT_TRUE(created.has_value());
  EXPECT_EQ(keys(deltaResources(*created)), (Names{"nope"}));
  ASSERT_TRUE(stream->send(deltaAck(*created)));
  EXPECT_TRUE(stream->quiet());
}

TEST_F(AdsServerTest, DeltaInitialResourceVersionsSkipWhatTheClientHas) {
  cache_.setSnapshot("default", snapshot(cluster("c1"), cluster("c2")));
  std::map<std::string, std::string> versions;
  {
    auto stream = delta();
    ASSERT_TRUE(stream->send(deltaRequest(kCds, {"*"})));
    auto first = stream->next();
    ASSERT_TRUE(first.has_value());
    versions = deltaResources(*first);
  }
  cache_.setSnapshot("default", snapshot(cluster("c1"), cluster("c2", "5s")));
  auto stream = delta();
  auto reconnect = deltaRequest(kCds, {"*"});
  (*reconnect.mutable_initial_resource_versions())["c1"] = versions["c1"];
  (*reconnect.mutable_initial_resource_versions())["c2"] = versions["c2"];
  (*reconnect.mutable_initial_resource_versions())["gone"] = "abc";
  ASSERT_TRUE(stream->send(reconnect));
  auto response = stream->next();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(keys(deltaResources(*response)), (Names{"c2"}));
  EXPECT_EQ(removed(*response), (Names{"gone"}));
}

TEST_F(AdsServerTest, DeltaNackIsNotResent) {
  cache_.setSnapshot("default", snapshot(cluster("c1")));
  auto stream = delta();
  ASSERT_TRUE(stream->send(deltaRequest(kCds, {"*"})));
  auto first = stream->next();
  ASSERT_TRUE(first.has_value());
  auto nack = deltaAck(*first);
  nack.mutable_error_detail()->set_code(13);
  nack.mutable_error_detail()->set_message("bad cluster");
  ASSERT_TRUE(stream->send(nack));
  EXPECT_TRUE(stream->quiet());
  EXPECT_NE(ads_->nodesJson().find("bad cluster"), std::string::npos);
  cache_.setSnapshot("default", snapshot(cluster("c1", "2s")));
  auto fixed = stream->next();
  ASSERT_TRUE(fixed.has_value());
  EXPECT_EQ(keys(deltaResources(*fixed)), (Names{"c1"}));
}

TEST_F(AdsServerTest, DeltaMissingTypeUrlClosesTheStream) {
  auto stream = delta();
  ASSERT_TRUE(stream->send(deltaRequest("", {"*"})));
  const grpc::Status status = stream->status();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "type URL is required for ADS");
}

}  // namespace
}  // namespace Skiff::Control::Test
