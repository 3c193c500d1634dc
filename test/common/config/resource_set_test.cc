// Resource documents and whole-set validation (what skiff-control does per node group and
// `skiffctl validate` per file).

#include "source/common/config/resource_set.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace Skiff::Config {
namespace {

constexpr char kDocument[] = R"(# comment
resources:
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: backend
  connect_timeout: 1s
  load_assignment:
    cluster_name: backend
    endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8001}}}}]}]
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: ingress
  address: {socket_address: {address: 127.0.0.1, port_value: 10000}}
  filter_chains:
  - filters:
    - name: envoy.filters.network.tcp_proxy
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
        stat_prefix: ingress
        cluster: backend
)";

std::vector<SourcedResource> parse(absl::string_view content, absl::string_view name = "doc.yaml") {
  std::vector<SourcedResource> out;
  const auto status = parseResourcesDocument(content, ConfigFormat::Auto, name, out);
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

TEST(ResourceSetTest, ParsesItemsWithTheirLines) {
  auto resources = parse(kDocument);
  ASSERT_EQ(resources.size(), 2);
  EXPECT_EQ(resources[0].where, "doc.yaml:3");
  EXPECT_EQ(resources[1].where, "doc.yaml:9");
  EXPECT_EQ(resources[0].any.type_url(), "type.googleapis.com/envoy.config.cluster.v3.Cluster");
  EXPECT_EQ(resourceName(resources[0].any), "backend");
  EXPECT_EQ(resourceName(resources[1].any), "ingress");

  auto set = validateResourceSet(resources);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->clusters.size(), 1);
  EXPECT_EQ(set->listeners.at("ingress").where, "doc.yaml:9");
  EXPECT_TRUE(set->warnings.empty());
}

TEST(ResourceSetTest, QuotedKeyStillGivesLines) {
  auto resources = parse(R"("resources":
  - "@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
    "cluster_name": "x"
)");
  ASSERT_EQ(resources.size(), 1);
  EXPECT_EQ(resources[0].where, "doc.yaml:2");
}

TEST(ResourceSetTest, JsonItemsAreLocatedByIndex) {
  auto resources = parse(R"({"resources": [{
      "@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
      "cluster_name": "elsewhere"}]})",
                         "e.json");
  ASSERT_EQ(resources.size(), 1);
  EXPECT_EQ(resources[0].where, "e.json: resources[0]");
  EXPECT_EQ(resourceName(resources[0].any), "elsewhere");
  auto set = validateResourceSet(resources);
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->warnings.size(), 1);
  EXPECT_EQ(set->warnings[0],
            "e.json: resources[0]: endpoints for \"elsewhere\", which no EDS cluster of this set "
            "uses");
}

TEST(ResourceSetTest, BlankDocumentIsEmptyAndSyntaxErrorsNameTheLine) {
  EXPECT_TRUE(parse(" \n\n").empty());
  std::vector<SourcedResource> out;
  auto status = parseResourcesDocument("resources:\n- name: [unclosed\n", ConfigFormat::Yaml,
                                       "bad.yaml", out);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(absl::StartsWith(status.message(), "bad.yaml:")) << status;
  status = parseResourcesDocument(R"(resources:
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: a
  conect_timeout: 1s
)",
                                  ConfigFormat::Yaml, "typo.yaml", out);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("typo.yaml:4"), absl::string_view::npos) << status;
  EXPECT_NE(status.message().find("conect_timeout"), absl::string_view::npos) << status;
}

TEST(ResourceSetTest, EveryProblemIsReportedWithWhereResourceFieldAndReason) {
  std::string document = kDocument;
  absl::StrAppend(&document, R"(- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: second
  address: {socket_address: {address: 127.0.0.1, port_value: 10000}}
  filter_chains:
  - filters:
    - name: envoy.filters.network.tcp_proxy
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
        stat_prefix: second
        cluster: missing
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: backend
  connect_timeout: 1s
- "@type": type.googleapis.com/google.protobuf.Duration
  value: 1s
)");
  auto set = validateResourceSet(parse(document));
  ASSERT_FALSE(set.ok());
  const std::string message(set.status().message());
  EXPECT_NE(message.find("doc.yaml:29: duplicate cluster name \"backend\" (first defined at "
                         "doc.yaml:3)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("doc.yaml:19: listener \"second\".filter_chains[0]"), std::string::npos)
      << message;
  EXPECT_NE(message.find("missing"), std::string::npos) << message;
  EXPECT_NE(message.find("doc.yaml:19: listener \"second\".address: 127.0.0.1:10000 is already "
                         "used by listener \"ingress\""),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("doc.yaml:32: resource type type.googleapis.com/google.protobuf.Duration "
                         "is not supported"),
            std::string::npos)
      << message;
}

TEST(ResourceSetTest, NameOfUnknownOrBrokenResourceIsEmpty) {
  google::protobuf::Any any;
  any.set_type_url("type.googleapis.com/no.such.Type");
  EXPECT_EQ(resourceName(any), "");
  any.set_type_url("type.googleapis.com/envoy.config.listener.v3.Listener");
  any.set_value("\xff\xff\xff");
  EXPECT_EQ(resourceName(any), "");
}

}  // namespace
}  // namespace Skiff::Config
