#include "source/common/router/config_impl.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "test/common/router/test_util.h"

namespace Skiff::Router {
namespace {

using envoy::config::route::v3::RouteConfiguration;
using std::chrono::milliseconds;

RouteTableConstSharedPtr build(const std::string& yaml, RouteTableOptions options = {}) {
  auto table = RouteTable::create(fromYaml<RouteConfiguration>(yaml), options);
  EXPECT_TRUE(table.ok()) << table.status();
  return table.ok() ? *table : nullptr;
}

std::string vhostName(const RouteTable& table, absl::string_view host) {
  const VirtualHost* vhost = table.findVirtualHost(host);
  return vhost == nullptr ? "<none>" : vhost->name();
}

// ---------------------------------------------------------------------------------------------
// Virtual host selection.

constexpr const char* kDomains = R"(
name: domains
virtual_hosts:
- {name: exact, domains: [api.example.com, Ported.com:8080, "[::1]"], routes: []}
- {name: suffix, domains: ["*.example.com"]}
- {name: longer-suffix, domains: ["*-bar.example.com"]}
- {name: com, domains: ["*.com"]}
- {name: prefix, domains: ["api.*"]}
- {name: longer-prefix, domains: ["api-v2.*"]}
- {name: default, domains: ["*"]}
)";

TEST(VirtualHostSelectionTest, EnvoysSearchOrder) {
  auto table = build(kDomains);
  ASSERT_NE(table, nullptr);
  const std::pair<const char*, const char*> cases[] = {
      {"api.example.com", "exact"},
      {"API.Example.COM", "exact"},  // case-insensitive
      {"ported.com:8080", "exact"},  // a port is part of the domain
      {"[::1]", "exact"},
      {"foo-bar.example.com", "longer-suffix"},  // longest suffix first
      {"x.example.com", "suffix"},
      {"-bar.example.com", "suffix"},  // '*' needs at least one character
      {".example.com", "com"},
      {"example.com", "com"},
      {"api.foo.com", "com"},  // suffix wildcards before prefix wildcards
      {"api.other.org", "prefix"},
      {"api-v2.other.org", "longer-prefix"},  // longest prefix first
      {"api.", "default"},                    // '*' needs at least one character
      {"api.example.com:8080", "prefix"},     // port kept: only "api.*" matches
      {"nothing.org", "default"},
      {"", "default"},
  };
  for (const auto& [host, expected] : cases) {
    EXPECT_EQ(vhostName(*table, host), expected) << host;
  }
}

TEST(VirtualHostSelectionTest, IgnorePortInHostMatching) {
  auto table = build(R"(
ignore_port_in_host_matching: true
virtual_hosts:
- {name: exact, domains: [api.example.com, "[::1]"]}
- {name: suffix, domains: ["*.example.com"]}
)");
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(vhostName(*table, "api.example.com:8080"), "exact");
  EXPECT_EQ(vhostName(*table, "www.example.com:443"), "suffix");
  EXPECT_EQ(vhostName(*table, "[::1]:80"), "exact");
  EXPECT_EQ(vhostName(*table, "[::1]"), "exact");
  EXPECT_EQ(vhostName(*table, "other:80"), "<none>");
}

TEST(VirtualHostSelectionTest, NoDefaultMeansNoRoute) {
  auto table = build(R"(
virtual_hosts:
- name: only
  domains: [a.com]
  routes: [{match: {prefix: /}, route: {cluster: c}}]
)");
  ASSERT_NE(table, nullptr);
  const RouteResult result = table->route(request("b.com", "/"), 0);
  EXPECT_FALSE(result);
  EXPECT_EQ(result.virtual_host, nullptr);
  const RouteResult hit = table->route(request("A.COM", "/"), 0);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit.cluster_name, "c");
}

TEST(VirtualHostSelectionTest, OnlyADefault) {
  auto table = build(R"(
virtual_hosts:
- {name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c}}]}
)");
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(vhostName(*table, "anything:1234"), "all");
  EXPECT_TRUE(table->route(request("x", "/"), 0));
}

// ---------------------------------------------------------------------------------------------
// Route matching.

struct MatchCase {
  const char* match;  // the RouteMatch, YAML flow style
  const char* path;
  std::vector<std::pair<const char*, const char*>> headers;
  bool expected;
};

TEST(RouteMatchTest, EveryMatcher) {
  const MatchCase cases[] = {
      {"{prefix: /api}", "/api/users", {}, true},
      {"{prefix: /api}", "/apiary", {}, true},
      {"{prefix: /api}", "/API/users", {}, false},
      {"{prefix: /api, case_sensitive: false}", "/API/users", {}, true},
      {"{prefix: ''}", "/anything", {}, true},
      {"{prefix: /}", "/", {}, true},
      {"{path: /exact}", "/exact", {}, true},
      {"{path: /exact}", "/exact?q=1", {}, true},  // the query is not part of the path
      {"{path: /exact}", "/exact/", {}, false},
      {"{path: /exact}", "/EXACT", {}, false},
      {"{path: /exact, case_sensitive: false}", "/EXACT", {}, true},
      {"{safe_regex: {regex: '/v[0-9]+/.*'}}", "/v1/items", {}, true},
      {"{safe_regex: {regex: '/v[0-9]+/.*'}}", "/v1/items?x=1", {}, true},
      {"{safe_regex: {regex: '/v[0-9]+'}}", "/v1/items", {}, false},  // full match
      {"{safe_regex: {regex: '/v[0-9]+'}}", "/V1", {}, false},
      {"{path_separated_prefix: /api}", "/api", {}, true},
      {"{path_separated_prefix: /api}", "/api/x", {}, true},
      {"{path_separated_prefix: /api}", "/api?x", {}, true},
      {"{path_separated_prefix: /api}", "/apiary", {}, false},
      {"{path_separated_prefix: /api, case_sensitive: false}", "/API/x", {}, true},
      {"{prefix: /, headers: [{name: x-env, string_match: {exact: canary}}]}",
       "/",
       {{"x-env", "canary"}},
       true},
      {"{prefix: /, headers: [{name: x-env, string_match: {exact: canary}}]}", "/", {}, false},
      {"{prefix: /, headers: [{name: x-a}, {name: x-b}]}", "/", {{"x-a", "1"}}, false},  // all
      {"{prefix: /, headers: [{name: x-a}, {name: x-b}]}", "/", {{"x-a", "1"}, {"x-b", "2"}}, true},
      {"{prefix: /, query_parameters: [{name: debug}]}", "/x?debug=1", {}, true},
      {"{prefix: /, query_parameters: [{name: debug}]}", "/x?nodebug=1", {}, false},
      {"{prefix: /, query_parameters: [{name: a, string_match: {exact: '1'}},"
       " {name: b, present_match: true}]}",
       "/x?b&a=1",
       {},
       true},
      {"{prefix: /, grpc: {}}", "/pkg.Svc/Method", {{"content-type", "application/grpc"}}, true},
      {"{prefix: /, grpc: {}}", "/x", {{"content-type", "application/grpc+proto"}}, true},
      {"{prefix: /, grpc: {}}", "/x", {{"content-type", "application/json"}}, false},
      {"{prefix: /, grpc: {}}", "/x", {{"content-type", "application/grpc-web"}}, false},
      {"{prefix: /, grpc: {}}", "/x", {}, false},
  };
  for (const MatchCase& c : cases) {
    auto table =
        build(absl::StrCat("virtual_hosts: [{name: v, domains: ['*'], routes: [{match: ", c.match,
                           ", route: {cluster: c}}]}]"));
    ASSERT_NE(table, nullptr) << c.match;
    Http::RequestHeaderMap headers = request("h", c.path);
    for (const auto& [name, value] : c.headers) {
      headers.add(name, value);
    }
    EXPECT_EQ(static_cast<bool>(table->route(headers, 0)), c.expected)
        << c.match << " vs " << c.path;
  }
}

TEST(RouteMatchTest, FirstMatchWins) {
  auto table = build(R"(
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - {name: exact, match: {path: /a/b}, route: {cluster: exact}}
  - {name: header, match: {prefix: /a, headers: [{name: x-v2}]}, route: {cluster: header}}
  - {name: prefix, match: {prefix: /a}, route: {cluster: prefix}}
  - {name: never, match: {prefix: /a/b/c}, route: {cluster: never}}
  - {name: root, match: {prefix: /}, route: {cluster: root}}
)");
  ASSERT_NE(table, nullptr);
  const std::pair<const char*, const char*> cases[] = {
      {"/a/b", "exact"}, {"/a/b/c", "prefix"}, {"/a", "prefix"}, {"/b", "root"}};
  for (const auto& [path, route] : cases) {
    const RouteResult result = table->route(request("h", path), 0);
    ASSERT_TRUE(result) << path;
    EXPECT_EQ(result.route->name(), route) << path;
    EXPECT_EQ(result.cluster_name, route) << path;
  }
  Http::RequestHeaderMap headers = request("h", "/a/x");
  headers.add("x-v2", "1");
  EXPECT_EQ(table->route(headers, 0).route->name(), "header");
}

// ---------------------------------------------------------------------------------------------
// Cluster selection.

TEST(ClusterTest, ClusterHeader) {
  auto table = build(R"(
virtual_hosts:
- name: v
  domains: ["*"]
  routes: [{match: {prefix: /}, route: {cluster_header: X-Cluster,
                                         cluster_not_found_response_code: NOT_FOUND}}]
)");
  ASSERT_NE(table, nullptr);
  Http::RequestHeaderMap headers = request("h", "/");
  headers.add("x-cluster", "backend-7");
  RouteResult result = table->route(headers, 0);
  ASSERT_TRUE(result);
  EXPECT_EQ(result.cluster_name, "backend-7");
  EXPECT_EQ(result.route->clusterHeader(), "x-cluster");
  EXPECT_EQ(result.route->clusterNotFoundResponseCode(), 404u);
  // No header: a route without a cluster, answered with cluster_not_found_response_code.
  result = table->route(request("h", "/"), 0);
  ASSERT_TRUE(result);
  EXPECT_TRUE(result.cluster_name.empty());
}

TEST(ClusterTest, ClusterNotFoundCodes) {
  const std::pair<const char*, uint32_t> cases[] = {
      {"", 503},
      {", cluster_not_found_response_code: SERVICE_UNAVAILABLE", 503},
      {", cluster_not_found_response_code: NOT_FOUND", 404},
      {", cluster_not_found_response_code: INTERNAL_SERVER_ERROR", 500}};
  for (const auto& [field, code] : cases) {
    auto table =
        build(absl::StrCat("virtual_hosts: [{name: v, domains: ['*'], routes: [{match: "
                           "{prefix: /}, route: {cluster: c",
                           field, "}}]}]"));
    ASSERT_NE(table, nullptr);
    EXPECT_EQ(table->route(request("h", "/"), 0).route->clusterNotFoundResponseCode(), code);
  }
}

TEST(ClusterTest, WeightedClustersSplitByTheCallersRandom) {
  auto table = build(R"(
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {prefix: /}
    route:
      weighted_clusters:
        clusters:
        - {name: a, weight: 10}
        - {name: zero, weight: 0}
        - {name: b, weight: 20}
        - {name: c, weight: 70}
)");
  ASSERT_NE(table, nullptr);
  const Http::RequestHeaderMap headers = request("h", "/");
  std::map<std::string, int> counts;
  for (uint64_t random = 0; random < 1000; ++random) {
    const RouteResult result = table->route(headers, random);
    ASSERT_TRUE(result);
    ASSERT_NE(result.weighted_cluster, nullptr);
    EXPECT_EQ(result.cluster_name, result.weighted_cluster->name());
    counts[std::string(result.cluster_name)]++;
  }
  // Every residue modulo the total weight (100) appears ten times: an exact split.
  EXPECT_EQ(counts, (std::map<std::string, int>{{"a", 100}, {"b", 200}, {"c", 700}}));
  // random % 100 decides, in order: [0,10) a, [10,30) b, [30,100) c.
  const std::pair<uint64_t, const char*> picks[] = {
      {0, "a"},  {9, "a"},   {10, "b"},        {29, "b"}, {30, "c"},
      {99, "c"}, {100, "a"}, {UINT64_MAX, "b"}};  // 2^64-1 = 18446744073709551615, % 100 = 15
  for (const auto& [random, cluster] : picks) {
    EXPECT_EQ(table->route(headers, random).cluster_name, cluster) << random;
  }
  EXPECT_EQ(table->route(headers, 0).route->totalClusterWeight(), 100u);
}

// ---------------------------------------------------------------------------------------------
// Timeouts, retries, upgrades.

TEST(RouteActionTest, TimeoutsAndUpgrades) {
  auto table = build(R"(
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - {name: default, match: {path: /default}, route: {cluster: c}}
  - name: set
    match: {path: /set}
    route:
      cluster: c
      timeout: 2.5s
      idle_timeout: 30s
      upgrade_configs: [{upgrade_type: WebSocket}, {upgrade_type: h2c, enabled: false}]
  - {name: none, match: {path: /none}, route: {cluster: c, timeout: 0s, idle_timeout: 0s}}
)");
  ASSERT_NE(table, nullptr);
  const RouteEntry* def = table->route(request("h", "/default"), 0).route;
  EXPECT_EQ(def->timeout(), milliseconds(15000));
  EXPECT_FALSE(def->idleTimeout().has_value());
  EXPECT_FALSE(def->upgradeEnabled("websocket").has_value());
  const RouteEntry* set = table->route(request("h", "/set"), 0).route;
  EXPECT_EQ(set->timeout(), milliseconds(2500));
  EXPECT_EQ(set->idleTimeout(), milliseconds(30000));
  EXPECT_EQ(set->upgradeEnabled("websocket"), true);
  EXPECT_EQ(set->upgradeEnabled("WEBSOCKET"), true);
  EXPECT_EQ(set->upgradeEnabled("h2c"), false);
  EXPECT_FALSE(set->upgradeEnabled("other").has_value());
  const RouteEntry* none = table->route(request("h", "/none"), 0).route;
  EXPECT_EQ(none->timeout(), milliseconds(0));
  EXPECT_EQ(none->idleTimeout(), milliseconds(0));
}

TEST(RouteActionTest, RetryPolicyFromRouteElseVirtualHost) {
  auto table = build(R"(
virtual_hosts:
- name: with-default
  domains: [a]
  retry_policy: {retry_on: gateway-error, num_retries: 2}
  routes:
  - {match: {path: /inherit}, route: {cluster: c}}
  - {match: {path: /own}, route: {cluster: c, retry_policy: {retry_on: connect-failure}}}
- name: without
  domains: [b]
  routes: [{match: {prefix: /}, route: {cluster: c}}]
)");
  ASSERT_NE(table, nullptr);
  const RetryPolicy& inherited = table->route(request("a", "/inherit"), 0).route->retryPolicy();
  EXPECT_EQ(inherited.retry_on, RetryPolicy::GatewayError);
  EXPECT_EQ(inherited.num_retries, 2u);
  const RetryPolicy& own = table->route(request("a", "/own"), 0).route->retryPolicy();
  EXPECT_EQ(own.retry_on, RetryPolicy::ConnectFailure);  // replaces, does not merge
  EXPECT_EQ(own.num_retries, 1u);
  const RetryPolicy& none = table->route(request("b", "/"), 0).route->retryPolicy();
  EXPECT_FALSE(none.enabled());
  EXPECT_NE(table->virtualHosts()[0]->retryPolicy(), nullptr);
  EXPECT_EQ(table->virtualHosts()[1]->retryPolicy(), nullptr);
}

// ---------------------------------------------------------------------------------------------
// Path and host rewrites.

struct RewriteCase {
  const char* match;
  const char* rewrite;
  const char* path;
  const char* expected;  // "" for no rewrite
};

TEST(RewriteTest, PrefixAndRegexRewrites) {
  const RewriteCase cases[] = {
      {"{prefix: /api/}", "prefix_rewrite: /v2/", "/api/users?x=1", "/v2/users?x=1"},
      {"{prefix: /api}", "prefix_rewrite: /", "/api/users", "//users"},
      {"{prefix: /api/}", "prefix_rewrite: /", "/api/users", "/users"},
      {"{prefix: /API/, case_sensitive: false}", "prefix_rewrite: /x/", "/api/a", "/x/a"},
      {"{path: /old}", "prefix_rewrite: /new", "/old?q", "/new?q"},
      {"{path_separated_prefix: /svc}", "prefix_rewrite: /backend", "/svc/a?b", "/backend/a?b"},
      {"{safe_regex: {regex: '/item/[0-9]+'}}", "prefix_rewrite: /items", "/item/42?v=1",
       "/items?v=1"},
      {"{prefix: /service/}",
       "regex_rewrite: {pattern: {regex: '^/service/([^/]+)(/.*)$'}, substitution: "
       "'\\2/instance/\\1'}",
       "/service/foo/v1/api?x=1", "/v1/api/instance/foo?x=1"},
      {"{prefix: /}", "regex_rewrite: {pattern: {regex: 'a'}, substitution: 'b'}", "/aaa?a=a",
       "/bbb?a=a"},
      {"{prefix: /}", "host_rewrite_literal: x", "/same", ""},
  };
  for (const RewriteCase& c : cases) {
    auto table =
        build(absl::StrCat("virtual_hosts: [{name: v, domains: ['*'], routes: [{match: ", c.match,
                           ", route: {cluster: c, ", c.rewrite, "}}]}]"));
    ASSERT_NE(table, nullptr) << c.rewrite;
    const Http::RequestHeaderMap headers = request("h", c.path);
    const RouteResult result = table->route(headers, 0);
    ASSERT_TRUE(result) << c.match << " " << c.path;
    const absl::optional<std::string> rewritten = result.route->rewrittenPath(headers);
    EXPECT_EQ(rewritten.value_or(""), c.expected) << c.rewrite << " on " << c.path;
  }
}

TEST(RewriteTest, FinalizeRewritesPathAndHost) {
  auto table = build(R"(
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - match: {prefix: /api/}
    route:
      prefix_rewrite: /
      host_rewrite_literal: backend.internal
      weighted_clusters:
        clusters:
        - {name: a, weight: 1}
        - {name: b, weight: 1, host_rewrite_literal: b.internal}
  - {match: {prefix: /auto}, route: {cluster: c, auto_host_rewrite: true}}
)");
  ASSERT_NE(table, nullptr);
  StreamInfo::StreamInfo info;
  Http::RequestHeaderMap headers = request("public.example.com", "/api/users");
  RouteResult result = table->route(headers, 0);  // cluster a
  result.finalizeRequestHeaders(headers, info, true);
  EXPECT_EQ(headers.path(), "/users");
  EXPECT_EQ(headers.host(), "backend.internal");
  ASSERT_NE(headers.get("x-envoy-original-path"), nullptr);
  EXPECT_EQ(*headers.get("x-envoy-original-path"), "/api/users");

  headers = request("public.example.com", "/api/users");
  result = table->route(headers, 1);  // cluster b overrides the host
  result.finalizeRequestHeaders(headers, info, false);
  EXPECT_EQ(headers.host(), "b.internal");
  EXPECT_EQ(headers.get("x-envoy-original-path"), nullptr);

  headers = request("public.example.com", "/auto");
  result = table->route(headers, 0);
  EXPECT_TRUE(result.route->autoHostRewrite());
  result.finalizeRequestHeaders(headers, info, true);
  EXPECT_EQ(headers.host(), "public.example.com");  // the router does it with the host
  EXPECT_EQ(headers.get("x-envoy-original-path"), nullptr);
}

// ---------------------------------------------------------------------------------------------
// Header mutations across levels.

constexpr const char* kLevels = R"(
$FLAG
request_headers_to_add:
- {header: {key: x-order, value: global}}
- {header: {key: x-winner, value: global}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
request_headers_to_remove: [x-strip-global]
response_headers_to_add:
- {header: {key: x-order, value: global}}
- {header: {key: x-winner, value: global}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
virtual_hosts:
- name: v
  domains: ["*"]
  request_headers_to_add:
  - {header: {key: x-order, value: vhost}}
  - {header: {key: x-winner, value: vhost}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
  response_headers_to_add:
  - {header: {key: x-order, value: vhost}}
  - {header: {key: x-winner, value: vhost}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
  routes:
  - match: {prefix: /}
    request_headers_to_add:
    - {header: {key: x-order, value: route}}
    - {header: {key: x-winner, value: route}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
    - {header: {key: x-client, value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%'}}
    response_headers_to_add:
    - {header: {key: x-order, value: route}}
    - {header: {key: x-winner, value: route}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
    - {header: {key: x-path, value: '%REQ(:path)%'}}
    response_headers_to_remove: [server]
    route:
      weighted_clusters:
        clusters:
        - name: a
          weight: 1
          request_headers_to_add:
          - {header: {key: x-order, value: cluster}}
          - {header: {key: x-winner, value: cluster}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
          response_headers_to_add:
          - {header: {key: x-order, value: cluster}}
)";

std::string values(const Http::HeaderMap& headers, absl::string_view name) {
  std::vector<std::string> out;
  for (const auto& field : headers.fields()) {
    if (field.name == name) {
      out.emplace_back(field.value);
    }
  }
  return absl::StrJoin(out, ",");
}

TEST(HeaderMutationLevelsTest, EnvoysOrderLeastSpecificWinsByDefault) {
  auto table = build(absl::StrReplaceAll(kLevels, {{"$FLAG", ""}}));
  ASSERT_NE(table, nullptr);
  StreamInfo::StreamInfo info;
  info.downstream_remote_address = *Network::Address::Instance::parseWithPort("192.0.2.7:1000");
  Http::RequestHeaderMap headers = request("h", "/p");
  headers.add("x-strip-global", "1");
  const RouteResult result = table->route(headers, 0);
  result.finalizeRequestHeaders(headers, info, false);
  // Applied weighted cluster, route, virtual host, route configuration: appends come out in that
  // order and the last overwrite (the route configuration's) wins.
  EXPECT_EQ(values(headers, "x-order"), "cluster,route,vhost,global");
  EXPECT_EQ(values(headers, "x-winner"), "global");
  EXPECT_EQ(values(headers, "x-client"), "192.0.2.7");
  EXPECT_EQ(values(headers, "x-strip-global"), "");

  Http::ResponseHeaderMap response;
  response.add("server", "upstream");
  result.finalizeResponseHeaders(response, &headers, info);
  EXPECT_EQ(values(response, "x-order"), "cluster,route,vhost,global");
  EXPECT_EQ(values(response, "x-winner"), "global");
  EXPECT_EQ(values(response, "x-path"), "/p");
  EXPECT_EQ(values(response, "server"), "");
}

TEST(HeaderMutationLevelsTest, MostSpecificHeaderMutationsWins) {
  auto table =
      build(absl::StrReplaceAll(kLevels, {{"$FLAG", "most_specific_header_mutations_wins: true"}}));
  ASSERT_NE(table, nullptr);
  StreamInfo::StreamInfo info;
  Http::RequestHeaderMap headers = request("h", "/p");
  const RouteResult result = table->route(headers, 0);
  result.finalizeRequestHeaders(headers, info, false);
  // The weighted cluster still goes first (as in Envoy); then global, vhost, route.
  EXPECT_EQ(values(headers, "x-order"), "cluster,global,vhost,route");
  EXPECT_EQ(values(headers, "x-winner"), "route");
  Http::ResponseHeaderMap response;
  result.finalizeResponseHeaders(response, &headers, info);
  EXPECT_EQ(values(response, "x-winner"), "route");
}

TEST(HeaderMutationLevelsTest, NoRouteNoMutations) {
  auto table = build(absl::StrReplaceAll(kLevels, {{"$FLAG", ""}}));
  RouteResult none;
  StreamInfo::StreamInfo info;
  Http::RequestHeaderMap headers = request("h", "/p");
  none.finalizeRequestHeaders(headers, info, true);
  EXPECT_TRUE(headers.empty());
}

// ---------------------------------------------------------------------------------------------
// Direct responses and redirects.

TEST(DirectResponseTest, BodiesFromEverySource) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string file = absl::StrCat(dir != nullptr ? dir : "/tmp", "/body.txt");
  {
    std::ofstream out(file);
    out << "from a file\n";
  }
  setenv("SKIFF_ROUTER_TEST_BODY", "from the environment", 1);
  auto table = build(absl::StrCat(R"(
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - {match: {path: /inline}, direct_response: {status: 200, body: {inline_string: hello}}}
  - {match: {path: /bytes}, direct_response: {status: 403, body: {inline_bytes: Ynl0ZXM=}}}
  - {match: {path: /file}, direct_response: {status: 503, body: {filename: )",
                                  file, R"(}}}
  - {match: {path: /env}, direct_response: {status: 200,
       body: {environment_variable: SKIFF_ROUTER_TEST_BODY}}}
  - {match: {path: /empty}, direct_response: {status: 204}}
)"));
  ASSERT_NE(table, nullptr);
  const std::tuple<const char*, uint32_t, const char*> cases[] = {
      {"/inline", 200, "hello"},
      {"/bytes", 403, "bytes"},
      {"/file", 503, "from a file\n"},
      {"/env", 200, "from the environment"},
      {"/empty", 204, ""},
  };
  for (const auto& [path, status, body] : cases) {
    const RouteResult result = table->route(request("h", path), 0);
    ASSERT_TRUE(result) << path;
    EXPECT_EQ(result.route->action(), RouteEntry::Action::DirectResponse);
    EXPECT_EQ(result.route->directResponseCode(), status) << path;
    EXPECT_EQ(result.route->directResponseBody(), body) << path;
    EXPECT_TRUE(result.cluster_name.empty());
  }
}

struct RedirectCase {
  const char* redirect;  // RedirectAction, YAML flow style
  const char* host;
  const char* path;
  const char* scheme;
  const char* forwarded_proto;  // nullptr: absent
  const char* location;
  uint32_t code;
};

TEST(RedirectTest, LocationAndCode) {
  const RedirectCase cases[] = {
      {"{https_redirect: true}", "example.com", "/a?b=1", "http", nullptr,
       "https://example.com/a?b=1", 301},
      {"{https_redirect: true}", "example.com:80", "/a", "http", nullptr, "https://example.com/a",
       301},  // the old scheme's default port goes
      {"{https_redirect: true}", "example.com:8080", "/a", "http", nullptr,
       "https://example.com:8080/a", 301},  // any other port stays
      {"{https_redirect: true}", "example.com:443", "/a", "http", "https",
       "https://example.com:443/a", 301},  // scheme unchanged per x-forwarded-proto
      {"{scheme_redirect: HTTP}", "example.com:443", "/", "https", nullptr, "http://example.com/",
       301},
      {"{host_redirect: new.example.com}", "old.example.com:8080", "/x", "http", nullptr,
       "http://new.example.com/x", 301},
      {"{port_redirect: 8443}", "example.com:8080", "/x", "http", nullptr,
       "http://example.com:8443/x", 301},
      {"{host_redirect: h, port_redirect: 9}", "old", "/x", "http", nullptr, "http://h:9/x", 301},
      {"{path_redirect: /new}", "h", "/old?q=1", "http", nullptr, "http://h/new?q=1", 301},
      {"{path_redirect: '/new?own=1'}", "h", "/old?q=1", "http", nullptr, "http://h/new?own=1",
       301},
      {"{path_redirect: /new, strip_query: true}", "h", "/old?q=1", "http", nullptr, "http://h/new",
       301},
      {"{path_redirect: '/new?own=1', strip_query: true}", "h", "/old?q=1", "http", nullptr,
       "http://h/new?own=1", 301},
      {"{prefix_rewrite: /v2/}", "h", "/v1/items?x", "http", nullptr, "http://h/v2/items?x", 301},
      {"{strip_query: true}", "h", "/v1/items?x", "http", nullptr, "http://h/v1/items", 301},
      {"{path_redirect: relative}", "h", "/", "http", nullptr, "http://h/relative", 301},
      {"{response_code: FOUND}", "h", "/", "http", nullptr, "http://h/", 302},
      {"{response_code: SEE_OTHER}", "h", "/", "http", nullptr, "http://h/", 303},
      {"{response_code: TEMPORARY_REDIRECT}", "h", "/", "http", nullptr, "http://h/", 307},
      {"{response_code: PERMANENT_REDIRECT}", "h", "/", "http", nullptr, "http://h/", 308},
      {"{host_redirect: '[::1]'}", "h", "/", "http", nullptr, "http://[::1]/", 301},
      {"{https_redirect: true}", "[::1]:80", "/", "http", nullptr, "https://[::1]/", 301},
  };
  for (const RedirectCase& c : cases) {
    auto table =
        build(absl::StrCat("virtual_hosts: [{name: v, domains: ['*'], routes: [{match: "
                           "{prefix: /v1/}, redirect: ",
                           c.redirect, "}, {match: {prefix: /}, redirect: ", c.redirect, "}]}]"));
    ASSERT_NE(table, nullptr) << c.redirect;
    Http::RequestHeaderMap headers = request(c.host, c.path);
    headers.setScheme(c.scheme);
    if (c.forwarded_proto != nullptr) {
      headers.add("x-forwarded-proto", c.forwarded_proto);
    }
    const RouteResult result = table->route(headers, 0);
    ASSERT_TRUE(result);
    EXPECT_EQ(result.route->action(), RouteEntry::Action::Redirect);
    EXPECT_EQ(result.route->redirectLocation(headers), c.location)
        << c.redirect << " " << c.host << c.path;
    EXPECT_EQ(result.route->redirectResponseCode(), c.code) << c.redirect;
  }
}

TEST(RouteTableTest, NamesAndInternalOnlyHeaders) {
  auto table = build(R"(
name: main-routes
internal_only_headers: [X-Internal-Token]
virtual_hosts:
- name: web
  domains: ["*"]
  routes: [{name: all, match: {prefix: /}, route: {cluster: c}}]
)");
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->name(), "main-routes");
  EXPECT_EQ(table->internalOnlyHeaders(), std::vector<std::string>{"x-internal-token"});
  const RouteResult result = table->route(request("h", "/"), 0);
  EXPECT_EQ(result.virtual_host->name(), "web");
  EXPECT_EQ(result.route->name(), "all");
  EXPECT_EQ(&result.route->virtualHost(), result.virtual_host);
  EXPECT_EQ(&result.virtual_host->routeTable(), table.get());
}

}  // namespace
}  // namespace Skiff::Router
