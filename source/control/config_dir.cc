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
#include "envoy/service/discovery/v3/discovery.pb.h"
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

// Sorted names of the entries of `dir` for which `keep` holds (symlinks followed).
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

// 1-based line of each block-style item of the top-level `resources:` list, in order; empty when
// the file is JSON or uses flow style. Good enough to point at the right item in error messages.
std::vector<int> resourceItemLines(absl::string_view content) {
  std::vector<int> lines;
  const std::vector<absl::string_view> text = absl::StrSplit(content, '\n');
  bool in_resources = false;
  int item_indent = -1;
  for (size_t i = 0; i < text.size(); ++i) {
    absl::string_view line = text[i];
    const size_t indent = line.find_first_not_of(' ');
    if (indent == absl::string_view::npos || line[indent] == '#') {
      continue;
    }
    if (indent == 0 && !absl::StartsWith(line, "- ") && line != "-") {
      // `resources:`, also with the key quoted as YAML generators often write it.
      absl::string_view rest = line;
      in_resources = (absl::ConsumePrefix(&rest, "resources:") ||
                      absl::ConsumePrefix(&rest, "\"resources\":") ||
                      absl::ConsumePrefix(&rest, "'resources':")) &&
                     absl::StripAsciiWhitespace(rest).empty();
      continue;
    }
    if (!in_resources || line[indent] != '-') {
      continue;
    }
    if (item_indent < 0) {
      item_indent = static_cast<int>(indent);
    }
    if (static_cast<int>(indent) == item_indent) {
      lines.push_back(static_cast<int>(i) + 1);
    }
  }
  return lines;
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

}  // namespace

absl::StatusOr<SnapshotConstSharedPtr> GroupLoader::load(const std::string& group_dir) {
  keepResourceTypesLinked();
  auto names = listDirectory(group_dir, /*directories=*/false);
  if (!names.ok()) {
    return names.status();
  }
  std::map<std::string, ParsedFile> files;
  std::string fingerprint;
  for (const auto& name : *names) {
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
  if (last_result_.has_value() && fingerprint == last_fingerprint_) {
    return *last_result_;  // Nothing changed: the same snapshot (or the same errors).
  }

  Errors errors;
  std::vector<LocatedResource> resources;
  for (const auto& [name, file] : files_) {
    if (!file.error.empty()) {
      errors.addRaw(file.error);
      continue;
    }
    resources.insert(resources.end(), file.resources.begin(), file.resources.end());
  }
  absl::StatusOr<SnapshotConstSharedPtr> result = absl::InternalError("unset");
  if (!errors.empty()) {
    // Parse errors first; the group checks of what did parse would add noise about references
    // into the broken file.
    result = absl::InvalidArgumentError(errors.joined());
  } else {
    result = buildGroupSnapshot(resources);
  }
  last_fingerprint_ = std::move(fingerprint);
  last_result_ = result;
  return result;
}

GroupLoader::ParsedFile GroupLoader::parseFile(const std::string& path, const std::string& content,
                                               const std::string& hash) {
  ParsedFile parsed;
  parsed.hash = hash;
  parsed.size = content.size();
  if (absl::StripAsciiWhitespace(content).empty()) {
    return parsed;  // An empty file (e.g. being written) holds no resources.
  }
  envoy::service::discovery::v3::DiscoveryResponse file;
  const auto status =
      Config::loadMessageFromString(content, Config::formatFromPath(path), path, file);
  if (!status.ok()) {
    parsed.error = std::string(status.message());
    return parsed;
  }
  const std::vector<int> lines = resourceItemLines(content);
  const bool lines_match = lines.size() == static_cast<size_t>(file.resources_size());
  for (int i = 0; i < file.resources_size(); ++i) {
    std::string where = lines_match ? absl::StrCat(path, ":", lines[i])
                                    : absl::StrCat(path, ": resources[", i, "]");
    parsed.resources.push_back({std::move(where), std::move(*file.mutable_resources(i))});
  }
  return parsed;
}

absl::StatusOr<SnapshotConstSharedPtr> loadGroupDirectory(const std::string& group_dir) {
  GroupLoader loader;
  return loader.load(group_dir);
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

absl::Status ConfigDirSource::reload() {
  auto names = listDirectory(dir_, /*directories=*/true);
  if (!names.ok()) {
    SKIFF_LOG(error, "config dir: %s", names.status().message());
    return names.status();
  }
  const std::set<std::string> present(names->begin(), names->end());
  for (const auto& group : present) {
    GroupState& state = groups_[group];
    GroupLoader& loader = loaders_[group];
    const uint64_t parsed_before = loader.filesParsed();
    auto snapshot = loader.load(absl::StrCat(dir_, "/", group));
    files_parsed_.add(loader.filesParsed() - parsed_before);
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
    if (!state.last_error.empty()) {
      SKIFF_LOG(info, "group \"%s\": configuration valid again", group);
    }
    state.last_error.clear();
    if ((*snapshot)->version() == state.version) {
      continue;
    }
    SKIFF_LOG(info, "group \"%s\": version %s (%d resources)%s", group, (*snapshot)->version(),
              (*snapshot)->resourceCount(),
              state.version.empty() ? "" : absl::StrCat(", was ", state.version));
    state.version = (*snapshot)->version();
    state.resources = (*snapshot)->resourceCount();
    state.updated = absl::Now();
    updates_.inc();
    cache_.setSnapshot(group, *snapshot);
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
    loaders_.erase(it->first);
    it = groups_.erase(it);
  }
  groups_gauge_.set(static_cast<int64_t>(groups_.size()));
  ready_ = true;
  return absl::OkStatus();
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
        ",\"resources\":", state.resources, ",\"last_error\":", Json::quote(state.last_error),
        ",\"updated\":",
        Json::quote(state.version.empty()
                        ? ""
                        : absl::FormatTime(absl::RFC3339_sec, state.updated, absl::UTCTimeZone())),
        "}"));
  }
  return absl::StrCat("{\"dir\":", Json::quote(dir_), ",\"groups\":[", absl::StrJoin(entries, ","),
                      "]}");
}

}  // namespace Skiff::Control
