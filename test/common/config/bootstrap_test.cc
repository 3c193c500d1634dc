#include "source/common/config/bootstrap.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/config/utility.h"
#include "source/common/config/validation.h"

namespace Skiff::Config {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;
using ::testing::HasSubstr;

TEST(BootstrapTest, LoadsExampleTcpProxyConfig) {
  auto bootstrap = loadBootstrapFromFile("configs/tcp_proxy.yaml");
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  EXPECT_EQ(bootstrap->admin().address().socket_address().address(), "127.0.0.1");
  EXPECT_EQ(bootstrap->admin().address().socket_address().port_value(), 15000);
  ASSERT_EQ(bootstrap->static_resources().listeners_size(), 1);
  const auto& listener = bootstrap->static_resources().listeners(0);
  EXPECT_EQ(listener.address().socket_address().port_value(), 10000);
  const auto& filter = listener.filter_chains(0).filters(0);
  EXPECT_EQ(filter.typed_config().type_url(), typeUrl<TcpProxy>());
  auto tcp_proxy = parseTypedConfig<TcpProxy>(filter.typed_config(), "typed_config");
  ASSERT_TRUE(tcp_proxy.ok()) << tcp_proxy.status();
  EXPECT_EQ(tcp_proxy->cluster(), "backend");
  EXPECT_EQ(tcp_proxy->stat_prefix(), "tcp_ingress");
  EXPECT_EQ(SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(*tcp_proxy, idle_timeout, kDefaultTcpProxyIdleTimeout),
            std::chrono::seconds(300));
  const auto& cluster = bootstrap->static_resources().clusters(0);
  EXPECT_EQ(cluster.type(), Cluster::STATIC);
  EXPECT_EQ(cluster.connect_timeout().nanos(), 250000000);
  EXPECT_EQ(SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(cluster, connect_timeout, kDefaultConnectTimeout),
            std::chrono::milliseconds(250));
  EXPECT_EQ(cluster.load_assignment()
                .endpoints(0)
                .lb_endpoints(0)
                .endpoint()
                .address()
                .socket_address()
                .port_value(),
            8080);
}

// Envoy's example parses unchanged, and validation tells the one thing the sidecar cannot do with
// it (resolve example.com) instead of accepting a config the server then fails to start with
// (the bootstrap fuzzer found that gap: validation said OK, startup said "not an IP literal").
TEST(BootstrapTest, LoadsEnvoyDocumentedStaticTcpProxyShape) {
  std::ifstream file("test/config/envoy_tcp_proxy_example.yaml");
  std::stringstream content;
  content << file.rdbuf();
  auto bootstrap = parseBootstrapFromString(content.str(), ConfigFormat::Yaml);
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  EXPECT_THAT(std::string(validateBootstrap(*bootstrap).message()),
              testing::HasSubstr("static_resources.clusters[0].load_assignment.endpoints[0]."
                                 "lb_endpoints[0].endpoint.address.socket_address.address: "
                                 "hostname \"example.com\" needs DNS resolution"));
  const auto& cluster = bootstrap->static_resources().clusters(0);
  EXPECT_EQ(cluster.type(), Cluster::LOGICAL_DNS);
  EXPECT_EQ(cluster.dns_lookup_family(), Cluster::V4_ONLY);
  EXPECT_EQ(bootstrap->admin().access_log_path(), "/dev/null");
}

TEST(BootstrapTest, LoadsJsonWithCamelCaseNamesAndWrappers) {
  auto bootstrap = loadBootstrapFromFile("test/config/tcp_proxy.json");
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  const auto& listener = bootstrap->static_resources().listeners(0);
  EXPECT_EQ(listener.per_connection_buffer_limit_bytes().value(), 32768);
  ASSERT_TRUE(listener.has_enable_reuse_port());
  EXPECT_FALSE(listener.enable_reuse_port().value());
  EXPECT_TRUE(listener.address().socket_address().ipv4_compat());
  auto tcp_proxy =
      parseTypedConfig<TcpProxy>(listener.filter_chains(0).filters(0).typed_config(), "x");
  ASSERT_TRUE(tcp_proxy.ok()) << tcp_proxy.status();
  ASSERT_EQ(tcp_proxy->weighted_clusters().clusters_size(), 2);
  EXPECT_EQ(tcp_proxy->weighted_clusters().clusters(0).weight(), 3);
  EXPECT_EQ(tcp_proxy->max_connect_attempts().value(), 3);
  EXPECT_EQ(bootstrap->node().metadata().fields().at("replicas").number_value(), 3);
  EXPECT_EQ(bootstrap->static_resources()
                .clusters(0)
                .load_assignment()
                .endpoints(0)
                .lb_endpoints(0)
                .load_balancing_weight()
                .value(),
            2u);
}

TEST(BootstrapTest, YamlAndJsonGiveTheSameMessage) {
  const std::string yaml = R"(
static_resources:
  listeners:
  - name: l
    address: {socket_address: {address: 127.0.0.1, port_value: 10000}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: s
          cluster: c
  clusters:
  - name: c
    connect_timeout: 5s
    load_assignment:
      cluster_name: c
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 10.1.2.3, port_value: 80}}}}]}]
)";
  const std::string json = R"({
  "static_resources": {
    "listeners": [{"name": "l",
      "address": {"socket_address": {"address": "127.0.0.1", "port_value": 10000}},
      "filter_chains": [{"filters": [{"name": "envoy.filters.network.tcp_proxy",
        "typed_config": {
          "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
          "stat_prefix": "s", "cluster": "c"}}]}]}],
    "clusters": [{"name": "c", "connect_timeout": "5s",
      "load_assignment": {"cluster_name": "c", "endpoints": [{"lb_endpoints": [{"endpoint":
        {"address": {"socket_address": {"address": "10.1.2.3", "port_value": 80}}}}]}]}}]}})";
  auto from_yaml = loadBootstrapFromString(yaml, ConfigFormat::Yaml);
  auto from_json = loadBootstrapFromString(json, ConfigFormat::Json);
  auto from_auto = loadBootstrapFromString(json);
  ASSERT_TRUE(from_yaml.ok()) << from_yaml.status();
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  ASSERT_TRUE(from_auto.ok()) << from_auto.status();
  EXPECT_EQ(from_yaml->SerializeAsString(), from_json->SerializeAsString());
  EXPECT_EQ(from_auto->SerializeAsString(), from_json->SerializeAsString());
}

TEST(BootstrapTest, MissingFileNamesThePath) {
  auto bootstrap = loadBootstrapFromFile("/nonexistent/skiff.yaml");
  ASSERT_FALSE(bootstrap.ok());
  EXPECT_EQ(bootstrap.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(bootstrap.status().message()), HasSubstr("/nonexistent/skiff.yaml"));
}

TEST(BootstrapTest, EmptyDocumentIsAnEmptyBootstrap) {
  auto bootstrap = loadBootstrapFromString("# nothing\n", ConfigFormat::Yaml);
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  EXPECT_EQ(bootstrap->static_resources().listeners_size(), 0);
}

TEST(BootstrapTest, AdsBootstrapLoads) {
  auto bootstrap = loadBootstrapFromString(R"(
node: {id: sidecar-1, cluster: demo}
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services:
    - envoy_grpc: {cluster_name: ads_cluster}
  cds_config: {resource_api_version: V3, ads: {}}
  lds_config:
    resource_api_version: V3
    ads:
static_resources:
  clusters:
  - name: ads_cluster
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: ads_cluster
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 10.96.0.10, port_value: 18000}}}
)",
                                           ConfigFormat::Yaml);
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  EXPECT_TRUE(bootstrap->dynamic_resources().lds_config().has_ads());
  EXPECT_TRUE(bootstrap->dynamic_resources().cds_config().has_ads());
  EXPECT_EQ(
      bootstrap->dynamic_resources().ads_config().grpc_services(0).envoy_grpc().cluster_name(),
      "ads_cluster");
}

// A valid bootstrap with `listener` and `cluster` (YAML list items, 2-space indented under their
// list) substituted in.
std::string bootstrapWith(const std::string& listener, const std::string& cluster,
                          const std::string& extra = "") {
  return "static_resources:\n  listeners:\n" + listener + "  clusters:\n" + cluster + extra;
}

const char* const kGoodListener = R"(  - name: ingress
    address: {socket_address: {address: 127.0.0.1, port_value: 10000}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: ingress
          cluster: backend
)";

const char* const kGoodCluster = R"(  - name: backend
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8080}}}
)";

TEST(BootstrapTest, GoodTemplateIsValid) {
  auto bootstrap = loadBootstrapFromString(bootstrapWith(kGoodListener, kGoodCluster),
                                           ConfigFormat::Yaml, "t.yaml");
  EXPECT_TRUE(bootstrap.ok()) << bootstrap.status();
}

struct BadConfig {
  std::string name;
  std::string yaml;
  std::vector<std::string> expected;  // Each must appear in the error message.
};

void PrintTo(const BadConfig& config, std::ostream* os) { *os << config.name; }

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const size_t pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

std::vector<BadConfig> badConfigs() {
  const std::string l = kGoodListener;
  const std::string c = kGoodCluster;
  return {
      {"PortTooLarge",
       bootstrapWith(replaced(l, "port_value: 10000", "port_value: 70000"), c),
       {"static_resources.listeners[0].address.socket_address.port_value: 70000 is not a valid "
        "port (0-65535)"}},
      {"DuplicateListenerName",
       bootstrapWith(l + replaced(l, "port_value: 10000", "port_value: 10001"), c),
       {"static_resources.listeners[1] (name \"ingress\"): duplicate listener name"}},
      {"DuplicateListenerAddress",
       bootstrapWith(l + replaced(l, "name: ingress", "name: other"), c),
       {"static_resources.listeners[1].address: 127.0.0.1:10000 is already used by "
        "static_resources.listeners[0]"}},
      {"BadListenerIp",
       bootstrapWith(replaced(l, "address: 127.0.0.1", "address: localhost"), c),
       {"static_resources.listeners[0].address.socket_address.address: \"localhost\" is not a "
        "valid IPv4 or IPv6 address"}},
      {"BadIpv6",
       bootstrapWith(replaced(l, "address: 127.0.0.1", "address: \"::1::2\""), c),
       {"static_resources.listeners[0].address.socket_address.address: \"::1::2\" is not a valid"}},
      {"UdpListener",
       bootstrapWith(replaced(l, "address: 127.0.0.1,", "protocol: UDP, address: 127.0.0.1,"), c),
       {"static_resources.listeners[0].address.socket_address.protocol: UDP is not supported"}},
      {"NamedPort",
       bootstrapWith(replaced(l, "port_value: 10000", "named_port: http"), c),
       {"static_resources.listeners[0].address.socket_address.named_port: named ports are not "
        "supported"}},
      {"NoFilterChains",
       bootstrapWith(R"(  - name: ingress
    address: {socket_address: {address: 127.0.0.1, port_value: 10000}}
)",
                     c),
       {"static_resources.listeners[0].filter_chains: at least one filter chain is required"}},
      {"NoAddress",
       bootstrapWith(replaced(l,
                              "    address: {socket_address: {address: 127.0.0.1, "
                              "port_value: 10000}}\n",
                              ""),
                     c),
       {"static_resources.listeners[0].address: required"}},
      {"EmptyFilters",
       bootstrapWith(R"(  - name: ingress
    address: {socket_address: {address: 127.0.0.1, port_value: 10000}}
    filter_chains:
    - filters: []
)",
                     c),
       {"static_resources.listeners[0].filter_chains[0].filters: at least one network filter is "
        "required"}},
      {"UnknownCluster",
       bootstrapWith(replaced(l, "cluster: backend", "cluster: nowhere"), c),
       {"static_resources.listeners[0].filter_chains[0].filters[0].typed_config.cluster: unknown "
        "cluster \"nowhere\""}},
      {"EmptyStatPrefix",
       bootstrapWith(replaced(l, "stat_prefix: ingress", "stat_prefix: \"\""), c),
       {"static_resources.listeners[0].filter_chains[0].filters[0].typed_config.stat_prefix: "
        "must not be empty"}},
      {"NoClusterSpecifier",
       bootstrapWith(replaced(l, "          cluster: backend\n", ""), c),
       {"static_resources.listeners[0].filter_chains[0].filters[0].typed_config: must set cluster "
        "or weighted_clusters"}},
      {"NegativeIdleTimeout",
       bootstrapWith(
           replaced(l, "cluster: backend", "cluster: backend\n          idle_timeout: -1s"), c),
       {"typed_config.idle_timeout: invalid duration (seconds -1, nanos 0): must be >= 0"}},
      {"ZeroMaxConnectAttempts",
       bootstrapWith(
           replaced(l, "cluster: backend", "cluster: backend\n          max_connect_attempts: 0"),
           c),
       {"typed_config.max_connect_attempts: must be >= 1"}},
      {"UnknownFilterType",
       bootstrapWith(replaced(l,
                              "tcp_proxy.v3.TcpProxy\n          stat_prefix: ingress\n          "
                              "cluster: backend",
                              "tcp_proxy.v3.TcpProxy\n          stat_prefix: ingress\n          "
                              "cluster: backend\n      - name: envoy.filters.network.echo\n        "
                              "typed_config:\n          \"@type\": "
                              "type.googleapis.com/envoy.config.core.v3.Node"),
                     c),
       {"static_resources.listeners[0].filter_chains[0].filters[1].typed_config: unknown network "
        "filter type \"type.googleapis.com/envoy.config.core.v3.Node\" (filter "
        "\"envoy.filters.network.echo\")",
        "filters[0]: terminal filter \"envoy.filters.network.tcp_proxy\" must be the last"}},
      {"UnregisteredAnyType",
       bootstrapWith(
           replaced(l, "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                    "type.googleapis.com/envoy.extensions.filters.network."
                    "redis_proxy.v3.RedisProxy"),
           c),
       {"static_resources.listeners[0].filter_chains[0].filters[0].typed_config.@type: unknown "
        "type \"type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3."
        "RedisProxy\""}},
      {"DestinationPortZero",
       bootstrapWith(replaced(l, "    - filters:\n",
                              "    - filter_chain_match: {destination_port: 0}\n      filters:\n"),
                     c),
       {"static_resources.listeners[0].filter_chains[0].filter_chain_match.destination_port: 0 is "
        "not a valid port (1-65535)"}},
      {"BadCidr",
       bootstrapWith(
           replaced(l, "    - filters:\n",
                    "    - filter_chain_match: {prefix_ranges: [{address_prefix: 10.0.0.0, "
                    "prefix_len: 33}]}\n      filters:\n"),
           c),
       {"filter_chain_match.prefix_ranges[0].prefix_len: 33 is too long for an IPv4 prefix"}},
      {"ListenerFilters",
       bootstrapWith(
           replaced(l, "    filter_chains:\n",
                    "    listener_filters: [{name: envoy.filters.listener.tls_inspector}]\n"
                    "    filter_chains:\n"),
           c),
       {"static_resources.listeners[0].listener_filters[0] (name "
        "\"envoy.filters.listener.tls_inspector\"): listener filter not supported; skiff supports "
        "only envoy.filters.listener.original_dst"}},
      {"StaticClusterWithoutEndpoints",
       bootstrapWith(l, "  - name: backend\n    type: STATIC\n"),
       {"static_resources.clusters[0].load_assignment: a STATIC cluster needs load_assignment with "
        "at least one endpoint"}},
      {"StaticClusterHostname",
       bootstrapWith(l, replaced(c, "address: 127.0.0.1", "address: backend.local")),
       {"static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint."
        "address.socket_address.address: \"backend.local\" is not a valid IPv4 or IPv6 address"}},
      {"EndpointPortZero",
       bootstrapWith(l, replaced(c, "port_value: 8080", "port_value: 0")),
       {"endpoint.address.socket_address.port_value: 0 is not a valid port for an upstream "
        "endpoint"}},
      {"ZeroConnectTimeout",
       bootstrapWith(l, replaced(c, "connect_timeout: 1s", "connect_timeout: 0s")),
       {"static_resources.clusters[0].connect_timeout: must be greater than 0"}},
      {"DuplicateClusterName",
       bootstrapWith(l, c + c),
       {"static_resources.clusters[1] (name \"backend\"): duplicate cluster name"}},
      {"RingHash",
       bootstrapWith(l, replaced(c, "type: STATIC", "type: STATIC\n    lb_policy: RING_HASH")),
       {"static_resources.clusters[0].lb_policy: RING_HASH is not supported"}},
      {"LogicalDnsTwoEndpoints",
       bootstrapWith(l, replaced(c, "type: STATIC", "type: LOGICAL_DNS") +
                            "        - endpoint: {address: {socket_address: {address: b.local, "
                            "port_value: 80}}}\n"),
       {"static_resources.clusters[0].load_assignment: a LOGICAL_DNS cluster needs exactly one "
        "endpoint (has 2)"}},
      {"EdsWithoutConfig",
       bootstrapWith(l, replaced(c, "type: STATIC", "type: EDS")),
       {"static_resources.clusters[0].eds_cluster_config.eds_config: required for an EDS cluster"}},
      {"ZeroEndpointWeight",
       bootstrapWith(l, replaced(c, "port_value: 8080}}}",
                                 "port_value: 8080}}}\n          load_balancing_weight: 0")),
       {"lb_endpoints[0].load_balancing_weight: must be >= 1"}},
      {"BadAdminAddress",
       bootstrapWith(l, c,
                     "admin: {address: {socket_address: {address: 1.2.3, port_value: 15000}}}\n"),
       {"admin.address.socket_address.address: \"1.2.3\" is not a valid IPv4 or IPv6 address"}},
      {"AdminPortTooLarge",
       bootstrapWith(
           l, c, "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 65536}}}\n"),
       {"admin.address.socket_address.port_value: 65536 is not a valid port (0-65535)"}},
      {"AdsWithoutAdsConfig",
       bootstrapWith(l, c, "dynamic_resources: {lds_config: {ads: {}}}\n"),
       {"dynamic_resources.lds_config.ads: requires dynamic_resources.ads_config"}},
      {"AdsClusterUnknown",
       bootstrapWith(l, c,
                     "dynamic_resources: {ads_config: {api_type: GRPC, grpc_services: "
                     "[{envoy_grpc: {cluster_name: xds}}]}}\n"),
       {"dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: unknown cluster "
        "\"xds\" (must be a static cluster)"}},
      {"RestNotSupported",
       bootstrapWith(l, c,
                     "dynamic_resources: {cds_config: {api_config_source: {api_type: REST, "
                     "cluster_names: [backend]}}}\n"),
       {"dynamic_resources.cds_config.api_config_source.api_type: REST is not supported",
        "dynamic_resources.cds_config.api_config_source.grpc_services: at least one gRPC service"}},
      // Parse-time errors: YAML line numbers and field names.
      {"UnknownField",
       bootstrapWith(replaced(l, "name: ingress", "name: ingress\n    adress: x"), c),
       {"t.yaml:4: static_resources.listeners[0].adress: unknown field"}},
      {"UnknownTopLevelField",
       "static_resourcez: {}\n",
       {"t.yaml:1: static_resourcez: unknown field"}},
      {"NotANumber",
       bootstrapWith(replaced(l, "port_value: 10000", "port_value: ten"), c),
       {"t.yaml:4: static_resources.listeners[0].address.socket_address.port_value: invalid value "
        "\"ten\""}},
      {"BadDuration",
       bootstrapWith(l, replaced(c, "connect_timeout: 1s", "connect_timeout: soon")),
       {"t.yaml:15: static_resources.clusters[0].connect_timeout:", "duration"}},
      {"ListWhereMappingExpected",
       "static_resources:\n  listeners:\n    name: x\n",
       {"t.yaml:3: static_resources.listeners: expected a list"}},
      {"YamlSyntax", "static_resources:\n  listeners: [\n", {"t.yaml:", "invalid YAML"}},
  };
}

class BadConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigTest, ErrorNamesFieldAndReason) {
  const BadConfig& config = GetParam();
  auto bootstrap = loadBootstrapFromString(config.yaml, ConfigFormat::Yaml, "t.yaml");
  ASSERT_FALSE(bootstrap.ok()) << config.yaml;
  EXPECT_EQ(bootstrap.status().code(), absl::StatusCode::kInvalidArgument);
  for (const std::string& expected : config.expected) {
    EXPECT_THAT(std::string(bootstrap.status().message()), HasSubstr(expected)) << config.yaml;
  }
}

INSTANTIATE_TEST_SUITE_P(Table, BadConfigTest, ::testing::ValuesIn(badConfigs()),
                         [](const ::testing::TestParamInfo<BadConfig>& info) {
                           return info.param.name;
                         });

TEST(BootstrapTest, CollectsAllErrors) {
  auto bootstrap = loadBootstrapFromString(
      bootstrapWith(replaced(replaced(kGoodListener, "port_value: 10000", "port_value: 70000"),
                             "cluster: backend", "cluster: nowhere"),
                    replaced(kGoodCluster, "connect_timeout: 1s", "connect_timeout: 0s")),
      ConfigFormat::Yaml, "t.yaml");
  ASSERT_FALSE(bootstrap.ok());
  const std::string message(bootstrap.status().message());
  EXPECT_THAT(message, HasSubstr("port_value: 70000 is not a valid port"));
  EXPECT_THAT(message, HasSubstr("unknown cluster \"nowhere\""));
  EXPECT_THAT(message, HasSubstr("connect_timeout: must be greater than 0"));
}

TEST(BootstrapTest, ParseOnlySkipsValidation) {
  auto bootstrap = parseBootstrapFromString(
      bootstrapWith(replaced(kGoodListener, "port_value: 10000", "port_value: 70000"),
                    kGoodCluster),
      ConfigFormat::Yaml);
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  EXPECT_EQ(bootstrap->static_resources().listeners(0).address().socket_address().port_value(),
            70000);
}

TEST(BootstrapTest, CdsConfigAllowsClustersNotYetKnown) {
  auto bootstrap = loadBootstrapFromString(
      bootstrapWith(replaced(kGoodListener, "cluster: backend", "cluster: from_cds"),
                    std::string(kGoodCluster) + R"(  - name: xds
    type: STATIC
    load_assignment:
      cluster_name: xds
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 10.0.0.9, port_value: 18000}}}}]}]
)",
                    R"(dynamic_resources:
  ads_config: {api_type: GRPC, grpc_services: [{envoy_grpc: {cluster_name: xds}}]}
  cds_config: {ads: {}}
)"),
      ConfigFormat::Yaml);
  EXPECT_TRUE(bootstrap.ok()) << bootstrap.status();
}

}  // namespace
}  // namespace Skiff::Config
