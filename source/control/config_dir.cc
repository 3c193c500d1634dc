#include "source/control/config_dir.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "source/common/common/logger.h"
#include "source/common/config/message_loader.h"
#include "source/common/config/validation.h"
#include "source/control/json.h"

namespace Skiff::Control {

namespace fs = std::filesystem;
using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using envoy::config::listener::v3::Listener;

namespace {

// Release builds link protobuf statically with --gc-sections: a type that is only ever named by
// an "@type" in a file must be referenced from code to stay in the descriptor pool.
void keepTypesLinked() {
  static const Listener* listener = &Listener::default_instance();
  static const Cluster* cluster = &Cluster::default_instance();
  static const ClusterLoadAssignment* cla = &ClusterLoadAssignment::default_instance();
  static const envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy* tcp_proxy =
      &envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy::default_instance();
  (void)listener;
  (void)cluster;
  (void)cla;
  (void)tcp_proxy;
}

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
      in_resources = absl::StartsWith(line, "resources:") &&
                     absl::StripAsciiWhitespace(line.substr(10)).empty();
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

struct Located {
  std::string where;  // "file:line" or "file"
  google::protobuf::Any any;
};

// Accumulates "where: reason" lines.
class Errors {
 public:
  void add(const std::string& where, absl::string_view reason) {
    // Validator messages may hold several lines; each gets the location.
    for (absl::string_view line : absl::StrSplit(reason, '\n', absl::SkipEmpty())) {
      lines_.push_back(absl::StrCat(where, ": ", line));
    }
  }
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

absl::StatusOr<SnapshotConstSharedPtr> loadGroupDirectory(const std::string& group_dir) {
  keepTypesLinked();
  auto files = listDirectory(group_dir, /*directories=*/false);
  if (!files.ok()) {
    return files.status();
  }
  Errors errors;
  std::vector<Located> resources;
  for (const auto& name : *files) {
    const std::string path = absl::StrCat(group_dir, "/", name);
    auto content = readFile(path);
    if (!content.ok()) {
      errors.addRaw(content.status().message());
      continue;
    }
    if (absl::StripAsciiWhitespace(*content).empty()) {
      continue;  // An empty file (e.g. being written) holds no resources.
    }
    envoy::service::discovery::v3::DiscoveryResponse file;
    const auto status =
        Config::loadMessageFromString(*content, Config::formatFromPath(path), path, file);
    if (!status.ok()) {
      errors.addRaw(status.message());
      continue;
    }
    const std::vector<int> lines = resourceItemLines(*content);
    for (int i = 0; i < file.resources_size(); ++i) {
      std::string where = static_cast<size_t>(i) < lines.size() &&
                                  lines.size() == static_cast<size_t>(file.resources_size())
                              ? absl::StrCat(path, ":", lines[i])
                              : absl::StrCat(path, ": resources[", i, "]");
      resources.push_back({std::move(where), file.resources(i)});
    }
  }

  // Decode every resource and check names.
  std::map<std::string, std::pair<Cluster, std::string>> clusters;
  std::map<std::string, std::pair<ClusterLoadAssignment, std::string>> assignments;
  std::map<std::string, std::pair<Listener, std::string>> listeners;
  const auto duplicate = [&errors](const std::string& where, absl::string_view type,
                                   const std::string& name, const std::string& first) {
    errors.add(where, absl::StrCat("duplicate ", type, " name \"", name, "\" (first defined at ",
                                   first, ")"));
  };
  for (const auto& resource : resources) {
    const std::string& type_url = resource.any.type_url();
    if (type_url == TypeUrl::kCluster) {
      Cluster cluster;
      resource.any.UnpackTo(&cluster);
      if (cluster.name().empty()) {
        errors.add(resource.where, "cluster has no name");
      } else if (auto it = clusters.find(cluster.name()); it != clusters.end()) {
        duplicate(resource.where, "cluster", cluster.name(), it->second.second);
      } else {
        std::string name = cluster.name();
        clusters.emplace(std::move(name), std::make_pair(std::move(cluster), resource.where));
      }
    } else if (type_url == TypeUrl::kEndpoint) {
      ClusterLoadAssignment cla;
      resource.any.UnpackTo(&cla);
      if (cla.cluster_name().empty()) {
        errors.add(resource.where, "cluster load assignment has no cluster_name");
      } else if (auto it = assignments.find(cla.cluster_name()); it != assignments.end()) {
        duplicate(resource.where, "cluster load assignment", cla.cluster_name(), it->second.second);
      } else {
        std::string name = cla.cluster_name();
        assignments.emplace(std::move(name), std::make_pair(std::move(cla), resource.where));
      }
    } else if (type_url == TypeUrl::kListener) {
      Listener listener;
      resource.any.UnpackTo(&listener);
      if (listener.name().empty()) {
        errors.add(resource.where, "listener has no name");
      } else if (auto it = listeners.find(listener.name()); it != listeners.end()) {
        duplicate(resource.where, "listener", listener.name(), it->second.second);
      } else {
        std::string name = listener.name();
        listeners.emplace(std::move(name), std::make_pair(std::move(listener), resource.where));
      }
    } else {
      errors.add(resource.where, absl::StrCat("resource type ", type_url,
                                              " is not supported (supported: Listener, Cluster, "
                                              "ClusterLoadAssignment)"));
    }
  }

  // Semantic checks, with references resolved inside the group.
  Config::KnownClusters known;
  for (const auto& [name, entry] : clusters) {
    known.add(name);
    const auto status =
        Config::validateCluster(entry.first, absl::StrCat("cluster \"", name, "\""));
    if (!status.ok()) {
      errors.add(entry.second, status.message());
    }
  }
  for (const auto& [name, entry] : assignments) {
    const auto cluster = clusters.find(name);
    const bool require_ip = cluster == clusters.end() ||
                            cluster->second.first.type() == Cluster::STATIC ||
                            cluster->second.first.type() == Cluster::EDS;
    const auto status = Config::validateClusterLoadAssignment(
        entry.first, absl::StrCat("cluster load assignment \"", name, "\""), require_ip);
    if (!status.ok()) {
      errors.add(entry.second, status.message());
    }
    if (cluster == clusters.end()) {
      SKIFF_LOG(warn, "%s: endpoints for cluster \"%s\", which this group does not define",
                entry.second, name);
    }
  }
  std::map<std::string, std::string> addresses;  // "ip:port" -> listener name
  for (const auto& [name, entry] : listeners) {
    const auto status =
        Config::validateListener(entry.first, known, absl::StrCat("listener \"", name, "\""));
    if (!status.ok()) {
      errors.add(entry.second, status.message());
    }
    const auto& socket = entry.first.address().socket_address();
    const std::string address = absl::StrCat(socket.address(), ":", socket.port_value());
    if (auto [it, inserted] = addresses.emplace(address, name); !inserted) {
      errors.add(entry.second, absl::StrCat("listener \"", name, "\": address ", address,
                                            " is already used by listener \"", it->second, "\""));
    }
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(errors.joined());
  }

  Snapshot::Builder builder;
  for (const auto& [name, entry] : clusters) {
    (void)builder.add(entry.first);
  }
  for (const auto& [name, entry] : assignments) {
    (void)builder.add(entry.first);
  }
  for (const auto& [name, entry] : listeners) {
    (void)builder.add(entry.first);
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

absl::Status ConfigDirSource::reload() {
  auto names = listDirectory(dir_, /*directories=*/true);
  if (!names.ok()) {
    SKIFF_LOG(error, "config dir: %s", names.status().message());
    return names.status();
  }
  const std::set<std::string> present(names->begin(), names->end());
  for (const auto& group : present) {
    GroupState& state = groups_[group];
    auto snapshot = loadGroupDirectory(absl::StrCat(dir_, "/", group));
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
