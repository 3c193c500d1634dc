#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "envoy/config/listener/v3/listener.pb.h"
#include "source/common/network/address.h"
#include "source/common/network/filter.h"
#include "source/common/network/listener_filter.h"
#include "source/common/overload/connection_limit.h"
#include "source/common/stats/stats.h"

namespace Skiff::Server {

// Envoy's `listener.<address or stat_prefix>.*` stats.
struct ListenerStats {
  Stats::Counter& downstream_cx_total;
  Stats::Gauge& downstream_cx_active;
  Stats::Counter& downstream_cx_destroy;
  Stats::Histogram& downstream_cx_length_ms;
  Stats::Counter& no_filter_chain_match;
  // Closed at accept: this listener's connection limit was reached.
  Stats::Counter& downstream_cx_overflow;
  // Closed at accept: the global downstream connection limit was reached.
  Stats::Counter& downstream_global_cx_overflow;
  // accept() failed for lack of descriptors or memory (the listener backs off and retries).
  Stats::Counter& downstream_cx_accept_resource_failure;
};

// Every ListenerStats member under `listener.<prefix>.` (created on first use). Main thread.
inline std::unique_ptr<ListenerStats> createListenerStats(Stats::Store& store,
                                                          const std::string& prefix) {
  const std::string p = "listener." + prefix + ".";
  return std::unique_ptr<ListenerStats>(new ListenerStats{
      store.counter(p + "downstream_cx_total"),
      store.gauge(p + "downstream_cx_active"),
      store.counter(p + "downstream_cx_destroy"),
      store.histogram(p + "downstream_cx_length_ms", Stats::Histogram::Unit::Milliseconds),
      store.counter(p + "no_filter_chain_match"),
      store.counter(p + "downstream_cx_overflow"),
      store.counter(p + "downstream_global_cx_overflow"),
      store.counter(p + "downstream_cx_accept_resource_failure"),
  });
}

// One filter chain: when it applies and the filters it installs, in order.
struct FilterChainConfig {
  std::string name;
  uint32_t destination_port{0};  // 0: any port.
  std::vector<Network::NetworkFilterFactoryCb> filter_factories;
};

/**
 * A listener's config as workers use it. Built and validated on main, then immutable and shared
 * by every worker and every connection accepted under it: a connection holds the config it was
 * accepted with until it closes, so replacing a listener's config never touches open connections.
 */
struct ListenerConfig {
  std::string name;
  uint64_t tag;  // Unique per build of a listener; tells a worker which config a connection has.
  Network::Address::InstanceConstSharedPtr address;  // With the port actually bound.
  // false: the listener has no socket of its own and only serves connections handed off by a
  // use_original_dst listener (Envoy's bind_to_port).
  bool bind_to_port{true};
  // Hand a connection whose original destination was restored (by the original_dst listener
  // filter) to the listener bound to that destination, or to 0.0.0.0/[::] on its port, on the
  // same worker; if there is none, this listener serves it (Envoy's use_original_dst).
  bool use_original_dst{false};
  // Run in order on every accepted socket, before hand-off and filter chain selection.
  std::vector<Network::ListenerFilterCb> listener_filters;
  uint32_t per_connection_buffer_limit_bytes{1024 * 1024};
  std::vector<FilterChainConfig> filter_chains;
  ListenerStats* stats;  // Points into the stats store, which outlives every listener.
  // Open connections of this listener over all workers and their ceiling (runtime
  // envoy.resource_limits.listener.<name>.connection_limit); null: no limit. Kept across
  // updates of the listener, so connections accepted under an older config still count.
  Overload::ConnectionLimitSharedPtr connection_limit;
  envoy::config::listener::v3::Listener proto;  // As received, for /config_dump.
  std::string version_info;                     // The LDS version it came with ("" if static).
  std::chrono::system_clock::time_point last_updated;

  // The chain for a connection to `local_port` (the original destination's port for a connection
  // whose destination was restored), or nullptr if none matches.
  const FilterChainConfig* findFilterChain(uint32_t local_port) const {
    for (const auto& chain : filter_chains) {
      if (chain.destination_port == 0 || chain.destination_port == local_port) {
        return &chain;
      }
    }
    return nullptr;
  }
};

using ListenerConfigConstSharedPtr = std::shared_ptr<const ListenerConfig>;

}  // namespace Skiff::Server
