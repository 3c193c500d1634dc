#include "source/common/router/header_parser.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "envoy/config/route/v3/route_components.pb.h"
#include "gtest/gtest.h"
#include "test/common/router/test_util.h"

namespace Skiff::Router {
namespace {

using envoy::config::route::v3::Route;

// One level's mutations from a Route's request_headers_to_add/remove.
absl::StatusOr<HeaderMutationsConstPtr> build(const std::string& yaml) {
  const Route route = fromYaml<Route>(yaml);
  return HeaderMutations::create(route.request_headers_to_add(), route.request_headers_to_remove(),
                                 "request_headers_to_add", "request_headers_to_remove");
}

// "name=value" for every field, in order.
std::string dump(const Http::HeaderMap& headers) {
  std::vector<std::string> fields;
  for (const auto& field : headers.fields()) {
    fields.push_back(absl::StrCat(field.name, "=", field.value));
  }
  return absl::StrJoin(fields, " ");
}

struct Case {
  const char* name;
  const char* config;
  std::vector<std::pair<const char*, const char*>> before;
  const char* after;
};

class HeaderMutationsTest : public testing::Test {
 protected:
  HeaderMutationsTest() {
    info_.start_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1000));
    info_.protocol = StreamInfo::Protocol::Http11;
    info_.downstream_remote_address = *Network::Address::Instance::parseWithPort("10.1.2.3:4567");
    info_.downstream_local_address = *Network::Address::Instance::parseWithPort("10.0.0.1:8080");
    info_.upstream_remote_address = *Network::Address::Instance::parseWithPort("10.9.9.9:80");
  }

  std::string run(const Case& c) {
    auto mutations = build(c.config);
    EXPECT_TRUE(mutations.ok()) << c.name << ": " << mutations.status();
    Http::RequestHeaderMap headers = request("example.com", "/");
    for (const auto& [name, value] : c.before) {
      headers.add(name, value);
    }
    if (mutations.ok() && *mutations != nullptr) {
      (*mutations)->apply(headers, Formatter::Context{&headers, nullptr, &info_});
    }
    return dump(headers);
  }

  StreamInfo::StreamInfo info_;
};

TEST_F(HeaderMutationsTest, AppendActions) {
  const Case cases[] = {
      {"append is the default",
       "request_headers_to_add: [{header: {key: x-a, value: '2'}}]",
       {{"x-a", "1"}},
       "x-a=1 x-a=2"},
      {"append to absent adds",
       "request_headers_to_add: [{header: {key: X-A, value: '2'}}]",
       {},
       "x-a=2"},
      {"add if absent, present",
       "request_headers_to_add: [{header: {key: x-a, value: '2'}, append_action: ADD_IF_ABSENT}]",
       {{"x-a", "1"}},
       "x-a=1"},
      {"add if absent, absent",
       "request_headers_to_add: [{header: {key: x-a, value: '2'}, append_action: ADD_IF_ABSENT}]",
       {},
       "x-a=2"},
      {"overwrite or add, present twice",
       "request_headers_to_add: [{header: {key: x-a, value: '2'},"
       " append_action: OVERWRITE_IF_EXISTS_OR_ADD}]",
       {{"x-a", "1"}, {"x-b", "b"}, {"x-a", "0"}},
       "x-b=b x-a=2"},
      {"overwrite or add, absent",
       "request_headers_to_add: [{header: {key: x-a, value: '2'},"
       " append_action: OVERWRITE_IF_EXISTS_OR_ADD}]",
       {},
       "x-a=2"},
      {"overwrite if exists, present",
       "request_headers_to_add: [{header: {key: x-a, value: '2'},"
       " append_action: OVERWRITE_IF_EXISTS}]",
       {{"x-a", "1"}},
       "x-a=2"},
      {"overwrite if exists, absent",
       "request_headers_to_add: [{header: {key: x-a, value: '2'},"
       " append_action: OVERWRITE_IF_EXISTS}]",
       {},
       ""},
      {"deprecated append: true",
       "request_headers_to_add: [{header: {key: x-a, value: '2'}, append: true}]",
       {{"x-a", "1"}},
       "x-a=1 x-a=2"},
      {"deprecated append: false",
       "request_headers_to_add: [{header: {key: x-a, value: '2'}, append: false}]",
       {{"x-a", "1"}},
       "x-a=2"},
      {"removals come first",
       "request_headers_to_add: [{header: {key: x-a, value: new}}]\n"
       "request_headers_to_remove: [x-a, X-B]",
       {{"x-a", "old"}, {"x-b", "b"}, {"x-c", "c"}},
       "x-c=c x-a=new"},
      {"all values are computed before any is written",
       "request_headers_to_add: [{header: {key: x-a, value: one}, append_action: ADD_IF_ABSENT},"
       " {header: {key: x-a, value: two}, append_action: ADD_IF_ABSENT}]",
       {},
       "x-a=one x-a=two"},
      {"overwrites before appends",
       "request_headers_to_add: [{header: {key: x-a, value: appended}},"
       " {header: {key: x-a, value: set}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}]",
       {{"x-a", "0"}},
       "x-a=set x-a=appended"},
      {"empty value is skipped",
       "request_headers_to_add: [{header: {key: x-a, value: ''}}]",
       {},
       ""},
      {"empty value kept",
       "request_headers_to_add: [{header: {key: x-a, value: ''}, keep_empty_value: true}]",
       {},
       "x-a="},
      {"missing variable is empty, so skipped",
       "request_headers_to_add: [{header: {key: x-a, value: '%REQ(x-missing)%'}}]",
       {},
       ""},
      {"missing variable kept as empty",
       "request_headers_to_add: [{header: {key: x-a, value: '%REQ(x-missing)%'},"
       " keep_empty_value: true}]",
       {},
       "x-a="},
      {"literal percent",
       "request_headers_to_add: [{header: {key: x-a, value: '100%%'}}]",
       {},
       "x-a=100%"},
      {"raw_value when value is empty",
       "request_headers_to_add: [{header: {key: x-a, raw_value: 'cmF3'}}]",
       {},
       "x-a=raw"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(run(c), c.after) << c.name;
  }
}

TEST_F(HeaderMutationsTest, Variables) {
  char hostname[256];
  ASSERT_EQ(gethostname(hostname, sizeof(hostname)), 0);
  const std::string with_host = absl::StrCat(
      "x-a=10.1.2.3:4567 x-b=10.1.2.3 x-c=10.0.0.1:8080 x-d=10.9.9.9:80 "
      "x-e=1970-01-01T00:00:01.000Z x-f=",
      hostname, " x-g=HTTP/1.1 x-h=from-client x-i=ip=10.1.2.3;proto=HTTP/1.1 x-j=1");
  const Case c = {"variables",
                  "request_headers_to_add:\n"
                  "- header: {key: x-a, value: '%DOWNSTREAM_REMOTE_ADDRESS%'}\n"
                  "- header: {key: x-b, value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%'}\n"
                  "- header: {key: x-c, value: '%DOWNSTREAM_LOCAL_ADDRESS%'}\n"
                  "- header: {key: x-d, value: '%UPSTREAM_REMOTE_ADDRESS%'}\n"
                  "- header: {key: x-e, value: '%START_TIME%'}\n"
                  "- header: {key: x-f, value: '%HOSTNAME%'}\n"
                  "- header: {key: x-g, value: '%PROTOCOL%'}\n"
                  "- header: {key: x-h, value: '%REQ(x-client)%'}\n"
                  "- header: {key: x-i, value: 'ip=%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%;"
                  "proto=%PROTOCOL%'}\n"
                  "- header: {key: x-j, value: '%START_TIME(%s)%'}\n",
                  {{"x-client", "from-client"}},
                  ""};
  EXPECT_EQ(run(c), "x-client=from-client " + with_host);
}

TEST(HeaderMutationsErrorsTest, Errors) {
  const std::pair<const char*, const char*> cases[] = {
      {"request_headers_to_add: [{header: {key: ':path', value: /x}}]",
       "request_headers_to_add[0].header.key: \":path\": \":\"-prefixed and host headers may not "
       "be modified (use the route's host_rewrite_literal or path rewrites)"},
      {"request_headers_to_add: [{header: {key: Host, value: x}}]",
       "request_headers_to_add[0].header.key: \"Host\": \":\"-prefixed and host headers may not "
       "be modified (use the route's host_rewrite_literal or path rewrites)"},
      {"request_headers_to_add: [{header: {key: '', value: x}}]",
       "request_headers_to_add[0].header.key: must not be empty"},
      {"request_headers_to_add: [{header: {key: 'a b', value: x}}]",
       "request_headers_to_add[0].header.key: \"a b\" is not a valid header name"},
      {"request_headers_to_add: [{header: {key: x, value: \"a\\r\\nb\"}}]",
       "request_headers_to_add[0].header.value: must not contain CR, LF or NUL"},
      {"request_headers_to_add: [{header: {key: x, value: '%NOPE%'}}]",
       "request_headers_to_add[0].header.value: \"%NOPE%\": unsupported command operator %NOPE% "
       "at position 0"},
      {"request_headers_to_add: [{header: {key: x, value: '50%'}}]",
       "request_headers_to_add[0].header.value: \"50%\": '%' at position 2 does not start a "
       "command operator (write %% for a literal '%')"},
      {"request_headers_to_add: [{header: {key: x, value: v}, append: true,"
       " append_action: ADD_IF_ABSENT}]",
       "request_headers_to_add[0]: both append and append_action are set; use only "
       "append_action"},
      {"request_headers_to_remove: [':authority']",
       "request_headers_to_remove[0]: \":authority\": \":\"-prefixed and host headers may not be "
       "removed"},
      {"request_headers_to_remove: [host]",
       "request_headers_to_remove[0]: \"host\": \":\"-prefixed and host headers may not be "
       "removed"},
      {"request_headers_to_remove: ['']",
       "request_headers_to_remove[0]: \"\" is not a valid "
       "header name"},
  };
  for (const auto& [config, error] : cases) {
    auto mutations = build(config);
    ASSERT_FALSE(mutations.ok()) << config;
    EXPECT_EQ(mutations.status().message(), error) << config;
  }
}

TEST(HeaderMutationsErrorsTest, NothingToDoIsNull) {
  auto mutations = build("name: r");
  ASSERT_TRUE(mutations.ok());
  EXPECT_EQ(*mutations, nullptr);
}

}  // namespace
}  // namespace Skiff::Router
