#include "source/control/snapshot_cache.h"

#include <thread>

#include "gtest/gtest.h"
#include "test/control/test_resources.h"

namespace Skiff::Control {
namespace {

using Test::cluster;
using Test::endpoints;
using Test::listener;
using Test::snapshot;

envoy::config::core::v3::Node node(const std::string& id, const std::string& cluster = "") {
  envoy::config::core::v3::Node node;
  node.set_id(id);
  node.set_cluster(cluster);
  return node;
}

// Records notifications.
class RecordingWatcher : public SnapshotWatcher {
 public:
  void onSnapshot(const std::string& group, SnapshotConstSharedPtr snapshot) override {
    seen.emplace_back(group, snapshot);
  }
  std::vector<std::pair<std::string, SnapshotConstSharedPtr>> seen;
};

TEST(SnapshotTest, ResourcesByTypeAndName) {
  auto s = snapshot(cluster("b"), cluster("a"), endpoints("a", 80), listener("l", 1000, "a"));
  ASSERT_EQ(s->resources(TypeUrl::kCluster).size(), 2);
  EXPECT_EQ(s->resources(TypeUrl::kCluster).begin()->first, "a");  // sorted
  EXPECT_EQ(s->resources(TypeUrl::kEndpoint).begin()->first, "a");
  EXPECT_EQ(s->resources(TypeUrl::kListener).begin()->second->any.type_url(), TypeUrl::kListener);
  EXPECT_TRUE(s->resources(TypeUrl::kRoute).empty());
  EXPECT_TRUE(s->resources("type.googleapis.com/unknown").empty());
  EXPECT_EQ(s->resourceCount(), 4);
}

TEST(SnapshotTest, VersionsAreContentHashes) {
  auto one = snapshot(cluster("a"), cluster("b"));
  auto same = snapshot(cluster("b"), cluster("a"));
  auto other = snapshot(cluster("a", "2s"), cluster("b"));
  EXPECT_EQ(one->version(), same->version());
  EXPECT_NE(one->version(), other->version());
  EXPECT_EQ(one->typeVersion(TypeUrl::kCluster), same->typeVersion(TypeUrl::kCluster));
  // Per-resource versions: only the changed resource's differs.
  EXPECT_NE(one->resources(TypeUrl::kCluster).at("a")->version,
            other->resources(TypeUrl::kCluster).at("a")->version);
  EXPECT_EQ(one->resources(TypeUrl::kCluster).at("b")->version,
            other->resources(TypeUrl::kCluster).at("b")->version);
  // FNV-1a 64 of "" and "a": fixed values, so versions survive restarts and rebuilds.
  EXPECT_EQ(contentHash(""), "cbf29ce484222325");
  EXPECT_EQ(contentHash("a"), "af63dc4c8601ec8c");
}

TEST(SnapshotTest, BuilderRejectsDuplicatesAndUnknownTypes) {
  Snapshot::Builder builder;
  EXPECT_TRUE(builder.add(cluster("a")).ok());
  EXPECT_EQ(builder.add(cluster("a")).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(builder.add(envoy::config::core::v3::Node()).ok());
  // Same name, different type: fine.
  EXPECT_TRUE(builder.add(endpoints("a", 80)).ok());
  EXPECT_EQ(std::move(builder).build("v7")->version(), "v7");
}

TEST(SnapshotCacheTest, PlacesNodesByIdThenClusterThenDefault) {
  SnapshotCache cache;
  cache.setSnapshot("default", snapshot(cluster("d")));
  cache.setSnapshot("by-id", snapshot(cluster("i")));
  cache.setSnapshot("by-cluster", snapshot(cluster("c")));
  EXPECT_EQ(cache.groupFor(node("by-id", "by-cluster")), "by-id");
  EXPECT_EQ(cache.groupFor(node("other", "by-cluster")), "by-cluster");
  EXPECT_EQ(cache.groupFor(node("other", "other")), "default");
  EXPECT_EQ(cache.groupFor(node("")), "default");
}

TEST(SnapshotCacheTest, NotifiesWatchersOfTheirGroupOnly) {
  SnapshotCache cache;
  cache.setSnapshot("default", snapshot(cluster("d")));
  auto in_default = std::make_shared<RecordingWatcher>();
  auto in_special = std::make_shared<RecordingWatcher>();
  auto r1 = cache.watch(node("n1"), in_default);
  EXPECT_EQ(r1.group, "default");
  ASSERT_NE(r1.snapshot, nullptr);
  auto r2 = cache.watch(node("special"), in_special);
  EXPECT_EQ(r2.group, "default");

  // A group for "special" appears: only that watcher moves.
  auto special = snapshot(cluster("s"));
  cache.setSnapshot("special", special);
  EXPECT_TRUE(in_default->seen.empty());
  ASSERT_EQ(in_special->seen.size(), 1);
  EXPECT_EQ(in_special->seen[0].first, "special");
  EXPECT_EQ(in_special->seen[0].second, special);

  auto next_default = snapshot(cluster("d2"));
  cache.setSnapshot("default", next_default);
  ASSERT_EQ(in_default->seen.size(), 1);
  EXPECT_EQ(in_default->seen[0].second, next_default);
  EXPECT_EQ(in_special->seen.size(), 1);

  // The group goes: back to default.
  cache.clearSnapshot("special");
  ASSERT_EQ(in_special->seen.size(), 2);
  EXPECT_EQ(in_special->seen[1].first, "default");
  EXPECT_EQ(in_special->seen[1].second, next_default);

  cache.cancelWatch(r1.id);
  cache.setSnapshot("default", snapshot(cluster("d3")));
  EXPECT_EQ(in_default->seen.size(), 1);
  EXPECT_EQ(cache.watchCount(), 1);
}

TEST(SnapshotCacheTest, ConcurrentSettersAndWatchers) {
  SnapshotCache cache;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 200; ++i) {
        if (t % 2 == 0) {
          cache.setSnapshot(i % 2 == 0 ? "default" : "g", snapshot(cluster("c")));
        } else {
          auto watcher = std::make_shared<RecordingWatcher>();
          auto result = cache.watch(node("g"), watcher);
          (void)cache.getSnapshot(result.group);
          cache.cancelWatch(result.id);
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(cache.watchCount(), 0);
}

}  // namespace
}  // namespace Skiff::Control
