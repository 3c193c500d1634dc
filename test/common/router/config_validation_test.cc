// Every configuration error the route table reports, with its exact message.

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "source/common/router/config_impl.h"
#include "test/common/router/test_util.h"

namespace Skiff::Router {
namespace {

using envoy::config::route::v3::RouteConfiguration;

RouteTableOptions knownClusters() {
  RouteTableOptions options;
  options.cluster_exists = [](absl::string_view name) {
    return name == "c" || name == "a" || name == "b";
  };
  return options;
}

std::string error(const std::string& yaml, const RouteTableOptions& options = knownClusters()) {
  auto table = RouteTable::create(fromYaml<RouteConfiguration>(yaml), options);
  EXPECT_FALSE(table.ok()) << yaml;
  return table.ok() ? "" : std::string(table.status().message());
}

// A route configuration "r1" with one virtual host "web" whose only route is `route`.
std::string withRoute(const std::string& route) {
  return absl::StrCat("name: r1\nvirtual_hosts:\n- name: web\n  domains: ['*']\n  routes:\n  - ",
                      route, "\n");
}

struct Case {
  std::string config;
  std::string error;
};

TEST(RouteConfigValidationTest, RouteErrors) {
  const std::string p = "route_config \"r1\": virtual_hosts[0] \"web\": routes[0]";
  const Case cases[] = {
      // The example from the design: every part of the path, and the reason.
      {withRoute("{match: {safe_regex: {regex: '('}}, route: {cluster: c}}"),
       p + ".match.safe_regex: invalid regex \"(\": missing ): ("},
      {withRoute("{name: api, match: {safe_regex: {regex: '('}}, route: {cluster: c}}"),
       "route_config \"r1\": virtual_hosts[0] \"web\": routes[0] \"api\": match.safe_regex: "
       "invalid regex \"(\": missing ): ("},
      {withRoute("{match: {}, route: {cluster: c}}"),
       p + ".match: must set prefix, path, safe_regex or path_separated_prefix"},
      {withRoute("{route: {cluster: c}}"),
       p + ".match: must set prefix, path, safe_regex or path_separated_prefix"},
      {withRoute("{match: {path_separated_prefix: /api/}, route: {cluster: c}}"),
       p + ".match.path_separated_prefix: \"/api/\" must start with '/', not end with '/', and "
           "contain no '?' or '#'"},
      {withRoute("{match: {path_separated_prefix: '/a?b'}, route: {cluster: c}}"),
       p + ".match.path_separated_prefix: \"/a?b\" must start with '/', not end with '/', and "
           "contain no '?' or '#'"},
      {withRoute("{match: {prefix: \"/a\\nb\"}, route: {cluster: c}}"),
       p + ".match.prefix: must not contain CR, LF or NUL"},
      {withRoute("{match: {prefix: /, headers: [{name: x, string_match: {prefix: ''}}]}, "
                 "route: {cluster: c}}"),
       p + ".match.headers[0].string_match.prefix: must not be empty"},
      {withRoute("{match: {prefix: /, headers: [{name: x}, {name: ''}]}, route: {cluster: c}}"),
       p + ".match.headers[1].name: must not be empty"},
      {withRoute("{match: {prefix: /, query_parameters: [{string_match: {exact: x}}]}, "
                 "route: {cluster: c}}"),
       p + ".match.query_parameters[0].name: must not be empty"},
      {withRoute("{match: {prefix: /}}"),
       p + ": must set one of route, redirect or direct_response"},
      // Route action.
      {withRoute("{match: {prefix: /}, route: {}}"),
       p + ".route: must set cluster, cluster_header or weighted_clusters"},
      {withRoute("{match: {prefix: /}, route: {cluster: ''}}"),
       p + ".route.cluster: must not be empty"},
      {withRoute("{match: {prefix: /}, route: {cluster: nope}}"),
       p + ".route.cluster: unknown cluster \"nope\" (validate_clusters is on; turn it off to "
           "answer requests for it with cluster_not_found_response_code instead)"},
      {withRoute("{match: {prefix: /}, route: {cluster_header: 'x y'}}"),
       p + ".route.cluster_header: \"x y\" is not a valid header name"},
      {withRoute("{match: {prefix: /}, route: {weighted_clusters: {}}}"),
       p + ".route.weighted_clusters.clusters: at least one cluster is required"},
      {withRoute("{match: {prefix: /}, route: {weighted_clusters: {clusters: [{weight: 1}]}}}"),
       p + ".route.weighted_clusters.clusters[0].name: must not be empty"},
      {withRoute("{match: {prefix: /}, route: {weighted_clusters: {clusters: "
                 "[{name: a, weight: 1}, {name: zz, weight: 1}]}}}"),
       p + ".route.weighted_clusters.clusters[1].name: unknown cluster \"zz\" (validate_clusters "
           "is on; turn it off to answer requests for it with cluster_not_found_response_code "
           "instead)"},
      {withRoute("{match: {prefix: /}, route: {weighted_clusters: {clusters: "
                 "[{name: a, weight: 0}, {name: b}]}}}"),
       p + ".route.weighted_clusters.clusters: the sum of the weights must be greater than 0"},
      {withRoute("{match: {prefix: /}, route: {weighted_clusters: {clusters: "
                 "[{name: a, weight: 4294967295}, {name: b, weight: 1}]}}}"),
       p + ".route.weighted_clusters.clusters: the sum of the weights (4294967296) must fit in "
           "32 bits"},
      {withRoute("{match: {prefix: /}, route: {weighted_clusters: {total_weight: 100, clusters: "
                 "[{name: a, weight: 30}, {name: b, weight: 30}]}}}"),
       p + ".route.weighted_clusters.total_weight: 100 is not the sum of the weights (60)"},
      {withRoute("{match: {prefix: /}, route: {weighted_clusters: {clusters: "
                 "[{name: a, weight: 1, host_rewrite_literal: 'a/b'}]}}}"),
       p + ".route.weighted_clusters.clusters[0].host_rewrite_literal: \"a/b\" is not a valid "
           "host"},
      {withRoute("{match: {prefix: /}, route: {weighted_clusters: {clusters: [{name: a, weight: "
                 "1, request_headers_to_add: [{header: {key: ':path', value: x}}]}]}}}"),
       p + ".route.weighted_clusters.clusters[0].request_headers_to_add[0].header.key: \":path\": "
           "\":\"-prefixed and host headers may not be modified (use the route's "
           "host_rewrite_literal or path rewrites)"},
      {withRoute("{match: {prefix: /}, route: {cluster: c, prefix_rewrite: /x, regex_rewrite: "
                 "{pattern: {regex: a}, substitution: b}}}"),
       p + ".route: prefix_rewrite and regex_rewrite are mutually exclusive"},
      {withRoute("{match: {prefix: /}, route: {cluster: c, regex_rewrite: "
                 "{pattern: {regex: '['}, substitution: b}}}"),
       p + ".route.regex_rewrite.pattern: invalid regex \"[\": missing ]: ["},
      {withRoute("{match: {prefix: /}, route: {cluster: c, regex_rewrite: "
                 "{pattern: {regex: '(a)'}, substitution: '\\2'}}}"),
       p + ".route.regex_rewrite.substitution: \"\\2\": Rewrite schema requests 2 matches, but "
           "the regexp only has 1 parenthesized subexpressions."},
      {withRoute("{match: {prefix: /}, route: {cluster: c, host_rewrite_literal: 'a b'}}"),
       p + ".route.host_rewrite_literal: \"a b\" is not a valid host"},
      {withRoute("{match: {prefix: /}, route: {cluster: c, timeout: -1s}}"),
       p + ".route.timeout: invalid duration (seconds -1, nanos 0): must be >= 0"},
      {withRoute("{match: {prefix: /}, route: {cluster: c, idle_timeout: -0.5s}}"),
       p + ".route.idle_timeout: invalid duration (seconds 0, nanos -500000000): must be >= 0"},
      {withRoute("{match: {prefix: /}, route: {cluster: c, retry_policy: {retry_on: 6xx}}}"),
       p + ".route.retry_policy.retry_on: unknown condition \"6xx\" (known: 5xx, gateway-error, "
           "reset, reset-before-request, connect-failure, envoy-ratelimited, retriable-4xx, "
           "refused-stream, retriable-status-codes, retriable-headers, "
           "http3-post-connect-failure, cancelled, deadline-exceeded, internal, "
           "resource-exhausted, unavailable)"},
      {withRoute("{match: {prefix: /}, route: {cluster: c, upgrade_configs: [{enabled: true}]}}"),
       p + ".route.upgrade_configs[0].upgrade_type: must not be empty"},
      {withRoute("{match: {prefix: /}, route: {cluster: c, upgrade_configs: "
                 "[{upgrade_type: websocket}, {upgrade_type: WebSocket}]}}"),
       p + ".route.upgrade_configs[1].upgrade_type: duplicate upgrade \"WebSocket\""},
      // Redirect.
      {withRoute("{match: {prefix: /}, redirect: {scheme_redirect: '1x'}}"),
       p + ".redirect.scheme_redirect: \"1x\" is not a valid URI scheme"},
      {withRoute("{match: {prefix: /}, redirect: {host_redirect: 'a/b'}}"),
       p + ".redirect.host_redirect: \"a/b\" is not a valid host"},
      {withRoute("{match: {prefix: /}, redirect: {port_redirect: 70000}}"),
       p + ".redirect.port_redirect: 70000 is not a valid port (1-65535)"},
      // Direct response.
      {withRoute("{match: {prefix: /}, direct_response: {status: 199}}"),
       p + ".direct_response.status: 199 is not a valid status (200-599)"},
      {withRoute("{match: {prefix: /}, direct_response: {status: 600}}"),
       p + ".direct_response.status: 600 is not a valid status (200-599)"},
      {withRoute("{match: {prefix: /}, direct_response: {status: 200, body: "
                 "{filename: /nonexistent/body}}}"),
       p + ".direct_response.body.filename: cannot read \"/nonexistent/body\": No such file or "
           "directory"},
      {withRoute("{match: {prefix: /}, direct_response: {status: 200, body: "
                 "{environment_variable: SKIFF_TEST_SURELY_UNSET}}}"),
       p + ".direct_response.body.environment_variable: \"SKIFF_TEST_SURELY_UNSET\" is not set"},
      {withRoute(absl::StrCat("{match: {prefix: /}, direct_response: {status: 200, body: "
                              "{inline_string: ",
                              std::string(4097, 'x'), "}}}")),
       p + ".direct_response.body: 4097 bytes is more than the limit of 4096"},
      // Header mutations at the route level.
      {withRoute("{match: {prefix: /}, route: {cluster: c}, response_headers_to_add: "
                 "[{header: {key: x, value: '%BAD%'}}]}"),
       p + ".response_headers_to_add[0].header.value: \"%BAD%\": unsupported command operator "
           "%BAD% at position 0"},
      {withRoute("{match: {prefix: /}, route: {cluster: c}, request_headers_to_remove: [Host]}"),
       p + ".request_headers_to_remove[0]: \"Host\": \":\"-prefixed and host headers may not be "
           "removed"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(error(c.config), c.error) << c.config;
  }
}

TEST(RouteConfigValidationTest, VirtualHostAndTableErrors) {
  const Case cases[] = {
      {"name: r1\nvirtual_hosts: [{domains: ['*']}]",
       "route_config \"r1\": virtual_hosts[0].name: must not be empty"},
      {"name: r1\nvirtual_hosts: [{name: web}]",
       "route_config \"r1\": virtual_hosts[0] \"web\": domains: at least one domain is required"},
      {"name: r1\nvirtual_hosts: [{name: web, domains: ['']}]",
       "route_config \"r1\": virtual_hosts[0] \"web\": domains[0]: must not be empty"},
      {"name: r1\nvirtual_hosts: [{name: web, domains: ['a b']}]",
       "route_config \"r1\": virtual_hosts[0] \"web\": domains[0]: \"a b\" is not a valid domain"},
      {"name: r1\nvirtual_hosts: [{name: a, domains: [x.com]}, {name: b, domains: [y.com, "
       "X.COM]}]",
       "route_config \"r1\": virtual_hosts[1] \"b\": domains[1]: domain \"X.COM\" is already used "
       "by route_config \"r1\": virtual_hosts[0] \"a\"; every domain may appear only once in a "
       "route configuration"},
      {"name: r1\nvirtual_hosts: [{name: a, domains: ['*', '*']}]",
       "route_config \"r1\": virtual_hosts[0] \"a\": domains[1]: domain \"*\" is already used by "
       "route_config \"r1\": virtual_hosts[0] \"a\"; every domain may appear only once in a route "
       "configuration"},
      {"name: r1\nvirtual_hosts: [{name: a, domains: ['*.x.com']}, {name: b, domains: "
       "['*.x.com']}]",
       "route_config \"r1\": virtual_hosts[1] \"b\": domains[0]: domain \"*.x.com\" is already "
       "used by route_config \"r1\": virtual_hosts[0] \"a\"; every domain may appear only once in "
       "a route configuration"},
      {"name: r1\nvirtual_hosts: [{name: a, domains: ['*'], retry_policy: {num_retries: 1, "
       "retry_back_off: {}}}]",
       "route_config \"r1\": virtual_hosts[0] \"a\": retry_policy.retry_back_off.base_interval: "
       "required"},
      {"name: r1\nvirtual_hosts: [{name: a, domains: ['*'], request_headers_to_add: "
       "[{header: {key: ':authority', value: x}}]}]",
       "route_config \"r1\": virtual_hosts[0] \"a\": request_headers_to_add[0].header.key: "
       "\":authority\": \":\"-prefixed and host headers may not be modified (use the route's "
       "host_rewrite_literal or path rewrites)"},
      {"name: r1\nresponse_headers_to_add: [{header: {key: x, value: '%'}}]",
       "route_config \"r1\": response_headers_to_add[0].header.value: \"%\": '%' at position 0 "
       "does not start a command operator (write %% for a literal '%')"},
      {"name: r1\ninternal_only_headers: ['bad header']",
       "route_config \"r1\": internal_only_headers[0]: \"bad header\" is not a valid header name"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(error(c.config), c.error) << c.config;
  }
}

TEST(RouteConfigValidationTest, EveryErrorIsReported) {
  const std::string message = error(R"(
name: r1
virtual_hosts:
- name: web
  domains: ['*']
  routes:
  - {match: {safe_regex: {regex: '('}}, route: {cluster: nope}}
  - {match: {prefix: /}, direct_response: {status: 42}}
- {name: '', domains: ['*']}
)");
  const std::vector<std::string> lines = absl::StrSplit(message, '\n');
  EXPECT_EQ(lines.size(), 5u) << message;
}

TEST(RouteConfigValidationTest, ValidateClusters) {
  const std::string config = withRoute("{match: {prefix: /}, route: {cluster: later}}");
  // Inline route_config: validated by default.
  EXPECT_FALSE(RouteTable::create(fromYaml<RouteConfiguration>(config), knownClusters()).ok());
  // RDS: not validated by default; the cluster may arrive later.
  RouteTableOptions rds = knownClusters();
  rds.validate_clusters_default = false;
  auto table = RouteTable::create(fromYaml<RouteConfiguration>(config), rds);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ((*table)->route(request("h", "/"), 0).cluster_name, "later");
  // The field wins over either default.
  EXPECT_TRUE(
      RouteTable::create(fromYaml<RouteConfiguration>("validate_clusters: false\n" + config),
                         knownClusters())
          .ok());
  EXPECT_FALSE(
      RouteTable::create(fromYaml<RouteConfiguration>("validate_clusters: true\n" + config), rds)
          .ok());
  // No cluster lookup given: everything exists.
  EXPECT_TRUE(RouteTable::create(fromYaml<RouteConfiguration>(config), RouteTableOptions{}).ok());
}

TEST(RouteConfigValidationTest, DirectResponseBodyLimitIsConfigurable) {
  const std::string route =
      withRoute(absl::StrCat("{match: {prefix: /}, direct_response: {status: 200, body: "
                             "{inline_string: ",
                             std::string(5000, 'x'), "}}}"));
  EXPECT_FALSE(RouteTable::create(fromYaml<RouteConfiguration>(route), {}).ok());
  EXPECT_TRUE(
      RouteTable::create(
          fromYaml<RouteConfiguration>("max_direct_response_body_size_bytes: 8192\n" + route), {})
          .ok());
}

TEST(RouteConfigValidationTest, ErrorContextReplacesTheName) {
  RouteTableOptions options;
  options.error_context = "listener \"l\": filter_chains[0].filters[0].typed_config.route_config";
  EXPECT_EQ(error("virtual_hosts: [{domains: ['*']}]", options),
            "listener \"l\": filter_chains[0].filters[0].typed_config.route_config."
            "virtual_hosts[0].name: must not be empty");
}

}  // namespace
}  // namespace Skiff::Router
