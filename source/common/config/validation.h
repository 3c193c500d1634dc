#pragma once

// Semantic checks for the xDS subset skiff supports, beyond what the proto parser enforces (the
// rules Envoy expresses as protoc-gen-validate annotations, plus what skiff does not implement).
// Used for the bootstrap and, per resource, by the xDS client before it ACKs an update.
//
// Every error names the field path and the reason, e.g.
//   static_resources.listeners[0].address.socket_address.port_value: 70000 is not a valid port
//   (0-65535)
// and all errors are collected (joined with newlines) rather than stopping at the first.
//
// Thread: pure functions; any thread.

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "envoy/config/accesslog/v3/accesslog.pb.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/core/v3/config_source.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/listener/original_dst/v3/original_dst.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"

namespace Skiff::Config {

// The filter name and typed_config type URL of the only network filter skiff has so far.
inline constexpr absl::string_view kTcpProxyFilterName = "envoy.filters.network.tcp_proxy";
inline constexpr absl::string_view kTcpProxyTypeUrl =
    "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";

inline constexpr absl::string_view kHttpConnectionManagerFilterName =
    "envoy.filters.network.http_connection_manager";
inline constexpr absl::string_view kHttpConnectionManagerTypeUrl =
    "type.googleapis.com/"
    "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
// The only listener filter skiff has.
inline constexpr absl::string_view kOriginalDstFilterName = "envoy.filters.listener.original_dst";
inline constexpr absl::string_view kOriginalDstTypeUrl =
    "type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst";

// The cluster names a listener's filters may refer to (tcp_proxy `cluster`).
class KnownClusters {
 public:
  KnownClusters() = default;
  explicit KnownClusters(absl::flat_hash_set<std::string> names) : names_(std::move(names)) {}

  // Accepts every name: for when clusters may still arrive later (CDS).
  static KnownClusters any() {
    KnownClusters known;
    known.any_ = true;
    return known;
  }

  void add(absl::string_view name) { names_.emplace(name); }
  bool contains(absl::string_view name) const { return any_ || names_.contains(name); }

 private:
  bool any_ = false;
  absl::flat_hash_set<std::string> names_;
};

// `path` is prepended to every field path in errors (e.g. "static_resources.listeners[0]" or
// `listener "ingress"`); empty means paths start at the resource's own fields.
absl::Status validateListener(const envoy::config::listener::v3::Listener& listener,
                              const KnownClusters& clusters, absl::string_view path = "");

absl::Status validateCluster(const envoy::config::cluster::v3::Cluster& cluster,
                             absl::string_view path = "");

// For EDS responses. `require_ip` is false for DNS clusters, whose endpoints may be hostnames.
absl::Status validateClusterLoadAssignment(
    const envoy::config::endpoint::v3::ClusterLoadAssignment& assignment,
    absl::string_view path = "", bool require_ip = true);

absl::Status validateTcpProxy(
    const envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& tcp_proxy,
    const KnownClusters& clusters, absl::string_view path = "");

// The HttpConnectionManager fields skiff reads: stat_prefix, codec_type (HTTP/1.1 only),
// http_filters ending with the router (others only if is_optional), route_config or rds (over
// ADS), valid durations and limits. Route tables are checked in full when they are built.
absl::Status validateHttpConnectionManager(
    const envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager&
        hcm,
    absl::string_view path = "");

// The RouteConfiguration names the listener's HTTP connection managers fetch over RDS.
std::vector<std::string> rdsRouteNames(const envoy::config::listener::v3::Listener& listener);
// A RouteConfiguration, by building the route table the workers would use (so regexes compile,
// files and environment variables named by direct responses are read, header formats parse).
// `validate_clusters_default` is what an unset validate_clusters means: true for an inline
// route_config, false for one from RDS. Unknown clusters are errors only when clusters are
// validated. Errors read `route_config "r1": virtual_hosts[0] "web": routes[2].match.safe_regex:
// invalid regex "(": missing ): (`; a non-empty `path` replaces the leading `route_config "r1"`.
absl::Status validateRouteConfiguration(const envoy::config::route::v3::RouteConfiguration& config,
                                        const KnownClusters& clusters,
                                        bool validate_clusters_default,
                                        absl::string_view path = "");

// An access log (file, stdout or stderr logger and its format), without opening its file.
absl::Status validateAccessLog(const envoy::config::accesslog::v3::AccessLog& access_log,
                               absl::string_view path = "access_log");

// Everything above for each static resource, plus what only the sidecar cannot do (STRICT_DNS
// and LOGICAL_DNS clusters must list IP endpoints: it does not resolve DNS yet), plus: unique
// listener and cluster names, distinct
// listener addresses, a valid admin address, dynamic_resources config sources that skiff can use
// (gRPC to a static cluster; `ads` only together with ads_config). tcp_proxy clusters must be
// static clusters unless dynamic_resources.cds_config is set.
absl::Status validateBootstrap(const envoy::config::bootstrap::v3::Bootstrap& bootstrap);

}  // namespace Skiff::Config
