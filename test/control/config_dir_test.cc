// Config directory loading and watching: real files in a temporary directory, a real inotify
// watch on a real dispatcher.

#include "source/control/config_dir.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "gtest/gtest.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/stats/stats_impl.h"

namespace Skiff::Control {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr char kClusters[] = R"(# two clusters
resources:
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: backend_a
  connect_timeout: 0.25s
  load_assignment:
    cluster_name: backend_a
    endpoints:
    - lb_endpoints:
      - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8001}}}
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: backend_b
  connect_timeout: 0.25s
  load_assignment:
    cluster_name: backend_b
    endpoints:
    - lb_endpoints:
      - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8002}}}
)";

std::string listenerYaml(const std::string& cluster, int port = 10000,
                         const std::string& name = "ingress") {
  return absl::StrCat(R"(resources:
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: )",
                      name, R"(
  address: {socket_address: {address: 127.0.0.1, port_value: )",
                      port, R"(}}
  filter_chains:
  - filters:
    - name: envoy.filters.network.tcp_proxy
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
        stat_prefix: ingress
        cluster: )",
                      cluster, "\n");
}

class ConfigDirTest : public testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ =
        fs::path(tmp != nullptr ? tmp : "/tmp") /
        absl::StrCat("config_dir_", testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& relative, const std::string& content) {
    const fs::path path = root_ / relative;
    fs::create_directories(path.parent_path());
    // Write then rename, as editors and kubectl do, so a reader never sees half a file.
    const fs::path tmp = path.parent_path() / absl::StrCat(".tmp.", path.filename().string());
    std::ofstream(tmp) << content;
    fs::rename(tmp, path);
  }

  std::string groupVersion(const std::string& group) {
    auto snapshot = cache_.getSnapshot(group);
    return snapshot == nullptr ? "" : snapshot->version();
  }

  fs::path root_;
  Stats::StoreImpl store_;
  SnapshotCache cache_;
};

TEST_F(ConfigDirTest, LoadsEveryGroupAndFile) {
  write("default/clusters.yaml", kClusters);
  write("default/listeners.yml", listenerYaml("backend_a"));
  write("default/endpoints.json", R"({"resources": [{
      "@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
      "cluster_name": "backend_a",
      "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address":
          {"address": "127.0.0.1", "port_value": 9001}}}}]}]}]})");
  write("default/README.txt", "not a config file");
  write("canary/all.yaml", absl::StrCat(kClusters, listenerYaml("backend_b").substr(11)));

  ConfigDirSource source(root_.string(), cache_, store_);
  ASSERT_TRUE(source.reload().ok());
  EXPECT_TRUE(source.ready());
  EXPECT_EQ(cache_.groups(), (std::vector<std::string>{"canary", "default"}));
  auto snapshot = cache_.getSnapshot("default");
  ASSERT_NE(snapshot, nullptr);
  EXPECT_EQ(snapshot->resources(TypeUrl::kCluster).size(), 2);
  EXPECT_EQ(snapshot->resources(TypeUrl::kListener).size(), 1);
  EXPECT_EQ(snapshot->resources(TypeUrl::kEndpoint).size(), 1);
  EXPECT_EQ(cache_.getSnapshot("canary")->resources(TypeUrl::kListener).size(), 1);

  // Same content: same version, nothing published.
  const std::string version = snapshot->version();
  ASSERT_TRUE(source.reload().ok());
  EXPECT_EQ(groupVersion("default"), version);
  EXPECT_EQ(store_.counter("control_plane.config.updates").value(), 2);
}

TEST_F(ConfigDirTest, VersionIsAContentHashStableAcrossLoads) {
  write("default/clusters.yaml", kClusters);
  auto first = loadGroupDirectory((root_ / "default").string());
  auto second = loadGroupDirectory((root_ / "default").string());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ((*first)->version(), (*second)->version());
  EXPECT_EQ((*first)->version().size(), 16);
}

TEST_F(ConfigDirTest, ErrorsNameFileLineAndReason) {
  write("default/clusters.yaml", kClusters);
  write("default/listeners.yaml", listenerYaml("nonexistent"));
  auto result = loadGroupDirectory((root_ / "default").string());
  ASSERT_FALSE(result.ok());
  const std::string message(result.status().message());
  EXPECT_NE(message.find("listeners.yaml:2: listener \"ingress\""), std::string::npos) << message;
  EXPECT_NE(message.find("nonexistent"), std::string::npos) << message;
}

TEST_F(ConfigDirTest, LinesAreFoundWithQuotedKeysAndIndentedItems) {
  // The shape YAML generators write: quoted keys, list items indented under the key.
  write("default/gen.yaml", R"("resources":
  - "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster"
    "name": "a"
    "connect_timeout": "1s"
  # a comment between items
  - "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster"
    "name": "a"
    "connect_timeout": "1s"
)");
  auto result = loadGroupDirectory((root_ / "default").string());
  ASSERT_FALSE(result.ok());
  EXPECT_NE(
      result.status().message().find("gen.yaml:6: duplicate cluster name \"a\" (first defined at "),
      std::string::npos)
      << result.status();
  EXPECT_NE(result.status().message().find("gen.yaml:2)"), std::string::npos) << result.status();
}

TEST_F(ConfigDirTest, RejectsUnknownFieldsWithTheirLine) {
  write("default/clusters.yaml", R"(resources:
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: a
  conect_timeout: 1s
)");
  auto result = loadGroupDirectory((root_ / "default").string());
  ASSERT_FALSE(result.ok());
  const std::string message(result.status().message());
  EXPECT_NE(message.find("clusters.yaml:4"), std::string::npos) << message;
  EXPECT_NE(message.find("conect_timeout"), std::string::npos) << message;
}

TEST_F(ConfigDirTest, RejectsDuplicatesAcrossFilesAndSharedAddresses) {
  write("default/a.yaml", kClusters);
  write("default/b.yaml", kClusters);
  write("default/l1.yaml", listenerYaml("backend_a", 10000, "one"));
  write("default/l2.yaml", listenerYaml("backend_a", 10000, "two"));
  auto result = loadGroupDirectory((root_ / "default").string());
  ASSERT_FALSE(result.ok());
  const std::string message(result.status().message());
  EXPECT_NE(message.find("b.yaml:3: duplicate cluster name \"backend_a\" (first defined at "),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("a.yaml:3)"), std::string::npos) << message;
  EXPECT_NE(
      message.find("listener \"two\".address: 127.0.0.1:10000 is already used by listener \"one\""),
      std::string::npos)
      << message;
}

TEST_F(ConfigDirTest, RejectsUnsupportedTypesAndBadAddresses) {
  write("default/x.yaml", R"(resources:
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: a
  connect_timeout: 1s
  load_assignment:
    cluster_name: a
    endpoints:
    - lb_endpoints:
      - endpoint: {address: {socket_address: {address: not-an-ip, port_value: 80}}}
- "@type": type.googleapis.com/google.protobuf.Duration
  value: 1s
)");
  auto result = loadGroupDirectory((root_ / "default").string());
  ASSERT_FALSE(result.ok());
  const std::string message(result.status().message());
  EXPECT_NE(message.find("x.yaml:2: cluster \"a\""), std::string::npos) << message;
  EXPECT_NE(message.find("x.yaml:10: resource type type.googleapis.com/google.protobuf.Duration"),
            std::string::npos)
      << message;
}

TEST_F(ConfigDirTest, InvalidChangeKeepsThePreviousSnapshot) {
  write("default/clusters.yaml", kClusters);
  write("default/listeners.yaml", listenerYaml("backend_a"));
  ConfigDirSource source(root_.string(), cache_, store_);
  ASSERT_TRUE(source.reload().ok());
  const std::string good = groupVersion("default");
  ASSERT_FALSE(good.empty());

  write("default/listeners.yaml", listenerYaml("backend_c"));
  ASSERT_TRUE(source.reload().ok());
  EXPECT_EQ(groupVersion("default"), good);
  EXPECT_EQ(store_.counter("control_plane.config.rejected").value(), 1);
  EXPECT_NE(source.statusJson().find("backend_c"), std::string::npos) << source.statusJson();

  write("default/listeners.yaml", listenerYaml("backend_b"));
  ASSERT_TRUE(source.reload().ok());
  EXPECT_NE(groupVersion("default"), good);
  EXPECT_NE(source.statusJson().find("\"last_error\":\"\""), std::string::npos);
}

TEST_F(ConfigDirTest, RemovedGroupIsCleared) {
  write("default/clusters.yaml", kClusters);
  write("special/clusters.yaml", kClusters);
  ConfigDirSource source(root_.string(), cache_, store_);
  ASSERT_TRUE(source.reload().ok());
  EXPECT_EQ(cache_.groups().size(), 2);
  fs::remove_all(root_ / "special");
  ASSERT_TRUE(source.reload().ok());
  EXPECT_EQ(cache_.groups(), (std::vector<std::string>{"default"}));
}

TEST_F(ConfigDirTest, MissingDirectoryIsAnError) {
  ConfigDirSource source((root_ / "nope").string(), cache_, store_);
  EXPECT_FALSE(source.reload().ok());
  EXPECT_FALSE(source.ready());
}

TEST_F(ConfigDirTest, ServesRouteConfigurations) {
  write("default/grpc.yaml", R"(resources:
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: echo
  api_listener:
    api_listener:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      rds: {route_config_name: echo-routes, config_source: {ads: {}}}
      http_filters:
      - name: envoy.filters.http.router
        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
- "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration
  name: echo-routes
  virtual_hosts:
  - name: all
    domains: ["*"]
    routes: [{match: {prefix: ""}, route: {cluster: backend_a}}]
)");
  write("default/clusters.yaml", kClusters);
  auto result = loadGroupDirectory((root_ / "default").string());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ((*result)->resources(TypeUrl::kRoute).size(), 1);
  EXPECT_EQ((*result)->resources(TypeUrl::kListener).size(), 1);

  // The route now names a cluster the group lacks: rejected with file, line, resource, field.
  write("default/clusters.yaml", "resources: []\n");
  result = loadGroupDirectory((root_ / "default").string());
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find(
                "grpc.yaml:11: route configuration \"echo-routes\".virtual_hosts[0].routes[0]."
                "route.cluster: unknown cluster \"backend_a\""),
            std::string::npos)
      << result.status();
}

// Writes `content` into `path` in place (same inode, no rename), as `echo x > file` does.
void overwriteInPlace(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::trunc) << content;
}

TEST_F(ConfigDirTest, ReparsesOnlyChangedFiles) {
  write("default/clusters.yaml", kClusters);
  write("default/a.yaml", listenerYaml("backend_a", 10000, "a"));
  write("default/b.yaml", listenerYaml("backend_a", 10001, "b"));
  write("other/clusters.yaml", kClusters);
  ConfigDirSource source(root_.string(), cache_, store_);
  auto& parsed = store_.counter("control_plane.config.files_parsed");
  ASSERT_TRUE(source.reload().ok());
  EXPECT_EQ(parsed.value(), 4);

  // Nothing changed: nothing parsed, nothing published.
  ASSERT_TRUE(source.reload().ok());
  EXPECT_EQ(parsed.value(), 4);
  EXPECT_EQ(store_.counter("control_plane.config.updates").value(), 2);

  // One file edited in place with content of the same size, within the same mtime tick most
  // likely: still seen, and only that file is parsed again.
  const std::string before = groupVersion("default");
  overwriteInPlace(root_ / "default" / "b.yaml", listenerYaml("backend_b", 10001, "b"));
  ASSERT_TRUE(source.reload().ok());
  EXPECT_EQ(parsed.value(), 5);
  EXPECT_NE(groupVersion("default"), before);

  // A new file is parsed; a deleted one is dropped from the group without parsing anything.
  write("default/c.yaml", listenerYaml("backend_a", 10002, "c"));
  ASSERT_TRUE(source.reload().ok());
  EXPECT_EQ(parsed.value(), 6);
  EXPECT_EQ(cache_.getSnapshot("default")->resources(TypeUrl::kListener).size(), 3);
  fs::remove(root_ / "default" / "a.yaml");
  ASSERT_TRUE(source.reload().ok());
  EXPECT_EQ(parsed.value(), 6);
  EXPECT_EQ(cache_.getSnapshot("default")->resources(TypeUrl::kListener).size(), 2);

  // A broken file is reported until it changes, and parsed once per change.
  write("default/c.yaml", "resources: [");
  ASSERT_TRUE(source.reload().ok());
  ASSERT_TRUE(source.reload().ok());
  EXPECT_EQ(parsed.value(), 7);
  EXPECT_EQ(store_.counter("control_plane.config.rejected").value(), 1);
  EXPECT_NE(source.statusJson().find("c.yaml"), std::string::npos) << source.statusJson();
}

AppliedResources appliedFrom(const std::string& yaml, const std::string& source = "request") {
  std::vector<Config::SourcedResource> resources;
  EXPECT_TRUE(
      Config::parseResourcesDocument(yaml, Config::ConfigFormat::Yaml, source, resources).ok());
  AppliedResources applied;
  for (auto& resource : resources) {
    Config::ResourceKey key(resource.any.type_url(), Config::resourceName(resource.any));
    applied.emplace(std::move(key), std::move(resource));
  }
  return applied;
}

std::string listenerCluster(const SnapshotConstSharedPtr& snapshot, const std::string& name) {
  envoy::config::listener::v3::Listener listener;
  snapshot->resources(TypeUrl::kListener).at(name)->any.UnpackTo(&listener);
  envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy tcp_proxy;
  listener.filter_chains(0).filters(0).typed_config().UnpackTo(&tcp_proxy);
  return tcp_proxy.cluster();
}

TEST_F(ConfigDirTest, AppliedResourceOverridesTheFileOneUntilRemoved) {
  write("default/clusters.yaml", kClusters);
  write("default/listeners.yaml", listenerYaml("backend_a"));
  ConfigDirSource source(root_.string(), cache_, store_);
  ASSERT_TRUE(source.reload().ok());
  const std::string files_only = groupVersion("default");
  const Config::ResourceKey ingress(std::string(TypeUrl::kListener), "ingress");
  EXPECT_EQ(source.origins("default")->at(ingress), (root_ / "default/listeners.yaml:2").string());

  auto version = source.setApplied("default", appliedFrom(listenerYaml("backend_b"), "mine.yaml"));
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, groupVersion("default"));
  EXPECT_NE(*version, files_only);
  EXPECT_EQ(listenerCluster(cache_.getSnapshot("default"), "ingress"), "backend_b");
  EXPECT_EQ(source.origins("default")->at(ingress), "mine.yaml:2");
  EXPECT_EQ(source.applied("default").size(), 1);
  EXPECT_NE(source.statusJson().find("\"applied\":1"), std::string::npos) << source.statusJson();

  // A file change is validated together with the applied layer, which still wins.
  write("default/listeners.yaml", listenerYaml("backend_a", 10001));
  ASSERT_TRUE(source.reload().ok());
  EXPECT_EQ(listenerCluster(cache_.getSnapshot("default"), "ingress"), "backend_b");
  // A file change that breaks an applied resource's reference is rejected as a whole.
  const std::string before = groupVersion("default");
  write("default/clusters.yaml", "resources: []\n");
  ASSERT_TRUE(source.reload().ok());
  EXPECT_EQ(groupVersion("default"), before);
  write("default/clusters.yaml", kClusters);
  ASSERT_TRUE(source.reload().ok());

  // Removing the applied resource brings the file's back.
  version = source.setApplied("default", {});
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(listenerCluster(cache_.getSnapshot("default"), "ingress"), "backend_a");
  EXPECT_EQ(source.origins("default")->at(ingress), (root_ / "default/listeners.yaml:2").string());
}

TEST_F(ConfigDirTest, InvalidAppliedChangeChangesNothing) {
  write("default/clusters.yaml", kClusters);
  ConfigDirSource source(root_.string(), cache_, store_);
  ASSERT_TRUE(source.reload().ok());
  const std::string good = groupVersion("default");
  auto version = source.setApplied("default", appliedFrom(listenerYaml("backend_x"), "bad.yaml"));
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(version.status().message());
  EXPECT_NE(message.find("bad.yaml:2: listener \"ingress\""), std::string::npos) << message;
  EXPECT_NE(message.find("backend_x"), std::string::npos) << message;
  EXPECT_EQ(groupVersion("default"), good);
  EXPECT_TRUE(source.applied("default").empty());
  EXPECT_EQ(store_.counter("control_plane.config.rejected").value(), 1);
}

TEST_F(ConfigDirTest, GroupMadeOfAppliedResourcesOnly) {
  write("default/clusters.yaml", kClusters);
  ConfigDirSource source(root_.string(), cache_, store_);
  ASSERT_TRUE(source.reload().ok());
  auto version = source.setApplied("payments", appliedFrom(kClusters));
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(cache_.groups(), (std::vector<std::string>{"default", "payments"}));
  // A re-scan of the directory keeps it.
  ASSERT_TRUE(source.reload().ok());
  EXPECT_EQ(groupVersion("payments"), *version);
  // Nothing applied and no directory: the group goes.
  version = source.setApplied("payments", {});
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, "");
  EXPECT_EQ(cache_.groups(), (std::vector<std::string>{"default"}));
  EXPECT_EQ(source.origins("payments"), nullptr);
}

// A group is validated once per change of its files or of its applied layer, and a proposed
// layer that is refused leaves the loader as it was.
TEST_F(ConfigDirTest, FilesAndAppliedLayerAreValidatedOncePerChange) {
  write("default/clusters.yaml", kClusters);
  write("default/listeners.yaml", listenerYaml("backend_a"));
  const std::string dir = (root_ / "default").string();
  GroupLoader loader;
  ASSERT_TRUE(loader.load(dir, {}).ok());
  ASSERT_TRUE(loader.load(dir, {}).ok());
  EXPECT_EQ(loader.validations(), 1);
  EXPECT_EQ(loader.filesParsed(), 2);

  // A new applied layer: validated once, the files not parsed again.
  const AppliedResources to_b = appliedFrom(listenerYaml("backend_b"), "mine.yaml");
  auto loaded = loader.tryLoad(dir, to_b);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->origins->at({std::string(TypeUrl::kListener), "ingress"}), "mine.yaml:2");
  ASSERT_TRUE(loader.load(dir, to_b).ok());
  EXPECT_EQ(loader.validations(), 2);
  EXPECT_EQ(loader.filesParsed(), 2);

  // A refused layer: validated, not remembered; the layer in force is not validated again.
  EXPECT_FALSE(loader.tryLoad(dir, appliedFrom(listenerYaml("nope"), "bad.yaml")).ok());
  EXPECT_EQ(loader.validations(), 3);
  ASSERT_TRUE(loader.load(dir, to_b).ok());
  EXPECT_EQ(loader.validations(), 3);

  // A file change: one parse, one validation together with the layer, which still wins.
  write("default/listeners.yaml", listenerYaml("backend_a", 10001));
  loaded = loader.load(dir, to_b);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(listenerCluster(loaded->snapshot, "ingress"), "backend_b");
  ASSERT_TRUE(loader.load(dir, to_b).ok());
  EXPECT_EQ(loader.validations(), 4);
  EXPECT_EQ(loader.filesParsed(), 3);

  // The same layer applied again (same bytes, same source) is no change.
  ASSERT_TRUE(loader.load(dir, appliedFrom(listenerYaml("backend_b"), "mine.yaml")).ok());
  EXPECT_EQ(loader.validations(), 4);
}

// Runs `dispatcher` until `done` or the deadline.
bool runUntil(Event::DispatcherImpl& dispatcher, const std::function<bool()>& done,
              std::chrono::milliseconds deadline = 5000ms) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    dispatcher.run(Event::Dispatcher::RunType::NonBlock);
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

TEST_F(ConfigDirTest, WatchSeesEditsAndNewGroups) {
  write("default/clusters.yaml", kClusters);
  write("default/listeners.yaml", listenerYaml("backend_a"));
  Event::DispatcherImpl dispatcher("main");
  ConfigDirSource source(root_.string(), cache_, store_);
  ASSERT_TRUE(source.reload().ok());
  ASSERT_TRUE(source.watch(dispatcher, 20ms).ok());
  const std::string first = groupVersion("default");

  write("default/listeners.yaml", listenerYaml("backend_b"));
  EXPECT_TRUE(runUntil(dispatcher, [&] { return groupVersion("default") != first; }));

  write("newgroup/clusters.yaml", kClusters);
  EXPECT_TRUE(runUntil(dispatcher, [&] { return !groupVersion("newgroup").empty(); }));
  // A file edited in the new group is seen too (its directory is watched after the re-scan).
  const std::string before = groupVersion("newgroup");
  write("newgroup/listeners.yaml", listenerYaml("backend_a"));
  EXPECT_TRUE(runUntil(dispatcher, [&] { return groupVersion("newgroup") != before; }));
}

// Kubernetes mounts a ConfigMap as files that are symlinks through `..data`, itself a symlink to
// a timestamped directory; an update writes a new directory and renames a new `..data` over the
// old one.
TEST_F(ConfigDirTest, WatchSeesConfigMapSymlinkSwap) {
  const fs::path group = root_ / "default";
  fs::create_directories(group / "..2024_01_01_v1");
  std::ofstream(group / "..2024_01_01_v1" / "clusters.yaml") << kClusters;
  std::ofstream(group / "..2024_01_01_v1" / "listeners.yaml") << listenerYaml("backend_a");
  fs::create_directory_symlink("..2024_01_01_v1", group / "..data");
  fs::create_symlink("..data/clusters.yaml", group / "clusters.yaml");
  fs::create_symlink("..data/listeners.yaml", group / "listeners.yaml");

  Event::DispatcherImpl dispatcher("main");
  ConfigDirSource source(root_.string(), cache_, store_);
  ASSERT_TRUE(source.reload().ok());
  ASSERT_TRUE(source.watch(dispatcher, 20ms).ok());
  const std::string first = groupVersion("default");
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(cache_.groups(), (std::vector<std::string>{"default"}));  // hidden dirs skipped

  fs::create_directories(group / "..2024_01_02_v2");
  std::ofstream(group / "..2024_01_02_v2" / "clusters.yaml") << kClusters;
  std::ofstream(group / "..2024_01_02_v2" / "listeners.yaml") << listenerYaml("backend_b");
  fs::create_directory_symlink("..2024_01_02_v2", group / "..data_tmp");
  fs::rename(group / "..data_tmp", group / "..data");
  fs::remove_all(group / "..2024_01_01_v1");
  EXPECT_TRUE(runUntil(dispatcher, [&] { return groupVersion("default") != first; }));
  auto snapshot = cache_.getSnapshot("default");
  ASSERT_NE(snapshot, nullptr);
  EXPECT_EQ(snapshot->resources(TypeUrl::kListener).size(), 1);
  // The swap changed listeners.yaml only: clusters.yaml (same content behind a new path) is not
  // parsed again.
  EXPECT_EQ(store_.counter("control_plane.config.files_parsed").value(), 3);
}

}  // namespace
}  // namespace Skiff::Control
