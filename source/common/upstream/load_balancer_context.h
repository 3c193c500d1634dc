#pragma once

#include "source/common/network/address.h"
#include "source/common/network/connection.h"

namespace Skiff::Upstream {

struct Host;

/**
 * What a load balancer may know about the request it picks a host for (Envoy's
 * LoadBalancerContext). Implemented by the filter asking (tcp_proxy, the HTTP router); used on
 * its worker thread during chooseHost() only.
 */
class LoadBalancerContext {
 public:
  virtual ~LoadBalancerContext() = default;
  // The downstream connection the upstream connection is for, or nullptr.
  virtual const Network::Connection* downstreamConnection() const { return nullptr; }
  // The destination the downstream client connected to before an iptables redirect, restored by
  // the original_dst listener filter (or carried by a hand-off between listeners), or nullptr
  // when it was not restored. An ORIGINAL_DST cluster connects there. By default, the local
  // address of downstreamConnection() when that connection says it was restored.
  virtual const Network::Address::InstanceConstSharedPtr* restoredDestination() const {
    const Network::Connection* connection = downstreamConnection();
    return connection != nullptr && connection->localAddressRestored() ? &connection->localAddress()
                                                                       : nullptr;
  }
  // A retry's host predicates (Envoy's shouldSelectAnotherHost): true asks the load balancer to
  // pick again, at most hostSelectionRetryCount() more times; the last pick stands either way.
  virtual bool shouldSelectAnotherHost(const Host& /*host*/) const { return false; }
  virtual uint32_t hostSelectionRetryCount() const { return 0; }
};

}  // namespace Skiff::Upstream
