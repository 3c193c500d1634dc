// The ADS client's first step on real serialized resources: names read from the wire bytes,
// resources moved (not copied) out of the response, and malformed ones reported by index.
#include "source/common/config/xds/response_decoder.h"

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "gtest/gtest.h"

namespace Skiff::Config::Xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using envoy::service::discovery::v3::DiscoveryResponse;

Cluster fullCluster(const std::string& name) {
  Cluster cluster;
  cluster.set_name(name);
  cluster.set_type(Cluster::STATIC);
  cluster.mutable_connect_timeout()->set_seconds(1);
  auto* endpoint = cluster.mutable_load_assignment()->add_endpoints()->add_lb_endpoints();
  endpoint->mutable_endpoint()->mutable_address()->mutable_socket_address()->set_address(
      "10.0.0.1");
  cluster.mutable_load_assignment()->set_cluster_name("not the cluster's name");
  return cluster;
}

std::string nameOf(const std::string& bytes) {
  std::string name;
  EXPECT_TRUE(readResourceName(bytes, name));
  return name;
}

TEST(ReadResourceNameTest, NameIsFieldOneOfEveryResourceType) {
  EXPECT_EQ(nameOf(fullCluster("web").SerializeAsString()), "web");
  envoy::config::listener::v3::Listener listener;
  listener.set_name("ingress");
  listener.mutable_address()->mutable_socket_address()->set_port_value(80);
  EXPECT_EQ(nameOf(listener.SerializeAsString()), "ingress");
  envoy::config::endpoint::v3::ClusterLoadAssignment assignment;
  assignment.set_cluster_name("svc");
  assignment.add_endpoints()->add_lb_endpoints();
  EXPECT_EQ(nameOf(assignment.SerializeAsString()), "svc");
  envoy::config::route::v3::RouteConfiguration route;
  route.add_virtual_hosts()->set_name("vh");
  route.set_name("local");
  EXPECT_EQ(nameOf(route.SerializeAsString()), "local");
  EXPECT_EQ(nameOf(""), "");  // No fields: no name (decodeResource rejects it).
}

TEST(ReadResourceNameTest, LastOccurrenceWinsAsWhenParsing) {
  const std::string bytes =
      fullCluster("first").SerializeAsString() + fullCluster("second").SerializeAsString();
  Cluster parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(nameOf(bytes), parsed.name());
  EXPECT_EQ(parsed.name(), "second");
}

TEST(ReadResourceNameTest, MalformedTopLevelIsRejected) {
  const std::string good = fullCluster("web").SerializeAsString();
  std::string name;
  EXPECT_FALSE(readResourceName(good.substr(0, good.size() - 3), name));  // Truncated.
  EXPECT_FALSE(readResourceName(std::string("\x0a\x05"
                                            "ab",
                                            4),
                                name));                              // Name past the end.
  EXPECT_FALSE(readResourceName(std::string("\x00\x01", 2), name));  // Tag 0.
  EXPECT_FALSE(readResourceName(std::string("\x0f", 1), name));      // Field 1, wire type 7.
  // Groups nested beyond the stream's recursion limit (100) are not followed forever.
  std::string deep;
  for (int i = 0; i < 200; ++i) {
    deep += '\x13';  // Start group, field 2.
  }
  EXPECT_FALSE(readResourceName(deep, name));
}

DiscoveryResponse sotw(const std::vector<google::protobuf::Any>& resources) {
  DiscoveryResponse response;
  response.set_version_info("v1");
  response.set_nonce("n1");
  for (const auto& any : resources) {
    *response.add_resources() = any;
  }
  return response;
}

google::protobuf::Any packed(const google::protobuf::Message& message) {
  google::protobuf::Any any;
  any.PackFrom(message);
  return any;
}

TEST(DecodeSotwResponseTest, ResourcesAreNamedAndMovedOut) {
  const std::map<std::string, std::string> known;
  const absl::flat_hash_map<std::string, std::string> by_version;
  const google::protobuf::Any web = packed(fullCluster("web"));
  DiscoveryResponse response = sotw({web, packed(fullCluster("api"))});
  const DecodedResponse decoded =
      decodeSotwResponse(response, kClusterType, HeldResources{known, by_version});
  ASSERT_TRUE(decoded.errors.empty());
  ASSERT_EQ(decoded.update.upserts.size(), 2u);
  EXPECT_EQ(decoded.update.upserts[0].name, "web");
  EXPECT_EQ(decoded.update.upserts[0].resource.value(), web.value());
  EXPECT_EQ(decoded.update.upserts[0].version, contentVersion(web));
  EXPECT_EQ(decoded.update.upserts[1].name, "api");
  EXPECT_EQ(decoded.update.version, "v1");
  EXPECT_EQ(decoded.nonce, "n1");
  // Moved, not copied: the response no longer holds the bytes.
  EXPECT_TRUE(response.resources(0).value().empty());
}

TEST(DecodeSotwResponseTest, BadResourcesAreReportedByIndex) {
  const std::map<std::string, std::string> known;
  const absl::flat_hash_map<std::string, std::string> by_version;
  google::protobuf::Any garbage = packed(fullCluster("web"));
  garbage.set_value(
      "\x0a\x7f"
      "short");
  envoy::config::listener::v3::Listener listener;
  listener.set_name("l");
  DiscoveryResponse response = sotw({packed(fullCluster("ok")), garbage, packed(Cluster()),
                                     packed(listener), packed(fullCluster("ok"))});
  const DecodedResponse decoded =
      decodeSotwResponse(response, kClusterType, HeldResources{known, by_version});
  EXPECT_EQ(decoded.errors,
            (std::vector<std::string>{
                "resources[1]: cannot decode a Cluster",
                "resources[2]: a Cluster without a name",
                "resources[3]: resource of type "
                "'type.googleapis.com/envoy.config.listener.v3.Listener' in a response of type "
                "'type.googleapis.com/envoy.config.cluster.v3.Cluster'",
                "Cluster 'ok': duplicate name in one response",
            }));
}

TEST(DecodeDeltaResponseTest, WrappedResourcesAreMovedOutAndNamesChecked) {
  const std::map<std::string, std::string> known;
  const absl::flat_hash_map<std::string, std::string> by_version;
  DeltaDiscoveryResponse response;
  auto* good = response.add_resources();
  good->set_name("web");
  good->set_version("7");
  *good->mutable_resource() = packed(fullCluster("web"));
  auto* misnamed = response.add_resources();
  misnamed->set_name("other");
  *misnamed->mutable_resource() = packed(fullCluster("api"));
  const DecodedResponse decoded =
      decodeDeltaResponse(response, kClusterType, HeldResources{known, by_version});
  ASSERT_EQ(decoded.update.upserts.size(), 1u);
  EXPECT_EQ(decoded.update.upserts[0].name, "web");
  EXPECT_EQ(decoded.update.upserts[0].version, "7");
  EXPECT_EQ(decoded.errors,
            std::vector<std::string>{"resources[1]: named 'other' but the Cluster is 'api'"});
  EXPECT_TRUE(response.resources(0).resource().value().empty());
}

}  // namespace
}  // namespace Skiff::Config::Xds
