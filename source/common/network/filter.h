#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "source/common/buffer/buffer.h"
#include "source/common/network/connection.h"

namespace Skiff::Network {

enum class FilterStatus { Continue, StopIteration };

/**
 * Given to a read filter when it is installed: the connection it is attached to. Used on the
 * connection's thread only.
 */
class ReadFilterCallbacks {
 public:
  virtual ~ReadFilterCallbacks() = default;
  virtual Connection& connection() = 0;
};

/**
 * A network filter that sees bytes read from a downstream connection (e.g. tcp_proxy). Created
 * per connection on the worker that accepted it, and used on that thread only.
 */
class ReadFilter {
 public:
  virtual ~ReadFilter() = default;

  virtual void initializeReadFilterCallbacks(ReadFilterCallbacks& callbacks) = 0;
  // The connection was accepted and every filter is installed.
  virtual FilterStatus onNewConnection() = 0;
  // Bytes arrived. The filter drains (or moves) what it consumes. end_stream means the peer sent
  // FIN (only with half-close enabled).
  virtual FilterStatus onData(Buffer::Instance& data, bool end_stream) = 0;
  // The listener that accepted the connection is draining (removed, replaced with draining on,
  // or the server is shutting down): finish what is in flight and close at the next clean
  // point. A filter that moves opaque bytes (tcp_proxy) has no such point and ignores it.
  virtual void onDrainStart() {}
};

/**
 * Installs a listener filter chain's network filters on a new connection. Built on main from
 * config and shared read-only by every worker, so it must be immutable after construction.
 */
class FilterChainFactory {
 public:
  virtual ~FilterChainFactory() = default;
  // Adds the filters to `connection`; returns false if it could not (the connection is closed).
  virtual bool createNetworkFilterChain(Connection& connection) const = 0;
};

using FilterChainFactorySharedPtr = std::shared_ptr<const FilterChainFactory>;

// Creates one filter instance for one connection; captured config must be immutable.
using NetworkFilterFactoryCb = std::function<void(Connection& connection)>;

}  // namespace Skiff::Network
