// Route matching cost on a large table: 100 virtual hosts x 20 routes.
// Not a test: bazel run --config=release //test/common/router:route_benchmark

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "source/common/router/config_impl.h"
#include "test/common/router/test_util.h"

namespace Skiff::Router {
namespace {

constexpr int kVirtualHosts = 100;
constexpr int kRoutes = 20;

// Virtual host i answers "svc-i.example.com" and "svc-i.*"; one more catches "*.internal".
// Route j of each: 16 prefixes "/api/v<j>/", then a path, a header match, a regex and "/".
RouteTableConstSharedPtr bigTable() {
  std::string yaml = "name: bench\nvirtual_hosts:\n";
  for (int i = 0; i < kVirtualHosts; ++i) {
    absl::StrAppend(&yaml, "- name: vh", i, "\n  domains: [svc-", i, ".example.com, 'svc-", i,
                    ".*']\n  routes:\n");
    for (int j = 0; j < kRoutes - 4; ++j) {
      absl::StrAppend(&yaml, "  - {match: {prefix: /api/v", j, "/}, route: {cluster: c", j, "}}\n");
    }
    absl::StrAppend(&yaml,
                    "  - {match: {path: /healthz}, direct_response: {status: 200}}\n"
                    "  - {match: {prefix: /, headers: [{name: x-canary, string_match: {exact: "
                    "'1'}}]}, route: {cluster: canary}}\n"
                    "  - {match: {safe_regex: {regex: '/users/[0-9]+/profile'}}, route: "
                    "{cluster: users}}\n"
                    "  - {match: {prefix: /}, route: {cluster: default}}\n");
  }
  absl::StrAppend(&yaml,
                  "- name: internal\n  domains: ['*.internal']\n  routes:\n"
                  "  - match: {prefix: /}\n    route:\n      weighted_clusters:\n"
                  "        clusters: [{name: a, weight: 90}, {name: b, weight: 10}]\n");
  auto table = RouteTable::create(fromYaml<envoy::config::route::v3::RouteConfiguration>(yaml),
                                  RouteTableOptions{});
  if (!table.ok()) {
    std::abort();
  }
  return *table;
}

const RouteTable& table() {
  static const RouteTableConstSharedPtr* t = new RouteTableConstSharedPtr(bigTable());
  return **t;
}

void runRoute(benchmark::State& state, const Http::RequestHeaderMap& headers,
              absl::string_view expected_cluster) {
  const RouteTable& routes = table();
  uint64_t random = 0;
  for (auto _ : state) {
    const RouteResult result = routes.route(headers, random++);
    benchmark::DoNotOptimize(result);
  }
  const RouteResult check = routes.route(headers, 0);
  if (check.cluster_name != expected_cluster) {
    state.SkipWithError("routed to the wrong cluster");
  }
}

void BM_FirstRoute(benchmark::State& state) {
  runRoute(state, request("svc-57.example.com", "/api/v0/items?id=3"), "c0");
}
BENCHMARK(BM_FirstRoute);

void BM_LastPrefixRoute(benchmark::State& state) {
  runRoute(state, request("svc-57.example.com", "/api/v15/items"), "c15");
}
BENCHMARK(BM_LastPrefixRoute);

void BM_RegexRoute(benchmark::State& state) {
  runRoute(state, request("svc-57.example.com", "/users/12345/profile"), "users");
}
BENCHMARK(BM_RegexRoute);

void BM_FallThroughToLastRoute(benchmark::State& state) {
  runRoute(state, request("svc-57.example.com", "/static/app.js"), "default");
}
BENCHMARK(BM_FallThroughToLastRoute);

void BM_MixedCaseHost(benchmark::State& state) {
  runRoute(state, request("SVC-57.Example.COM", "/api/v0/x"), "c0");
}
BENCHMARK(BM_MixedCaseHost);

void BM_PrefixWildcardHost(benchmark::State& state) {
  runRoute(state, request("svc-57.other.org", "/api/v0/x"), "c0");
}
BENCHMARK(BM_PrefixWildcardHost);

void BM_SuffixWildcardWeighted(benchmark::State& state) {
  runRoute(state, request("db.internal", "/x"), "a");
}
BENCHMARK(BM_SuffixWildcardWeighted);

void BM_NoVirtualHost(benchmark::State& state) {
  runRoute(state, request("unknown.example.net", "/"), "");
}
BENCHMARK(BM_NoVirtualHost);

void BM_FinalizeRequestHeadersWithRewrite(benchmark::State& state) {
  auto rewrite = RouteTable::create(fromYaml<envoy::config::route::v3::RouteConfiguration>(R"(
virtual_hosts:
- name: v
  domains: ["*"]
  request_headers_to_add:
  - {header: {key: x-client, value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%'}}
  routes:
  - match: {prefix: /api/}
    route: {cluster: c, prefix_rewrite: /, host_rewrite_literal: backend}
)"),
                                    RouteTableOptions{});
  StreamInfo::StreamInfo info;
  info.downstream_remote_address = *Network::Address::Instance::parseWithPort("10.0.0.1:1234");
  for (auto _ : state) {
    Http::RequestHeaderMap headers = request("public.example.com", "/api/users/1");
    const RouteResult result = (*rewrite)->route(headers, 0);
    result.finalizeRequestHeaders(headers, info, true);
    benchmark::DoNotOptimize(headers);
  }
}
BENCHMARK(BM_FinalizeRequestHeadersWithRewrite);

}  // namespace
}  // namespace Skiff::Router

BENCHMARK_MAIN();
