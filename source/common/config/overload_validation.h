#pragma once

// Checks for the bootstrap's overload_manager (Envoy's envoy.config.overload.v3.OverloadManager),
// the subset skiff implements:
//   resource monitors  FixedHeapConfig (envoy.resource_monitors.fixed_heap) and
//                      DownstreamConnectionsConfig
//                      (envoy.resource_monitors.global_downstream_max_connections)
//   actions            envoy.overload_actions.stop_accepting_connections,
//                      envoy.overload_actions.stop_accepting_requests,
//                      envoy.overload_actions.disable_http_keepalive
// Every error names the field path and the reason, one per line, all of them.
//
// Thread: pure functions; any thread.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "envoy/config/overload/v3/overload.pb.h"

namespace Skiff::Config {

inline constexpr absl::string_view kFixedHeapMonitorName = "envoy.resource_monitors.fixed_heap";
inline constexpr absl::string_view kGlobalDownstreamMaxConnectionsMonitorName =
    "envoy.resource_monitors.global_downstream_max_connections";

absl::Status validateOverloadManager(const envoy::config::overload::v3::OverloadManager& config,
                                     absl::string_view path = "overload_manager");

}  // namespace Skiff::Config
