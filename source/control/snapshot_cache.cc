#include "source/control/snapshot_cache.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace Skiff::Control {

const std::vector<std::string>& pushOrder() {
  static const auto* order =
      new std::vector<std::string>{std::string(TypeUrl::kCluster), std::string(TypeUrl::kEndpoint),
                                   std::string(TypeUrl::kListener), std::string(TypeUrl::kRoute)};
  return *order;
}

bool isKnownType(absl::string_view type_url) {
  for (const auto& known : pushOrder()) {
    if (known == type_url) {
      return true;
    }
  }
  return false;
}

std::string contentHash(absl::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return absl::StrFormat("%016x", hash);
}

std::string serializeDeterministic(const google::protobuf::Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }  // The CodedOutputStream flushes into `out` when destroyed.
  return out;
}

std::string resourceSetVersion(const ResourceMap& resources) {
  std::string material = "set:";
  for (const auto& [name, resource] : resources) {
    // Length-prefixed so ("ab","c") and ("a","bc") differ.
    absl::StrAppend(&material, name.size(), ":", name, "=", resource->version, ";");
  }
  return contentHash(material);
}

namespace {

// The resource's name by reflection: `name`, or `cluster_name` (ClusterLoadAssignment).
std::string resourceName(const google::protobuf::Message& message) {
  const auto* descriptor = message.GetDescriptor();
  const auto* field = descriptor->FindFieldByName("name");
  if (field == nullptr) {
    field = descriptor->FindFieldByName("cluster_name");
  }
  if (field == nullptr || field->type() != google::protobuf::FieldDescriptor::TYPE_STRING ||
      field->is_repeated()) {
    return "";
  }
  return message.GetReflection()->GetString(message, field);
}

}  // namespace

absl::Status Snapshot::Builder::add(const google::protobuf::Message& resource) {
  google::protobuf::Any any;
  any.set_type_url(absl::StrCat("type.googleapis.com/", resource.GetDescriptor()->full_name()));
  any.set_value(serializeDeterministic(resource));
  return addPacked(resourceName(resource), std::move(any));
}

absl::Status Snapshot::Builder::addPacked(std::string name, google::protobuf::Any any) {
  if (!isKnownType(any.type_url())) {
    return absl::InvalidArgumentError(
        absl::StrCat("resource type ", any.type_url(), " is not served by skiff-control"));
  }
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(any.type_url(), ": resource has no name"));
  }
  auto& by_name = resources_[any.type_url()];
  if (by_name.contains(name)) {
    return absl::AlreadyExistsError(absl::StrCat("duplicate ", any.type_url(), " \"", name, "\""));
  }
  auto resource = std::make_shared<Resource>();
  resource->name = name;
  resource->version = contentHash(absl::StrCat(any.type_url(), "\n", any.value()));
  resource->any = std::move(any);
  by_name.emplace(std::move(name), std::move(resource));
  return absl::OkStatus();
}

SnapshotConstSharedPtr Snapshot::Builder::build(std::string version) && {
  if (version.empty()) {
    std::string material;
    for (const auto& [type_url, by_name] : resources_) {
      absl::StrAppend(&material, type_url, "=", resourceSetVersion(by_name), ";");
    }
    version = contentHash(material);
  }
  return SnapshotConstSharedPtr(new Snapshot(std::move(version), std::move(resources_)));
}

const ResourceMap& Snapshot::resources(absl::string_view type_url) const {
  static const auto* empty = new ResourceMap();
  const auto it = resources_.find(type_url);
  return it == resources_.end() ? *empty : it->second;
}

Snapshot::Snapshot(std::string version, std::map<std::string, ResourceMap, std::less<>> resources)
    : version_(std::move(version)), resources_(std::move(resources)) {
  for (const auto& [type_url, by_name] : resources_) {
    type_versions_.emplace(type_url, resourceSetVersion(by_name));
  }
}

std::string Snapshot::typeVersion(absl::string_view type_url) const {
  const auto it = type_versions_.find(type_url);
  return it == type_versions_.end() ? "" : it->second;
}

size_t Snapshot::resourceCount() const {
  size_t count = 0;
  for (const auto& [type_url, by_name] : resources_) {
    count += by_name.size();
  }
  return count;
}

std::string SnapshotCache::groupForLocked(absl::string_view id, absl::string_view cluster) const {
  if (!id.empty() && snapshots_.contains(id)) {
    return std::string(id);
  }
  if (!cluster.empty() && snapshots_.contains(cluster)) {
    return std::string(cluster);
  }
  return std::string(kDefaultGroup);
}

std::string SnapshotCache::groupFor(const envoy::config::core::v3::Node& node) const {
  Thread::LockGuard lock(mutex_);
  return groupForLocked(node.id(), node.cluster());
}

std::vector<SnapshotCache::Notification> SnapshotCache::replanLocked(
    const std::string& changed_group) {
  std::vector<Notification> notifications;
  for (auto& [id, watch] : watches_) {
    std::string group = groupForLocked(watch.node_id, watch.node_cluster);
    if (group == watch.group && group != changed_group) {
      continue;
    }
    watch.group = group;
    const auto it = snapshots_.find(group);
    notifications.push_back({watch.watcher, group, it == snapshots_.end() ? nullptr : it->second});
  }
  return notifications;
}

void SnapshotCache::update(const std::string& group, SnapshotConstSharedPtr snapshot) {
  Thread::LockGuard notify_lock(notify_mutex_);
  std::vector<Notification> notifications;
  {
    Thread::LockGuard lock(mutex_);
    if (snapshot == nullptr) {
      snapshots_.erase(group);
    } else {
      snapshots_[group] = std::move(snapshot);
    }
    notifications = replanLocked(group);
  }
  for (auto& notification : notifications) {
    notification.watcher->onSnapshot(notification.group, std::move(notification.snapshot));
  }
}

void SnapshotCache::setSnapshot(const std::string& group, SnapshotConstSharedPtr snapshot) {
  update(group, std::move(snapshot));
}

void SnapshotCache::clearSnapshot(const std::string& group) { update(group, nullptr); }

SnapshotConstSharedPtr SnapshotCache::getSnapshot(absl::string_view group) const {
  Thread::LockGuard lock(mutex_);
  const auto it = snapshots_.find(group);
  return it == snapshots_.end() ? nullptr : it->second;
}

std::vector<std::string> SnapshotCache::groups() const {
  Thread::LockGuard lock(mutex_);
  std::vector<std::string> names;
  for (const auto& [name, snapshot] : snapshots_) {
    names.push_back(name);
  }
  return names;
}

SnapshotCache::WatchResult SnapshotCache::watch(const envoy::config::core::v3::Node& node,
                                                SnapshotWatcherSharedPtr watcher) {
  Thread::LockGuard lock(mutex_);
  const uint64_t id = next_watch_id_++;
  std::string group = groupForLocked(node.id(), node.cluster());
  watches_[id] = Watch{node.id(), node.cluster(), group, std::move(watcher)};
  const auto it = snapshots_.find(group);
  return {id, std::move(group), it == snapshots_.end() ? nullptr : it->second};
}

void SnapshotCache::cancelWatch(uint64_t id) {
  Thread::LockGuard lock(mutex_);
  watches_.erase(id);
}

size_t SnapshotCache::watchCount() const {
  Thread::LockGuard lock(mutex_);
  return watches_.size();
}

}  // namespace Skiff::Control
