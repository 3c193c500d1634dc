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

namespace Skiff::Config {
namespace {

using envoy::config::accesslog::v3::AccessLog;
using envoy::config::route::v3::RouteConfiguration;

constexpr const char* kRouteConfig = R"(
name: r1
virtual_hosts:
- name: web
  domains: ["*"]
  routes:
  - {match: {prefix: /api}, route: {cluster: api}}
  - {match: {prefix: /}, route: {cluster: web}}
)";

// An RDS resource is validated on the control thread before it is ACKed.
TEST(ValidationTest, RouteConfigurationFromRds) {
  const auto config = fromYaml<RouteConfiguration>(kRouteConfig);
  const KnownClusters only_web({"web"});
  // RDS: clusters are not validated unless the resource asks for it.
  EXPECT_TRUE(validateRouteConfiguration(config, only_web, false).ok());
  // Inline: they are.
  const absl::Status inline_status = validateRouteConfiguration(config, only_web, true);
  EXPECT_EQ(inline_status.message(),
            "route_config \"r1\": virtual_hosts[0] \"web\": routes[0].route.cluster: unknown "
            "cluster \"api\" (validate_clusters is on; turn it off to answer requests for it with "
            "cluster_not_found_response_code instead)");
  EXPECT_TRUE(validateRouteConfiguration(config, KnownClusters::any(), true).ok());

  auto broken = config;
  broken.mutable_virtual_hosts(0)
      ->mutable_routes(1)
      ->mutable_match()
      ->mutable_safe_regex()
      ->set_regex("(");
  const absl::Status status =
      validateRouteConfiguration(broken, KnownClusters::any(), false,
                                 "static_resources.listeners[0].filter_chains[0].filters[0]."
                                 "typed_config.route_config");
  EXPECT_EQ(status.message(),
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config."
            "virtual_hosts[0] \"web\": routes[1].match.safe_regex: invalid regex \"(\": missing ): "
            "(");
}

TEST(ValidationTest, AccessLog) {
  EXPECT_TRUE(validateAccessLog(fromYaml<AccessLog>(R"(
name: envoy.access_loggers.stdout
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
)"))
                  .ok());
  const absl::Status status = validateAccessLog(fromYaml<AccessLog>(R"(
name: envoy.access_loggers.file
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
  path: /var/log/x.log
  log_format: {text_format: "%NOT_AN_OPERATOR%"}
)"),
                                                "access_log[0]");
  EXPECT_EQ(status.message(),
            "access_log[0].typed_config.log_format.text_format: unsupported command operator "
            "%NOT_AN_OPERATOR% at position 0");
}

}  // namespace
}  // namespace Skiff::Config
