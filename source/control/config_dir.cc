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

// Accumulates error lines.
class Errors {
 public:
  void addRaw(absl::string_view text) {
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      lines_.emplace_back(line);
    }
  }
  bool empty() const { return lines_.empty(); }
  std::string joined() const { return absl::StrJoin(lines_, "\n"); }

 private:
  std::vector<std::string> lines_;
};

// Identifies the applied layer's content (keys, locations and bytes) in a load's fingerprint.
void appendAppliedFingerprint(const AppliedResources& applied, std::string& fingerprint) {
  for (const auto& [key, resource] : applied) {
    absl::StrAppend(&fingerprint, "applied:", key.first.size(), ":", key.first, key.second.size(),
                    ":", key.second, resource.where.size(), ":", resource.where, "=",
                    resource.any.value().size(), "/", contentHash(resource.any.value()), ";");
  }
}

// Packs a validated set into a snapshot, noting where each resource came from.
LoadedGroup buildLoadedGroup(const Config::ResourceSet& set) {
  Snapshot::Builder builder;
  auto origins = std::make_shared<ResourceOrigins>();
  const auto add = [&](const auto& by_name, absl::string_view type_url) {
    for (const auto& [name, entry] : by_name) {
      (void)builder.add(entry.resource);  // names are unique and the types known: cannot fail
      origins->emplace(Config::ResourceKey(type_url, name), entry.where);
    }
  };
  add(set.clusters, TypeUrl::kCluster);
  add(set.assignments, TypeUrl::kEndpoint);
  add(set.listeners, TypeUrl::kListener);
  add(set.routes, TypeUrl::kRoute);
  return LoadedGroup{std::move(builder).build(), std::move(origins)};
}

}  // namespace

absl::StatusOr<LoadedGroup> GroupLoader::load(const std::string& group_dir,
                                              const AppliedResources& applied) {
  return loadImpl(group_dir, applied, /*remember_rejection=*/true);
}

absl::StatusOr<LoadedGroup> GroupLoader::tryLoad(const std::string& group_dir,
                                                 const AppliedResources& applied) {
  return loadImpl(group_dir, applied, /*remember_rejection=*/false);
}

absl::StatusOr<LoadedGroup> GroupLoader::loadImpl(const std::string& group_dir,
                                                  const AppliedResources& applied,
                                                  bool remember_rejection) {
  std::vector<std::string> names;
  if (!group_dir.empty()) {
    auto listed = listDirectory(group_dir, /*directories=*/false);
    if (!listed.ok()) {
      return listed.status();
    }
    names = std::move(*listed);
  }
  std::map<std::string, ParsedFile> files;
  std::string fingerprint = group_dir.empty() ? "no directory;" : "";
  for (const auto& name : names) {
    const std::string path = absl::StrCat(group_dir, "/", name);
    auto content = readFile(path);  // follows symlinks: a ConfigMap swap changes the content
    if (!content.ok()) {
      ParsedFile unreadable;
      unreadable.error = std::string(content.status().message());
      absl::StrAppend(&fingerprint, name.size(), ":", name, "=unreadable;");
      files.emplace(name, std::move(unreadable));
      continue;
    }
    const std::string hash = contentHash(*content);
    absl::StrAppend(&fingerprint, name.size(), ":", name, "=", content->size(), "/", hash, ";");
    auto cached = files_.find(name);
    if (cached != files_.end() && cached->second.hash == hash &&
        cached->second.size == content->size()) {
      files.emplace(name, std::move(cached->second));
      continue;
    }
    ++files_parsed_;
    files.emplace(name, parseFile(path, *content, hash));
  }
  files_ = std::move(files);
  appendAppliedFingerprint(applied, fingerprint);
  if (last_result_.has_value() && fingerprint == last_fingerprint_) {
    return *last_result_;  // Nothing changed: the same snapshot (or the same errors).
  }

  Errors errors;
  std::vector<Config::SourcedResource> resources;
  for (const auto& [name, file] : files_) {
    if (!file.error.empty()) {
      errors.addRaw(file.error);
      continue;
    }
    for (const auto& resource : file.resources) {
      // An applied resource replaces the file's resource of the same type and name.
      if (applied.empty() ||
          !applied.contains({resource.any.type_url(), Config::resourceName(resource.any)})) {
        resources.push_back(resource);
      }
    }
  }
  for (const auto& [key, resource] : applied) {
    resources.push_back(resource);
  }
  absl::StatusOr<LoadedGroup> result = absl::InternalError("unset");
  if (!errors.empty()) {
    // Parse errors first; the group checks of what did parse would add noise about references
    // into the broken file.
    result = absl::InvalidArgumentError(errors.joined());
  } else {
    ++validations_;
    auto set = Config::validateResourceSet(resources);
    if (!set.ok()) {
      result = set.status();
    } else {
      for (const auto& warning : set->warnings) {
        SKIFF_LOG(warn, "%s", warning);
      }
      result = buildLoadedGroup(*set);
    }
  }
  if (result.ok() || remember_rejection) {
    last_fingerprint_ = std::move(fingerprint);
    last_result_ = result;
  }
  return result;
}

GroupLoader::ParsedFile GroupLoader::parseFile(const std::string& path, const std::string& content,
                                               const std::string& hash) {
  ParsedFile parsed;
  parsed.hash = hash;
  parsed.size = content.size();
  const auto status =
      Config::parseResourcesDocument(content, Config::formatFromPath(path), path, parsed.resources);
  if (!status.ok()) {
    parsed.error = std::string(status.message());
    parsed.resources.clear();
  }
  return parsed;
}

absl::StatusOr<SnapshotConstSharedPtr> loadGroupDirectory(const std::string& group_dir,
                                                          const AppliedResources& applied,
                                                          ResourceOrigins* origins) {
  GroupLoader loader;
  auto loaded = loader.load(group_dir, applied);
  if (!loaded.ok()) {
    return loaded.status();
  }
  if (origins != nullptr) {
    *origins = *loaded->origins;
  }
  return std::move(loaded->snapshot);
}

ConfigDirSource::ConfigDirSource(std::string dir, SnapshotCache& cache, Stats::Store& store)
    : dir_(absl::StripSuffix(dir, "/").empty() ? dir : std::string(absl::StripSuffix(dir, "/"))),
      cache_(cache),
      updates_(store.counter("control_plane.config.updates")),
      rejected_(store.counter("control_plane.config.rejected")),
      groups_gauge_(store.gauge("control_plane.config.groups")),
      files_parsed_(store.counter("control_plane.config.files_parsed")) {}

ConfigDirSource::~ConfigDirSource() {
  inotify_event_.reset();
  debounce_timer_.reset();
  if (inotify_fd_ >= 0) {
    ::close(inotify_fd_);
  }
}

bool ConfigDirSource::publish(const std::string& group, GroupState& state, LoadedGroup loaded) {
  if (!state.last_error.empty()) {
    SKIFF_LOG(info, "group \"%s\": configuration valid again", group);
  }
  state.last_error.clear();
  state.origins = std::move(loaded.origins);
  if (loaded.snapshot->version() == state.version) {
    return false;
  }
  SKIFF_LOG(info, "group \"%s\": version %s (%d resources)%s", group, loaded.snapshot->version(),
            loaded.snapshot->resourceCount(),
            state.version.empty() ? "" : absl::StrCat(", was ", state.version));
  state.version = loaded.snapshot->version();
  state.resources = loaded.snapshot->resourceCount();
  state.updated = absl::Now();
  updates_.inc();
  cache_.setSnapshot(group, std::move(loaded.snapshot));
  return true;
}

std::string ConfigDirSource::groupDirectory(const std::string& group) const {
  std::string path = absl::StrCat(dir_, "/", group);
  std::error_code ec;
  return fs::is_directory(path, ec) ? path : "";
}

void ConfigDirSource::removeGroup(const std::string& group, absl::string_view why) {
  loaders_.erase(group);
  const auto it = groups_.find(group);
  if (it == groups_.end()) {
    return;
  }
  SKIFF_LOG(info, "group \"%s\" removed (%s); its sidecars move to the next matching group", group,
            why);
  if (!it->second.version.empty()) {
    cache_.clearSnapshot(group);
  }
  groups_.erase(it);
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
    GroupLoader& loader = loaders_[group];
    const uint64_t parsed_before = loader.filesParsed();
    auto loaded = loader.load(directories.contains(group) ? absl::StrCat(dir_, "/", group) : "",
                              applied(group));
    files_parsed_.add(loader.filesParsed() - parsed_before);
    if (!loaded.ok()) {
      const std::string message(loaded.status().message());
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
    publish(group, state, std::move(*loaded));
  }
  std::vector<std::string> gone;
  for (const auto& [group, state] : groups_) {
    if (!present.contains(group)) {
      gone.push_back(group);
    }
  }
  for (const auto& group : gone) {
    removeGroup(group, "its directory is gone");
  }
  groups_gauge_.set(static_cast<int64_t>(groups_.size()));
  ready_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::string> ConfigDirSource::setApplied(const std::string& group,
                                                        AppliedResources applied) {
  const std::string directory = groupDirectory(group);
  if (applied.empty() && directory.empty()) {
    // Nothing left: the group goes, as when its directory is deleted.
    applied_.erase(group);
    removeGroup(group, "no directory, nothing applied");
    groups_gauge_.set(static_cast<int64_t>(groups_.size()));
    return std::string();
  }
  GroupLoader& loader = loaders_[group];
  const uint64_t parsed_before = loader.filesParsed();
  auto loaded = loader.tryLoad(directory, applied);
  files_parsed_.add(loader.filesParsed() - parsed_before);
  if (!loaded.ok()) {
    rejected_.inc();
    SKIFF_LOG(warn, "group \"%s\": admin change rejected:\n%s", group, loaded.status().message());
    if (!groups_.contains(group)) {
      loaders_.erase(group);  // a group the rejected change would have created
    }
    return loaded.status();
  }
  if (applied.empty()) {
    applied_.erase(group);
  } else {
    applied_[group] = std::move(applied);
  }
  GroupState& state = groups_[group];
  publish(group, state, std::move(*loaded));
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
  return it == groups_.end() || it->second.version.empty() ? nullptr : it->second.origins.get();
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
