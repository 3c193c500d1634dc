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
// group_validation.h: known types, duplicate names, references between resources, addresses);
// an invalid group is rejected with "file:line: reason" lines in the log and on the admin status
// page, and its previous snapshot keeps serving.
//
// Changes are found with inotify on DIR and on every group directory (following symlinks, so a
// Kubernetes ConfigMap's atomic `..data` symlink swap is seen as a rename in the watched
// directory); any event re-scans the tree after a short quiet period. A re-scan reads every file
// but parses only those whose content changed (files are keyed by name and content hash, so a
// symlink swap, an in-place edit and an edit within the same mtime tick are all seen), and skips
// validation of groups none of whose files changed. Hidden entries (`.foo`, `..data`,
// `..2024_01_01...`) are skipped as groups and files.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "source/common/event/dispatcher.h"
#include "source/common/stats/stats.h"
#include "source/control/group_validation.h"
#include "source/control/snapshot_cache.h"

namespace Skiff::Control {

/**
 * Loads one group directory, remembering each file's parse result so that the next load() parses
 * only the files whose content changed. Not thread-safe; one loader per group directory.
 */
class GroupLoader {
 public:
  // The group's snapshot, or every problem, one per line, each starting with "<file>:<line>: "
  // (or "<file>: " where no line is known). Parse errors of any file are reported alone; the
  // group checks run once every file parses.
  absl::StatusOr<SnapshotConstSharedPtr> load(const std::string& group_dir);

  // How many file parses load() has done so far (a file whose content is unchanged costs a read
  // and a hash, not a parse).
  uint64_t filesParsed() const { return files_parsed_; }

 private:
  struct ParsedFile {
    std::string hash;  // contentHash() of the bytes parsed
    size_t size = 0;
    std::string error;  // parse error lines; empty when the file parsed
    std::vector<LocatedResource> resources;
  };
  static ParsedFile parseFile(const std::string& path, const std::string& content,
                              const std::string& hash);

  std::map<std::string, ParsedFile> files_;  // by file name, as of the last load()
  // Names, sizes and hashes of every file at the last load(), and what it returned.
  std::string last_fingerprint_;
  std::optional<absl::StatusOr<SnapshotConstSharedPtr>> last_result_;
  uint64_t files_parsed_ = 0;
};

// Loads and validates one group directory with a fresh GroupLoader. Any thread.
absl::StatusOr<SnapshotConstSharedPtr> loadGroupDirectory(const std::string& group_dir);

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

  // {"dir": ..., "groups": [{"name", "version", "resources", "last_error", "updated"}]}.
  std::string statusJson() const;

 private:
  struct GroupState {
    std::string version;  // empty until a valid load
    size_t resources = 0;
    std::string last_error;  // of the latest attempt; empty when it was valid
    absl::Time updated;
  };

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
  bool ready_ = false;

  int inotify_fd_ = -1;
  std::map<int, std::string> watch_descriptors_;  // wd -> watched directory
  Event::FileEventPtr inotify_event_;
  Event::TimerPtr debounce_timer_;
  std::chrono::milliseconds debounce_{100};
};

}  // namespace Skiff::Control
