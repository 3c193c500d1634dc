// route() on the hot path allocates nothing for the common cases. This binary replaces the global
// operator new to count allocations made while `counting` is set on the calling thread.

#include <cstdlib>
#include <new>

#include "gtest/gtest.h"
#include "source/common/router/config_impl.h"
#include "test/common/router/test_util.h"

namespace {
thread_local bool counting = false;
thread_local size_t allocations = 0;
}  // namespace

void* operator new(size_t size) {
  if (counting) {
    ++allocations;
  }
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace Skiff::Router {
namespace {

size_t allocationsDuring(const std::function<void()>& f) {
  allocations = 0;
  counting = true;
  f();
  counting = false;
  return allocations;
}

TEST(RouteAllocationTest, MatchingDoesNotAllocate) {
  auto table = RouteTable::create(fromYaml<envoy::config::route::v3::RouteConfiguration>(R"(
virtual_hosts:
- name: exact
  domains: [api.example.com]
  routes:
  - {match: {prefix: /v1/, headers: [{name: x-env, string_match: {exact: prod}}]}, route: {cluster: a}}
  - {match: {path: /healthz, case_sensitive: false}, direct_response: {status: 200}}
  - {match: {safe_regex: {regex: '/users/[0-9]+'}}, route: {cluster: users}}
  - {match: {prefix: /q, query_parameters: [{name: debug, string_match: {exact: '1'}}]}, route: {cluster: q}}
  - {match: {prefix: /}, route: {weighted_clusters: {clusters: [{name: a, weight: 1}, {name: b, weight: 1}]}}}
- {name: wild, domains: ['*.example.com', 'api.*'], routes: [{match: {prefix: /}, route: {cluster_header: x-cluster}}]}
)"),
                                  RouteTableOptions{});
  ASSERT_TRUE(table.ok()) << table.status();
  struct Case {
    const char* host;
    const char* path;
    const char* cluster;
  };
  const Case cases[] = {
      {"api.example.com", "/v1/items", "a"},
      {"API.EXAMPLE.COM", "/HEALTHZ", ""},
      {"api.example.com", "/users/42?x=1", "users"},
      {"api.example.com", "/q?a=1&debug=1", "q"},
      {"api.example.com", "/other", "b"},
      {"www.example.com", "/", "cluster-from-header"},
      {"api.other.org:8080", "/", "cluster-from-header"},
      {"nowhere.org", "/", ""},
  };
  for (const Case& c : cases) {
    Http::RequestHeaderMap headers = request(c.host, c.path);
    headers.add("x-env", "prod");
    headers.add("x-cluster", "cluster-from-header");
    RouteResult result;
    EXPECT_EQ(allocationsDuring([&] { result = (*table)->route(headers, 1); }), 0u)
        << c.host << c.path;
    EXPECT_EQ(result.cluster_name, c.cluster) << c.host << c.path;
  }
}

}  // namespace
}  // namespace Skiff::Router
