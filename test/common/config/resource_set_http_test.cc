// Resource sets with HTTP: routes, HTTP connection managers (network and API listeners) and the
// references between resources, as skiff-control checks a node group and `skiffctl validate` a
// set of files. Resources come from YAML the way users write them in the config directory.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "source/common/config/resource_set.h"

namespace Skiff::Config {
namespace {

// The resources of one `resources:` file, each located at "<file>:<item index>".
std::vector<SourcedResource> parse(const std::string& file, const std::string& yaml) {
  std::vector<SourcedResource> out;
  const auto status = parseResourcesDocument(yaml, ConfigFormat::Yaml, file, out);
  EXPECT_TRUE(status.ok()) << status;
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].where = absl::StrCat(file, ":", i);
  }
  return out;
}

std::string errorsOf(const std::vector<SourcedResource>& resources) {
  auto result = validateResourceSet(resources);
  EXPECT_FALSE(result.ok()) << "expected the set to be rejected";
  return result.ok() ? "" : std::string(result.status().message());
}

// What a gRPC client needs for `xds:///echo`: an API listener whose HCM uses RDS, the route
// configuration, an EDS cluster and its endpoints.
constexpr char kGrpcListener[] = R"(
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: echo
  api_listener:
    api_listener:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      rds:
        route_config_name: echo-routes
        config_source: {ads: {}}
      http_filters:
      - name: envoy.filters.http.router
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
)";

constexpr char kRoutes[] = R"(
- "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration
  name: echo-routes
  virtual_hosts:
  - name: all
    domains: ["*"]
    routes:
    - match: {prefix: ""}
      route: {cluster: echo-backends}
)";

constexpr char kEdsCluster[] = R"(
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: echo-backends
  connect_timeout: 1s
  type: EDS
  lb_policy: ROUND_ROBIN
  eds_cluster_config: {eds_config: {ads: {}}}
- "@type": type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment
  cluster_name: echo-backends
  endpoints:
  - locality: {region: local}
    load_balancing_weight: 1
    lb_endpoints:
    - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 9001}}}
)";

std::string file(std::initializer_list<const char*> parts) {
  std::string out = "resources:";
  for (const char* part : parts) {
    out += part;
  }
  return out;
}

TEST(ResourceSetHttpTest, GrpcClientGroupIsValid) {
  auto set = validateResourceSet(parse("grpc.yaml", file({kGrpcListener, kRoutes, kEdsCluster})));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->listeners.size(), 1);
  EXPECT_EQ(set->routes.size(), 1);
  EXPECT_EQ(set->routes.at("echo-routes").where, "grpc.yaml:1");
  EXPECT_EQ(set->clusters.size(), 1);
  EXPECT_EQ(set->assignments.size(), 1);
  EXPECT_TRUE(set->warnings.empty());
}

TEST(ResourceSetHttpTest, NetworkListenerWithHttpConnectionManager) {
  constexpr char kListeners[] = R"(
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: http-rds
  address: {socket_address: {address: 127.0.0.1, port_value: 10000}}
  filter_chains:
  - filters:
    - name: envoy.filters.network.http_connection_manager
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
        stat_prefix: ingress
        rds: {route_config_name: echo-routes, config_source: {ads: {}}}
        http_filters:
        - name: envoy.filters.http.router
          typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: http-inline
  address: {socket_address: {address: 127.0.0.1, port_value: 10001}}
  filter_chains:
  - filters:
    - name: envoy.filters.network.http_connection_manager
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
        stat_prefix: inline
        route_config:
          name: local
          virtual_hosts:
          - name: split
            domains: ["example.com", "*.example.com"]
            routes:
            - match: {path: /health}
              direct_response: {status: 200}
            - match: {prefix: /}
              route:
                weighted_clusters:
                  clusters:
                  - {name: echo-backends, weight: 90}
                  - {name: echo-backends, weight: 10}
        http_filters:
        - name: envoy.filters.http.router
          typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
)";
  auto set = validateResourceSet(parse("http.yaml", file({kListeners, kRoutes, kEdsCluster})));
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->listeners.size(), 2);
}

TEST(ResourceSetHttpTest, ReferencesMustResolveInsideTheGroup) {
  // The listener names a route configuration that does not exist; the routes name an unknown
  // cluster; the EDS cluster has no endpoints (neither under its name nor its service_name).
  const std::string message = errorsOf(parse("refs.yaml", R"(resources:
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: echo
  api_listener:
    api_listener:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      rds: {route_config_name: nope, config_source: {ads: {}}}
      http_filters:
      - name: router
        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
- "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration
  name: routes
  virtual_hosts:
  - name: all
    domains: ["*"]
    routes:
    - match: {prefix: /a}
      route: {cluster: missing}
    - match: {prefix: /b}
      route:
        weighted_clusters:
          clusters: [{name: eds, weight: 0}, {name: gone, weight: 0}]
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: eds
  connect_timeout: 1s
  type: EDS
  eds_cluster_config: {eds_config: {ads: {}}}
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: eds2
  connect_timeout: 1s
  type: EDS
  eds_cluster_config: {eds_config: {ads: {}}, service_name: svc}
)"));
  EXPECT_NE(message.find("refs.yaml:0: listener \"echo\".api_listener.api_listener.rds."
                         "route_config_name: unknown route configuration \"nope\""),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("refs.yaml:1: route configuration \"routes\".virtual_hosts[0].routes[0]"
                         ".route.cluster: unknown cluster \"missing\" (not defined in this group)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("virtual_hosts[0].routes[1].route.weighted_clusters.clusters[1].name: "
                         "unknown cluster \"gone\""),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("weighted_clusters.clusters: the weights add up to 0"), std::string::npos)
      << message;
  EXPECT_NE(message.find("refs.yaml:2: cluster \"eds\".name: type EDS needs a "
                         "ClusterLoadAssignment with cluster_name \"eds\" in this group"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("refs.yaml:3: cluster \"eds2\".eds_cluster_config.service_name: type "
                         "EDS needs a ClusterLoadAssignment with cluster_name \"svc\""),
            std::string::npos)
      << message;
}

TEST(ResourceSetHttpTest, HttpConnectionManagerRules) {
  const std::string message = errorsOf(parse("hcm.yaml", R"(resources:
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: no-router
  api_listener:
    api_listener:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      rds: {route_config_name: r}
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: router-first
  api_listener:
    api_listener:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      rds: {route_config_name: r, config_source: {api_config_source: {api_type: GRPC}}}
      http_filters:
      - name: router
        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
      - name: router
        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy}
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: not-hcm
  api_listener:
    api_listener: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: x, cluster: c}
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: no-routes
  address: {socket_address: {address: 127.0.0.1, port_value: 10000}}
  filter_chains:
  - filters:
    - name: envoy.filters.network.http_connection_manager
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
        http_filters:
        - name: router
          typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
- "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration
  name: r
)"));
  EXPECT_NE(message.find("hcm.yaml:0: listener \"no-router\".api_listener.api_listener."
                         "rds.config_source: required"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("hcm.yaml:0: listener \"no-router\".api_listener.api_listener."
                         "http_filters: at least the router filter"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("listener \"router-first\".api_listener.api_listener.rds.config_source: "
                         "gRPC clients only accept `ads: {}` here"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("api_listener.api_listener.http_filters[0]: the router filter "
                         "(\"router\") must be the last HTTP filter"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("http_filters[1].name: duplicate HTTP filter name \"router\""),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("http_filters[1]: the last HTTP filter must be the router"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("hcm.yaml:2: listener \"not-hcm\".api_listener.api_listener: expected "
                         "type \"type.googleapis.com/envoy.extensions.filters.network."
                         "http_connection_manager.v3.HttpConnectionManager\""),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("hcm.yaml:3: listener \"no-routes\".filter_chains[0].filters[0]."
                         "typed_config.stat_prefix: must not be empty"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("filter_chains[0].filters[0].typed_config: one of rds or route_config "
                         "is required"),
            std::string::npos)
      << message;
}

TEST(ResourceSetHttpTest, RouteConfigurationRules) {
  const std::string message = errorsOf(parse("routes.yaml", R"(resources:
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: c
  connect_timeout: 1s
  load_assignment:
    cluster_name: c
    endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}}]}]
- "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration
  name: r
  virtual_hosts:
  - name: a
    domains: ["Example.com", "*"]
    routes:
    - match: {path: "no-slash"}
      route: {cluster: c}
    - match: {prefix: /}
    - route: {cluster: c}
    - match: {prefix: /x}
      direct_response: {status: 99}
  - name: a
    domains: ["example.com", "a*b", ""]
  - name: empty
- "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration
  name: r
)"));
  const std::vector<std::string> expected = {
      "routes.yaml:1: route configuration \"r\".virtual_hosts[0].routes[0].match.path: "
      "\"no-slash\" must start with '/'",
      "virtual_hosts[0].routes[1]: one of route, redirect or direct_response is required",
      "virtual_hosts[0].routes[2].match: required",
      "virtual_hosts[0].routes[3].direct_response.status: 99 is not a valid HTTP status",
      "virtual_hosts[1].name: duplicate virtual host name \"a\" (also virtual_hosts[0])",
      "virtual_hosts[1].domains[0]: domain \"example.com\" is also in virtual_hosts[0]",
      "virtual_hosts[1].domains[1]: \"a*b\" is not a valid domain",
      "virtual_hosts[1].domains[2]: \"\" is not a valid domain",
      "virtual_hosts[2].domains: at least one domain is required",
      "routes.yaml:2: duplicate route configuration name \"r\" (first defined at routes.yaml:1)",
  };
  for (const auto& line : expected) {
    EXPECT_NE(message.find(line), std::string::npos) << line << "\nin:\n" << message;
  }
}

TEST(ResourceSetHttpTest, AddressesOfNetworkAndApiListeners) {
  const std::string message = errorsOf(parse("addr.yaml", R"(resources:
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: api-with-bad-address
  address: {socket_address: {address: not-an-ip, port_value: 80}}
  api_listener:
    api_listener:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      route_config: {name: inline}
      http_filters:
      - name: router
        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
  filter_chains:
  - filters: []
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: hcm-bad-port
  address: {socket_address: {address: 127.0.0.1, port_value: 70000}}
  filter_chains:
  - filters:
    - name: hcm
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
        stat_prefix: x
        route_config: {name: inline}
        http_filters:
        - name: router
          typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
    - name: after
      typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: x, cluster: nope}
)"));
  EXPECT_NE(message.find("addr.yaml:0: listener \"api-with-bad-address\".filter_chains: not used "
                         "with api_listener"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("addr.yaml:0: listener \"api-with-bad-address\".address.socket_address."
                         "address: \"not-an-ip\" is not a valid IPv4 or IPv6 address"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("addr.yaml:1: listener \"hcm-bad-port\".address.socket_address."
                         "port_value: 70000 is not a valid port"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("filter_chains[0].filters[0]: terminal filter \"hcm\" must be the last "
                         "filter in the chain"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("filter_chains[0].filters[1].typed_config.cluster: unknown cluster "
                         "\"nope\""),
            std::string::npos)
      << message;
  // The placeholder that stands in for the HCM never shows up in messages.
  EXPECT_EQ(message.find("placeholder"), std::string::npos) << message;
}

}  // namespace
}  // namespace Skiff::Config
