#pragma once

// Small xDS resources for skiff-control tests, built from YAML the way users write them.

#include <string>

#include "absl/strings/str_format.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "gtest/gtest.h"
#include "source/common/config/message_loader.h"
#include "source/control/snapshot_cache.h"

namespace Skiff::Control::Test {

template <class Message>
Message fromYaml(const std::string& yaml) {
  // Referenced so the types are in the descriptor pool for the "@type"s below.
  static const google::protobuf::Message* const kTypes[] = {
      &envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy::default_instance(),
      &envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager::
          default_instance(),
      &envoy::extensions::filters::http::router::v3::Router::default_instance()};
  (void)kTypes;
  Message message;
  const auto status =
      Config::loadMessageFromString(yaml, Config::ConfigFormat::Yaml, "<test>", message);
  EXPECT_TRUE(status.ok()) << status;
  return message;
}

inline envoy::config::cluster::v3::Cluster cluster(const std::string& name,
                                                   const std::string& timeout = "1s") {
  return fromYaml<envoy::config::cluster::v3::Cluster>(absl::StrFormat(
      "name: %s\nconnect_timeout: %s\ntype: EDS\neds_cluster_config: {eds_config: {ads: {}}}\n",
      name, timeout));
}

inline envoy::config::endpoint::v3::ClusterLoadAssignment endpoints(const std::string& cluster,
                                                                    int port) {
  return fromYaml<envoy::config::endpoint::v3::ClusterLoadAssignment>(absl::StrFormat(
      "cluster_name: %s\nendpoints:\n- lb_endpoints:\n  - endpoint: {address: {socket_address: "
      "{address: 127.0.0.1, port_value: %d}}}\n",
      cluster, port));
}

inline envoy::config::listener::v3::Listener listener(const std::string& name, int port,
                                                      const std::string& cluster) {
  return fromYaml<envoy::config::listener::v3::Listener>(absl::StrFormat(
      R"(name: %s
address: {socket_address: {address: 127.0.0.1, port_value: %d}}
filter_chains:
- filters:
  - name: envoy.filters.network.tcp_proxy
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: %s
      cluster: %s
)",
      name, port, name, cluster));
}

// A gRPC client's API listener: an HTTP connection manager taking route `route_name` over ADS.
inline envoy::config::listener::v3::Listener apiListener(const std::string& name,
                                                         const std::string& route_name) {
  return fromYaml<envoy::config::listener::v3::Listener>(absl::StrFormat(
      R"(name: %s
api_listener:
  api_listener:
    "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
    rds: {route_config_name: %s, config_source: {ads: {}}}
    http_filters:
    - name: envoy.filters.http.router
      typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
)",
      name, route_name));
}

// A route configuration sending everything to `cluster`.
inline envoy::config::route::v3::RouteConfiguration route(const std::string& name,
                                                          const std::string& cluster) {
  return fromYaml<envoy::config::route::v3::RouteConfiguration>(absl::StrFormat(
      R"(name: %s
virtual_hosts:
- name: all
  domains: ["*"]
  routes: [{match: {prefix: ""}, route: {cluster: %s}}]
)",
      name, cluster));
}

// A snapshot from any number of resources; fails the test on a builder error.
template <class... Messages>
SnapshotConstSharedPtr snapshot(const Messages&... messages) {
  Snapshot::Builder builder;
  const auto add = [&builder](const auto& message) {
    const auto status = builder.add(message);
    EXPECT_TRUE(status.ok()) << status;
  };
  (add(messages), ...);
  return std::move(builder).build();
}

}  // namespace Skiff::Control::Test
