#include "source/common/upstream/cluster_snapshot.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace Skiff::Upstream {
namespace {

ClusterInfoConstSharedPtr info(const std::string& name, uint32_t timeout_ms = 1000) {
  auto cluster = std::make_shared<ClusterInfo>();
  cluster->name = name;
  cluster->connect_timeout = std::chrono::milliseconds(timeout_ms);
  return cluster;
}

TEST(ClusterSnapshotTest, FindsWhatWasAddedAndNothingElse) {
  ClusterSnapshot empty;
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.find("a"), nullptr);
  auto one = empty.update({info("a"), info("b")}, {});
  ASSERT_NE(one->find("a"), nullptr);
  EXPECT_EQ((*one->find("a"))->name, "a");
  EXPECT_EQ(one->find("c"), nullptr);
  EXPECT_EQ(one->size(), 2u);
  EXPECT_EQ(empty.size(), 0u);  // Unchanged: snapshots are immutable.
}

TEST(ClusterSnapshotTest, ReplacesAndRemovesWithoutTouchingTheOldSnapshot) {
  auto v1 = ClusterSnapshot().update({info("a", 1), info("b", 1)}, {});
  auto v2 = v1->update({info("a", 2)}, {"b", "never-there"});
  EXPECT_EQ((*v2->find("a"))->connect_timeout.count(), 2);
  EXPECT_EQ(v2->find("b"), nullptr);
  EXPECT_EQ(v2->size(), 1u);
  EXPECT_EQ((*v1->find("a"))->connect_timeout.count(), 1);
  EXPECT_NE(v1->find("b"), nullptr);
  EXPECT_EQ(v1->size(), 2u);
  // Added and removed in one update: absent (removes come last, as on main).
  auto v3 = v2->update({info("b", 3), info("c", 3)}, {"b", "a"});
  EXPECT_EQ(v3->find("b"), nullptr);
  EXPECT_EQ(v3->find("a"), nullptr);
  EXPECT_NE(v3->find("c"), nullptr);
  EXPECT_EQ(v3->size(), 1u);
}

// Keys are views of the infos' names: after many replacements of long names (out of any small
// string buffer) in one shard and across snapshots, every lookup still reads live memory (ASan).
TEST(ClusterSnapshotTest, KeysStayValidAcrossReplacements) {
  std::vector<std::string> names;
  for (int i = 0; i < 2000; ++i) {
    names.push_back(absl::StrCat("outbound|8080||service-", i, ".namespace.svc.cluster.local"));
  }
  std::vector<ClusterInfoConstSharedPtr> first;
  for (const auto& name : names) {
    first.push_back(info(name, 1));
  }
  auto snapshot = ClusterSnapshot().update(first, {});
  first.clear();  // The snapshot holds the only references now.
  for (uint32_t round = 2; round < 5; ++round) {
    std::vector<ClusterInfoConstSharedPtr> next;
    for (size_t i = 0; i < names.size(); i += round) {
      next.push_back(info(names[i], round));
    }
    snapshot = snapshot->update(next, {});
  }
  EXPECT_EQ(snapshot->size(), names.size());
  for (const auto& name : names) {
    const ClusterInfoConstSharedPtr* found = snapshot->find(name);
    ASSERT_NE(found, nullptr) << name;
    EXPECT_EQ((*found)->name, name);
  }
}

// Publishing one change among many copies one shard, not the map.
TEST(ClusterSnapshotTest, AnUpdateSharesTheShardsItDoesNotTouch) {
  std::vector<ClusterInfoConstSharedPtr> many;
  for (int i = 0; i < 20000; ++i) {
    many.push_back(info(absl::StrCat("c", i)));
  }
  auto big = ClusterSnapshot().update(many, {});
  auto next = big->update({info("c42", 5)}, {});
  EXPECT_EQ(next->differingShardsForTest(*big), 1u);
  EXPECT_EQ(next->size(), big->size());
  EXPECT_EQ(big->update({}, {"not-a-cluster"})->differingShardsForTest(*big), 0u);
}

}  // namespace
}  // namespace Skiff::Upstream
