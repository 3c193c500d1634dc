#include "source/common/config/validation.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/config/message_loader.h"

namespace Skiff::Config {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;
using ::testing::HasSubstr;

template <class T>
T fromYaml(const std::string& yaml) {
  T message;
  absl::Status status = loadMessageFromString(yaml, ConfigFormat::Yaml, "test", message);
  EXPECT_TRUE(status.ok()) << status;
  return message;
}

// The xDS client validates one resource at a time, with its own path prefix.
TEST(ValidationTest, ListenerFromLdsWithPathPrefix) {
  const auto listener = fromYaml<Listener>(R"(
name: ingress
address: {socket_address: {address: "::", port_value: 15001, ipv4_compat: true}}
filter_chains:
- filter_chain_match: {destination_port: 80}
  filters:
  - name: tcp
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: p80
      cluster: web
- filters:
  - name: tcp
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: other
      cluster: other
)");
  KnownClusters clusters({"web", "other"});
  EXPECT_TRUE(validateListener(listener, clusters).ok());

  KnownClusters only_web({"web"});
  absl::Status status = validateListener(listener, only_web, "listener \"ingress\"");
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("listener \"ingress\".filter_chains[1].filters[0].typed_config.cluster: "
                        "unknown cluster \"other\""));
  EXPECT_TRUE(validateListener(listener, KnownClusters::any()).ok());
}

TEST(ValidationTest, DuplicateFilterChainMatch) {
  const auto listener = fromYaml<Listener>(R"(
name: l
address: {socket_address: {address: 0.0.0.0, port_value: 1}}
filter_chains:
- filters: &f
  - name: tcp
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: s
      cluster: c
- filters: *f
)");
  absl::Status status = validateListener(listener, KnownClusters({"c"}));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("filter_chains[1].filter_chain_match: same match as filter_chains[0]"));
}

TEST(ValidationTest, FilterWithWrongBytesForItsType) {
  Listener listener = fromYaml<Listener>(R"(
name: l
address: {socket_address: {address: 0.0.0.0, port_value: 1}}
filter_chains:
- filters:
  - name: tcp
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: s
      cluster: c
)");
  // What a misbehaving control plane might send: the right type URL over garbage bytes.
  listener.mutable_filter_chains(0)->mutable_filters(0)->mutable_typed_config()->set_value(
      "\xff\xff\xff");
  absl::Status status = validateListener(listener, KnownClusters({"c"}));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("filter_chains[0].filters[0].typed_config: could not decode"));
}

TEST(ValidationTest, UnknownFilterTypeFromXds) {
  Listener listener = fromYaml<Listener>(R"(
name: l
address: {socket_address: {address: 0.0.0.0, port_value: 1}}
filter_chains:
- filters:
  - name: envoy.filters.network.http_connection_manager
)");
  listener.mutable_filter_chains(0)->mutable_filters(0)->mutable_typed_config()->set_type_url(
      "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
      "HttpConnectionManager");
  absl::Status status = validateListener(listener, KnownClusters());
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("filter_chains[0].filters[0].typed_config: unknown network filter type "
                        "\"type.googleapis.com/envoy.extensions.filters.network.http_connection_"
                        "manager.v3.HttpConnectionManager\""));
}

TEST(ValidationTest, ClusterStandalone) {
  const auto cluster = fromYaml<Cluster>(R"(
name: web
type: STRICT_DNS
lb_policy: LEAST_REQUEST
load_assignment:
  cluster_name: web
  endpoints:
  - lb_endpoints:
    - endpoint: {address: {socket_address: {address: web.default.svc.cluster.local, port_value: 80}}}
)");
  EXPECT_TRUE(validateCluster(cluster).ok());

  Cluster bad = cluster;
  bad.set_name("");
  bad.mutable_connect_timeout()->set_seconds(-5);
  absl::Status status = validateCluster(bad, "cluster[3]");
  EXPECT_THAT(std::string(status.message()), HasSubstr("cluster[3].name: must not be empty"));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("cluster[3].connect_timeout: invalid duration"));
}

TEST(ValidationTest, OriginalDstCluster) {
  auto cluster = fromYaml<Cluster>(
      "name: passthrough\ntype: ORIGINAL_DST\nlb_policy: "
      "CLUSTER_PROVIDED\n");
  EXPECT_TRUE(validateCluster(cluster).ok());
  cluster.set_type(Cluster::STATIC);
  EXPECT_THAT(std::string(validateCluster(cluster).message()),
              HasSubstr("lb_policy: CLUSTER_PROVIDED is only valid for ORIGINAL_DST clusters"));
}

// The ways Envoy refuses an ORIGINAL_DST cluster, with its wording where it has one.
TEST(ValidationTest, OriginalDstClusterMisuse) {
  auto round_robin = fromYaml<Cluster>("name: passthrough\ntype: ORIGINAL_DST\n");
  EXPECT_THAT(std::string(validateCluster(round_robin, "c").message()),
              HasSubstr("c.lb_policy: LB policy ROUND_ROBIN is not valid for Cluster type "
                        "ORIGINAL_DST. Only 'CLUSTER_PROVIDED' is allowed with cluster type "
                        "'ORIGINAL_DST'"));

  auto with_endpoints = fromYaml<Cluster>(R"(
name: passthrough
type: ORIGINAL_DST
lb_policy: CLUSTER_PROVIDED
load_assignment:
  cluster_name: passthrough
  endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 80}}}}]}]
)");
  EXPECT_THAT(std::string(validateCluster(with_endpoints).message()),
              HasSubstr("load_assignment: ORIGINAL_DST clusters must have no load assignment "
                        "configured (has 1 endpoints)"));
  // Even an empty one, as in Envoy.
  auto empty_assignment = fromYaml<Cluster>(
      "name: p\ntype: ORIGINAL_DST\nlb_policy: CLUSTER_PROVIDED\nload_assignment: {cluster_name: "
      "p}\n");
  EXPECT_FALSE(validateCluster(empty_assignment).ok());

  auto with_eds = fromYaml<Cluster>(
      "name: p\ntype: ORIGINAL_DST\nlb_policy: CLUSTER_PROVIDED\neds_cluster_config: {eds_config: "
      "{ads: {}}}\n");
  EXPECT_THAT(std::string(validateCluster(with_eds).message()),
              HasSubstr("eds_cluster_config: only valid for EDS clusters"));
}

TEST(ValidationTest, UpstreamBindConfig) {
  auto inbound = fromYaml<Cluster>(R"(
name: inbound_passthrough
type: ORIGINAL_DST
lb_policy: CLUSTER_PROVIDED
upstream_bind_config: {source_address: {address: 127.0.0.6, port_value: 0}, freebind: true}
)");
  EXPECT_TRUE(validateCluster(inbound).ok()) << validateCluster(inbound);

  auto bad = inbound;
  bad.mutable_upstream_bind_config()->mutable_source_address()->set_address("localhost");
  EXPECT_THAT(std::string(validateCluster(bad).message()),
              HasSubstr("upstream_bind_config.source_address.address: \"localhost\" is not a "
                        "valid IPv4 or IPv6 address"));
  bad.mutable_upstream_bind_config()->clear_source_address();
  EXPECT_THAT(std::string(validateCluster(bad).message()),
              HasSubstr("upstream_bind_config.source_address: required"));
}

// Istio's virtualOutbound: use_original_dst plus the original_dst listener filter (by type, and
// by name only, which Envoy also accepts for a filter with an empty config).
TEST(ValidationTest, CaptureListener) {
  const auto listener = fromYaml<Listener>(R"(
name: virtualOutbound
address: {socket_address: {address: 0.0.0.0, port_value: 15001}}
use_original_dst: true
listener_filters:
- name: envoy.filters.listener.original_dst
  typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst}
- name: envoy.filters.listener.original_dst
filter_chains:
- filters:
  - name: tcp
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: PassthroughCluster
      cluster: PassthroughCluster
)");
  EXPECT_TRUE(validateListener(listener, KnownClusters::any()).ok())
      << validateListener(listener, KnownClusters::any());

  Listener other = listener;
  other.mutable_listener_filters(1)->set_name("envoy.filters.listener.tls_inspector");
  EXPECT_THAT(std::string(validateListener(other, KnownClusters::any()).message()),
              HasSubstr("listener_filters[1] (name \"envoy.filters.listener.tls_inspector\"): "
                        "listener filter not supported; skiff supports only "
                        "envoy.filters.listener.original_dst"));
  other = listener;
  other.mutable_listener_filters(0)->mutable_typed_config()->set_type_url(
      "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector");
  EXPECT_THAT(std::string(validateListener(other, KnownClusters::any()).message()),
              HasSubstr("listener_filters[0] (name \"envoy.filters.listener.original_dst\")."
                        "typed_config: unknown listener filter type"));
}

TEST(ValidationTest, BindToPortFalseNeedsAPort) {
  auto listener = fromYaml<Listener>(R"(
name: svc
address: {socket_address: {address: 10.96.0.10, port_value: 0}}
bind_to_port: false
filter_chains:
- filters:
  - name: tcp
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: svc
      cluster: svc
)");
  EXPECT_THAT(std::string(validateListener(listener, KnownClusters::any()).message()),
              HasSubstr("address.socket_address.port_value: required with bind_to_port: false"));
  listener.mutable_address()->mutable_socket_address()->set_port_value(80);
  EXPECT_TRUE(validateListener(listener, KnownClusters::any()).ok());
}

TEST(ValidationTest, UnknownEnumValueFromTheWire) {
  Cluster cluster = fromYaml<Cluster>(R"(
name: c
load_assignment:
  cluster_name: c
  endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 80}}}}]}]
)");
  cluster.set_lb_policy(static_cast<Cluster::LbPolicy>(42));
  EXPECT_THAT(std::string(validateCluster(cluster).message()),
              HasSubstr("lb_policy: 42 is not supported"));
}

TEST(ValidationTest, ClusterLoadAssignmentForEds) {
  auto cla = fromYaml<ClusterLoadAssignment>(R"(
cluster_name: web
endpoints:
- priority: 200
  lb_endpoints:
  - endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 80}}}
)");
  absl::Status status = validateClusterLoadAssignment(cla, "eds \"web\"");
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("eds \"web\".endpoints[0].priority: 200 is too large (0-128)"));
}

TEST(ValidationTest, TcpProxyWeightedClusters) {
  auto tcp_proxy = fromYaml<TcpProxy>(R"(
stat_prefix: s
weighted_clusters:
  clusters:
  - {name: a, weight: 1}
  - {name: b, weight: 0}
  - {name: "", weight: 1}
)");
  absl::Status status = validateTcpProxy(tcp_proxy, KnownClusters({"a", "b"}), "tp");
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("tp.weighted_clusters.clusters[1].weight: must be >= 1"));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("tp.weighted_clusters.clusters[2].name: must not be empty"));
}

TEST(ValidationTest, PipeAddressRejected) {
  auto listener = fromYaml<Listener>(R"(
name: l
address: {pipe: {path: /tmp/skiff.sock}}
filter_chains:
- filters:
  - name: tcp
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: s
      cluster: c
)");
  EXPECT_THAT(std::string(validateListener(listener, KnownClusters({"c"})).message()),
              HasSubstr("address.pipe: Unix domain socket (pipe) addresses are not supported"));
}

}  // namespace
}  // namespace Skiff::Config
