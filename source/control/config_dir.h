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
// Any number of files and any mix of types per group. A group is validated as a whole (see
// source/common/config/resource_set.h: known types, duplicate names, references between
// resources, addresses); an invalid group is rejected with "file:line: reason" lines in the log
// and on the admin status page, and its previous snapshot keeps serving.
//
// Over the files of each group lies the layer of resources applied through the admin API
// (admin_api.h): an applied resource replaces the file resource of the same type and name, and a
// group may consist of applied resources only. The layer is validated together with the files,
// once per change of either.
//
// Changes are found with inotify on DIR and on every group directory (following symlinks, so a
// Kubernetes ConfigMap's atomic `..data` symlink swap is seen as a rename in the watched
// directory); any event re-scans the tree after a short quiet period. A re-scan reads every file
// but parses only those whose content changed (files are keyed by name and content hash, so a
// symlink swap, an in-place edit and an edit within the same mtime tick are all seen), and skips
// validation of groups none of whose files (nor applied resources) changed. Hidden entries
// (`.foo`, `..data`, `..2024_01_01...`) are skipped as groups and files.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
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
using ResourceOriginsConstSharedPtr = std::shared_ptr<const ResourceOrigins>;

// A group that passed validation: its snapshot and where each resource came from.
struct LoadedGroup {
  SnapshotConstSharedPtr snapshot;
  ResourceOriginsConstSharedPtr origins;
};

/**
 * Loads one group: the files of its directory with the applied layer over them. Remembers each
 * file's parse result, so that the next load parses only the files whose content changed, and the
 * last result, so that a load where neither the files nor the applied layer changed validates
 * nothing. Not thread-safe; one loader per group.
 */
class GroupLoader {
 public:
  // The group's snapshot, or every problem, one per line, each starting with "<file>:<line>: "
  // (or "<file>: " where no line is known). `group_dir` empty: the group has no directory. Parse
  // errors of any file are reported alone; the group checks run once every file parses.
  absl::StatusOr<LoadedGroup> load(const std::string& group_dir, const AppliedResources& applied);

  // As load(), for a proposed applied layer that may be refused: a rejection is not remembered,
  // so the next load() of the layer in force does not validate the group again.
  absl::StatusOr<LoadedGroup> tryLoad(const std::string& group_dir,
                                      const AppliedResources& applied);

  // How many file parses the loads have done so far (a file whose content is unchanged costs a
  // read and a hash, not a parse).
  uint64_t filesParsed() const { return files_parsed_; }
  // How many times the loads validated the group (once per change of its files or applied layer).
  uint64_t validations() const { return validations_; }

 private:
  struct ParsedFile {
    std::string hash;  // contentHash() of the bytes parsed
    size_t size = 0;
    std::string error;  // parse error lines; empty when the file parsed
    std::vector<Config::SourcedResource> resources;
  };

  absl::StatusOr<LoadedGroup> loadImpl(const std::string& group_dir,
                                       const AppliedResources& applied, bool remember_rejection);
  static ParsedFile parseFile(const std::string& path, const std::string& content,
                              const std::string& hash);

  std::map<std::string, ParsedFile> files_;  // by file name, as of the last load
  // Names, sizes and hashes of every file and applied resource at the remembered load, and what
  // it returned.
  std::string last_fingerprint_;
  std::optional<absl::StatusOr<LoadedGroup>> last_result_;
  uint64_t files_parsed_ = 0;
  uint64_t validations_ = 0;
};

// Loads and validates one group directory (an empty `group_dir`: no files) with `applied`
// layered over its files, with a fresh GroupLoader. Fills `origins` when given. Any thread.
absl::StatusOr<SnapshotConstSharedPtr> loadGroupDirectory(const std::string& group_dir,
                                                          const AppliedResources& applied = {},
                                                          ResourceOrigins* origins = nullptr);

/**
 * Keeps the SnapshotCache in step with a config directory and the applied layer over it.
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
    ResourceOriginsConstSharedPtr origins;  // of the published snapshot
  };

  // Publishes `loaded` for `group` if its version changed. Returns whether it did.
  bool publish(const std::string& group, GroupState& state, LoadedGroup loaded);
  // The group's directory, or "" when it has none.
  std::string groupDirectory(const std::string& group) const;
  // Removes `group` (its sidecars move to the next matching group).
  void removeGroup(const std::string& group, absl::string_view why);

  void onInotifyReadable();
  void rewatch();

  const std::string dir_;
  SnapshotCache& cache_;
  Stats::Counter& updates_;
  Stats::Counter& rejected_;
  Stats::Gauge& groups_gauge_;
  Stats::Counter& files_parsed_;
  std::map<std::string, GroupState> groups_;
  std::map<std::string, GroupLoader> loaders_;
  std::map<std::string, AppliedResources> applied_;  // only groups with applied resources
  bool ready_ = false;

  int inotify_fd_ = -1;
  std::map<int, std::string> watch_descriptors_;  // wd -> watched directory
  Event::FileEventPtr inotify_event_;
  Event::TimerPtr debounce_timer_;
  std::chrono::milliseconds debounce_{100};
};

}  // namespace Skiff::Control
