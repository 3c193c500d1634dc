// Every field of the api/ subset that skiff validates (bootstrap, listener, cluster, endpoints,
// tcp_proxy, overload manager, runtime) with an invalid value, each rejected with a message that
// names the resource and the field:
//   - through the bootstrap (what `skiff -c` and --mode validate run): the path from the bootstrap
//     root, e.g. "static_resources.listeners[0].address.socket_address.port_value: ...";
//   - through the per-resource validators the xDS client runs (listeners, clusters, endpoints):
//     the resource by name, e.g. "listener 'ingress'.address.socket_address.port_value: ...".
// EveryFieldIsCovered fails for a field of these messages that has neither a case here nor an
// entry in kNoInvalidValue saying why no value of it is invalid.

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "envoy/extensions/resource_monitors/downstream_connections/v3/downstream_connections.pb.h"
#include "envoy/extensions/resource_monitors/fixed_heap/v3/fixed_heap.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"
#include "source/common/config/message_loader.h"
#include "source/common/config/validation.h"

namespace Skiff::Config {
namespace {

using envoy::config::bootstrap::v3::Bootstrap;
using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;
using ::testing::HasSubstr;

constexpr char kBootstrap[] = R"(
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 15000}}}
static_resources:
  listeners:
  - name: ingress
    address: {socket_address: {address: 127.0.0.1, port_value: 10000}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: ingress
          cluster: backend
  clusters:
  - name: backend
    connect_timeout: 1s
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8080}}}
  - name: xds
    connect_timeout: 1s
    load_assignment:
      cluster_name: xds
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 18000}}}
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services: [{envoy_grpc: {cluster_name: xds}}]
  cds_config: {ads: {}, resource_api_version: V3}
overload_manager:
  resource_monitors:
  - name: heap
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig
      max_heap_size_bytes: 1000000
  actions:
  - name: envoy.overload_actions.stop_accepting_requests
    triggers: [{name: heap, threshold: {value: 0.9}}]
layered_runtime:
  layers:
  - name: static
    static_layer: {envoy.resource_limits.listener.ingress.connection_limit: 10}
)";

Bootstrap base() {
  Bootstrap bootstrap;
  const absl::Status status =
      loadMessageFromString(kBootstrap, ConfigFormat::Yaml, "base", bootstrap);
  EXPECT_TRUE(status.ok()) << status;
  return bootstrap;
}

template <class T>
T parse(const std::string& yaml) {
  T message;
  const absl::Status status = loadMessageFromString(yaml, ConfigFormat::Yaml, "case", message);
  EXPECT_TRUE(status.ok()) << status;
  return message;
}

Listener& listener(Bootstrap& b) { return *b.mutable_static_resources()->mutable_listeners(0); }
Cluster& cluster(Bootstrap& b) { return *b.mutable_static_resources()->mutable_clusters(0); }
ClusterLoadAssignment& endpoints(Bootstrap& b) { return *cluster(b).mutable_load_assignment(); }
auto& socketAddress(Bootstrap& b) {
  return *listener(b).mutable_address()->mutable_socket_address();
}
auto& match(Bootstrap& b) {
  return *listener(b).mutable_filter_chains(0)->mutable_filter_chain_match();
}
auto& lbEndpoint(Bootstrap& b) {
  return *endpoints(b).mutable_endpoints(0)->mutable_lb_endpoints(0);
}
auto& ads(Bootstrap& b) { return *b.mutable_dynamic_resources()->mutable_ads_config(); }
auto& overload(Bootstrap& b) { return *b.mutable_overload_manager(); }
void setDuration(google::protobuf::Duration& d, int64_t seconds) { d.set_seconds(seconds); }

// The tcp_proxy of the listener, changed by `change` and packed back.
void tcpProxy(Bootstrap& b, const std::function<void(TcpProxy&)>& change) {
  auto* any = listener(b).mutable_filter_chains(0)->mutable_filters(0)->mutable_typed_config();
  TcpProxy proxy;
  any->UnpackTo(&proxy);
  change(proxy);
  any->PackFrom(proxy);
}

enum class Resource { Listener, Cluster, Endpoints, TcpProxy, Bootstrap };

struct Case {
  std::vector<std::string> fields;  // What it covers: "<message full name>.<field>".
  Resource resource;
  std::function<void(Bootstrap&)> change;
  std::string path;    // From the resource (the bootstrap root for Resource::Bootstrap).
  std::string reason;  // Expected after "<path>: ".
};

constexpr char L[] = "envoy.config.listener.v3.Listener.";
constexpr char FC[] = "envoy.config.listener.v3.FilterChain.";
constexpr char FCM[] = "envoy.config.listener.v3.FilterChainMatch.";
constexpr char F[] = "envoy.config.listener.v3.Filter.";
constexpr char SA[] = "envoy.config.core.v3.SocketAddress.";
constexpr char C[] = "envoy.config.cluster.v3.Cluster.";
constexpr char CLA[] = "envoy.config.endpoint.v3.ClusterLoadAssignment.";
constexpr char LLE[] = "envoy.config.endpoint.v3.LocalityLbEndpoints.";
constexpr char LBE[] = "envoy.config.endpoint.v3.LbEndpoint.";
constexpr char TP[] = "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.";
constexpr char CW[] =
    "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster."
    "ClusterWeight.";
constexpr char ACS[] = "envoy.config.core.v3.ApiConfigSource.";
constexpr char GS[] = "envoy.config.core.v3.GrpcService.";
constexpr char OM[] = "envoy.config.overload.v3.OverloadManager.";
constexpr char RM[] = "envoy.config.overload.v3.ResourceMonitor.";
constexpr char OA[] = "envoy.config.overload.v3.OverloadAction.";
constexpr char TR[] = "envoy.config.overload.v3.Trigger.";

std::string f(const char* message, const char* field) { return absl::StrCat(message, field); }

const std::vector<Case>& cases() {
  static const auto* table = new std::vector<Case>{
      // Listener.
      {{f(L, "name")}, Resource::Listener, [](Bootstrap& b) { listener(b).clear_name(); },
       "name", "must not be empty"},
      {{f(L, "address"), "envoy.config.core.v3.Address.socket_address"}, Resource::Listener,
       [](Bootstrap& b) { listener(b).clear_address(); }, "address", "required"},
      {{"envoy.config.core.v3.Address.pipe", "envoy.config.core.v3.Pipe.path",
        "envoy.config.core.v3.Pipe.mode"},
       Resource::Listener,
       [](Bootstrap& b) { listener(b).mutable_address()->mutable_pipe()->set_path("/tmp/s"); },
       "address.pipe", "Unix domain socket (pipe) addresses are not supported"},
      {{f(SA, "protocol")}, Resource::Listener,
       [](Bootstrap& b) {
         socketAddress(b).set_protocol(envoy::config::core::v3::SocketAddress::UDP);
       },
       "address.socket_address.protocol", "UDP is not supported (only TCP)"},
      {{f(SA, "address")}, Resource::Listener,
       [](Bootstrap& b) { socketAddress(b).set_address("300.1.2.3"); },
       "address.socket_address.address", "\"300.1.2.3\" is not a valid IPv4 or IPv6 address"},
      {{f(SA, "port_value")}, Resource::Listener,
       [](Bootstrap& b) { socketAddress(b).set_port_value(70000); },
       "address.socket_address.port_value", "70000 is not a valid port (0-65535)"},
      {{f(SA, "named_port")}, Resource::Listener,
       [](Bootstrap& b) { socketAddress(b).set_named_port("http"); },
       "address.socket_address.named_port", "named ports are not supported; use port_value"},
      {{f(SA, "resolver_name")}, Resource::Listener,
       [](Bootstrap& b) { socketAddress(b).set_resolver_name("dns"); },
       "address.socket_address.resolver_name", "custom resolver \"dns\" is not supported"},
      {{f(L, "filter_chains")}, Resource::Listener,
       [](Bootstrap& b) { listener(b).clear_filter_chains(); }, "filter_chains",
       "at least one filter chain is required"},
      {{f(L, "drain_type")}, Resource::Listener,
       [](Bootstrap& b) { listener(b).set_drain_type(static_cast<Listener::DrainType>(5)); },
       "drain_type", "unknown value 5"},
      {{f(L, "listener_filters"), "envoy.config.listener.v3.ListenerFilter.name"},
       Resource::Listener,
       [](Bootstrap& b) {
         listener(b).add_listener_filters()->set_name("envoy.filters.listener.tls_inspector");
       },
       "listener_filters[0] (name \"envoy.filters.listener.tls_inspector\")",
       "listener filter not supported; skiff supports only envoy.filters.listener.original_dst"},
      {{"envoy.config.listener.v3.ListenerFilter.typed_config"}, Resource::Listener,
       [](Bootstrap& b) {
         auto* filter = listener(b).add_listener_filters();
         filter->set_name("tls");
         filter->mutable_typed_config()->set_type_url(
             "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector");
       },
       "listener_filters[0] (name \"tls\").typed_config", "unknown listener filter type"},
      {{f(L, "bind_to_port")}, Resource::Listener,
       [](Bootstrap& b) {
         listener(b).mutable_bind_to_port()->set_value(false);
         socketAddress(b).set_port_value(0);
       },
       "address.socket_address.port_value", "required with bind_to_port: false"},
      {{f(L, "listener_filters_timeout")}, Resource::Listener,
       [](Bootstrap& b) { setDuration(*listener(b).mutable_listener_filters_timeout(), -1); },
       "listener_filters_timeout", "invalid duration"},
      {{f(L, "traffic_direction")}, Resource::Listener,
       [](Bootstrap& b) {
         listener(b).set_traffic_direction(
             static_cast<envoy::config::core::v3::TrafficDirection>(9));
       },
       "traffic_direction", "unknown value 9"},
      {{f(L, "connection_balance_config"),
        "envoy.config.listener.v3.Listener.ConnectionBalanceConfig.exact_balance"},
       Resource::Listener,
       [](Bootstrap& b) { listener(b).mutable_connection_balance_config(); },
       "connection_balance_config", "must set exact_balance"},
      {{f(L, "api_listener"), "envoy.config.listener.v3.ApiListener.api_listener"},
       Resource::Listener,
       [](Bootstrap& b) { listener(b).mutable_api_listener(); }, "api_listener",
       "not served by skiff"},
      // FilterChain and Filter.
      {{f(FC, "filter_chain_match")}, Resource::Listener,
       [](Bootstrap& b) { *listener(b).add_filter_chains() = listener(b).filter_chains(0); },
       "filter_chains[1].filter_chain_match", "same match as filter_chains[0]"},
      {{f(FC, "filters")}, Resource::Listener,
       [](Bootstrap& b) { listener(b).mutable_filter_chains(0)->clear_filters(); },
       "filter_chains[0].filters", "at least one network filter is required"},
      {{f(FC, "name")}, Resource::Listener,
       [](Bootstrap& b) {
         listener(b).mutable_filter_chains(0)->set_name("a");
         auto& second = *listener(b).add_filter_chains();
         second = listener(b).filter_chains(0);
         second.mutable_filter_chain_match()->mutable_destination_port()->set_value(80);
       },
       "filter_chains[1] (name \"a\")", "duplicate filter chain name (also filter_chains[0])"},
      {{f(F, "name")}, Resource::Listener,
       [](Bootstrap& b) { listener(b).mutable_filter_chains(0)->mutable_filters(0)->clear_name(); },
       "filter_chains[0].filters[0].name", "must not be empty"},
      {{f(F, "typed_config")}, Resource::Listener,
       [](Bootstrap& b) {
         listener(b).mutable_filter_chains(0)->mutable_filters(0)->mutable_typed_config()->set_type_url(
             "type.googleapis.com/envoy.extensions.filters.network.echo.v3.Echo");
       },
       "filter_chains[0].filters[0].typed_config", "unknown network filter type"},
      // FilterChainMatch.
      {{f(FCM, "destination_port")}, Resource::Listener,
       [](Bootstrap& b) { match(b).mutable_destination_port()->set_value(0); },
       "filter_chains[0].filter_chain_match.destination_port", "0 is not a valid port (1-65535)"},
      {{f(FCM, "prefix_ranges"), "envoy.config.core.v3.CidrRange.address_prefix"},
       Resource::Listener,
       [](Bootstrap& b) { match(b).add_prefix_ranges()->set_address_prefix("10.0.0.0/8"); },
       "filter_chains[0].filter_chain_match.prefix_ranges[0].address_prefix",
       "\"10.0.0.0/8\" is not a valid IPv4 or IPv6 address"},
      {{f(FCM, "prefix_ranges")}, Resource::Listener,
       [](Bootstrap& b) { match(b).add_prefix_ranges()->set_address_prefix("10.0.0.0"); },
       "filter_chains[0].filter_chain_match.prefix_ranges",
       "not supported by skiff (filter chains are matched on destination_port only)"},
      {{"envoy.config.core.v3.CidrRange.prefix_len"}, Resource::Listener,
       [](Bootstrap& b) {
         auto* range = match(b).add_source_prefix_ranges();
         range->set_address_prefix("10.0.0.0");
         range->mutable_prefix_len()->set_value(33);
       },
       "filter_chains[0].filter_chain_match.source_prefix_ranges[0].prefix_len",
       "33 is too long for an IPv4 prefix (0-32)"},
      {{f(FCM, "source_prefix_ranges")}, Resource::Listener,
       [](Bootstrap& b) { match(b).add_source_prefix_ranges()->set_address_prefix("::1"); },
       "filter_chains[0].filter_chain_match.source_prefix_ranges", "not supported by skiff"},
      {{f(FCM, "direct_source_prefix_ranges")}, Resource::Listener,
       [](Bootstrap& b) { match(b).add_direct_source_prefix_ranges()->set_address_prefix("::1"); },
       "filter_chains[0].filter_chain_match.direct_source_prefix_ranges", "not supported by skiff"},
      {{f(FCM, "source_type")}, Resource::Listener,
       [](Bootstrap& b) {
         match(b).set_source_type(envoy::config::listener::v3::FilterChainMatch::EXTERNAL);
       },
       "filter_chains[0].filter_chain_match.source_type", "not supported by skiff"},
      {{f(FCM, "source_type")}, Resource::Listener,
       [](Bootstrap& b) {
         match(b).set_source_type(
             static_cast<envoy::config::listener::v3::FilterChainMatch::ConnectionSourceType>(7));
       },
       "filter_chains[0].filter_chain_match.source_type", "unknown value 7"},
      {{f(FCM, "source_ports")}, Resource::Listener,
       [](Bootstrap& b) { match(b).add_source_ports(0); },
       "filter_chains[0].filter_chain_match.source_ports[0]", "0 is not a valid port (1-65535)"},
      {{f(FCM, "source_ports")}, Resource::Listener,
       [](Bootstrap& b) { match(b).add_source_ports(80); },
       "filter_chains[0].filter_chain_match.source_ports", "not supported by skiff"},
      {{f(FCM, "server_names")}, Resource::Listener,
       [](Bootstrap& b) { match(b).add_server_names(""); },
       "filter_chains[0].filter_chain_match.server_names[0]", "must not be empty"},
      {{f(FCM, "server_names")}, Resource::Listener,
       [](Bootstrap& b) { match(b).add_server_names("example.com"); },
       "filter_chains[0].filter_chain_match.server_names", "not supported by skiff"},
      {{f(FCM, "transport_protocol")}, Resource::Listener,
       [](Bootstrap& b) { match(b).set_transport_protocol("tls"); },
       "filter_chains[0].filter_chain_match.transport_protocol",
       "\"tls\" is not supported (skiff has no TLS inspector"},
      {{f(FCM, "application_protocols")}, Resource::Listener,
       [](Bootstrap& b) { match(b).add_application_protocols("h2"); },
       "filter_chains[0].filter_chain_match.application_protocols", "not supported by skiff"},
      // tcp_proxy.
      {{f(TP, "stat_prefix")}, Resource::TcpProxy,
       [](Bootstrap& b) { tcpProxy(b, [](TcpProxy& p) { p.clear_stat_prefix(); }); },
       "stat_prefix", "must not be empty"},
      {{f(TP, "cluster")}, Resource::TcpProxy,
       [](Bootstrap& b) {
         // Without CDS, a tcp_proxy may only name static clusters.
         b.mutable_dynamic_resources()->clear_cds_config();
         tcpProxy(b, [](TcpProxy& p) { p.set_cluster("nope"); });
       },
       "cluster",
       "unknown cluster \"nope\""},
      {{f(TP, "cluster")}, Resource::TcpProxy,
       [](Bootstrap& b) { tcpProxy(b, [](TcpProxy& p) { p.clear_cluster_specifier(); }); }, "",
       "must set cluster or weighted_clusters"},
      {{f(TP, "weighted_clusters"),
        "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster.clusters"},
       Resource::TcpProxy,
       [](Bootstrap& b) { tcpProxy(b, [](TcpProxy& p) { p.mutable_weighted_clusters(); }); },
       "weighted_clusters.clusters", "at least one cluster is required"},
      {{f(CW, "name")}, Resource::TcpProxy,
       [](Bootstrap& b) {
         b.mutable_dynamic_resources()->clear_cds_config();
         tcpProxy(b, [](TcpProxy& p) {
           auto* entry = p.mutable_weighted_clusters()->add_clusters();
           entry->set_name("nope");
           entry->set_weight(1);
         });
       },
       "weighted_clusters.clusters[0].name", "unknown cluster \"nope\""},
      {{f(CW, "weight")}, Resource::TcpProxy,
       [](Bootstrap& b) {
         tcpProxy(b, [](TcpProxy& p) {
           p.mutable_weighted_clusters()->add_clusters()->set_name("backend");
         });
       },
       "weighted_clusters.clusters[0].weight", "must be >= 1"},
      {{f(TP, "idle_timeout")}, Resource::TcpProxy,
       [](Bootstrap& b) {
         tcpProxy(b, [](TcpProxy& p) { setDuration(*p.mutable_idle_timeout(), -5); });
       },
       "idle_timeout", "invalid duration"},
      {{f(TP, "max_connect_attempts")}, Resource::TcpProxy,
       [](Bootstrap& b) {
         tcpProxy(b, [](TcpProxy& p) { p.mutable_max_connect_attempts()->set_value(0); });
       },
       "max_connect_attempts", "must be >= 1"},
      {{f(TP, "max_downstream_connection_duration")}, Resource::TcpProxy,
       [](Bootstrap& b) {
         tcpProxy(b, [](TcpProxy& p) {
           setDuration(*p.mutable_max_downstream_connection_duration(), -1);
         });
       },
       "max_downstream_connection_duration", "invalid duration"},
      // Cluster.
      {{f(C, "name")}, Resource::Cluster, [](Bootstrap& b) { cluster(b).clear_name(); }, "name",
       "must not be empty"},
      {{f(C, "type")}, Resource::Cluster,
       [](Bootstrap& b) { cluster(b).set_type(static_cast<Cluster::DiscoveryType>(9)); }, "type",
       "unknown value 9"},
      {{f(C, "eds_cluster_config"), "envoy.config.cluster.v3.Cluster.EdsClusterConfig.eds_config"},
       Resource::Cluster,
       [](Bootstrap& b) {
         cluster(b).set_type(Cluster::EDS);
         cluster(b).clear_load_assignment();
       },
       "eds_cluster_config.eds_config", "required for an EDS cluster"},
      {{f(C, "connect_timeout")}, Resource::Cluster,
       [](Bootstrap& b) { setDuration(*cluster(b).mutable_connect_timeout(), 0); },
       "connect_timeout", "must be greater than 0"},
      {{f(C, "cleanup_interval")}, Resource::Cluster,
       [](Bootstrap& b) { setDuration(*cluster(b).mutable_cleanup_interval(), 0); },
       "cleanup_interval", "must be greater than 0"},
      {{f(C, "lb_policy")}, Resource::Cluster,
       [](Bootstrap& b) { cluster(b).set_lb_policy(Cluster::RING_HASH); }, "lb_policy",
       "RING_HASH is not supported"},
      {{f(C, "load_assignment")}, Resource::Cluster,
       [](Bootstrap& b) { cluster(b).clear_load_assignment(); }, "load_assignment",
       "a STATIC cluster needs load_assignment with at least one endpoint"},
      {{f(C, "upstream_bind_config")}, Resource::Cluster,
       [](Bootstrap& b) { cluster(b).mutable_upstream_bind_config(); },
       "upstream_bind_config.source_address", "required"},
      {{"envoy.config.core.v3.BindConfig.source_address"}, Resource::Cluster,
       [](Bootstrap& b) {
         cluster(b).mutable_upstream_bind_config()->mutable_source_address()->set_address("x");
       },
       "upstream_bind_config.source_address.address", "\"x\" is not a valid IPv4 or IPv6 address"},
      {{f(C, "circuit_breakers"), "envoy.config.cluster.v3.CircuitBreakers.thresholds",
        "envoy.config.cluster.v3.CircuitBreakers.Thresholds.priority"},
       Resource::Cluster,
       [](Bootstrap& b) {
         cluster(b).mutable_circuit_breakers()->add_thresholds()->set_priority(
             static_cast<envoy::config::core::v3::RoutingPriority>(4));
       },
       "circuit_breakers.thresholds[0].priority", "unknown value 4"},
      {{"envoy.config.cluster.v3.CircuitBreakers.per_host_thresholds"}, Resource::Cluster,
       [](Bootstrap& b) {
         cluster(b).mutable_circuit_breakers()->add_per_host_thresholds()->set_priority(
             static_cast<envoy::config::core::v3::RoutingPriority>(4));
       },
       "circuit_breakers.per_host_thresholds[0].priority", "unknown value 4"},
      {{f(C, "dns_refresh_rate")}, Resource::Cluster,
       [](Bootstrap& b) { setDuration(*cluster(b).mutable_dns_refresh_rate(), 0); },
       "dns_refresh_rate", "must be greater than 0"},
      {{f(C, "dns_lookup_family")}, Resource::Cluster,
       [](Bootstrap& b) {
         cluster(b).set_dns_lookup_family(static_cast<Cluster::DnsLookupFamily>(9));
       },
       "dns_lookup_family", "unknown value 9"},
      // Endpoints (a cluster's load_assignment, or an EDS ClusterLoadAssignment).
      {{f(CLA, "cluster_name")}, Resource::Endpoints,
       [](Bootstrap& b) { endpoints(b).clear_cluster_name(); }, "cluster_name",
       "must not be empty"},
      {{f(CLA, "endpoints"), f(LLE, "load_balancing_weight")}, Resource::Endpoints,
       [](Bootstrap& b) {
         endpoints(b).mutable_endpoints(0)->mutable_load_balancing_weight()->set_value(0);
       },
       "endpoints[0].load_balancing_weight", "must be >= 1"},
      {{f(LLE, "priority")}, Resource::Endpoints,
       [](Bootstrap& b) { endpoints(b).mutable_endpoints(0)->set_priority(200); },
       "endpoints[0].priority", "200 is too large (0-128)"},
      {{f(LLE, "lb_endpoints"), f(LBE, "endpoint")}, Resource::Endpoints,
       [](Bootstrap& b) { lbEndpoint(b).clear_endpoint(); }, "endpoints[0].lb_endpoints[0].endpoint",
       "required"},
      {{"envoy.config.endpoint.v3.Endpoint.address"}, Resource::Endpoints,
       [](Bootstrap& b) { lbEndpoint(b).mutable_endpoint()->clear_address(); },
       "endpoints[0].lb_endpoints[0].endpoint.address", "required"},
      {{"envoy.config.endpoint.v3.Endpoint.address"}, Resource::Endpoints,
       [](Bootstrap& b) {
         lbEndpoint(b).mutable_endpoint()->mutable_address()->mutable_socket_address()
             ->set_port_value(0);
       },
       "endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value",
       "0 is not a valid port for an upstream endpoint (1-65535)"},
      {{"envoy.config.endpoint.v3.Endpoint.health_check_config",
        "envoy.config.endpoint.v3.Endpoint.HealthCheckConfig.port_value"},
       Resource::Endpoints,
       [](Bootstrap& b) {
         lbEndpoint(b).mutable_endpoint()->mutable_health_check_config()->set_port_value(70000);
       },
       "endpoints[0].lb_endpoints[0].endpoint.health_check_config.port_value",
       "70000 is not a valid port (0-65535)"},
      {{f(LBE, "health_status")}, Resource::Endpoints,
       [](Bootstrap& b) {
         lbEndpoint(b).set_health_status(static_cast<envoy::config::core::v3::HealthStatus>(9));
       },
       "endpoints[0].lb_endpoints[0].health_status", "unknown value 9"},
      {{f(LBE, "load_balancing_weight")}, Resource::Endpoints,
       [](Bootstrap& b) { lbEndpoint(b).mutable_load_balancing_weight()->set_value(0); },
       "endpoints[0].lb_endpoints[0].load_balancing_weight", "must be >= 1"},
      {{f(CLA, "policy"),
        "envoy.config.endpoint.v3.ClusterLoadAssignment.Policy.overprovisioning_factor"},
       Resource::Endpoints,
       [](Bootstrap& b) {
         endpoints(b).mutable_policy()->mutable_overprovisioning_factor()->set_value(0);
       },
       "policy.overprovisioning_factor", "must be greater than 0"},
      {{"envoy.config.endpoint.v3.ClusterLoadAssignment.Policy.endpoint_stale_after"},
       Resource::Endpoints,
       [](Bootstrap& b) {
         setDuration(*endpoints(b).mutable_policy()->mutable_endpoint_stale_after(), -1);
       },
       "policy.endpoint_stale_after", "invalid duration"},
      // Bootstrap.
      {{"envoy.config.bootstrap.v3.Bootstrap.static_resources",
        "envoy.config.bootstrap.v3.Bootstrap.StaticResources.listeners"},
       Resource::Bootstrap,
       [](Bootstrap& b) {
         auto& copy = *b.mutable_static_resources()->add_listeners();
         copy = listener(b);
         copy.mutable_address()->mutable_socket_address()->set_port_value(10001);
       },
       "static_resources.listeners[1] (name \"ingress\")",
       "duplicate listener name (also static_resources.listeners[0])"},
      {{"envoy.config.bootstrap.v3.Bootstrap.StaticResources.listeners"}, Resource::Bootstrap,
       [](Bootstrap& b) {
         auto& copy = *b.mutable_static_resources()->add_listeners();
         copy = listener(b);
         copy.set_name("other");
       },
       "static_resources.listeners[1].address",
       "127.0.0.1:10000 is already used by static_resources.listeners[0]"},
      {{"envoy.config.bootstrap.v3.Bootstrap.StaticResources.clusters"}, Resource::Bootstrap,
       [](Bootstrap& b) { *b.mutable_static_resources()->add_clusters() = cluster(b); },
       "static_resources.clusters[2] (name \"backend\")",
       "duplicate cluster name (also static_resources.clusters[0])"},
      {{"envoy.config.bootstrap.v3.Bootstrap.admin", "envoy.config.bootstrap.v3.Admin.address"},
       Resource::Bootstrap,
       [](Bootstrap& b) {
         b.mutable_admin()->mutable_address()->mutable_socket_address()->set_address("localhost");
       },
       "admin.address.socket_address.address",
       "\"localhost\" is not a valid IPv4 or IPv6 address"},
      {{"envoy.config.bootstrap.v3.Admin.address"}, Resource::Bootstrap,
       [](Bootstrap& b) {
         b.mutable_admin()->mutable_address()->mutable_socket_address()->set_port_value(10000);
       },
       "admin.address", "127.0.0.1:10000 is already used by static_resources.listeners[0]"},
      {{"envoy.config.bootstrap.v3.Bootstrap.stats_flush_interval"}, Resource::Bootstrap,
       [](Bootstrap& b) { setDuration(*b.mutable_stats_flush_interval(), 0); },
       "stats_flush_interval", "must be greater than 0"},
      {{"envoy.config.bootstrap.v3.Bootstrap.dynamic_resources",
        "envoy.config.bootstrap.v3.Bootstrap.DynamicResources.lds_config",
        "envoy.config.core.v3.ConfigSource.ads"},
       Resource::Bootstrap,
       [](Bootstrap& b) {
         b.mutable_dynamic_resources()->clear_ads_config();
         b.mutable_dynamic_resources()->mutable_lds_config()->mutable_ads();
       },
       "dynamic_resources.lds_config.ads", "requires dynamic_resources.ads_config"},
      {{"envoy.config.bootstrap.v3.Bootstrap.DynamicResources.cds_config",
        "envoy.config.core.v3.ConfigSource.api_config_source"},
       Resource::Bootstrap,
       [](Bootstrap& b) { b.mutable_dynamic_resources()->mutable_cds_config()->Clear(); },
       "dynamic_resources.cds_config", "must set ads or api_config_source"},
      {{"envoy.config.core.v3.ConfigSource.initial_fetch_timeout"}, Resource::Bootstrap,
       [](Bootstrap& b) {
         setDuration(
             *b.mutable_dynamic_resources()->mutable_cds_config()->mutable_initial_fetch_timeout(),
             -1);
       },
       "dynamic_resources.cds_config.initial_fetch_timeout", "invalid duration"},
      {{"envoy.config.core.v3.ConfigSource.resource_api_version"}, Resource::Bootstrap,
       [](Bootstrap& b) {
         b.mutable_dynamic_resources()->mutable_cds_config()->set_resource_api_version(
             envoy::config::core::v3::V2);
       },
       "dynamic_resources.cds_config.resource_api_version", "V2 is not supported (use V3)"},
      {{"envoy.config.bootstrap.v3.Bootstrap.DynamicResources.ads_config", f(ACS, "api_type")},
       Resource::Bootstrap,
       [](Bootstrap& b) { ads(b).set_api_type(envoy::config::core::v3::ApiConfigSource::REST); },
       "dynamic_resources.ads_config.api_type", "REST is not supported"},
      {{f(ACS, "transport_api_version")}, Resource::Bootstrap,
       [](Bootstrap& b) { ads(b).set_transport_api_version(envoy::config::core::v3::V2); },
       "dynamic_resources.ads_config.transport_api_version", "V2 is not supported (use V3)"},
      {{f(ACS, "cluster_names")}, Resource::Bootstrap,
       [](Bootstrap& b) { ads(b).add_cluster_names("xds"); },
       "dynamic_resources.ads_config.cluster_names",
       "only for REST config sources; use grpc_services"},
      {{f(ACS, "grpc_services")}, Resource::Bootstrap,
       [](Bootstrap& b) { ads(b).clear_grpc_services(); },
       "dynamic_resources.ads_config.grpc_services", "at least one gRPC service is required"},
      {{f(ACS, "refresh_delay")}, Resource::Bootstrap,
       [](Bootstrap& b) { setDuration(*ads(b).mutable_refresh_delay(), -1); },
       "dynamic_resources.ads_config.refresh_delay", "invalid duration"},
      {{f(ACS, "request_timeout")}, Resource::Bootstrap,
       [](Bootstrap& b) { setDuration(*ads(b).mutable_request_timeout(), -1); },
       "dynamic_resources.ads_config.request_timeout", "invalid duration"},
      {{f(ACS, "rate_limit_settings"), "envoy.config.core.v3.RateLimitSettings.fill_rate"},
       Resource::Bootstrap,
       [](Bootstrap& b) {
         ads(b).mutable_rate_limit_settings()->mutable_fill_rate()->set_value(-2);
       },
       "dynamic_resources.ads_config.rate_limit_settings.fill_rate", "-2 must be greater than 0"},
      {{f(GS, "envoy_grpc"), "envoy.config.core.v3.GrpcService.EnvoyGrpc.cluster_name"},
       Resource::Bootstrap,
       [](Bootstrap& b) {
         ads(b).mutable_grpc_services(0)->mutable_envoy_grpc()->set_cluster_name("nope");
       },
       "dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name",
       "unknown cluster \"nope\" (must be a static cluster)"},
      {{f(GS, "google_grpc"), "envoy.config.core.v3.GrpcService.GoogleGrpc.target_uri"},
       Resource::Bootstrap,
       [](Bootstrap& b) { ads(b).mutable_grpc_services(0)->mutable_google_grpc(); },
       "dynamic_resources.ads_config.grpc_services[0].google_grpc.target_uri",
       "must not be empty"},
      {{f(GS, "timeout")}, Resource::Bootstrap,
       [](Bootstrap& b) { setDuration(*ads(b).mutable_grpc_services(0)->mutable_timeout(), -1); },
       "dynamic_resources.ads_config.grpc_services[0].timeout", "invalid duration"},
      {{f(GS, "initial_metadata"), "envoy.config.core.v3.HeaderValue.key"}, Resource::Bootstrap,
       [](Bootstrap& b) { ads(b).mutable_grpc_services(0)->add_initial_metadata()->set_value("v"); },
       "dynamic_resources.ads_config.grpc_services[0].initial_metadata[0].key",
       "must not be empty"},
      // Overload manager.
      {{"envoy.config.bootstrap.v3.Bootstrap.overload_manager", f(OM, "refresh_interval")},
       Resource::Bootstrap,
       [](Bootstrap& b) { setDuration(*overload(b).mutable_refresh_interval(), 0); },
       "overload_manager.refresh_interval", "must be at least 1ms"},
      {{f(OM, "resource_monitors")}, Resource::Bootstrap,
       [](Bootstrap& b) { overload(b).clear_resource_monitors(); },
       "overload_manager.resource_monitors", "at least one is required"},
      {{f(RM, "name")}, Resource::Bootstrap,
       [](Bootstrap& b) { *overload(b).add_resource_monitors() = overload(b).resource_monitors(0); },
       "overload_manager.resource_monitors[1].name", "duplicate resource monitor \"heap\""},
      {{f(RM, "typed_config")}, Resource::Bootstrap,
       [](Bootstrap& b) { overload(b).mutable_resource_monitors(0)->clear_typed_config(); },
       "overload_manager.resource_monitors[0].typed_config", "required"},
      {{f(RM, "typed_config")}, Resource::Bootstrap,
       [](Bootstrap& b) {
         overload(b).mutable_resource_monitors(0)->mutable_typed_config()->set_type_url(
             "type.googleapis.com/envoy.extensions.resource_monitors.injected_resource.v3."
             "InjectedResourceConfig");
       },
       "overload_manager.resource_monitors[0].typed_config",
       "unsupported resource monitor type"},
      {{"envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig.max_heap_size_bytes"},
       Resource::Bootstrap,
       [](Bootstrap& b) {
         overload(b).mutable_resource_monitors(0)->mutable_typed_config()->PackFrom(
             envoy::extensions::resource_monitors::fixed_heap::v3::FixedHeapConfig());
       },
       "overload_manager.resource_monitors[0].typed_config.max_heap_size_bytes",
       "must be greater than 0"},
      {{"envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig."
        "max_active_downstream_connections"},
       Resource::Bootstrap,
       [](Bootstrap& b) {
         envoy::extensions::resource_monitors::downstream_connections::v3::
             DownstreamConnectionsConfig config;
         config.set_max_active_downstream_connections(-3);
         auto* monitor = overload(b).add_resource_monitors();
         monitor->set_name("connections");
         monitor->mutable_typed_config()->PackFrom(config);
       },
       "overload_manager.resource_monitors[1].typed_config.max_active_downstream_connections",
       "-3 must be greater than 0"},
      {{f(OM, "actions"), f(OA, "name")}, Resource::Bootstrap,
       [](Bootstrap& b) {
         overload(b).mutable_actions(0)->set_name("envoy.overload_actions.shrink_heap");
       },
       "overload_manager.actions[0].name",
       "unsupported overload action \"envoy.overload_actions.shrink_heap\""},
      {{f(OA, "triggers")}, Resource::Bootstrap,
       [](Bootstrap& b) { overload(b).mutable_actions(0)->clear_triggers(); },
       "overload_manager.actions[0].triggers", "at least one is required"},
      {{f(OA, "typed_config")}, Resource::Bootstrap,
       [](Bootstrap& b) { overload(b).mutable_actions(0)->mutable_typed_config(); },
       "overload_manager.actions[0].typed_config",
       "envoy.overload_actions.stop_accepting_requests takes no config"},
      {{f(TR, "name")}, Resource::Bootstrap,
       [](Bootstrap& b) { overload(b).mutable_actions(0)->mutable_triggers(0)->set_name("nope"); },
       "overload_manager.actions[0].triggers[0].name", "unknown resource monitor \"nope\""},
      {{f(TR, "threshold"), "envoy.config.overload.v3.ThresholdTrigger.value"},
       Resource::Bootstrap,
       [](Bootstrap& b) {
         overload(b).mutable_actions(0)->mutable_triggers(0)->mutable_threshold()->set_value(2);
       },
       "overload_manager.actions[0].triggers[0].threshold.value", "2 is not in [0, 1]"},
      {{f(TR, "scaled"), "envoy.config.overload.v3.ScaledTrigger.scaling_threshold",
        "envoy.config.overload.v3.ScaledTrigger.saturation_threshold"},
       Resource::Bootstrap,
       [](Bootstrap& b) {
         auto* scaled = overload(b).mutable_actions(0)->mutable_triggers(0)->mutable_scaled();
         scaled->set_scaling_threshold(0.9);
         scaled->set_saturation_threshold(0.5);
       },
       "overload_manager.actions[0].triggers[0].scaled.scaling_threshold",
       "0.9 must be less than saturation_threshold 0.5"},
      {{"envoy.config.overload.v3.ScaledTrigger.saturation_threshold"}, Resource::Bootstrap,
       [](Bootstrap& b) {
         overload(b).mutable_actions(0)->mutable_triggers(0)->mutable_scaled()
             ->set_saturation_threshold(-1);
       },
       "overload_manager.actions[0].triggers[0].scaled.saturation_threshold",
       "-1 is not in [0, 1]"},
      // Runtime.
      {{"envoy.config.bootstrap.v3.Bootstrap.layered_runtime",
        "envoy.config.bootstrap.v3.LayeredRuntime.layers",
        "envoy.config.bootstrap.v3.RuntimeLayer.name"},
       Resource::Bootstrap,
       [](Bootstrap& b) { b.mutable_layered_runtime()->mutable_layers(0)->clear_name(); },
       "layered_runtime.layers[0].name", "must not be empty"},
      {{"envoy.config.bootstrap.v3.RuntimeLayer.static_layer"}, Resource::Bootstrap,
       [](Bootstrap& b) {
         (*b.mutable_layered_runtime()->mutable_layers(0)->mutable_static_layer()->mutable_fields())
             ["envoy.resource_limits.listener.ingress.connection_limit"]
                 .set_string_value("lots");
       },
       "layered_runtime.layers[0].static_layer.envoy.resource_limits.listener.ingress."
       "connection_limit",
       "\"lots\" is not a valid connection limit (a non-negative integer)"},
      {{"envoy.config.bootstrap.v3.RuntimeLayer.static_layer"}, Resource::Bootstrap,
       [](Bootstrap& b) {
         b.mutable_layered_runtime()->mutable_layers(0)->clear_static_layer();
       },
       "layered_runtime.layers[0]", "must set static_layer"},
  };
  return *table;
}

// Fields for which no value is invalid (skiff accepts every value and uses or ignores it as
// docs/config-reference.md says), with the reason.
const std::map<std::string, std::string>& noInvalidValue() {
  static const auto* table = new std::map<std::string, std::string>{
      {f(L, "stat_prefix"), "any string"},
      {"envoy.config.bootstrap.v3.Bootstrap.deferred_stat_options", "only a bool inside"},
      {"envoy.config.bootstrap.v3.Bootstrap.DeferredStatOptions.enable_deferred_creation_stats",
       "bool"},
      {f(L, "per_connection_buffer_limit_bytes"), "any uint32 (0: no limit)"},
      {f(L, "metadata"), "opaque"},
      {f(L, "continue_on_listener_filters_timeout"), "bool"},
      {f(L, "tcp_backlog_size"), "any uint32 (accepted, the backlog is 1024)"},
      {f(L, "use_original_dst"), "bool"},
      {f(L, "enable_reuse_port"), "bool (skiff always uses one reuse-port socket per worker)"},
      {f(FC, "metadata"), "opaque"},
      {f(SA, "ipv4_compat"), "bool"},
      {"envoy.config.core.v3.Node.id", "any string"},
      {"envoy.config.core.v3.Node.cluster", "any string"},
      {"envoy.config.core.v3.Node.metadata", "opaque"},
      {"envoy.config.core.v3.Node.locality", "any strings"},
      {"envoy.config.core.v3.Node.user_agent_name", "overwritten by skiff"},
      {"envoy.config.core.v3.Node.user_agent_version", "overwritten by skiff"},
      {"envoy.config.core.v3.Node.client_features", "any strings"},
      {"envoy.config.core.v3.Locality.region", "any string"},
      {"envoy.config.core.v3.Locality.zone", "any string"},
      {"envoy.config.core.v3.Locality.sub_zone", "any string"},
      {"envoy.config.core.v3.Metadata.filter_metadata", "opaque"},
      {"envoy.config.core.v3.Metadata.typed_filter_metadata", "opaque"},
      {"envoy.config.core.v3.HeaderValue.value", "any string"},
      {"envoy.config.core.v3.HeaderValue.raw_value", "any bytes"},
      {f(C, "alt_stat_name"), "any string"},
      {f(C, "per_connection_buffer_limit_bytes"), "any uint32 (0: no limit)"},
      {f(C, "metadata"), "opaque"},
      {"envoy.config.core.v3.BindConfig.freebind", "bool"},
      {"envoy.config.cluster.v3.Cluster.EdsClusterConfig.service_name", "any string"},
      {"envoy.config.cluster.v3.CircuitBreakers.Thresholds.max_connections", "any uint32"},
      {"envoy.config.cluster.v3.CircuitBreakers.Thresholds.max_pending_requests", "any uint32"},
      {"envoy.config.cluster.v3.CircuitBreakers.Thresholds.max_requests", "any uint32"},
      {"envoy.config.cluster.v3.CircuitBreakers.Thresholds.max_retries", "any uint32"},
      {"envoy.config.cluster.v3.CircuitBreakers.Thresholds.track_remaining", "bool"},
      {"envoy.config.cluster.v3.CircuitBreakers.Thresholds.max_connection_pools", "any uint32"},
      {"envoy.config.endpoint.v3.ClusterLoadAssignment.Policy.weighted_priority_health", "bool"},
      {f(LLE, "locality"), "any strings"},
      {f(LLE, "metadata"), "opaque"},
      {f(LBE, "metadata"), "opaque"},
      {"envoy.config.endpoint.v3.Endpoint.hostname", "any string (for logs)"},
      {"envoy.config.endpoint.v3.Endpoint.HealthCheckConfig.hostname", "any string"},
      {f(TP, "metadata_match"), "opaque"},
      {f(CW, "metadata_match"), "opaque"},
      {f(ACS, "set_node_on_first_message_only"), "bool"},
      {"envoy.config.core.v3.RateLimitSettings.max_tokens", "any uint32"},
      {"envoy.config.core.v3.GrpcService.EnvoyGrpc.authority", "any string"},
      {"envoy.config.core.v3.GrpcService.GoogleGrpc.stat_prefix", "any string"},
      {"envoy.config.bootstrap.v3.Bootstrap.node", "its fields are any strings"},
      {"envoy.config.bootstrap.v3.Admin.access_log_path", "accepted and ignored (deprecated)"},
      {"envoy.config.bootstrap.v3.Admin.profile_path", "any string"},
  };
  return *table;
}

// Messages whose invalid values are tested elsewhere, by the branch that added them (health
// checking, outlier detection and HTTP protocol options: validation_test.cc's HealthChecks and
// HTTP cases). Not walked here; a field added to any other message still needs a case.
const std::vector<std::string>& coveredElsewhere() {
  static const auto* list = new std::vector<std::string>{
      "envoy.config.core.v3.HealthCheck",
      "envoy.config.cluster.v3.OutlierDetection",
      "envoy.config.core.v3.HttpProtocolOptions",
      "envoy.config.core.v3.HeaderValueOption",
      "envoy.config.cluster.v3.Cluster.CommonLbConfig",
      "envoy.type.v3.Percent",
      "envoy.type.v3.Int64Range",
      "envoy.config.cluster.v3.Cluster.health_checks",
      "envoy.config.cluster.v3.Cluster.outlier_detection",
      "envoy.config.cluster.v3.Cluster.common_lb_config",
      "envoy.config.cluster.v3.Cluster.common_http_protocol_options",
  };
  return *list;
}

bool isCoveredElsewhere(const std::string& full_name) {
  for (const std::string& prefix : coveredElsewhere()) {
    if (full_name == prefix || full_name.rfind(prefix + ".", 0) == 0) {
      return true;
    }
  }
  return false;
}

std::string pathUnder(const std::string& prefix, const std::string& path) {
  return path.empty() ? prefix : absl::StrCat(prefix, ".", path);
}

class ValidationTableTest : public testing::TestWithParam<size_t> {};

TEST_P(ValidationTableTest, RejectedNamingResourceAndField) {
  const Case& c = cases()[GetParam()];
  Bootstrap bootstrap = base();
  ASSERT_TRUE(validateBootstrap(bootstrap).ok()) << validateBootstrap(bootstrap);
  c.change(bootstrap);

  // Through the bootstrap, as `skiff -c` loads it.
  std::string root;
  switch (c.resource) {
    case Resource::Listener:
      root = "static_resources.listeners[0]";
      break;
    case Resource::TcpProxy:
      root = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config";
      break;
    case Resource::Cluster:
      root = "static_resources.clusters[0]";
      break;
    case Resource::Endpoints:
      root = "static_resources.clusters[0].load_assignment";
      break;
    case Resource::Bootstrap:
      break;
  }
  const std::string expected =
      absl::StrCat(root.empty() ? c.path : pathUnder(root, c.path), ": ", c.reason);
  const absl::Status status = validateBootstrap(bootstrap);
  EXPECT_FALSE(status.ok()) << expected;
  EXPECT_THAT(std::string(status.message()), HasSubstr(expected));

  // Through the validator the xDS client runs for that resource type, naming the resource.
  absl::Status xds;
  std::string prefix;
  switch (c.resource) {
    case Resource::Listener:
      prefix = absl::StrCat("listener '", listener(bootstrap).name(), "'");
      xds = validateListener(listener(bootstrap), KnownClusters({"backend", "xds"}), prefix);
      break;
    case Resource::TcpProxy: {
      TcpProxy proxy;
      listener(bootstrap).filter_chains(0).filters(0).typed_config().UnpackTo(&proxy);
      prefix = "tcp_proxy";
      xds = validateTcpProxy(proxy, KnownClusters({"backend", "xds"}), prefix);
      break;
    }
    case Resource::Cluster:
      prefix = absl::StrCat("cluster '", cluster(bootstrap).name(), "'");
      xds = validateCluster(cluster(bootstrap), prefix);
      break;
    case Resource::Endpoints:
      prefix = absl::StrCat("cluster_load_assignment '", endpoints(bootstrap).cluster_name(), "'");
      xds = validateClusterLoadAssignment(endpoints(bootstrap), prefix);
      break;
    case Resource::Bootstrap:
      return;
  }
  const std::string expected_xds = absl::StrCat(pathUnder(prefix, c.path), ": ", c.reason);
  EXPECT_FALSE(xds.ok()) << expected_xds;
  EXPECT_THAT(std::string(xds.message()), HasSubstr(expected_xds));
}

INSTANTIATE_TEST_SUITE_P(Cases, ValidationTableTest, testing::Range<size_t>(0, cases().size()),
                         [](const testing::TestParamInfo<size_t>& info) {
                           std::string name =
                               absl::StrCat(info.param, "_", cases()[info.param].path);
                           for (char& ch : name) {
                             if (!isalnum(static_cast<unsigned char>(ch))) {
                               ch = '_';
                             }
                           }
                           return name;
                         });

void collect(const google::protobuf::Descriptor& d, std::set<std::string>& out,
             std::set<const google::protobuf::Descriptor*>& seen) {
  if (!seen.insert(&d).second || d.file()->package().rfind("envoy.", 0) != 0 ||
      d.options().map_entry()) {
    // Well-known types (Duration, Any, wrappers, Struct) are checked where they are used; map
    // entries (metadata) are covered by their map field.
    return;
  }
  for (int i = 0; i < d.field_count(); ++i) {
    const auto* field = d.field(i);
    if (isCoveredElsewhere(field->full_name())) {
      continue;
    }
    out.insert(field->full_name());
    if (field->message_type() != nullptr) {
      collect(*field->message_type(), out, seen);
    }
  }
}

TEST(ValidationTableCoverageTest, EveryFieldIsCovered) {
  std::set<std::string> fields;
  std::set<const google::protobuf::Descriptor*> seen;
  for (const auto* d :
       {Bootstrap::descriptor(), TcpProxy::descriptor(),
        envoy::extensions::resource_monitors::fixed_heap::v3::FixedHeapConfig::descriptor(),
        envoy::extensions::resource_monitors::downstream_connections::v3::
            DownstreamConnectionsConfig::descriptor()}) {
    collect(*d, fields, seen);
  }
  std::set<std::string> covered;
  for (const Case& c : cases()) {
    covered.insert(c.fields.begin(), c.fields.end());
  }
  for (const auto& [field, reason] : noInvalidValue()) {
    EXPECT_FALSE(covered.contains(field)) << field << " has cases and a no-invalid-value entry";
    covered.insert(field);
  }
  for (const std::string& field : fields) {
    EXPECT_TRUE(covered.contains(field))
        << field << " has no invalid-value case in validation_table_test.cc; add one (and a "
        << "check in validation.cc if a bad value passes), or an entry in noInvalidValue() "
           "saying why every value is valid";
  }
  for (const std::string& field : covered) {
    EXPECT_TRUE(fields.contains(field)) << field << " is not a field of the subset";
  }
}

}  // namespace
}  // namespace Skiff::Config
