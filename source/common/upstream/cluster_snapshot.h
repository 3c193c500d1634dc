#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "source/common/upstream/cluster_manager.h"

namespace Skiff::Upstream {

/**
 * Every cluster's current ClusterInfo by name, immutable once built, shared by main and all the
 * workers. This is what a cluster update publishes: main builds the next snapshot and each worker
 * swaps one pointer, so applying an update of any size costs a worker the same (a push of 100,000
 * clusters used to cost each worker 100,000 inserts, on the same CPUs that serve requests).
 *
 * Copy-on-write in kShards shards picked by the name's hash: an update copies only the shards it
 * touches and shares the others with the previous snapshot, so publishing one changed cluster
 * among 100,000 copies ~400 entries, not 100,000.
 *
 * Threads: built on main (update()); any thread may read a built snapshot.
 */
class ClusterSnapshot {
 public:
  static constexpr size_t kShards = 256;

  ClusterSnapshot() = default;

  // The cluster's info, or nullptr if there is no such cluster.
  const ClusterInfoConstSharedPtr* find(absl::string_view name) const;
  size_t size() const { return size_; }
  // Shards this snapshot does not share with `other` (tests).
  size_t differingShardsForTest(const ClusterSnapshot& other) const;

  // Main thread: the next snapshot, with `upserts` added or replaced, then `removes` gone (a
  // name in both ends up absent, as in ClusterManager's own map). Shards neither touches are
  // shared with this snapshot.
  std::shared_ptr<const ClusterSnapshot> update(
      const std::vector<ClusterInfoConstSharedPtr>& upserts,
      const std::vector<std::string>& removes) const;

 private:
  // Keyed by a view of the mapped info's own name.
  using Shard = absl::flat_hash_map<absl::string_view, ClusterInfoConstSharedPtr>;

  static size_t shardOf(absl::string_view name);

  std::array<std::shared_ptr<const Shard>, kShards> shards_;  // Null: empty.
  size_t size_ = 0;
};

using ClusterSnapshotConstSharedPtr = std::shared_ptr<const ClusterSnapshot>;

}  // namespace Skiff::Upstream
