#pragma once

// The route table: an immutable view of one envoy.config.route.v3.RouteConfiguration that picks a
// virtual host by Host, then the first matching route, and says what to do with the request.
//
// Threads: RouteTable::create runs on main or the control thread (it compiles regexes and may
// read files). The result is a shared_ptr<const RouteTable>; every worker reads it concurrently
// without locks. A stream keeps the table it routed with until it ends (RouteEntry pointers,
// RouteResult and StreamInfo::route_name point into it), so a table swapped by RDS is freed by
// its last stream.
//
// Hot path: route() does no allocation for the common cases (Host lookup lower-cases into a stack
// buffer; prefix/path comparisons are on views of the request). Query parameters are split only
// when a route has query matchers; repeated headers are joined only when a header matcher reads
// one.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "envoy/config/route/v3/route.pb.h"
#include "source/common/formatter/substitution_formatter.h"
#include "source/common/http/header_map.h"
#include "source/common/router/header_parser.h"
#include "source/common/router/matchers.h"
#include "source/common/router/retry_policy.h"
#include "source/common/stream_info/stream_info.h"

namespace Skiff::Router {

class RouteTable;
class VirtualHost;
class RouteEntry;

// Envoy's defaults.
inline constexpr std::chrono::milliseconds kDefaultRouteTimeout{15000};
inline constexpr uint32_t kDefaultMaxDirectResponseBodySizeBytes = 4096;

/**
 * One entry of weighted_clusters.
 */
class WeightedClusterEntry {
 public:
  const std::string& name() const { return name_; }
  uint32_t weight() const { return weight_; }
  // Overrides the route's host_rewrite_literal when set.
  const std::string& hostRewriteLiteral() const { return host_rewrite_literal_; }

 private:
  friend class RouteTableBuilder;
  friend struct RouteResult;
  std::string name_;
  uint32_t weight_ = 0;
  std::string host_rewrite_literal_;
  HeaderMutationsConstPtr request_headers_;
  HeaderMutationsConstPtr response_headers_;
};

/**
 * What route() found. `route` is null when no virtual host or no route matched: answer 404 with
 * response flag NR. Otherwise act on route->action().
 */
struct RouteResult {
  const VirtualHost* virtual_host = nullptr;
  const RouteEntry* route = nullptr;
  // For a weighted_clusters route: the entry picked for this request.
  const WeightedClusterEntry* weighted_cluster = nullptr;
  // For a Route action: the upstream cluster's name. With cluster_header it is a view of that
  // request header (copy it before changing the headers) and empty when the header is absent,
  // which is a "cluster not found" (clusterNotFoundResponseCode()).
  absl::string_view cluster_name;

  explicit operator bool() const { return route != nullptr; }

  // Applies, in Envoy's order: the weighted cluster's request header mutations, then the route's,
  // the virtual host's and the route configuration's (reversed when
  // most_specific_header_mutations_wins, so the route's come last); then host_rewrite_literal and
  // prefix_rewrite / regex_rewrite. With `insert_envoy_original_path`, a rewritten request gets
  // x-envoy-original-path. Values are formatted against `request_headers` and `stream_info`.
  void finalizeRequestHeaders(Http::RequestHeaderMap& request_headers,
                              const StreamInfo::StreamInfo& stream_info,
                              bool insert_envoy_original_path) const;

  // The response side of the same, in the same order.
  void finalizeResponseHeaders(Http::ResponseHeaderMap& response_headers,
                               const Http::RequestHeaderMap* request_headers,
                               const StreamInfo::StreamInfo& stream_info) const;
};

/**
 * A route: its match and its action. Reached through RouteResult; owned by the RouteTable.
 */
class RouteEntry {
 public:
  enum class Action { Route, Redirect, DirectResponse };
  enum class PathMatch { Prefix, Path, Regex, PathSeparatedPrefix };

  const std::string& name() const { return name_; }
  const VirtualHost& virtualHost() const { return *virtual_host_; }
  Action action() const { return action_; }

  // Whether the request matches (path, then headers, query parameters and gRPC). `path` is the
  // whole request target, `path_only` the same without query and fragment.
  bool matches(const Http::RequestHeaderMap& headers, absl::string_view path,
               absl::string_view path_only, absl::optional<QueryParams>& query) const;

  // --- Action::Route ---
  // Exactly one of these is set: a fixed cluster, a request header naming it, or weights.
  const std::string& clusterName() const { return cluster_name_; }
  const std::string& clusterHeader() const { return cluster_header_; }
  const std::vector<WeightedClusterEntry>& weightedClusters() const { return weighted_clusters_; }
  // The weighted cluster for a request with random number `random`: Envoy's pick, random modulo
  // the total weight falling into a cluster's share, in order.
  const WeightedClusterEntry& pickWeightedCluster(uint64_t random) const;
  uint32_t totalClusterWeight() const { return total_cluster_weight_; }
  // 503 (default), 404 or 500: the answer when the cluster does not exist.
  uint32_t clusterNotFoundResponseCode() const { return cluster_not_found_response_code_; }
  // The whole upstream exchange, retries included; default 15 s, 0 means no timeout.
  std::chrono::milliseconds timeout() const { return timeout_; }
  // Per-route stream idle timeout, overriding the connection manager's; 0 disables.
  absl::optional<std::chrono::milliseconds> idleTimeout() const { return idle_timeout_; }
  // The route's retry policy, else its virtual host's, else one that never retries.
  const RetryPolicy& retryPolicy() const { return *retry_policy_; }
  // host_rewrite_literal (may be overridden per weighted cluster) and auto_host_rewrite (the
  // router sets Host to the chosen upstream host's name).
  const std::string& hostRewriteLiteral() const { return host_rewrite_literal_; }
  bool autoHostRewrite() const { return auto_host_rewrite_; }
  // Route-level upgrade_configs: whether `upgrade_type` (e.g. "websocket", case-insensitive) is
  // enabled on this route, or nullopt to use the connection manager's setting.
  absl::optional<bool> upgradeEnabled(absl::string_view upgrade_type) const;
  // The path prefix_rewrite or regex_rewrite makes of this request's path (query kept), or
  // nullopt when the route rewrites nothing.
  absl::optional<std::string> rewrittenPath(const Http::RequestHeaderMap& headers) const;

  // --- Action::DirectResponse ---
  uint32_t directResponseCode() const { return direct_response_code_; }
  const std::string& directResponseBody() const { return direct_response_body_; }

  // --- Action::Redirect ---
  // 301 (default), 302, 303, 307 or 308.
  uint32_t redirectResponseCode() const { return redirect_response_code_; }
  // The Location for this request, as Envoy builds it: scheme (scheme_redirect, https_redirect,
  // or the request's), host (host_redirect, or the request's Host with its port dropped when
  // port_redirect is set or the scheme changes from the port's default), port_redirect, path
  // (path_redirect, prefix_rewrite applied to the matched prefix, or the request's), and the
  // query unless strip_query.
  std::string redirectLocation(const Http::RequestHeaderMap& headers) const;

 private:
  friend class RouteTableBuilder;
  friend struct RouteResult;

  // The path after prefix_rewrite (prefix/path routes replace the matched part; regex routes the
  // whole path) or regex_rewrite; `path` is the whole target, `path_only` without the query.
  std::string rewritePath(absl::string_view path, absl::string_view path_only,
                          const std::string& prefix_rewrite, const re2::RE2* regex,
                          const std::string& substitution) const;

  std::string name_;
  const VirtualHost* virtual_host_ = nullptr;
  Action action_ = Action::Route;

  // Match.
  PathMatch path_match_ = PathMatch::Prefix;
  std::string path_value_;  // prefix, path or path_separated_prefix
  RegexSharedPtr path_regex_;
  bool case_sensitive_ = true;
  std::vector<HeaderMatcher> header_matchers_;
  std::vector<QueryParameterMatcher> query_matchers_;
  bool grpc_only_ = false;

  // Route action.
  std::string cluster_name_;
  std::string cluster_header_;
  std::vector<WeightedClusterEntry> weighted_clusters_;
  uint32_t total_cluster_weight_ = 0;
  uint32_t cluster_not_found_response_code_ = 503;
  std::chrono::milliseconds timeout_ = kDefaultRouteTimeout;
  absl::optional<std::chrono::milliseconds> idle_timeout_;
  std::shared_ptr<const RetryPolicy> retry_policy_;
  std::string prefix_rewrite_;
  RegexSharedPtr regex_rewrite_;
  std::string regex_rewrite_substitution_;
  std::string host_rewrite_literal_;
  bool auto_host_rewrite_ = false;
  std::vector<std::pair<std::string, bool>> upgrades_;  // lower-case type, enabled

  // Direct response.
  uint32_t direct_response_code_ = 0;
  std::string direct_response_body_;

  // Redirect.
  uint32_t redirect_response_code_ = 301;
  std::string scheme_redirect_;
  std::string host_redirect_;
  std::string port_redirect_;  // ":8443", or empty
  std::string path_redirect_;
  bool path_redirect_has_query_ = false;
  std::string redirect_prefix_rewrite_;
  bool strip_query_ = false;

  HeaderMutationsConstPtr request_headers_;
  HeaderMutationsConstPtr response_headers_;
};

/**
 * A virtual host: domains and an ordered list of routes.
 */
class VirtualHost {
 public:
  const std::string& name() const { return name_; }
  const RouteTable& routeTable() const { return *route_table_; }
  const std::vector<std::unique_ptr<RouteEntry>>& routes() const { return routes_; }
  // The virtual host's retry policy, or null.
  const RetryPolicy* retryPolicy() const { return retry_policy_.get(); }

 private:
  friend class RouteTableBuilder;
  friend struct RouteResult;

  std::string name_;
  const RouteTable* route_table_ = nullptr;
  std::vector<std::unique_ptr<RouteEntry>> routes_;
  std::shared_ptr<const RetryPolicy> retry_policy_;
  HeaderMutationsConstPtr request_headers_;
  HeaderMutationsConstPtr response_headers_;
};

/**
 * Says whether a cluster exists, for validate_clusters. Called on the thread building the table.
 */
using ClusterExistsFn = std::function<bool(absl::string_view cluster)>;

struct RouteTableOptions {
  // validate_clusters when the RouteConfiguration does not set it: Envoy's default is true for an
  // inline route_config and false for one from RDS (unknown clusters are then found at request
  // time and answered with clusterNotFoundResponseCode()).
  bool validate_clusters_default = true;
  // Consulted when clusters are validated; null means every cluster exists.
  ClusterExistsFn cluster_exists;
  // What errors start with; empty means `route_config "<name>"`.
  std::string error_context;
};

class RouteTable;
using RouteTableConstSharedPtr = std::shared_ptr<const RouteTable>;

class RouteTable {
 public:
  // Builds and validates. Every problem is reported, one per line, as
  //   route_config "r1": virtual_hosts[0] "web": routes[2].match.safe_regex: invalid regex ...
  static absl::StatusOr<RouteTableConstSharedPtr> create(
      const envoy::config::route::v3::RouteConfiguration& config, const RouteTableOptions& options);

  // Picks the virtual host by Host (see findVirtualHost), then the first route that matches.
  // `random` picks among weighted clusters; pass the same value for every routing of one request
  // (Envoy uses the stream id) so a retry keeps its cluster.
  RouteResult route(const Http::RequestHeaderMap& headers, uint64_t random) const;

  // Envoy's search order on the lower-cased Host (port removed only with
  // ignore_port_in_host_matching): the exact domain, then suffix wildcards ("*.foo.com",
  // "*-bar.foo.com") longest first, then prefix wildcards ("foo.*") longest first, then "*". A
  // wildcard's '*' matches at least one character. Null when nothing matches.
  const VirtualHost* findVirtualHost(absl::string_view host) const;

  const std::string& name() const { return name_; }
  const std::vector<std::unique_ptr<VirtualHost>>& virtualHosts() const { return virtual_hosts_; }
  // Headers the connection manager strips from requests from external clients.
  const std::vector<std::string>& internalOnlyHeaders() const { return internal_only_headers_; }
  bool mostSpecificHeaderMutationsWins() const { return most_specific_header_mutations_wins_; }

 private:
  friend class RouteTableBuilder;
  friend struct RouteResult;

  using DomainMap = absl::flat_hash_map<std::string, const VirtualHost*>;
  // Wildcards grouped by the length of their fixed part, longest first.
  using WildcardMaps = std::vector<std::pair<size_t, DomainMap>>;

  std::string name_;
  std::vector<std::unique_ptr<VirtualHost>> virtual_hosts_;
  DomainMap exact_;
  WildcardMaps suffixes_;  // "*.foo.com" stored as ".foo.com"
  WildcardMaps prefixes_;  // "foo.*" stored as "foo."
  const VirtualHost* default_ = nullptr;
  bool ignore_port_in_host_matching_ = false;
  bool most_specific_header_mutations_wins_ = false;
  std::vector<std::string> internal_only_headers_;
  HeaderMutationsConstPtr request_headers_;
  HeaderMutationsConstPtr response_headers_;
};

}  // namespace Skiff::Router
