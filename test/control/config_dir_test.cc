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
  EXPECT_NE(message.find("address 127.0.0.1:10000 is already used by listener \"one\""),
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
}

}  // namespace
}  // namespace Skiff::Control
