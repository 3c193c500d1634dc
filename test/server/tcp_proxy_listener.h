#pragma once

// Builds the resources the server tests need: a loopback listener whose only filter is a
// tcp_proxy to a named cluster.

#include <cstdint>
#include <string>

#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"

namespace Skiff::Server {

inline envoy::config::listener::v3::Listener tcpProxyListener(const std::string& name,
                                                              uint32_t port,
                                                              const std::string& cluster) {
  envoy::config::listener::v3::Listener listener;
  listener.set_name(name);
  listener.mutable_address()->mutable_socket_address()->set_address("127.0.0.1");
  listener.mutable_address()->mutable_socket_address()->set_port_value(port);
  envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy proxy;
  proxy.set_stat_prefix(name);
  proxy.set_cluster(cluster);
  auto* filter = listener.add_filter_chains()->add_filters();
  filter->set_name("envoy.filters.network.tcp_proxy");
  filter->mutable_typed_config()->PackFrom(proxy);
  return listener;
}

}  // namespace Skiff::Server
