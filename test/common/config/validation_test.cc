#include "source/common/config/validation.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/config/message_loader.h"

namespace Skiff::Config {
namespace {

using HttpConnectionManager =
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;

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
  - name: envoy.filters.network.redis_proxy
)");
  listener.mutable_filter_chains(0)->mutable_filters(0)->mutable_typed_config()->set_type_url(
      "type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy");
  absl::Status status = validateListener(listener, KnownClusters());
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("filter_chains[0].filters[0].typed_config: unknown network filter type "
                        "\"type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3."
                        "RedisProxy\""));
}

TEST(ValidationTest, HttpConnectionManagerRules) {
  HttpConnectionManager hcm = fromYaml<HttpConnectionManager>(R"(
stat_prefix: ""
codec_type: HTTP2
http_filters:
- name: envoy.filters.http.cors
- name: envoy.filters.http.router
- name: envoy.filters.http.lua
  is_optional: true
rds: {route_config_name: r, config_source: {api_config_source: {api_type: GRPC}}}
max_request_headers_kb: 9000
stream_idle_timeout: -1s
)");
  const std::string message(validateHttpConnectionManager(hcm, "hcm").message());
  EXPECT_THAT(message, HasSubstr("hcm.stat_prefix: must not be empty"));
  EXPECT_THAT(message, HasSubstr("hcm.codec_type: HTTP2 is not supported"));
  EXPECT_THAT(message, HasSubstr("hcm.http_filters[0]: HTTP filter \"envoy.filters.http.cors\" "
                                 "is not supported"));
  EXPECT_THAT(message, HasSubstr("hcm.http_filters[1]: the router must be the last HTTP filter"));
  EXPECT_THAT(message, HasSubstr("hcm.rds.config_source: only ads is supported"));
  EXPECT_THAT(message, HasSubstr("hcm.max_request_headers_kb: 9000 is out of range"));
  EXPECT_THAT(message, HasSubstr("hcm.stream_idle_timeout: invalid duration"));

  HttpConnectionManager good = fromYaml<HttpConnectionManager>(R"(
stat_prefix: ingress
http_filters:
- name: envoy.filters.http.lua
  is_optional: true
- name: envoy.filters.http.router
rds: {route_config_name: r, config_source: {ads: {}}}
)");
  EXPECT_TRUE(validateHttpConnectionManager(good).ok());
}

TEST(ValidationTest, RdsRouteNames) {
  Listener listener = fromYaml<Listener>(R"(
name: l
address: {socket_address: {address: 0.0.0.0, port_value: 1}}
filter_chains:
- filters:
  - name: envoy.filters.network.http_connection_manager
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      stat_prefix: a
      rds: {route_config_name: routes_a, config_source: {ads: {}}}
      http_filters: [{name: envoy.filters.http.router}]
- filter_chain_match: {destination_port: 2}
  filters:
  - name: envoy.filters.network.tcp_proxy
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: t
      cluster: c
)");
  EXPECT_EQ(rdsRouteNames(listener), std::vector<std::string>{"routes_a"});
  EXPECT_TRUE(validateListener(listener, KnownClusters::any()).ok());
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

TEST(ValidationTest, HealthChecksOutlierDetectionAndPanicThreshold) {
  const auto good = fromYaml<Cluster>(R"(
name: web
load_assignment:
  cluster_name: web
  endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 80}}}}]}]
health_checks:
- timeout: 1s
  interval: 5s
  interval_jitter: 1s
  unhealthy_threshold: 3
  healthy_threshold: 2
  http_health_check:
    path: /healthz
    request_headers_to_add: [{header: {key: x-hc, value: "1"}}]
    expected_statuses: [{start: 200, end: 300}]
outlier_detection: {consecutive_5xx: 3, base_ejection_time: 10s, max_ejection_percent: 50}
common_lb_config: {healthy_panic_threshold: {value: 30}}
)");
  EXPECT_TRUE(validateCluster(good).ok()) << validateCluster(good);

  const auto bad = fromYaml<Cluster>(R"(
name: web
load_assignment:
  cluster_name: web
  endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 80}}}}]}]
health_checks:
- interval: 0s
  http_health_check: {path: "no slash", expected_statuses: [{start: 200, end: 700}]}
- timeout: 1s
  interval: 1s
  unhealthy_threshold: 1
  healthy_threshold: 1
  tcp_health_check: {send: {text: "zz"}}
- timeout: 1s
  interval: 1s
  unhealthy_threshold: 1
  healthy_threshold: 1
  grpc_health_check: {}
outlier_detection: {base_ejection_time: 60s, max_ejection_time: 10s, enforcing_consecutive_5xx: 101,
                    enforcing_success_rate: 200, enforcing_local_origin_success_rate: 300,
                    failure_percentage_threshold: 101, enforcing_failure_percentage: 102,
                    enforcing_failure_percentage_local_origin: 103}
common_lb_config: {healthy_panic_threshold: {value: 150}}
)");
  const absl::Status status = validateCluster(bad);
  ASSERT_FALSE(status.ok());
  const std::string text(status.message());
  for (const char* expected : {
           "health_checks: at most one health check per cluster is supported",
           "health_checks[0].timeout: required",
           "health_checks[0].interval: must be greater than 0",
           "health_checks[0].unhealthy_threshold: required",
           "health_checks[0].http_health_check.path: \"no slash\" is not an origin-form path",
           "health_checks[0].http_health_check.expected_statuses[0]: [200, 700)",
           "health_checks[1].tcp_health_check.send.text: \"zz\" is not hex",
           "health_checks[2].grpc_health_check: is not supported",
           "outlier_detection.max_ejection_time: must not be smaller than base_ejection_time",
           "outlier_detection.enforcing_consecutive_5xx: 101 is not a percentage",
           "outlier_detection.enforcing_success_rate: 200 is not a percentage",
           "outlier_detection.enforcing_local_origin_success_rate: 300 is not a percentage",
           "outlier_detection.failure_percentage_threshold: 101 is not a percentage",
           "outlier_detection.enforcing_failure_percentage: 102 is not a percentage",
           "outlier_detection.enforcing_failure_percentage_local_origin: 103 is not a percentage",
           "common_lb_config.healthy_panic_threshold: 150 is not a percentage",
       }) {
    EXPECT_THAT(text, HasSubstr(expected));
  }
}

TEST(ValidationTest, ClusterHttpProtocolOptions) {
  const auto cluster = fromYaml<Cluster>(R"(
name: web
load_assignment:
  cluster_name: web
  endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 80}}}}]}]
common_http_protocol_options:
  idle_timeout: 30s
  max_headers_count: 50
  max_requests_per_connection: 1000
)");
  EXPECT_TRUE(validateCluster(cluster).ok());
  Cluster bad = cluster;
  bad.mutable_common_http_protocol_options()->mutable_idle_timeout()->set_seconds(-1);
  bad.mutable_common_http_protocol_options()->mutable_max_headers_count()->set_value(0);
  const std::string message(validateCluster(bad, "cluster[0]").message());
  EXPECT_THAT(message,
              HasSubstr("cluster[0].common_http_protocol_options.idle_timeout: invalid duration"));
  EXPECT_THAT(message, HasSubstr("cluster[0].common_http_protocol_options.max_headers_count: "
                                 "must be at least 1"));
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

// Found by the fuzzers: each passed validation and then failed to build (a listener over LDS
// NACKed on main, a bootstrap accepted by --mode validate that the server refuses).
TEST(ValidationTest, HttpConnectionManagerValidatedAsItIsBuilt) {
  auto listener = [](const std::string& router_type, const std::string& regex) {
    return fromYaml<Listener>(absl::StrCat(R"(
name: http
address: {socket_address: {address: 127.0.0.1, port_value: 0}}
filter_chains:
- filters:
  - name: envoy.filters.network.http_connection_manager
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      stat_prefix: http
      http_filters:
      - name: envoy.filters.http.router
        typed_config: {"@type": type.googleapis.com/)",
                                           router_type, R"(}
      route_config:
        name: local
        virtual_hosts:
        - name: all
          domains: ["*"]
          routes: [{match: {safe_regex: {regex: ")",
                                           regex, R"("}}, direct_response: {status: 200}}]
)"));
  };
  EXPECT_TRUE(validateListener(listener("envoy.extensions.filters.http.router.v3.Router", "^/a"),
                               KnownClusters::any())
                  .ok());
  // The router by name, with a config of another type.
  auto status =
      validateListener(listener("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", "^/a"),
                       KnownClusters::any(), "listener 'http'");
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("listener 'http'.filter_chains[0].filters[0].typed_config.http_filters[0]."
                        "typed_config: expected type"));
  // An inline route whose regex RE2 refuses as too complex.
  status = validateListener(listener("envoy.extensions.filters.http.router.v3.Router", "^/a{200}$"),
                            KnownClusters::any(), "listener 'http'");
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("listener 'http'.filter_chains[0].filters[0].typed_config.route_config."
                        "virtual_hosts[0] \"all\": routes[0].match.safe_regex"));
}

}  // namespace
}  // namespace Skiff::Config
