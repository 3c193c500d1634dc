// Wire-compatibility guard for api/: every field the subset declares must carry Envoy's number and
// wire type (numbers from envoyproxy/data-plane-api, see api/README.md). A field added to api/
// must be added here too, after checking its number against Envoy's .proto.

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "envoy/config/accesslog/v3/accesslog.pb.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/cluster/v3/outlier_detection.pb.h"
#include "envoy/config/core/v3/config_source.pb.h"
#include "envoy/config/core/v3/grpc_service.pb.h"
#include "envoy/config/core/v3/health_check.pb.h"
#include "envoy/config/core/v3/protocol.pb.h"
#include "envoy/config/core/v3/substitution_format_string.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/overload/v3/overload.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/access_loggers/file/v3/file.pb.h"
#include "envoy/extensions/access_loggers/stream/v3/stream.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/listener/original_dst/v3/original_dst.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/extensions/resource_monitors/downstream_connections/v3/downstream_connections.pb.h"
#include "envoy/extensions/resource_monitors/fixed_heap/v3/fixed_heap.pb.h"
#include "envoy/type/v3/percent.pb.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

struct Expected {
  std::string message;  // Full name, without "envoy." prefix.
  std::string field;
  int number;
  std::string type;  // Scalar type name, or the full name of the message/enum type.
};

// clang-format off
const std::vector<Expected>& expected() {
  static const auto* table = new std::vector<Expected>{
      {"config.core.v3.Pipe", "path", 1, "string"},
      {"config.core.v3.Pipe", "mode", 2, "uint32"},
      {"config.core.v3.SocketAddress", "protocol", 1, "envoy.config.core.v3.SocketAddress.Protocol"},
      {"config.core.v3.SocketAddress", "address", 2, "string"},
      {"config.core.v3.SocketAddress", "port_value", 3, "uint32"},
      {"config.core.v3.SocketAddress", "named_port", 4, "string"},
      {"config.core.v3.SocketAddress", "resolver_name", 5, "string"},
      {"config.core.v3.SocketAddress", "ipv4_compat", 6, "bool"},
      {"config.core.v3.Address", "socket_address", 1, "envoy.config.core.v3.SocketAddress"},
      {"config.core.v3.Address", "pipe", 2, "envoy.config.core.v3.Pipe"},
      {"config.core.v3.BindConfig", "source_address", 1, "envoy.config.core.v3.SocketAddress"},
      {"config.core.v3.BindConfig", "freebind", 2, "google.protobuf.BoolValue"},
      {"config.core.v3.CidrRange", "address_prefix", 1, "string"},
      {"config.core.v3.CidrRange", "prefix_len", 2, "google.protobuf.UInt32Value"},
      {"config.core.v3.Locality", "region", 1, "string"},
      {"config.core.v3.Locality", "zone", 2, "string"},
      {"config.core.v3.Locality", "sub_zone", 3, "string"},
      {"config.core.v3.Node", "id", 1, "string"},
      {"config.core.v3.Node", "cluster", 2, "string"},
      {"config.core.v3.Node", "metadata", 3, "google.protobuf.Struct"},
      {"config.core.v3.Node", "locality", 4, "envoy.config.core.v3.Locality"},
      {"config.core.v3.Node", "user_agent_name", 6, "string"},
      {"config.core.v3.Node", "user_agent_version", 7, "string"},
      {"config.core.v3.Node", "client_features", 10, "string"},
      {"config.core.v3.Metadata", "filter_metadata", 1, "envoy.config.core.v3.Metadata.FilterMetadataEntry"},
      {"config.core.v3.Metadata", "typed_filter_metadata", 2, "envoy.config.core.v3.Metadata.TypedFilterMetadataEntry"},
      {"config.core.v3.HeaderValue", "key", 1, "string"},
      {"config.core.v3.HeaderValue", "value", 2, "string"},
      {"config.core.v3.HeaderValue", "raw_value", 3, "bytes"},
      {"config.core.v3.GrpcService", "envoy_grpc", 1, "envoy.config.core.v3.GrpcService.EnvoyGrpc"},
      {"config.core.v3.GrpcService", "google_grpc", 2, "envoy.config.core.v3.GrpcService.GoogleGrpc"},
      {"config.core.v3.GrpcService", "timeout", 3, "google.protobuf.Duration"},
      {"config.core.v3.GrpcService", "initial_metadata", 5, "envoy.config.core.v3.HeaderValue"},
      {"config.core.v3.GrpcService.EnvoyGrpc", "cluster_name", 1, "string"},
      {"config.core.v3.GrpcService.EnvoyGrpc", "authority", 2, "string"},
      {"config.core.v3.GrpcService.GoogleGrpc", "target_uri", 1, "string"},
      {"config.core.v3.GrpcService.GoogleGrpc", "stat_prefix", 4, "string"},
      {"config.core.v3.ApiConfigSource", "api_type", 1, "envoy.config.core.v3.ApiConfigSource.ApiType"},
      {"config.core.v3.ApiConfigSource", "cluster_names", 2, "string"},
      {"config.core.v3.ApiConfigSource", "refresh_delay", 3, "google.protobuf.Duration"},
      {"config.core.v3.ApiConfigSource", "grpc_services", 4, "envoy.config.core.v3.GrpcService"},
      {"config.core.v3.ApiConfigSource", "request_timeout", 5, "google.protobuf.Duration"},
      {"config.core.v3.ApiConfigSource", "rate_limit_settings", 6, "envoy.config.core.v3.RateLimitSettings"},
      {"config.core.v3.ApiConfigSource", "set_node_on_first_message_only", 7, "bool"},
      {"config.core.v3.ApiConfigSource", "transport_api_version", 8, "envoy.config.core.v3.ApiVersion"},
      {"config.core.v3.RateLimitSettings", "max_tokens", 1, "google.protobuf.UInt32Value"},
      {"config.core.v3.RateLimitSettings", "fill_rate", 2, "google.protobuf.DoubleValue"},
      {"config.core.v3.ConfigSource", "api_config_source", 2, "envoy.config.core.v3.ApiConfigSource"},
      {"config.core.v3.ConfigSource", "ads", 3, "envoy.config.core.v3.AggregatedConfigSource"},
      {"config.core.v3.ConfigSource", "initial_fetch_timeout", 4, "google.protobuf.Duration"},
      {"config.core.v3.ConfigSource", "resource_api_version", 6, "envoy.config.core.v3.ApiVersion"},
      {"config.listener.v3.Filter", "name", 1, "string"},
      {"config.listener.v3.Filter", "typed_config", 4, "google.protobuf.Any"},
      {"config.listener.v3.FilterChainMatch", "prefix_ranges", 3, "envoy.config.core.v3.CidrRange"},
      {"config.listener.v3.FilterChainMatch", "source_prefix_ranges", 6, "envoy.config.core.v3.CidrRange"},
      {"config.listener.v3.FilterChainMatch", "source_ports", 7, "uint32"},
      {"config.listener.v3.FilterChainMatch", "destination_port", 8, "google.protobuf.UInt32Value"},
      {"config.listener.v3.FilterChainMatch", "transport_protocol", 9, "string"},
      {"config.listener.v3.FilterChainMatch", "application_protocols", 10, "string"},
      {"config.listener.v3.FilterChainMatch", "server_names", 11, "string"},
      {"config.listener.v3.FilterChainMatch", "source_type", 12, "envoy.config.listener.v3.FilterChainMatch.ConnectionSourceType"},
      {"config.listener.v3.FilterChainMatch", "direct_source_prefix_ranges", 13, "envoy.config.core.v3.CidrRange"},
      {"config.listener.v3.FilterChain", "filter_chain_match", 1, "envoy.config.listener.v3.FilterChainMatch"},
      {"config.listener.v3.FilterChain", "filters", 3, "envoy.config.listener.v3.Filter"},
      {"config.listener.v3.FilterChain", "metadata", 5, "envoy.config.core.v3.Metadata"},
      {"config.listener.v3.FilterChain", "name", 7, "string"},
      {"config.listener.v3.ListenerFilter", "name", 1, "string"},
      {"config.listener.v3.ListenerFilter", "typed_config", 3, "google.protobuf.Any"},
      {"config.listener.v3.Listener", "name", 1, "string"},
      {"config.listener.v3.Listener", "address", 2, "envoy.config.core.v3.Address"},
      {"config.listener.v3.Listener", "filter_chains", 3, "envoy.config.listener.v3.FilterChain"},
      {"config.listener.v3.Listener", "use_original_dst", 4, "google.protobuf.BoolValue"},
      {"config.listener.v3.Listener", "per_connection_buffer_limit_bytes", 5, "google.protobuf.UInt32Value"},
      {"config.listener.v3.Listener", "metadata", 6, "envoy.config.core.v3.Metadata"},
      {"config.listener.v3.Listener", "drain_type", 8, "envoy.config.listener.v3.Listener.DrainType"},
      {"config.listener.v3.Listener", "listener_filters", 9, "envoy.config.listener.v3.ListenerFilter"},
      {"config.listener.v3.Listener", "listener_filters_timeout", 15, "google.protobuf.Duration"},
      {"config.listener.v3.Listener", "traffic_direction", 16, "envoy.config.core.v3.TrafficDirection"},
      {"config.listener.v3.Listener", "continue_on_listener_filters_timeout", 17, "bool"},
      {"config.listener.v3.Listener", "connection_balance_config", 20, "envoy.config.listener.v3.Listener.ConnectionBalanceConfig"},
      {"config.listener.v3.Listener", "tcp_backlog_size", 24, "google.protobuf.UInt32Value"},
      {"config.listener.v3.Listener", "bind_to_port", 26, "google.protobuf.BoolValue"},
      {"config.listener.v3.Listener", "stat_prefix", 28, "string"},
      {"config.listener.v3.Listener", "enable_reuse_port", 29, "google.protobuf.BoolValue"},
      {"config.listener.v3.Listener.ConnectionBalanceConfig", "exact_balance", 1, "envoy.config.listener.v3.Listener.ConnectionBalanceConfig.ExactBalance"},
      {"config.cluster.v3.CircuitBreakers", "thresholds", 1, "envoy.config.cluster.v3.CircuitBreakers.Thresholds"},
      {"config.cluster.v3.CircuitBreakers", "per_host_thresholds", 2, "envoy.config.cluster.v3.CircuitBreakers.Thresholds"},
      {"config.cluster.v3.CircuitBreakers.Thresholds", "priority", 1, "envoy.config.core.v3.RoutingPriority"},
      {"config.cluster.v3.CircuitBreakers.Thresholds", "max_connections", 2, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.CircuitBreakers.Thresholds", "max_pending_requests", 3, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.CircuitBreakers.Thresholds", "max_requests", 4, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.CircuitBreakers.Thresholds", "max_retries", 5, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.CircuitBreakers.Thresholds", "track_remaining", 6, "bool"},
      {"config.cluster.v3.CircuitBreakers.Thresholds", "max_connection_pools", 7, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.Cluster", "name", 1, "string"},
      {"config.cluster.v3.Cluster", "type", 2, "envoy.config.cluster.v3.Cluster.DiscoveryType"},
      {"config.cluster.v3.Cluster", "eds_cluster_config", 3, "envoy.config.cluster.v3.Cluster.EdsClusterConfig"},
      {"config.cluster.v3.Cluster", "connect_timeout", 4, "google.protobuf.Duration"},
      {"config.cluster.v3.Cluster", "per_connection_buffer_limit_bytes", 5, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.Cluster", "lb_policy", 6, "envoy.config.cluster.v3.Cluster.LbPolicy"},
      {"config.cluster.v3.Cluster", "circuit_breakers", 10, "envoy.config.cluster.v3.CircuitBreakers"},
      {"config.cluster.v3.Cluster", "dns_refresh_rate", 16, "google.protobuf.Duration"},
      {"config.cluster.v3.Cluster", "dns_lookup_family", 17, "envoy.config.cluster.v3.Cluster.DnsLookupFamily"},
      {"config.cluster.v3.Cluster", "cleanup_interval", 20, "google.protobuf.Duration"},
      {"config.cluster.v3.Cluster", "upstream_bind_config", 21, "envoy.config.core.v3.BindConfig"},
      {"config.cluster.v3.Cluster", "metadata", 25, "envoy.config.core.v3.Metadata"},
      {"config.cluster.v3.Cluster", "alt_stat_name", 28, "string"},
      {"config.cluster.v3.Cluster", "common_http_protocol_options", 29, "envoy.config.core.v3.HttpProtocolOptions"},
      {"config.cluster.v3.Cluster", "load_assignment", 33, "envoy.config.endpoint.v3.ClusterLoadAssignment"},
      // Health checking, outlier detection and the panic threshold (upstream-health).
      {"config.cluster.v3.Cluster", "health_checks", 8, "envoy.config.core.v3.HealthCheck"},
      {"config.cluster.v3.Cluster", "outlier_detection", 19, "envoy.config.cluster.v3.OutlierDetection"},
      {"config.cluster.v3.Cluster", "common_lb_config", 27, "envoy.config.cluster.v3.Cluster.CommonLbConfig"},
      {"config.cluster.v3.Cluster.CommonLbConfig", "healthy_panic_threshold", 1, "envoy.type.v3.Percent"},
      {"config.cluster.v3.Cluster.CommonLbConfig", "ignore_new_hosts_until_first_hc", 5, "bool"},
      {"type.v3.Percent", "value", 1, "double"},
      {"config.cluster.v3.OutlierDetection", "consecutive_5xx", 1, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "interval", 2, "google.protobuf.Duration"},
      {"config.cluster.v3.OutlierDetection", "base_ejection_time", 3, "google.protobuf.Duration"},
      {"config.cluster.v3.OutlierDetection", "max_ejection_percent", 4, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "enforcing_consecutive_5xx", 5, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "enforcing_success_rate", 6, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "success_rate_minimum_hosts", 7, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "success_rate_request_volume", 8, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "success_rate_stdev_factor", 9, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "consecutive_gateway_failure", 10, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "enforcing_consecutive_gateway_failure", 11, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "split_external_local_origin_errors", 12, "bool"},
      {"config.cluster.v3.OutlierDetection", "consecutive_local_origin_failure", 13, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "enforcing_consecutive_local_origin_failure", 14, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "enforcing_local_origin_success_rate", 15, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "failure_percentage_threshold", 16, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "enforcing_failure_percentage", 17, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "enforcing_failure_percentage_local_origin", 18, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "failure_percentage_minimum_hosts", 19, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "failure_percentage_request_volume", 20, "google.protobuf.UInt32Value"},
      {"config.cluster.v3.OutlierDetection", "max_ejection_time", 21, "google.protobuf.Duration"},
      {"config.cluster.v3.OutlierDetection", "max_ejection_time_jitter", 22, "google.protobuf.Duration"},
      {"config.cluster.v3.OutlierDetection", "successful_active_health_check_uneject_host", 23, "google.protobuf.BoolValue"},
      {"config.core.v3.HealthCheck", "timeout", 1, "google.protobuf.Duration"},
      {"config.core.v3.HealthCheck", "interval", 2, "google.protobuf.Duration"},
      {"config.core.v3.HealthCheck", "interval_jitter", 3, "google.protobuf.Duration"},
      {"config.core.v3.HealthCheck", "unhealthy_threshold", 4, "google.protobuf.UInt32Value"},
      {"config.core.v3.HealthCheck", "healthy_threshold", 5, "google.protobuf.UInt32Value"},
      {"config.core.v3.HealthCheck", "reuse_connection", 7, "google.protobuf.BoolValue"},
      {"config.core.v3.HealthCheck", "http_health_check", 8, "envoy.config.core.v3.HealthCheck.HttpHealthCheck"},
      {"config.core.v3.HealthCheck", "tcp_health_check", 9, "envoy.config.core.v3.HealthCheck.TcpHealthCheck"},
      {"config.core.v3.HealthCheck", "grpc_health_check", 11, "envoy.config.core.v3.HealthCheck.GrpcHealthCheck"},
      {"config.core.v3.HealthCheck", "no_traffic_interval", 12, "google.protobuf.Duration"},
      {"config.core.v3.HealthCheck", "custom_health_check", 13, "envoy.config.core.v3.HealthCheck.CustomHealthCheck"},
      {"config.core.v3.HealthCheck", "unhealthy_interval", 14, "google.protobuf.Duration"},
      {"config.core.v3.HealthCheck", "unhealthy_edge_interval", 15, "google.protobuf.Duration"},
      {"config.core.v3.HealthCheck", "healthy_edge_interval", 16, "google.protobuf.Duration"},
      {"config.core.v3.HealthCheck", "interval_jitter_percent", 18, "uint32"},
      {"config.core.v3.HealthCheck", "initial_jitter", 20, "google.protobuf.Duration"},
      {"config.core.v3.HealthCheck", "no_traffic_healthy_interval", 24, "google.protobuf.Duration"},
      {"config.core.v3.HealthCheck.Payload", "text", 1, "string"},
      {"config.core.v3.HealthCheck.Payload", "binary", 2, "bytes"},
      {"config.core.v3.HealthCheck.HttpHealthCheck", "host", 1, "string"},
      {"config.core.v3.HealthCheck.HttpHealthCheck", "path", 2, "string"},
      {"config.core.v3.HealthCheck.HttpHealthCheck", "request_headers_to_add", 6, "envoy.config.core.v3.HeaderValueOption"},
      {"config.core.v3.HealthCheck.HttpHealthCheck", "request_headers_to_remove", 8, "string"},
      {"config.core.v3.HealthCheck.HttpHealthCheck", "expected_statuses", 9, "envoy.type.v3.Int64Range"},
      {"config.core.v3.HealthCheck.HttpHealthCheck", "retriable_statuses", 12, "envoy.type.v3.Int64Range"},
      {"config.core.v3.HealthCheck.TcpHealthCheck", "send", 1, "envoy.config.core.v3.HealthCheck.Payload"},
      {"config.core.v3.HealthCheck.TcpHealthCheck", "receive", 2, "envoy.config.core.v3.HealthCheck.Payload"},
      {"config.core.v3.HealthCheck.GrpcHealthCheck", "service_name", 1, "string"},
      {"config.core.v3.HealthCheck.GrpcHealthCheck", "authority", 2, "string"},
      {"config.core.v3.HealthCheck.CustomHealthCheck", "name", 1, "string"},
      {"config.core.v3.HealthCheck.CustomHealthCheck", "typed_config", 3, "google.protobuf.Any"},
      {"config.cluster.v3.Cluster.EdsClusterConfig", "eds_config", 1, "envoy.config.core.v3.ConfigSource"},
      {"config.cluster.v3.Cluster.EdsClusterConfig", "service_name", 2, "string"},
      {"config.endpoint.v3.Endpoint", "address", 1, "envoy.config.core.v3.Address"},
      {"config.endpoint.v3.Endpoint", "health_check_config", 2, "envoy.config.endpoint.v3.Endpoint.HealthCheckConfig"},
      {"config.endpoint.v3.Endpoint", "hostname", 3, "string"},
      {"config.endpoint.v3.Endpoint.HealthCheckConfig", "port_value", 1, "uint32"},
      {"config.endpoint.v3.Endpoint.HealthCheckConfig", "hostname", 2, "string"},
      {"config.endpoint.v3.LbEndpoint", "endpoint", 1, "envoy.config.endpoint.v3.Endpoint"},
      {"config.endpoint.v3.LbEndpoint", "health_status", 2, "envoy.config.core.v3.HealthStatus"},
      {"config.endpoint.v3.LbEndpoint", "metadata", 3, "envoy.config.core.v3.Metadata"},
      {"config.endpoint.v3.LbEndpoint", "load_balancing_weight", 4, "google.protobuf.UInt32Value"},
      {"config.endpoint.v3.LocalityLbEndpoints", "locality", 1, "envoy.config.core.v3.Locality"},
      {"config.endpoint.v3.LocalityLbEndpoints", "lb_endpoints", 2, "envoy.config.endpoint.v3.LbEndpoint"},
      {"config.endpoint.v3.LocalityLbEndpoints", "load_balancing_weight", 3, "google.protobuf.UInt32Value"},
      {"config.endpoint.v3.LocalityLbEndpoints", "priority", 5, "uint32"},
      {"config.endpoint.v3.LocalityLbEndpoints", "metadata", 9, "envoy.config.core.v3.Metadata"},
      {"config.endpoint.v3.ClusterLoadAssignment", "cluster_name", 1, "string"},
      {"config.endpoint.v3.ClusterLoadAssignment", "endpoints", 2, "envoy.config.endpoint.v3.LocalityLbEndpoints"},
      {"config.endpoint.v3.ClusterLoadAssignment", "policy", 4, "envoy.config.endpoint.v3.ClusterLoadAssignment.Policy"},
      {"config.endpoint.v3.ClusterLoadAssignment.Policy", "overprovisioning_factor", 3, "google.protobuf.UInt32Value"},
      {"config.endpoint.v3.ClusterLoadAssignment.Policy", "endpoint_stale_after", 4, "google.protobuf.Duration"},
      {"config.endpoint.v3.ClusterLoadAssignment.Policy", "weighted_priority_health", 6, "bool"},
      {"config.bootstrap.v3.Bootstrap", "node", 1, "envoy.config.core.v3.Node"},
      {"config.bootstrap.v3.Bootstrap", "static_resources", 2, "envoy.config.bootstrap.v3.Bootstrap.StaticResources"},
      {"config.bootstrap.v3.Bootstrap", "dynamic_resources", 3, "envoy.config.bootstrap.v3.Bootstrap.DynamicResources"},
      {"config.bootstrap.v3.Bootstrap", "stats_flush_interval", 7, "google.protobuf.Duration"},
      {"config.bootstrap.v3.Bootstrap", "admin", 12, "envoy.config.bootstrap.v3.Admin"},
      {"config.bootstrap.v3.Bootstrap.StaticResources", "listeners", 1, "envoy.config.listener.v3.Listener"},
      {"config.bootstrap.v3.Bootstrap.StaticResources", "clusters", 2, "envoy.config.cluster.v3.Cluster"},
      {"config.bootstrap.v3.Bootstrap.DynamicResources", "lds_config", 1, "envoy.config.core.v3.ConfigSource"},
      {"config.bootstrap.v3.Bootstrap.DynamicResources", "cds_config", 2, "envoy.config.core.v3.ConfigSource"},
      {"config.bootstrap.v3.Bootstrap.DynamicResources", "ads_config", 3, "envoy.config.core.v3.ApiConfigSource"},
      {"config.bootstrap.v3.Admin", "access_log_path", 1, "string"},
      {"config.bootstrap.v3.Admin", "profile_path", 2, "string"},
      {"config.bootstrap.v3.Admin", "address", 3, "envoy.config.core.v3.Address"},
      {"config.bootstrap.v3.Bootstrap", "overload_manager", 15, "envoy.config.overload.v3.OverloadManager"},
      {"config.bootstrap.v3.Bootstrap", "layered_runtime", 17, "envoy.config.bootstrap.v3.LayeredRuntime"},
      {"config.bootstrap.v3.Bootstrap", "deferred_stat_options", 39, "envoy.config.bootstrap.v3.Bootstrap.DeferredStatOptions"},
      {"config.bootstrap.v3.Bootstrap.DeferredStatOptions", "enable_deferred_creation_stats", 1, "bool"},
      {"config.bootstrap.v3.LayeredRuntime", "layers", 1, "envoy.config.bootstrap.v3.RuntimeLayer"},
      {"config.bootstrap.v3.RuntimeLayer", "name", 1, "string"},
      {"config.bootstrap.v3.RuntimeLayer", "static_layer", 2, "google.protobuf.Struct"},
      {"config.overload.v3.OverloadManager", "refresh_interval", 1, "google.protobuf.Duration"},
      {"config.overload.v3.OverloadManager", "resource_monitors", 2, "envoy.config.overload.v3.ResourceMonitor"},
      {"config.overload.v3.OverloadManager", "actions", 3, "envoy.config.overload.v3.OverloadAction"},
      {"config.overload.v3.ResourceMonitor", "name", 1, "string"},
      {"config.overload.v3.ResourceMonitor", "typed_config", 3, "google.protobuf.Any"},
      {"config.overload.v3.OverloadAction", "name", 1, "string"},
      {"config.overload.v3.OverloadAction", "triggers", 2, "envoy.config.overload.v3.Trigger"},
      {"config.overload.v3.OverloadAction", "typed_config", 3, "google.protobuf.Any"},
      {"config.overload.v3.Trigger", "name", 1, "string"},
      {"config.overload.v3.Trigger", "threshold", 2, "envoy.config.overload.v3.ThresholdTrigger"},
      {"config.overload.v3.Trigger", "scaled", 3, "envoy.config.overload.v3.ScaledTrigger"},
      {"config.overload.v3.ThresholdTrigger", "value", 1, "double"},
      {"config.overload.v3.ScaledTrigger", "scaling_threshold", 1, "double"},
      {"config.overload.v3.ScaledTrigger", "saturation_threshold", 2, "double"},
      {"extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig", "max_heap_size_bytes", 1, "uint64"},
      {"extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig", "max_active_downstream_connections", 1, "int64"},
      {"extensions.filters.network.tcp_proxy.v3.TcpProxy", "stat_prefix", 1, "string"},
      {"extensions.filters.network.tcp_proxy.v3.TcpProxy", "cluster", 2, "string"},
      {"extensions.filters.network.tcp_proxy.v3.TcpProxy", "max_connect_attempts", 7, "google.protobuf.UInt32Value"},
      {"extensions.filters.network.tcp_proxy.v3.TcpProxy", "idle_timeout", 8, "google.protobuf.Duration"},
      {"extensions.filters.network.tcp_proxy.v3.TcpProxy", "metadata_match", 9, "envoy.config.core.v3.Metadata"},
      {"extensions.filters.network.tcp_proxy.v3.TcpProxy", "weighted_clusters", 10, "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster"},
      {"extensions.filters.network.tcp_proxy.v3.TcpProxy", "max_downstream_connection_duration", 13, "google.protobuf.Duration"},
      {"extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster", "clusters", 1, "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster.ClusterWeight"},
      {"extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster.ClusterWeight", "name", 1, "string"},
      {"extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster.ClusterWeight", "weight", 2, "uint32"},
      {"extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster.ClusterWeight", "metadata_match", 3, "envoy.config.core.v3.Metadata"},
      {"config.accesslog.v3.AccessLog", "name", 1, "string"},
      {"config.accesslog.v3.AccessLog", "typed_config", 4, "google.protobuf.Any"},
      {"config.core.v3.DataSource", "environment_variable", 4, "string"},
      {"config.core.v3.DataSource", "filename", 1, "string"},
      {"config.core.v3.DataSource", "inline_bytes", 2, "bytes"},
      {"config.core.v3.DataSource", "inline_string", 3, "string"},
      {"config.core.v3.HeaderValueOption", "append", 2, "google.protobuf.BoolValue"},
      {"config.core.v3.HeaderValueOption", "append_action", 3, "envoy.config.core.v3.HeaderValueOption.HeaderAppendAction"},
      {"config.core.v3.HeaderValueOption", "header", 1, "envoy.config.core.v3.HeaderValue"},
      {"config.core.v3.HeaderValueOption", "keep_empty_value", 4, "bool"},
      {"config.core.v3.Http1ProtocolOptions", "accept_http_10", 2, "bool"},
      {"config.core.v3.Http1ProtocolOptions", "allow_absolute_url", 1, "google.protobuf.BoolValue"},
      {"config.core.v3.Http1ProtocolOptions", "allow_chunked_length", 6, "bool"},
      {"config.core.v3.Http1ProtocolOptions", "default_host_for_http_10", 3, "string"},
      {"config.core.v3.Http1ProtocolOptions", "enable_trailers", 5, "bool"},
      {"config.core.v3.Http1ProtocolOptions", "override_stream_error_on_invalid_http_message", 7, "google.protobuf.BoolValue"},
      {"config.core.v3.HttpProtocolOptions", "headers_with_underscores_action", 5, "envoy.config.core.v3.HttpProtocolOptions.HeadersWithUnderscoresAction"},
      {"config.core.v3.HttpProtocolOptions", "idle_timeout", 1, "google.protobuf.Duration"},
      {"config.core.v3.HttpProtocolOptions", "max_connection_duration", 3, "google.protobuf.Duration"},
      {"config.core.v3.HttpProtocolOptions", "max_headers_count", 2, "google.protobuf.UInt32Value"},
      {"config.core.v3.HttpProtocolOptions", "max_requests_per_connection", 6, "google.protobuf.UInt32Value"},
      {"config.core.v3.HttpProtocolOptions", "max_stream_duration", 4, "google.protobuf.Duration"},
      {"config.core.v3.SubstitutionFormatString", "content_type", 4, "string"},
      {"config.core.v3.SubstitutionFormatString", "json_format", 2, "google.protobuf.Struct"},
      {"config.core.v3.SubstitutionFormatString", "omit_empty_values", 3, "bool"},
      {"config.core.v3.SubstitutionFormatString", "text_format", 1, "string"},
      {"config.core.v3.SubstitutionFormatString", "text_format_source", 5, "envoy.config.core.v3.DataSource"},
      {"config.listener.v3.ApiListener", "api_listener", 1, "google.protobuf.Any"},
      {"config.listener.v3.Listener", "api_listener", 19, "envoy.config.listener.v3.ApiListener"},
      {"config.route.v3.DirectResponseAction", "body", 2, "envoy.config.core.v3.DataSource"},
      {"config.route.v3.DirectResponseAction", "status", 1, "uint32"},
      {"config.route.v3.HeaderMatcher", "contains_match", 12, "string"},
      {"config.route.v3.HeaderMatcher", "exact_match", 4, "string"},
      {"config.route.v3.HeaderMatcher", "invert_match", 8, "bool"},
      {"config.route.v3.HeaderMatcher", "name", 1, "string"},
      {"config.route.v3.HeaderMatcher", "prefix_match", 9, "string"},
      {"config.route.v3.HeaderMatcher", "present_match", 7, "bool"},
      {"config.route.v3.HeaderMatcher", "range_match", 6, "envoy.type.v3.Int64Range"},
      {"config.route.v3.HeaderMatcher", "safe_regex_match", 11, "envoy.type.matcher.v3.RegexMatcher"},
      {"config.route.v3.HeaderMatcher", "string_match", 13, "envoy.type.matcher.v3.StringMatcher"},
      {"config.route.v3.HeaderMatcher", "suffix_match", 10, "string"},
      {"config.route.v3.HeaderMatcher", "treat_missing_header_as_empty", 14, "bool"},
      {"config.route.v3.QueryParameterMatcher", "name", 1, "string"},
      {"config.route.v3.QueryParameterMatcher", "present_match", 6, "bool"},
      {"config.route.v3.QueryParameterMatcher", "string_match", 5, "envoy.type.matcher.v3.StringMatcher"},
      {"config.route.v3.RedirectAction", "host_redirect", 1, "string"},
      {"config.route.v3.RedirectAction", "https_redirect", 4, "bool"},
      {"config.route.v3.RedirectAction", "path_redirect", 2, "string"},
      {"config.route.v3.RedirectAction", "port_redirect", 8, "uint32"},
      {"config.route.v3.RedirectAction", "prefix_rewrite", 5, "string"},
      {"config.route.v3.RedirectAction", "response_code", 3, "envoy.config.route.v3.RedirectAction.RedirectResponseCode"},
      {"config.route.v3.RedirectAction", "scheme_redirect", 7, "string"},
      {"config.route.v3.RedirectAction", "strip_query", 6, "bool"},
      {"config.route.v3.RetryPolicy", "num_retries", 2, "google.protobuf.UInt32Value"},
      {"config.route.v3.RetryPolicy", "per_try_idle_timeout", 13, "google.protobuf.Duration"},
      {"config.route.v3.RetryPolicy", "per_try_timeout", 3, "google.protobuf.Duration"},
      {"config.route.v3.RetryPolicy", "retriable_status_codes", 7, "uint32"},
      {"config.route.v3.RetryPolicy", "retry_back_off", 8, "envoy.config.route.v3.RetryPolicy.RetryBackOff"},
      {"config.route.v3.RetryPolicy", "retry_on", 1, "string"},
      {"config.route.v3.RetryPolicy", "retry_host_predicate", 5, "envoy.config.route.v3.RetryPolicy.RetryHostPredicate"},
      {"config.route.v3.RetryPolicy", "host_selection_retry_max_attempts", 6, "int64"},
      {"config.route.v3.RetryPolicy.RetryHostPredicate", "name", 1, "string"},
      {"config.route.v3.RetryPolicy.RetryHostPredicate", "typed_config", 3, "google.protobuf.Any"},
      {"config.route.v3.RetryPolicy.RetryBackOff", "base_interval", 1, "google.protobuf.Duration"},
      {"config.route.v3.RetryPolicy.RetryBackOff", "max_interval", 2, "google.protobuf.Duration"},
      {"config.route.v3.Route", "direct_response", 7, "envoy.config.route.v3.DirectResponseAction"},
      {"config.route.v3.Route", "match", 1, "envoy.config.route.v3.RouteMatch"},
      {"config.route.v3.Route", "name", 14, "string"},
      {"config.route.v3.Route", "redirect", 3, "envoy.config.route.v3.RedirectAction"},
      {"config.route.v3.Route", "request_headers_to_add", 9, "envoy.config.core.v3.HeaderValueOption"},
      {"config.route.v3.Route", "request_headers_to_remove", 12, "string"},
      {"config.route.v3.Route", "response_headers_to_add", 10, "envoy.config.core.v3.HeaderValueOption"},
      {"config.route.v3.Route", "response_headers_to_remove", 11, "string"},
      {"config.route.v3.Route", "route", 2, "envoy.config.route.v3.RouteAction"},
      {"config.route.v3.RouteAction", "auto_host_rewrite", 7, "google.protobuf.BoolValue"},
      {"config.route.v3.RouteAction", "cluster", 1, "string"},
      {"config.route.v3.RouteAction", "cluster_header", 2, "string"},
      {"config.route.v3.RouteAction", "cluster_not_found_response_code", 20, "envoy.config.route.v3.RouteAction.ClusterNotFoundResponseCode"},
      {"config.route.v3.RouteAction", "host_rewrite_literal", 6, "string"},
      {"config.route.v3.RouteAction", "idle_timeout", 24, "google.protobuf.Duration"},
      {"config.route.v3.RouteAction", "prefix_rewrite", 5, "string"},
      {"config.route.v3.RouteAction", "regex_rewrite", 32, "envoy.type.matcher.v3.RegexMatchAndSubstitute"},
      {"config.route.v3.RouteAction", "retry_policy", 9, "envoy.config.route.v3.RetryPolicy"},
      {"config.route.v3.RouteAction", "timeout", 8, "google.protobuf.Duration"},
      {"config.route.v3.RouteAction", "upgrade_configs", 25, "envoy.config.route.v3.RouteAction.UpgradeConfig"},
      {"config.route.v3.RouteAction", "weighted_clusters", 3, "envoy.config.route.v3.WeightedCluster"},
      {"config.route.v3.RouteAction.UpgradeConfig", "enabled", 2, "google.protobuf.BoolValue"},
      {"config.route.v3.RouteAction.UpgradeConfig", "upgrade_type", 1, "string"},
      {"config.route.v3.RouteConfiguration", "ignore_port_in_host_matching", 14, "bool"},
      {"config.route.v3.RouteConfiguration", "internal_only_headers", 3, "string"},
      {"config.route.v3.RouteConfiguration", "max_direct_response_body_size_bytes", 11, "google.protobuf.UInt32Value"},
      {"config.route.v3.RouteConfiguration", "most_specific_header_mutations_wins", 10, "bool"},
      {"config.route.v3.RouteConfiguration", "name", 1, "string"},
      {"config.route.v3.RouteConfiguration", "request_headers_to_add", 6, "envoy.config.core.v3.HeaderValueOption"},
      {"config.route.v3.RouteConfiguration", "request_headers_to_remove", 8, "string"},
      {"config.route.v3.RouteConfiguration", "response_headers_to_add", 4, "envoy.config.core.v3.HeaderValueOption"},
      {"config.route.v3.RouteConfiguration", "response_headers_to_remove", 5, "string"},
      {"config.route.v3.RouteConfiguration", "validate_clusters", 7, "google.protobuf.BoolValue"},
      {"config.route.v3.RouteConfiguration", "virtual_hosts", 2, "envoy.config.route.v3.VirtualHost"},
      {"config.route.v3.RouteMatch", "case_sensitive", 4, "google.protobuf.BoolValue"},
      {"config.route.v3.RouteMatch", "grpc", 8, "envoy.config.route.v3.RouteMatch.GrpcRouteMatchOptions"},
      {"config.route.v3.RouteMatch", "headers", 6, "envoy.config.route.v3.HeaderMatcher"},
      {"config.route.v3.RouteMatch", "path", 2, "string"},
      {"config.route.v3.RouteMatch", "path_separated_prefix", 14, "string"},
      {"config.route.v3.RouteMatch", "prefix", 1, "string"},
      {"config.route.v3.RouteMatch", "query_parameters", 7, "envoy.config.route.v3.QueryParameterMatcher"},
      {"config.route.v3.RouteMatch", "safe_regex", 10, "envoy.type.matcher.v3.RegexMatcher"},
      {"config.route.v3.VirtualHost", "domains", 2, "string"},
      {"config.route.v3.VirtualHost", "name", 1, "string"},
      {"config.route.v3.VirtualHost", "request_headers_to_add", 7, "envoy.config.core.v3.HeaderValueOption"},
      {"config.route.v3.VirtualHost", "request_headers_to_remove", 13, "string"},
      {"config.route.v3.VirtualHost", "response_headers_to_add", 10, "envoy.config.core.v3.HeaderValueOption"},
      {"config.route.v3.VirtualHost", "response_headers_to_remove", 11, "string"},
      {"config.route.v3.VirtualHost", "retry_policy", 16, "envoy.config.route.v3.RetryPolicy"},
      {"config.route.v3.VirtualHost", "routes", 3, "envoy.config.route.v3.Route"},
      {"config.route.v3.WeightedCluster", "clusters", 1, "envoy.config.route.v3.WeightedCluster.ClusterWeight"},
      {"config.route.v3.WeightedCluster", "total_weight", 3, "google.protobuf.UInt32Value"},
      {"config.route.v3.WeightedCluster.ClusterWeight", "host_rewrite_literal", 11, "string"},
      {"config.route.v3.WeightedCluster.ClusterWeight", "name", 1, "string"},
      {"config.route.v3.WeightedCluster.ClusterWeight", "request_headers_to_add", 4, "envoy.config.core.v3.HeaderValueOption"},
      {"config.route.v3.WeightedCluster.ClusterWeight", "request_headers_to_remove", 9, "string"},
      {"config.route.v3.WeightedCluster.ClusterWeight", "response_headers_to_add", 5, "envoy.config.core.v3.HeaderValueOption"},
      {"config.route.v3.WeightedCluster.ClusterWeight", "response_headers_to_remove", 6, "string"},
      {"config.route.v3.WeightedCluster.ClusterWeight", "weight", 2, "google.protobuf.UInt32Value"},
      {"extensions.access_loggers.file.v3.FileAccessLog", "format", 2, "string"},
      {"extensions.access_loggers.file.v3.FileAccessLog", "json_format", 3, "google.protobuf.Struct"},
      {"extensions.access_loggers.file.v3.FileAccessLog", "log_format", 5, "envoy.config.core.v3.SubstitutionFormatString"},
      {"extensions.access_loggers.file.v3.FileAccessLog", "path", 1, "string"},
      {"extensions.access_loggers.file.v3.FileAccessLog", "typed_json_format", 4, "google.protobuf.Struct"},
      {"extensions.access_loggers.stream.v3.StderrAccessLog", "log_format", 1, "envoy.config.core.v3.SubstitutionFormatString"},
      {"extensions.access_loggers.stream.v3.StdoutAccessLog", "log_format", 1, "envoy.config.core.v3.SubstitutionFormatString"},
      {"extensions.filters.http.router.v3.Router", "dynamic_stats", 1, "google.protobuf.BoolValue"},
      {"extensions.filters.http.router.v3.Router", "suppress_envoy_headers", 4, "bool"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "access_log", 13, "envoy.config.accesslog.v3.AccessLog"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "always_set_request_id_in_response", 37, "bool"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "codec_type", 1, "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.CodecType"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "common_http_protocol_options", 35, "envoy.config.core.v3.HttpProtocolOptions"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "delayed_close_timeout", 26, "google.protobuf.Duration"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "drain_timeout", 12, "google.protobuf.Duration"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "generate_request_id", 15, "google.protobuf.BoolValue"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "http_filters", 5, "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "http_protocol_options", 8, "envoy.config.core.v3.Http1ProtocolOptions"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "max_request_headers_kb", 29, "google.protobuf.UInt32Value"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "merge_slashes", 33, "bool"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "normalize_path", 30, "google.protobuf.BoolValue"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "rds", 3, "envoy.extensions.filters.network.http_connection_manager.v3.Rds"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "request_headers_timeout", 41, "google.protobuf.Duration"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "request_timeout", 28, "google.protobuf.Duration"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "route_config", 4, "envoy.config.route.v3.RouteConfiguration"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "server_header_transformation", 34, "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.ServerHeaderTransformation"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "server_name", 10, "string"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "skip_xff_append", 21, "bool"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "stat_prefix", 2, "string"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "stream_idle_timeout", 24, "google.protobuf.Duration"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "upgrade_configs", 23, "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.UpgradeConfig"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "use_remote_address", 14, "google.protobuf.BoolValue"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "via", 22, "string"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", "xff_num_trusted_hops", 19, "uint32"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.UpgradeConfig", "enabled", 3, "google.protobuf.BoolValue"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.UpgradeConfig", "filters", 2, "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter"},
      {"extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.UpgradeConfig", "upgrade_type", 1, "string"},
      {"extensions.filters.network.http_connection_manager.v3.HttpFilter", "disabled", 7, "bool"},
      {"extensions.filters.network.http_connection_manager.v3.HttpFilter", "is_optional", 6, "bool"},
      {"extensions.filters.network.http_connection_manager.v3.HttpFilter", "name", 1, "string"},
      {"extensions.filters.network.http_connection_manager.v3.HttpFilter", "typed_config", 4, "google.protobuf.Any"},
      {"extensions.filters.network.http_connection_manager.v3.Rds", "config_source", 1, "envoy.config.core.v3.ConfigSource"},
      {"extensions.filters.network.http_connection_manager.v3.Rds", "route_config_name", 2, "string"},
      {"type.matcher.v3.RegexMatchAndSubstitute", "pattern", 1, "envoy.type.matcher.v3.RegexMatcher"},
      {"type.matcher.v3.RegexMatchAndSubstitute", "substitution", 2, "string"},
      {"type.matcher.v3.RegexMatcher", "google_re2", 1, "envoy.type.matcher.v3.RegexMatcher.GoogleRE2"},
      {"type.matcher.v3.RegexMatcher", "regex", 2, "string"},
      {"type.matcher.v3.RegexMatcher.GoogleRE2", "max_program_size", 1, "google.protobuf.UInt32Value"},
      {"type.matcher.v3.StringMatcher", "contains", 7, "string"},
      {"type.matcher.v3.StringMatcher", "exact", 1, "string"},
      {"type.matcher.v3.StringMatcher", "ignore_case", 6, "bool"},
      {"type.matcher.v3.StringMatcher", "prefix", 2, "string"},
      {"type.matcher.v3.StringMatcher", "safe_regex", 5, "envoy.type.matcher.v3.RegexMatcher"},
      {"type.matcher.v3.StringMatcher", "suffix", 3, "string"},
      {"type.v3.Int64Range", "end", 2, "int64"},
      {"type.v3.Int64Range", "start", 1, "int64"},
  };
  return *table;
}
// clang-format on

std::string typeOf(const FieldDescriptor& f) {
  if (f.message_type() != nullptr) {
    return f.message_type()->full_name();
  }
  if (f.enum_type() != nullptr) {
    return f.enum_type()->full_name();
  }
  return f.type_name();
}

// The row to add for a declared field, as declared (check the number against Envoy's before
// adding).
std::string rowFor(const std::string& message, const std::string& field) {
  const Descriptor* d =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(message);
  const FieldDescriptor* f = d->FindFieldByName(field);
  return "{\"" + message.substr(std::string("envoy.").size()) + "\", \"" + field + "\", " +
         std::to_string(f->number()) + ", \"" + typeOf(*f) + "\"},";
}

void collect(const Descriptor& d, std::set<std::pair<std::string, std::string>>& out) {
  if (d.options().map_entry()) {
    return;
  }
  for (int i = 0; i < d.field_count(); ++i) {
    out.emplace(d.full_name(), d.field(i)->name());
  }
  for (int i = 0; i < d.nested_type_count(); ++i) {
    collect(*d.nested_type(i), out);
  }
}

TEST(ApiFieldNumbersTest, MatchEnvoy) {
  for (const Expected& e : expected()) {
    const Descriptor* d = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
        "envoy." + e.message);
    ASSERT_NE(d, nullptr) << e.message;
    const FieldDescriptor* f = d->FindFieldByName(e.field);
    ASSERT_NE(f, nullptr) << e.message << "." << e.field;
    EXPECT_EQ(f->number(), e.number) << e.message << "." << e.field;
    EXPECT_EQ(typeOf(*f), e.type) << e.message << "." << e.field;
  }
}

TEST(ApiFieldNumbersTest, EveryDeclaredFieldIsChecked) {
  std::set<std::pair<std::string, std::string>> declared;
  for (const Descriptor* d :
       {envoy::config::bootstrap::v3::Bootstrap::descriptor(),
        envoy::config::bootstrap::v3::Admin::descriptor(),
        envoy::config::bootstrap::v3::LayeredRuntime::descriptor(),
        envoy::config::bootstrap::v3::RuntimeLayer::descriptor(),
        envoy::config::overload::v3::OverloadManager::descriptor(),
        envoy::config::overload::v3::ResourceMonitor::descriptor(),
        envoy::config::overload::v3::OverloadAction::descriptor(),
        envoy::config::overload::v3::Trigger::descriptor(),
        envoy::config::overload::v3::ThresholdTrigger::descriptor(),
        envoy::config::overload::v3::ScaledTrigger::descriptor(),
        envoy::extensions::resource_monitors::fixed_heap::v3::FixedHeapConfig::descriptor(),
        envoy::extensions::resource_monitors::downstream_connections::v3::
            DownstreamConnectionsConfig::descriptor(),
        envoy::config::listener::v3::Listener::descriptor(),
        envoy::config::listener::v3::FilterChain::descriptor(),
        envoy::config::listener::v3::FilterChainMatch::descriptor(),
        envoy::config::listener::v3::Filter::descriptor(),
        envoy::config::listener::v3::ListenerFilter::descriptor(),
        envoy::config::cluster::v3::Cluster::descriptor(),
        envoy::config::cluster::v3::CircuitBreakers::descriptor(),
        envoy::config::cluster::v3::OutlierDetection::descriptor(),
        envoy::config::core::v3::HealthCheck::descriptor(),
        envoy::type::v3::Percent::descriptor(),
        envoy::config::endpoint::v3::ClusterLoadAssignment::descriptor(),
        envoy::config::endpoint::v3::LocalityLbEndpoints::descriptor(),
        envoy::config::endpoint::v3::LbEndpoint::descriptor(),
        envoy::config::endpoint::v3::Endpoint::descriptor(),
        envoy::config::core::v3::Node::descriptor(),
        envoy::config::core::v3::Locality::descriptor(),
        envoy::config::core::v3::Metadata::descriptor(),
        envoy::config::core::v3::HeaderValue::descriptor(),
        envoy::config::core::v3::Address::descriptor(),
        envoy::config::core::v3::SocketAddress::descriptor(),
        envoy::config::core::v3::Pipe::descriptor(),
        envoy::config::core::v3::CidrRange::descriptor(),
        envoy::config::core::v3::BindConfig::descriptor(),
        envoy::extensions::filters::listener::original_dst::v3::OriginalDst::descriptor(),
        envoy::config::core::v3::ConfigSource::descriptor(),
        envoy::config::core::v3::ApiConfigSource::descriptor(),
        envoy::config::core::v3::RateLimitSettings::descriptor(),
        envoy::config::core::v3::GrpcService::descriptor(),
        envoy::config::core::v3::HeaderValueOption::descriptor(),
        envoy::config::core::v3::DataSource::descriptor(),
        envoy::config::core::v3::HttpProtocolOptions::descriptor(),
        envoy::config::core::v3::Http1ProtocolOptions::descriptor(),
        envoy::config::core::v3::SubstitutionFormatString::descriptor(),
        envoy::config::listener::v3::ApiListener::descriptor(),
        envoy::config::route::v3::RouteConfiguration::descriptor(),
        envoy::config::route::v3::VirtualHost::descriptor(),
        envoy::config::route::v3::Route::descriptor(),
        envoy::config::route::v3::RouteMatch::descriptor(),
        envoy::config::route::v3::RouteAction::descriptor(),
        envoy::config::route::v3::WeightedCluster::descriptor(),
        envoy::config::route::v3::RetryPolicy::descriptor(),
        envoy::config::route::v3::RedirectAction::descriptor(),
        envoy::config::route::v3::DirectResponseAction::descriptor(),
        envoy::config::route::v3::HeaderMatcher::descriptor(),
        envoy::config::route::v3::QueryParameterMatcher::descriptor(),
        envoy::type::matcher::v3::StringMatcher::descriptor(),
        envoy::type::matcher::v3::RegexMatcher::descriptor(),
        envoy::type::matcher::v3::RegexMatchAndSubstitute::descriptor(),
        envoy::type::v3::Int64Range::descriptor(),
        envoy::extensions::filters::network::http_connection_manager::v3::Rds::descriptor(),
        envoy::extensions::filters::network::http_connection_manager::v3::HttpFilter::descriptor(),
        envoy::config::accesslog::v3::AccessLog::descriptor(),
        envoy::extensions::access_loggers::file::v3::FileAccessLog::descriptor(),
        envoy::extensions::access_loggers::stream::v3::StdoutAccessLog::descriptor(),
        envoy::extensions::access_loggers::stream::v3::StderrAccessLog::descriptor(),
        envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager::
            descriptor(),
        envoy::extensions::filters::http::router::v3::Router::descriptor(),
        envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy::descriptor()}) {
    collect(*d, declared);
  }
  std::set<std::pair<std::string, std::string>> checked;
  for (const Expected& e : expected()) {
    checked.emplace("envoy." + e.message, e.field);
  }
  for (const auto& field : declared) {
    EXPECT_TRUE(checked.contains(field)) << field.first << "." << field.second
                                         << " is declared in api/ but not checked here; after "
                                            "checking it against Envoy's .proto add\n"
                                         << rowFor(field.first, field.second);
  }
}

TEST(ApiFieldNumbersTest, EnumValues) {
  using envoy::config::cluster::v3::Cluster;
  EXPECT_EQ(Cluster::STATIC, 0);
  EXPECT_EQ(Cluster::STRICT_DNS, 1);
  EXPECT_EQ(Cluster::LOGICAL_DNS, 2);
  EXPECT_EQ(Cluster::EDS, 3);
  EXPECT_EQ(Cluster::ORIGINAL_DST, 4);
  EXPECT_EQ(Cluster::MAGLEV, 5);
  EXPECT_EQ(Cluster::CLUSTER_PROVIDED, 6);
  EXPECT_EQ(envoy::config::core::v3::ApiConfigSource::AGGREGATED_GRPC, 5);
  EXPECT_EQ(envoy::config::core::v3::ApiConfigSource::AGGREGATED_DELTA_GRPC, 6);
  EXPECT_EQ(envoy::config::core::v3::V3, 2);
  EXPECT_EQ(envoy::config::core::v3::HealthStatus::DEGRADED, 5);
}

// A Listener serialized by skiff starts with the bytes Envoy expects: name is field 1
// (tag 0x0a) and per_connection_buffer_limit_bytes is a length-delimited wrapper, field 5 (0x2a).
TEST(ApiFieldNumbersTest, WireBytes) {
  envoy::config::listener::v3::Listener listener;
  listener.set_name("a");
  listener.mutable_per_connection_buffer_limit_bytes()->set_value(1);
  EXPECT_EQ(listener.SerializeAsString(), std::string("\x0a\x01"
                                                      "a"
                                                      "\x2a\x02\x08\x01",
                                                      7));
}

}  // namespace
