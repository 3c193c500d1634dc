#pragma once

// The snapshot cache of skiff-control: one immutable, consistent set of xDS resources per node
// group, and the watches through which ADS streams learn that their group's snapshot changed.
//
// Versions are content hashes (FNV-1a 64 over deterministic protobuf serialization), so they are
// the same after a control-plane restart and the same for every sidecar with the same view: a
// reconnecting sidecar that reports the version it already has does not get the same bytes again.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/config/core/v3/base.pb.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/message.h"
#include "source/common/common/thread.h"

namespace Skiff::Control {

// Type URLs of the resource types skiff-control serves.
namespace TypeUrl {
inline constexpr absl::string_view kListener =
    "type.googleapis.com/envoy.config.listener.v3.Listener";
inline constexpr absl::string_view kCluster = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
inline constexpr absl::string_view kEndpoint =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
// Reserved: RouteConfiguration protos are not in api/ yet, but the cache and the ADS server treat
// the type as known (ordering, empty state) so adding RDS is a loader change only.
inline constexpr absl::string_view kRoute =
    "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
}  // namespace TypeUrl

// The known types in make-before-break push order: clusters, then their endpoints, then the
// listeners that use them, then the routes of those listeners.
const std::vector<std::string>& pushOrder();
bool isKnownType(absl::string_view type_url);

// FNV-1a 64-bit, as 16 lowercase hex digits. Stable across processes and builds (unlike
// absl::Hash, which is seeded per process).
std::string contentHash(absl::string_view bytes);

// Deterministic protobuf serialization (map entries sorted), so equal messages give equal bytes.
std::string serializeDeterministic(const google::protobuf::Message& message);

// One resource as served: its name, its per-resource version (content hash of the packed Any) and
// the packed resource. Immutable once built; shared between snapshots and streams.
struct Resource {
  std::string name;
  std::string version;
  google::protobuf::Any any;
};
using ResourceConstSharedPtr = std::shared_ptr<const Resource>;
// Ordered by name so every response lists resources in the same order.
using ResourceMap = std::map<std::string, ResourceConstSharedPtr, std::less<>>;

class Snapshot;
using SnapshotConstSharedPtr = std::shared_ptr<const Snapshot>;

/**
 * An immutable set of resources for one node group: per type URL, name -> resource. Built with
 * Snapshot::Builder; shared by the cache and every stream serving it. Any thread.
 */
class Snapshot {
 public:
  class Builder {
   public:
    // Packs `resource` deterministically. The name is the message's `name` field (or
    // `cluster_name` for ClusterLoadAssignment). Errors: no name, unknown type, duplicate name.
    absl::Status add(const google::protobuf::Message& resource);
    // Adds an already packed resource (type taken from any.type_url()).
    absl::Status addPacked(std::string name, google::protobuf::Any any);
    // The version is the content hash of every resource unless `version` is given.
    SnapshotConstSharedPtr build(std::string version = "") &&;

   private:
    std::map<std::string, ResourceMap, std::less<>> resources_;
  };

  // The group-wide version: informational (delta `system_version_info`, /nodes, logs).
  const std::string& version() const { return version_; }

  // Resources of one type; an empty map for types the snapshot has none of (or does not know).
  const ResourceMap& resources(absl::string_view type_url) const;

  // Content hash of one type's resources (names and per-resource versions), "" when none.
  std::string typeVersion(absl::string_view type_url) const;

  size_t resourceCount() const;

 private:
  Snapshot(std::string version, std::map<std::string, ResourceMap, std::less<>> resources);

  const std::string version_;
  const std::map<std::string, ResourceMap, std::less<>> resources_;
  // typeVersion() of each type present, computed once: every stream serving the snapshot asks.
  std::map<std::string, std::string, std::less<>> type_versions_;
};

// Content hash over (name, version) pairs of `resources`, in map order. "" for an empty map would
// be ambiguous with "never sent", so an empty map hashes too.
std::string resourceSetVersion(const ResourceMap& resources);

/**
 * Receives snapshot changes for the group its node currently resolves to. Called from the thread
 * that changed the cache (skiff-control: the main thread), one notification at a time, never
 * while the cache's state lock is held, so the watcher may call getSnapshot(). It must not call
 * setSnapshot()/clearSnapshot() (they serialize notifications). `snapshot` may be null: the group
 * has no snapshot (e.g. `default/` was deleted).
 */
class SnapshotWatcher {
 public:
  virtual ~SnapshotWatcher() = default;
  virtual void onSnapshot(const std::string& group, SnapshotConstSharedPtr snapshot) = 0;
};
using SnapshotWatcherSharedPtr = std::shared_ptr<SnapshotWatcher>;

/**
 * The node groups and their current snapshots, plus watches. Thread-safe: every method may be
 * called from any thread.
 *
 * Placement: a node is in the group named by its `node.id` if that group exists, else the one
 * named by `node.cluster`, else `default`. Placement is re-evaluated on every change, so a node
 * moves when a group for it appears or disappears.
 */
class SnapshotCache {
 public:
  static constexpr absl::string_view kDefaultGroup = "default";

  // Replaces the group's snapshot (creating the group) and notifies the watches now placed in
  // it, or moved out of it.
  void setSnapshot(const std::string& group, SnapshotConstSharedPtr snapshot);
  // Deletes the group; its watches move to the next group that matches them.
  void clearSnapshot(const std::string& group);

  SnapshotConstSharedPtr getSnapshot(absl::string_view group) const;
  std::vector<std::string> groups() const;
  std::string groupFor(const envoy::config::core::v3::Node& node) const;

  struct WatchResult {
    uint64_t id;
    std::string group;
    SnapshotConstSharedPtr snapshot;  // null while the group has none
  };
  // Registers `watcher` for `node`. The result carries the current group and snapshot; later
  // changes arrive through the watcher.
  WatchResult watch(const envoy::config::core::v3::Node& node, SnapshotWatcherSharedPtr watcher);
  // After this returns no new notification starts; one already running may still finish.
  void cancelWatch(uint64_t id);
  size_t watchCount() const;

 private:
  struct Watch {
    std::string node_id;
    std::string node_cluster;
    std::string group;
    SnapshotWatcherSharedPtr watcher;
  };
  struct Notification {
    SnapshotWatcherSharedPtr watcher;
    std::string group;
    SnapshotConstSharedPtr snapshot;
  };

  std::string groupForLocked(absl::string_view id, absl::string_view cluster) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  std::vector<Notification> replanLocked(const std::string& changed_group)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void update(const std::string& group, SnapshotConstSharedPtr snapshot);

  // Held across a whole set/clear including the notifications, so watchers see changes in the
  // order they were made. Always taken before mutex_.
  Thread::MutexBasicLockable notify_mutex_;
  mutable Thread::MutexBasicLockable mutex_;
  std::map<std::string, SnapshotConstSharedPtr, std::less<>> snapshots_ ABSL_GUARDED_BY(mutex_);
  std::map<uint64_t, Watch> watches_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_watch_id_ ABSL_GUARDED_BY(mutex_) = 1;
};

}  // namespace Skiff::Control
