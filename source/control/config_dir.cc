#include "source/control/config_dir.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "source/common/common/logger.h"
#include "source/common/config/message_loader.h"
#include "source/control/json.h"

namespace Skiff::Control {

namespace fs = std::filesystem;

namespace {

bool isHidden(const std::string& name) { return name.empty() || name[0] == '.'; }

bool isConfigFile(const std::string& name) {
  return absl::EndsWith(name, ".yaml") || absl::EndsWith(name, ".yml") ||
         absl::EndsWith(name, ".json");
}

// Sorted names of the entries of `dir` that are directories or, for !directories, config files
// (symlinks followed).
absl::StatusOr<std::vector<std::string>> listDirectory(const std::string& dir, bool directories) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    return absl::NotFoundError(absl::StrCat(dir, ": cannot read directory: ", ec.message()));
  }
  std::vector<std::string> names;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) {
      return absl::UnavailableError(absl::StrCat(dir, ": ", ec.message()));
    }
    const std::string name = it->path().filename().string();
    if (isHidden(name)) {
      continue;
    }
    std::error_code type_ec;
    const bool is_dir = fs::is_directory(it->path(), type_ec);  // follows symlinks
    const bool is_file = fs::is_regular_file(it->path(), type_ec);
    if (directories ? is_dir : (is_file && isConfigFile(name))) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<std::string> readFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

}  // namespace

absl::StatusOr<SnapshotConstSharedPtr> loadGroupDirectory(const std::string& group_dir,
                                                          const AppliedResources& applied,
                                                          ResourceOrigins* origins) {
  std::vector<std::string> errors;
  std::vector<Config::SourcedResource> resources;
  if (!group_dir.empty()) {
    auto files = listDirectory(group_dir, /*directories=*/false);
    if (!files.ok()) {
      return files.status();
    }
    for (const auto& name : *files) {
      const std::string path = absl::StrCat(group_dir, "/", name);
      auto content = readFile(path);
      if (!content.ok()) {
        errors.emplace_back(content.status().message());
        continue;
      }
      const auto status =
          Config::parseResourcesDocument(*content, Config::formatFromPath(path), path, resources);
      if (!status.ok()) {
        errors.emplace_back(status.message());
      }
    }
  }
  if (!applied.empty()) {
    // An applied resource replaces the file's resource of the same type and name.
    std::erase_if(resources, [&applied](const Config::SourcedResource& resource) {
      return applied.contains({resource.any.type_url(), Config::resourceName(resource.any)});
    });
    for (const auto& [key, resource] : applied) {
      resources.push_back(resource);
    }
  }
  auto set = Config::validateResourceSet(resources);
  if (!set.ok()) {
    errors.emplace_back(set.status().message());
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  }
  for (const auto& warning : set->warnings) {
    SKIFF_LOG(warn, "%s", warning);
  }

  Snapshot::Builder builder;
  ResourceOrigins where;
  const auto add = [&](const auto& by_name, absl::string_view type_url) {
    for (const auto& [name, entry] : by_name) {
      (void)builder.add(entry.resource);
      where.emplace(Config::ResourceKey(type_url, name), entry.where);
    }
  };
  add(set->clusters, TypeUrl::kCluster);
  add(set->assignments, TypeUrl::kEndpoint);
  add(set->listeners, TypeUrl::kListener);
  if (origins != nullptr) {
    *origins = std::move(where);
  }
  return std::move(builder).build();
}

ConfigDirSource::ConfigDirSource(std::string dir, SnapshotCache& cache, Stats::Store& store)
    : dir_(absl::StripSuffix(dir, "/").empty() ? dir : std::string(absl::StripSuffix(dir, "/"))),
      cache_(cache),
      updates_(store.counter("control_plane.config.updates")),
      rejected_(store.counter("control_plane.config.rejected")),
      groups_gauge_(store.gauge("control_plane.config.groups")) {}

ConfigDirSource::~ConfigDirSource() {
  inotify_event_.reset();
  debounce_timer_.reset();
  if (inotify_fd_ >= 0) {
    ::close(inotify_fd_);
  }
}

bool ConfigDirSource::publish(const std::string& group, GroupState& state,
                              SnapshotConstSharedPtr snapshot, ResourceOrigins origins) {
  if (!state.last_error.empty()) {
    SKIFF_LOG(info, "group \"%s\": configuration valid again", group);
  }
  state.last_error.clear();
  state.origins = std::move(origins);
  if (snapshot->version() == state.version) {
    return false;
  }
  SKIFF_LOG(info, "group \"%s\": version %s (%d resources)%s", group, snapshot->version(),
            snapshot->resourceCount(),
            state.version.empty() ? "" : absl::StrCat(", was ", state.version));
  state.version = snapshot->version();
  state.resources = snapshot->resourceCount();
  state.updated = absl::Now();
  updates_.inc();
  cache_.setSnapshot(group, std::move(snapshot));
  return true;
}

bool ConfigDirSource::hasDirectory(const std::string& group) const {
  std::error_code ec;
  return fs::is_directory(absl::StrCat(dir_, "/", group), ec);
}

absl::Status ConfigDirSource::reload() {
  auto names = listDirectory(dir_, /*directories=*/true);
  if (!names.ok()) {
    SKIFF_LOG(error, "config dir: %s", names.status().message());
    return names.status();
  }
  const std::set<std::string> directories(names->begin(), names->end());
  std::set<std::string> present = directories;
  for (const auto& [group, resources] : applied_) {
    present.insert(group);  // A group may exist through applied resources alone.
  }
  for (const auto& group : present) {
    GroupState& state = groups_[group];
    ResourceOrigins origins;
    auto snapshot =
        loadGroupDirectory(directories.contains(group) ? absl::StrCat(dir_, "/", group) : "",
                           applied(group), &origins);
    if (!snapshot.ok()) {
      const std::string message(snapshot.status().message());
      if (message != state.last_error) {
        rejected_.inc();
        if (state.version.empty()) {
          SKIFF_LOG(error, "group \"%s\" rejected; it has no valid configuration yet:\n%s", group,
                    message);
        } else {
          SKIFF_LOG(error, "group \"%s\" rejected; still serving version %s:\n%s", group,
                    state.version, message);
        }
      }
      state.last_error = message;
      continue;
    }
    publish(group, state, std::move(*snapshot), std::move(origins));
  }
  for (auto it = groups_.begin(); it != groups_.end();) {
    if (present.contains(it->first)) {
      ++it;
      continue;
    }
    SKIFF_LOG(info, "group \"%s\" removed; its sidecars move to the next matching group",
              it->first);
    if (!it->second.version.empty()) {
      cache_.clearSnapshot(it->first);
    }
    it = groups_.erase(it);
  }
  groups_gauge_.set(static_cast<int64_t>(groups_.size()));
  ready_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::string> ConfigDirSource::setApplied(const std::string& group,
                                                        AppliedResources applied) {
  const bool has_directory = hasDirectory(group);
  if (applied.empty() && !has_directory) {
    // Nothing left: the group goes, as when its directory is deleted.
    applied_.erase(group);
    if (auto it = groups_.find(group); it != groups_.end()) {
      SKIFF_LOG(info,
                "group \"%s\" removed (no directory, nothing applied); its sidecars move to "
                "the next matching group",
                group);
      if (!it->second.version.empty()) {
        cache_.clearSnapshot(group);
      }
      groups_.erase(it);
      groups_gauge_.set(static_cast<int64_t>(groups_.size()));
    }
    return std::string();
  }
  ResourceOrigins origins;
  auto snapshot =
      loadGroupDirectory(has_directory ? absl::StrCat(dir_, "/", group) : "", applied, &origins);
  if (!snapshot.ok()) {
    rejected_.inc();
    SKIFF_LOG(warn, "group \"%s\": admin change rejected:\n%s", group, snapshot.status().message());
    return snapshot.status();
  }
  if (applied.empty()) {
    applied_.erase(group);
  } else {
    applied_[group] = std::move(applied);
  }
  GroupState& state = groups_[group];
  publish(group, state, std::move(*snapshot), std::move(origins));
  groups_gauge_.set(static_cast<int64_t>(groups_.size()));
  return state.version;
}

const AppliedResources& ConfigDirSource::applied(const std::string& group) const {
  static const auto* empty = new AppliedResources();
  const auto it = applied_.find(group);
  return it == applied_.end() ? *empty : it->second;
}

const ResourceOrigins* ConfigDirSource::origins(const std::string& group) const {
  const auto it = groups_.find(group);
  return it == groups_.end() || it->second.version.empty() ? nullptr : &it->second.origins;
}

absl::Status ConfigDirSource::watch(Event::Dispatcher& dispatcher,
                                    std::chrono::milliseconds debounce) {
  debounce_ = debounce;
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    return absl::InternalError(absl::StrCat("inotify_init1: ", std::strerror(errno)));
  }
  debounce_timer_ = dispatcher.createTimer([this] {
    (void)reload();
    rewatch();
  });
  inotify_event_ = dispatcher.createFileEvent(
      inotify_fd_, [this](uint32_t) { onInotifyReadable(); }, Event::FileTriggerType::Level,
      Event::FileReadyType::Read);
  rewatch();
  if (watch_descriptors_.empty()) {
    return absl::NotFoundError(absl::StrCat(dir_, ": cannot watch: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void ConfigDirSource::rewatch() {
  constexpr uint32_t kMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM |
                             IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
  std::map<int, std::string> wanted;
  std::vector<std::string> dirs = {dir_};
  if (auto groups = listDirectory(dir_, /*directories=*/true); groups.ok()) {
    for (const auto& group : *groups) {
      dirs.push_back(absl::StrCat(dir_, "/", group));
    }
  }
  for (const auto& dir : dirs) {
    // inotify_add_watch resolves symlinks: after a ConfigMap swap the same path names a new
    // directory and gets a new descriptor.
    const int wd = inotify_add_watch(inotify_fd_, dir.c_str(), kMask);
    if (wd >= 0) {
      wanted[wd] = dir;
    } else {
      SKIFF_LOG(warn, "config dir: cannot watch %s: %s", dir, std::strerror(errno));
    }
  }
  for (const auto& [wd, dir] : watch_descriptors_) {
    if (!wanted.contains(wd)) {
      inotify_rm_watch(inotify_fd_, wd);  // EINVAL when the directory is already gone: harmless
    }
  }
  watch_descriptors_ = std::move(wanted);
}

void ConfigDirSource::onInotifyReadable() {
  alignas(struct inotify_event) char buffer[16 * 1024];
  bool any = false;
  while (true) {
    const ssize_t n = ::read(inotify_fd_, buffer, sizeof(buffer));
    if (n <= 0) {
      break;
    }
    any = true;
  }
  if (any) {
    // Editors and ConfigMap updates are several events in a row; re-scan once they stop.
    debounce_timer_->enableTimer(debounce_);
  }
}

std::string ConfigDirSource::statusJson() const {
  std::vector<std::string> entries;
  for (const auto& [name, state] : groups_) {
    entries.push_back(absl::StrCat(
        "{\"name\":", Json::quote(name), ",\"version\":", Json::quote(state.version),
        ",\"resources\":", state.resources, ",\"applied\":", applied(name).size(),
        ",\"last_error\":", Json::quote(state.last_error), ",\"updated\":",
        Json::quote(state.version.empty()
                        ? ""
                        : absl::FormatTime(absl::RFC3339_sec, state.updated, absl::UTCTimeZone())),
        "}"));
  }
  return absl::StrCat("{\"dir\":", Json::quote(dir_), ",\"groups\":[", absl::StrJoin(entries, ","),
                      "]}");
}

}  // namespace Skiff::Control
