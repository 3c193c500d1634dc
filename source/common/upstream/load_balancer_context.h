#pragma once

#include "source/common/network/connection.h"

namespace Skiff::Upstream {

/**
 * What a load balancer may know about the request it picks a host for (Envoy's
 * LoadBalancerContext). Implemented by the filter asking (tcp_proxy); used on its worker thread
 * during chooseHost() only.
 */
class LoadBalancerContext {
 public:
  virtual ~LoadBalancerContext() = default;
  // The downstream connection the upstream connection is for, or nullptr. An ORIGINAL_DST cluster
  // connects to its local address when that address was restored from an iptables redirect.
  virtual const Network::Connection* downstreamConnection() const = 0;
};

}  // namespace Skiff::Upstream
