#include "source/common/router/matchers.h"

#include "gtest/gtest.h"
#include "test/common/router/test_util.h"

namespace Skiff::Router {
namespace {

using envoy::type::matcher::v3::RegexMatcher;
using StringMatcherProto = envoy::type::matcher::v3::StringMatcher;

struct StringCase {
  const char* config;
  const char* value;
  bool expected;
};

TEST(StringMatcherTest, EveryKind) {
  const StringCase cases[] = {
      {"exact: abc", "abc", true},
      {"exact: abc", "ABC", false},
      {"exact: abc", "abcd", false},
      {"{exact: abc, ignore_case: true}", "ABC", true},
      {"exact: ''", "", true},
      {"prefix: /api", "/api/v1", true},
      {"prefix: /api", "/API/v1", false},
      {"{prefix: /api, ignore_case: true}", "/API/v1", true},
      {"prefix: /api", "/ap", false},
      {"suffix: .js", "app.js", true},
      {"suffix: .js", "app.JS", false},
      {"{suffix: .js, ignore_case: true}", "app.JS", true},
      {"contains: mid", "a-mid-b", true},
      {"contains: mid", "a-MID-b", false},
      {"{contains: mid, ignore_case: true}", "a-MID-b", true},
      {"{contains: mid, ignore_case: true}", "mi", false},
      {"safe_regex: {regex: 'v[0-9]+'}", "v12", true},
      {"safe_regex: {regex: 'v[0-9]+'}", "v12x", false},  // full match
      {"safe_regex: {regex: 'v[0-9]+'}", "xv12", false},
      {"safe_regex: {google_re2: {}, regex: 'a.c'}", "abc", true},
  };
  for (const StringCase& c : cases) {
    auto matcher = StringMatcher::create(fromYaml<StringMatcherProto>(c.config), "m");
    ASSERT_TRUE(matcher.ok()) << c.config << ": " << matcher.status();
    EXPECT_EQ(matcher->match(c.value), c.expected) << c.config << " vs " << c.value;
  }
}

TEST(StringMatcherTest, Errors) {
  const std::pair<const char*, const char*> cases[] = {
      {"prefix: ''", "m.prefix: must not be empty"},
      {"suffix: ''", "m.suffix: must not be empty"},
      {"contains: ''", "m.contains: must not be empty"},
      {"ignore_case: true", "m: must set exact, prefix, suffix, contains or safe_regex"},
      {"safe_regex: {regex: '('}", "m.safe_regex: invalid regex \"(\": missing ): ("},
      {"safe_regex: {regex: ''}", "m.safe_regex.regex: must not be empty"},
  };
  for (const auto& [config, error] : cases) {
    auto matcher = StringMatcher::create(fromYaml<StringMatcherProto>(config), "m");
    ASSERT_FALSE(matcher.ok()) << config;
    EXPECT_EQ(matcher.status().message(), error);
  }
}

TEST(RegexTest, ProgramSizeLimit) {
  const std::string big = "(abc|xyz){150}";
  auto rejected = compileRegex(fromYaml<RegexMatcher>("regex: '" + big + "'"), "r");
  ASSERT_FALSE(rejected.ok());
  EXPECT_NE(rejected.status().message().find("is too complex: its program size is"),
            std::string::npos)
      << rejected.status();
  auto allowed = compileRegex(
      fromYaml<RegexMatcher>("{google_re2: {max_program_size: 100000}, regex: '" + big + "'}"),
      "r");
  EXPECT_TRUE(allowed.ok()) << allowed.status();
}

struct HeaderCase {
  const char* config;
  // Headers as "name: value" lines ("" for none).
  std::vector<std::pair<const char*, const char*>> headers;
  bool expected;
};

TEST(HeaderMatcherTest, EverySpecifier) {
  const HeaderCase cases[] = {
      // No specifier: present.
      {"name: x-a", {{"x-a", "1"}}, true},
      {"name: x-a", {}, false},
      {"name: X-A", {{"x-a", ""}}, true},  // names are case-insensitive
      // Deprecated forms.
      {"{name: x-a, exact_match: v}", {{"x-a", "v"}}, true},
      {"{name: x-a, exact_match: v}", {{"x-a", "w"}}, false},
      {"{name: x-a, exact_match: ''}", {{"x-a", "anything"}}, true},
      {"{name: x-a, prefix_match: ab}", {{"x-a", "abc"}}, true},
      {"{name: x-a, prefix_match: ab}", {{"x-a", "xab"}}, false},
      {"{name: x-a, suffix_match: bc}", {{"x-a", "abc"}}, true},
      {"{name: x-a, contains_match: b}", {{"x-a", "abc"}}, true},
      {"{name: x-a, contains_match: z}", {{"x-a", "abc"}}, false},
      {"{name: x-a, safe_regex_match: {regex: '[0-9]+'}}", {{"x-a", "123"}}, true},
      {"{name: x-a, safe_regex_match: {regex: '[0-9]+'}}", {{"x-a", "12a"}}, false},
      // string_match.
      {"{name: x-a, string_match: {exact: v}}", {{"x-a", "v"}}, true},
      {"{name: x-a, string_match: {prefix: V, ignore_case: true}}", {{"x-a", "vx"}}, true},
      {"{name: x-a, string_match: {suffix: z}}", {{"x-a", "vx"}}, false},
      // Range [start, end).
      {"{name: x-n, range_match: {start: 10, end: 20}}", {{"x-n", "10"}}, true},
      {"{name: x-n, range_match: {start: 10, end: 20}}", {{"x-n", "19"}}, true},
      {"{name: x-n, range_match: {start: 10, end: 20}}", {{"x-n", "20"}}, false},
      {"{name: x-n, range_match: {start: -5, end: 0}}", {{"x-n", "-3"}}, true},
      {"{name: x-n, range_match: {start: 10, end: 20}}", {{"x-n", "15x"}}, false},
      // present_match.
      {"{name: x-a, present_match: true}", {{"x-a", "1"}}, true},
      {"{name: x-a, present_match: true}", {}, false},
      {"{name: x-a, present_match: false}", {}, true},
      {"{name: x-a, present_match: false}", {{"x-a", "1"}}, false},
      // invert_match.
      {"{name: x-a, exact_match: v, invert_match: true}", {{"x-a", "w"}}, true},
      {"{name: x-a, exact_match: v, invert_match: true}", {{"x-a", "v"}}, false},
      {"{name: x-a, exact_match: v, invert_match: true}", {}, false},  // missing never matches
      {"{name: x-a, present_match: true, invert_match: true}", {}, true},
      {"{name: x-a, present_match: true, invert_match: true}", {{"x-a", "1"}}, false},
      // treat_missing_header_as_empty.
      {"{name: x-a, string_match: {exact: ''}, treat_missing_header_as_empty: true}", {}, true},
      {"{name: x-a, string_match: {exact: v}, treat_missing_header_as_empty: true}", {}, false},
      {"{name: x-a, string_match: {exact: v}, treat_missing_header_as_empty: true,"
       " invert_match: true}",
       {},
       true},
      // Repeated headers are joined with ",".
      {"{name: x-a, string_match: {exact: 'a,b'}}", {{"x-a", "a"}, {"x-a", "b"}}, true},
      {"{name: x-a, string_match: {exact: a}}", {{"x-a", "a"}, {"x-a", "b"}}, false},
      // Pseudo-headers read the request line.
      {"{name: ':method', string_match: {exact: POST}}", {}, true},
      {"{name: ':path', string_match: {prefix: /up}}", {}, true},
      {"{name: ':authority', string_match: {exact: example.com}}", {}, true},
      {"{name: host, string_match: {exact: example.com}}", {}, true},
      {"{name: ':scheme', string_match: {exact: http}}", {}, true},
  };
  for (const HeaderCase& c : cases) {
    auto matcher =
        HeaderMatcher::create(fromYaml<envoy::config::route::v3::HeaderMatcher>(c.config), "h");
    ASSERT_TRUE(matcher.ok()) << c.config << ": " << matcher.status();
    Http::RequestHeaderMap headers = request("example.com", "/upload", "POST");
    for (const auto& [name, value] : c.headers) {
      headers.add(name, value);
    }
    EXPECT_EQ(matcher->matches(headers), c.expected) << c.config;
  }
}

TEST(HeaderMatcherTest, Errors) {
  const std::pair<const char*, const char*> cases[] = {
      {"exact_match: v", "h.name: must not be empty"},
      {"name: 'bad name'", "h.name: \"bad name\" is not a valid header name"},
      {"{name: x, prefix_match: ''}", "h.prefix_match: must not be empty"},
      {"{name: x, safe_regex_match: {regex: '[a'}}",
       "h.safe_regex_match: invalid regex \"[a\": missing ]: [a"},
      {"{name: x, string_match: {suffix: ''}}", "h.string_match.suffix: must not be empty"},
  };
  for (const auto& [config, error] : cases) {
    auto matcher =
        HeaderMatcher::create(fromYaml<envoy::config::route::v3::HeaderMatcher>(config), "h");
    ASSERT_FALSE(matcher.ok()) << config;
    EXPECT_EQ(matcher.status().message(), error);
  }
}

struct QueryCase {
  const char* config;
  const char* query;
  bool expected;
};

TEST(QueryParameterMatcherTest, Matches) {
  const QueryCase cases[] = {
      {"name: debug", "debug", true},
      {"name: debug", "debug=1", true},
      {"name: debug", "x=1", false},
      {"name: debug", "", false},
      {"{name: debug, present_match: true}", "a=1&debug", true},
      {"{name: debug, present_match: true}", "a=1", false},
      {"{name: v, string_match: {exact: '2'}}", "v=2", true},
      {"{name: v, string_match: {exact: '2'}}", "v=3", false},
      {"{name: v, string_match: {exact: '2'}}", "v=3&v=2", false},  // first value only
      {"{name: v, string_match: {exact: 'a b'}}", "v=a+b", true},   // decoded
      {"{name: v, string_match: {exact: 'a/b'}}", "v=a%2Fb", true},
      {"{name: 'k y', string_match: {exact: x}}", "k%20y=x", true},
      {"{name: v, string_match: {prefix: ab}}", "x=1&&v=abc", true},
      {"{name: v, string_match: {exact: ''}}", "v=", true},
      {"{name: v, string_match: {exact: ''}}", "v", true},
      {"{name: v, string_match: {exact: x}}", "v=x#frag", true},
  };
  for (const QueryCase& c : cases) {
    auto matcher = QueryParameterMatcher::create(
        fromYaml<envoy::config::route::v3::QueryParameterMatcher>(c.config), "q");
    ASSERT_TRUE(matcher.ok()) << c.config << ": " << matcher.status();
    QueryParams params(c.query);
    EXPECT_EQ(matcher->matches(params), c.expected) << c.config << " vs " << c.query;
  }
}

TEST(QueryParameterMatcherTest, Errors) {
  auto matcher = QueryParameterMatcher::create(
      fromYaml<envoy::config::route::v3::QueryParameterMatcher>("present_match: true"), "q");
  ASSERT_FALSE(matcher.ok());
  EXPECT_EQ(matcher.status().message(), "q.name: must not be empty");
}

TEST(DecodeQueryComponentTest, Decodes) {
  EXPECT_EQ(decodeQueryComponent("a+b%20c%2f%ZZ%4"), "a b c/%ZZ%4");
}

}  // namespace
}  // namespace Skiff::Router
