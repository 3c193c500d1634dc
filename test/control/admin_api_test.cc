// The admin API's resource endpoints (/apply, /resources, /listeners, ...) routed through a real
// AdminServer (without sockets: AdminServer::handle), over a real config directory.

#include "source/control/admin_api.h"

#include <event2/event.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "source/common/stats/stats_impl.h"
#include "source/control/json.h"

namespace Skiff::Control {
namespace {

namespace fs = std::filesystem;
using Http::Admin::Method;
using Http::Admin::Request;
using Http::Admin::Response;

constexpr char kToken[] = "test-token-0123456789";

constexpr char kClusters[] = R"(resources:
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: backend_a
  connect_timeout: 0.25s
  load_assignment:
    cluster_name: backend_a
    endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8001}}}}]}]
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: backend_b
  connect_timeout: 0.25s
  load_assignment:
    cluster_name: backend_b
    endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8002}}}}]}]
)";

std::string listenerYaml(const std::string& cluster, int port = 10000,
                         const std::string& name = "ingress") {
  return absl::StrCat(R"(resources:
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: )",
                      name, "\n  address: {socket_address: {address: 127.0.0.1, port_value: ", port,
                      R"(}}
  filter_chains:
  - filters:
    - name: envoy.filters.network.tcp_proxy
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
        stat_prefix: ingress
        cluster: )",
                      cluster, "\n");
}

google::protobuf::Struct parseJson(const std::string& body) {
  google::protobuf::Struct out;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(body, &out).ok()) << body;
  return out;
}

class AdminApiTest : public testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ =
        fs::path(tmp != nullptr ? tmp : "/tmp") /
        absl::StrCat("admin_api_", testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "config" / "default");
    write("default/clusters.yaml", kClusters);
    write("default/listeners.yaml", listenerYaml("backend_a"));
    std::ofstream(root_ / "token") << kToken << "\n";
    base_ = event_base_new();
  }
  void TearDown() override {
    admin_.reset();
    source_.reset();
    event_base_free(base_);
    fs::remove_all(root_);
  }

  void write(const std::string& relative, const std::string& content) {
    std::ofstream(root_ / "config" / relative) << content;
  }

  void start(bool with_token = true) {
    auto credentials =
        AdminCredentials::create(with_token ? (root_ / "token").string() : "", store_);
    ASSERT_TRUE(credentials.ok());
    credentials_ = std::move(*credentials);
    source_ = std::make_unique<ConfigDirSource>((root_ / "config").string(), cache_, store_);
    ASSERT_TRUE(source_->reload().ok());
    admin_ = std::make_unique<Http::Admin::AdminServer>(*base_);
    admin_->setRequestFilter([this](const Request& r) { return credentials_->check(r); });
    registerResourceApi(*admin_, *source_, cache_, *credentials_);
  }

  Response call(Method method, const std::string& path, const Http::Admin::QueryParams& query = {},
                const std::string& body = "", bool authorized = true) {
    Request request;
    request.method = method;
    request.path = path;
    request.query = query;
    request.body = body;
    if (authorized) {
      request.headers.emplace("authorization", absl::StrCat("Bearer ", kToken));
    }
    return admin_->handle(request);
  }

  std::string listenerCluster(const std::string& group = "default") {
    Response response = call(Method::Get, "/listeners", {{"group", group}, {"name", "ingress"}});
    EXPECT_EQ(response.code, 200) << response.body;
    auto json = parseJson(response.body);
    const auto& item = json.fields().at("items").list_value().values(0).struct_value();
    return item.fields()
        .at("resource")
        .struct_value()
        .fields()
        .at("filter_chains")
        .list_value()
        .values(0)
        .struct_value()
        .fields()
        .at("filters")
        .list_value()
        .values(0)
        .struct_value()
        .fields()
        .at("typed_config")
        .struct_value()
        .fields()
        .at("cluster")
        .string_value();
  }

  fs::path root_;
  event_base* base_ = nullptr;
  Stats::StoreImpl store_;
  SnapshotCache cache_;
  std::unique_ptr<AdminCredentials> credentials_;
  std::unique_ptr<ConfigDirSource> source_;
  std::unique_ptr<Http::Admin::AdminServer> admin_;
};

TEST_F(AdminApiTest, ApplyCreatesOverridesAndReportsUnchanged) {
  start();
  const std::string files_version = cache_.getSnapshot("default")->version();
  Response response = call(Method::Post, "/apply", {{"source", "mine.yaml"}},
                           absl::StrCat(listenerYaml("backend_b"),
                                        listenerYaml("backend_b", 10001, "extra").substr(11)));
  ASSERT_EQ(response.code, 200) << response.body;
  auto json = parseJson(response.body);
  EXPECT_EQ(json.fields().at("group").string_value(), "default");
  const std::string version = json.fields().at("version").string_value();
  EXPECT_EQ(version, cache_.getSnapshot("default")->version());
  EXPECT_NE(version, files_version);
  const auto& results = json.fields().at("results").list_value();
  ASSERT_EQ(results.values_size(), 2);
  const auto& first = results.values(0).struct_value().fields();
  EXPECT_EQ(first.at("kind").string_value(), "listener");
  EXPECT_EQ(first.at("name").string_value(), "ingress");
  EXPECT_EQ(first.at("action").string_value(), "configured");
  EXPECT_TRUE(absl::EndsWith(first.at("overrides").string_value(), "default/listeners.yaml:2"));
  EXPECT_EQ(results.values(1).struct_value().fields().at("action").string_value(), "created");
  EXPECT_EQ(listenerCluster(), "backend_b");

  // Listing says where each resource came from.
  response = call(Method::Get, "/listeners", {{"group", "default"}});
  json = parseJson(response.body);
  EXPECT_EQ(json.fields().at("kind").string_value(), "listener");
  const auto& items = json.fields().at("items").list_value();
  ASSERT_EQ(items.values_size(), 2);
  const auto& extra = items.values(0).struct_value().fields();
  EXPECT_EQ(extra.at("name").string_value(), "extra");
  EXPECT_EQ(extra.at("source").string_value(), "mine.yaml:12");
  EXPECT_TRUE(extra.at("applied").bool_value());
  EXPECT_EQ(extra.at("resource").struct_value().fields().at("@type").string_value(),
            "type.googleapis.com/envoy.config.listener.v3.Listener");
  response = call(Method::Get, "/clusters");
  json = parseJson(response.body);
  const auto& cluster = json.fields().at("items").list_value().values(0).struct_value().fields();
  EXPECT_FALSE(cluster.at("applied").bool_value());
  EXPECT_TRUE(absl::EndsWith(cluster.at("source").string_value(), "default/clusters.yaml:2"));

  // The same again: unchanged, same version.
  response = call(Method::Post, "/apply", {{"source", "mine.yaml"}}, listenerYaml("backend_b"));
  ASSERT_EQ(response.code, 200) << response.body;
  json = parseJson(response.body);
  EXPECT_EQ(json.fields().at("version").string_value(), version);
  EXPECT_EQ(json.fields()
                .at("results")
                .list_value()
                .values(0)
                .struct_value()
                .fields()
                .at("action")
                .string_value(),
            "unchanged");
}

TEST_F(AdminApiTest, InvalidApplyIs400WithWhereAndReasonAndChangesNothing) {
  start();
  const std::string before = cache_.getSnapshot("default")->version();
  Response response = call(Method::Post, "/apply", {{"source", "bad.yaml"}},
                           listenerYaml("no_such_cluster", 10001, "second"));
  ASSERT_EQ(response.code, 400) << response.body;
  auto json = parseJson(response.body);
  EXPECT_TRUE(absl::StrContains(json.fields().at("error").string_value(), "nothing was applied"));
  const auto& errors = json.fields().at("errors").list_value();
  ASSERT_GE(errors.values_size(), 1);
  const std::string first = errors.values(0).string_value();
  EXPECT_TRUE(absl::StartsWith(first, "bad.yaml:2: listener \"second\".filter_chains[0]")) << first;
  EXPECT_TRUE(absl::StrContains(first, "no_such_cluster")) << first;
  EXPECT_EQ(cache_.getSnapshot("default")->version(), before);

  // Syntax errors, empty bodies, duplicates in one request, bad groups.
  response = call(Method::Post, "/apply", {}, "resources:\n- name: [oops\n");
  EXPECT_EQ(response.code, 400);
  EXPECT_TRUE(absl::StrContains(response.body, "request:")) << response.body;
  EXPECT_EQ(call(Method::Post, "/apply", {}, "").code, 400);
  response = call(Method::Post, "/apply", {},
                  absl::StrCat(listenerYaml("backend_a", 10005, "x"),
                               listenerYaml("backend_a", 10006, "x").substr(11)));
  EXPECT_EQ(response.code, 400);
  EXPECT_TRUE(absl::StrContains(response.body, "appears twice")) << response.body;
  for (const char* group : {"../etc", ".hidden", ""}) {
    EXPECT_EQ(call(Method::Post, "/apply", {{"group", group}}, kClusters).code, 400) << group;
  }
  EXPECT_EQ(cache_.getSnapshot("default")->version(), before);
}

TEST_F(AdminApiTest, EnvelopeKeepsEachDocumentsName) {
  start();
  const std::string body = absl::StrCat(
      R"({"documents": [{"source": "c.yaml", "content": )",
      Json::quote("resources:\n- \"@type\": type.googleapis.com/envoy.config.cluster.v3.Cluster\n"
                  "  name: new_cluster\n  connect_timeout: 1s\n"
                  "  load_assignment: {cluster_name: new_cluster, endpoints: [{lb_endpoints: "
                  "[{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: "
                  "8003}}}}]}]}\n"),
      R"(}, {"source": "l.yaml", "content": )",
      Json::quote(listenerYaml("new_cluster", 10009, "l")), "}]}");
  Response response = call(Method::Post, "/apply", {{"group", "payments"}}, body);
  ASSERT_EQ(response.code, 200) << response.body;
  EXPECT_EQ(cache_.groups(), (std::vector<std::string>{"default", "payments"}));
  response = call(Method::Get, "/listeners", {{"group", "payments"}});
  EXPECT_TRUE(absl::StrContains(response.body, "\"source\":\"l.yaml:2\"")) << response.body;

  const std::string bad = absl::StrCat(R"({"documents": [{"source": "l2.yaml", "content": )",
                                       Json::quote(listenerYaml("gone", 10010, "l2")), "}]}");
  response = call(Method::Post, "/apply", {{"group", "payments"}}, bad);
  EXPECT_EQ(response.code, 400);
  EXPECT_TRUE(absl::StrContains(response.body, "l2.yaml:2: listener \\\"l2\\\"")) << response.body;
}

TEST_F(AdminApiTest, DeleteRemovesAppliedResourcesOnly) {
  start();
  ASSERT_EQ(call(Method::Post, "/apply", {}, listenerYaml("backend_b")).code, 200);
  ASSERT_EQ(listenerCluster(), "backend_b");

  // A file resource cannot be deleted through the API; the reason says where it comes from.
  Response response =
      call(Method::Delete, "/resources", {{"kind", "cluster"}, {"name", "backend_a"}});
  EXPECT_EQ(response.code, 404);
  EXPECT_TRUE(absl::StrContains(response.body, "clusters.yaml:2; only applied resources"))
      << response.body;
  response = call(Method::Delete, "/resources", {{"kind", "cluster"}, {"name", "nope"}});
  EXPECT_EQ(response.code, 404);
  EXPECT_TRUE(absl::StrContains(response.body,
                                "cluster \\\"nope\\\" is not applied in group "
                                "\\\"default\\\""))
      << response.body;
  response = call(Method::Delete, "/resources",
                  {{"kind", "cluster"}, {"name", "nope"}, {"ignore_not_found", "true"}});
  EXPECT_EQ(response.code, 200) << response.body;
  EXPECT_EQ(call(Method::Delete, "/resources", {{"kind", "bogus"}, {"name", "x"}}).code, 400);

  // Deleting the applied listener brings the file's back.
  response = call(Method::Delete, "/resources", {{"kind", "lds"}, {"name", "ingress"}});
  ASSERT_EQ(response.code, 200) << response.body;
  EXPECT_TRUE(absl::StrContains(response.body, "\"action\":\"deleted\",\"restores\":"))
      << response.body;
  EXPECT_EQ(listenerCluster(), "backend_a");
  EXPECT_TRUE(source_->applied("default").empty());
}

TEST_F(AdminApiTest, DeleteThatBreaksAReferenceIsRefused) {
  start();
  const std::string cluster = R"(resources:
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: applied_cluster
  connect_timeout: 1s
  load_assignment:
    cluster_name: applied_cluster
    endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8003}}}}]}]
)";
  ASSERT_EQ(call(Method::Post, "/apply", {}, cluster).code, 200);
  ASSERT_EQ(call(Method::Post, "/apply", {}, listenerYaml("applied_cluster", 10002, "l2")).code,
            200);
  Response response =
      call(Method::Delete, "/resources", {{"kind", "clusters"}, {"name", "applied_cluster"}});
  EXPECT_EQ(response.code, 400);
  EXPECT_TRUE(absl::StrContains(response.body, "applied_cluster")) << response.body;
  EXPECT_EQ(source_->applied("default").size(), 2);
  // Both at once (a body listing them, as `skiffctl delete -f` sends) is fine.
  response = call(Method::Delete, "/resources", {},
                  absl::StrCat(cluster, listenerYaml("applied_cluster", 10002, "l2").substr(11)));
  EXPECT_EQ(response.code, 200) << response.body;
  EXPECT_TRUE(source_->applied("default").empty());
}

TEST_F(AdminApiTest, CredentialsAreEnforced) {
  start();
  Response response = call(Method::Post, "/apply", {}, kClusters, /*authorized=*/false);
  EXPECT_EQ(response.code, 401);
  EXPECT_EQ(call(Method::Get, "/listeners", {}, "", false).code, 401);
  EXPECT_EQ(call(Method::Get, "/listeners").code, 200);
  // Mutations only by POST / DELETE.
  EXPECT_EQ(call(Method::Get, "/apply", {}, kClusters).code, 405);
  EXPECT_EQ(call(Method::Post, "/resources", {{"kind", "cluster"}, {"name", "x"}}).code, 405);
}

TEST_F(AdminApiTest, WithoutATokenChangesAreForbidden) {
  start(/*with_token=*/false);
  Response response = call(Method::Post, "/apply", {}, kClusters, false);
  EXPECT_EQ(response.code, 403);
  EXPECT_TRUE(absl::StrContains(response.body, "--admin-token-file")) << response.body;
  EXPECT_EQ(
      call(Method::Delete, "/resources", {{"kind", "cluster"}, {"name", "x"}}, "", false).code,
      403);
  EXPECT_EQ(call(Method::Get, "/clusters", {}, "", false).code, 200);
}

TEST_F(AdminApiTest, ListingByNameAndUnknownGroups) {
  start();
  EXPECT_EQ(call(Method::Get, "/clusters", {{"name", "backend_b"}}).code, 200);
  Response response = call(Method::Get, "/clusters", {{"group", "default"}, {"name", "zzz"}});
  EXPECT_EQ(response.code, 404);
  EXPECT_TRUE(absl::StrContains(response.body, "cluster \\\"zzz\\\" not found in group"))
      << response.body;
  response = call(Method::Get, "/endpoints", {{"group", "nosuchgroup"}});
  EXPECT_EQ(response.code, 200);
  EXPECT_EQ(response.body, "{\"kind\":\"endpoints\",\"items\":[]}\n");
  EXPECT_EQ(call(Method::Get, "/routes").code, 200);
}

TEST(GroupNameTest, Validity) {
  EXPECT_TRUE(isValidGroupName("default"));
  EXPECT_TRUE(isValidGroupName("sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local"));
  EXPECT_FALSE(isValidGroupName(""));
  EXPECT_FALSE(isValidGroupName(".x"));
  EXPECT_FALSE(isValidGroupName("a/b"));
  EXPECT_FALSE(isValidGroupName("a\nb"));
  EXPECT_FALSE(isValidGroupName(std::string(254, 'a')));
}

}  // namespace
}  // namespace Skiff::Control
