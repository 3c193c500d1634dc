#pragma once

// The --config-dir source of skiff-control: one subdirectory per node group (named after the
// node id or node cluster it serves, `default/` for every other sidecar), each holding YAML/JSON
// files in Envoy's file-based xDS shape:
//
//   resources:
//   - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
//     name: backend
//     ...
//
// Any number of files and any mix of types per group. A group is validated as a whole (known
// types, duplicate names, listeners' tcp_proxy clusters defined in the same group, addresses and
// every other check of source/common/config/resource_set.h); an invalid group is rejected with
// "file:line: reason" lines in the log and on the admin status page, and its previous snapshot
// keeps serving.
//
// Over the files of each group lies the layer of resources applied through the admin API
// (admin_api.h): an applied resource replaces the file resource of the same type and name, and a
// group may consist of applied resources only. The layer is validated together with the files,
// on every change of either.
//
// Changes are found with inotify on DIR and on every group directory (following symlinks, so a
// Kubernetes ConfigMap's atomic `..data` symlink swap is seen as a rename in the watched
// directory); any event re-scans the whole tree after a short quiet period. Hidden entries
// (`.foo`, `..data`, `..2024_01_01...`) are skipped as groups and files.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "source/common/config/resource_set.h"
#include "source/common/event/dispatcher.h"
#include "source/common/stats/stats.h"
#include "source/control/snapshot_cache.h"

namespace Skiff::Control {

// Resources applied to one group through the admin API, by (type URL, name).
using AppliedResources = std::map<Config::ResourceKey, Config::SourcedResource>;
// Where each resource of a group's snapshot came from: "file:line" or the applied resource's
// location.
using ResourceOrigins = std::map<Config::ResourceKey, std::string>;

// Loads and validates one group directory (an empty `group_dir`: no files) with `applied` layered
// over its files. The error lists every problem, one per line, each starting with
// "<file>:<line>: " (or "<file>: " where no line is known). Fills `origins` when given. Any
// thread.
absl::StatusOr<SnapshotConstSharedPtr> loadGroupDirectory(const std::string& group_dir,
                                                          const AppliedResources& applied = {},
                                                          ResourceOrigins* origins = nullptr);

/**
 * Keeps the SnapshotCache in step with a config directory.
 *
 * Thread: every method runs on one thread (skiff-control: main), the one whose dispatcher is
 * given to watch(). Snapshot notifications to ADS streams therefore also run on that thread.
 */
class ConfigDirSource {
 public:
  ConfigDirSource(std::string dir, SnapshotCache& cache, Stats::Store& store);
  ~ConfigDirSource();

  // Scans every group: publishes groups whose content changed and is valid, keeps the previous
  // snapshot of groups whose new content is invalid, and deletes groups whose directory is gone.
  // Fails only if DIR itself cannot be read (nothing changes then).
  absl::Status reload();

  // Watches DIR with inotify on `dispatcher`, calling reload() once events stop for `debounce`.
  absl::Status watch(Event::Dispatcher& dispatcher,
                     std::chrono::milliseconds debounce = std::chrono::milliseconds(100));

  // True once reload() has read DIR at least once (groups that failed to load are on the status
  // page; they do not hold back readiness, or one bad group would keep every sidecar waiting).
  bool ready() const { return ready_; }

  // {"dir": ..., "groups": [{"name", "version", "resources", "applied", "last_error",
  // "updated"}]}.
  std::string statusJson() const;

  // The admin API's layer. Replaces the group's applied resources with `applied` if the group's
  // current files plus `applied` are valid, and publishes the result; otherwise returns the errors
  // (InvalidArgument, "where: reason" lines) and nothing changes. A group with neither a directory
  // nor applied resources is deleted. Returns the group's version ("" once deleted).
  absl::StatusOr<std::string> setApplied(const std::string& group, AppliedResources applied);
  // The group's applied resources (empty for an unknown group).
  const AppliedResources& applied(const std::string& group) const;
  // Where each resource of the group's current snapshot came from; null while it has none.
  const ResourceOrigins* origins(const std::string& group) const;
  const std::string& dir() const { return dir_; }

 private:
  struct GroupState {
    std::string version;  // empty until a valid load
    size_t resources = 0;
    std::string last_error;  // of the latest attempt; empty when it was valid
    absl::Time updated;
    ResourceOrigins origins;  // of the published snapshot
  };

  // Publishes `snapshot` for `group` if its version changed. Returns whether it did.
  bool publish(const std::string& group, GroupState& state, SnapshotConstSharedPtr snapshot,
               ResourceOrigins origins);
  bool hasDirectory(const std::string& group) const;

  void onInotifyReadable();
  void rewatch();

  const std::string dir_;
  SnapshotCache& cache_;
  Stats::Counter& updates_;
  Stats::Counter& rejected_;
  Stats::Gauge& groups_gauge_;
  std::map<std::string, GroupState> groups_;
  std::map<std::string, AppliedResources> applied_;  // groups with applied resources only
  bool ready_ = false;

  int inotify_fd_ = -1;
  std::map<int, std::string> watch_descriptors_;  // wd -> watched directory
  Event::FileEventPtr inotify_event_;
  Event::TimerPtr debounce_timer_;
  std::chrono::milliseconds debounce_{100};
};

}  // namespace Skiff::Control
