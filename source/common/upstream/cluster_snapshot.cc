#include "source/common/upstream/cluster_snapshot.h"

#include "absl/hash/hash.h"

namespace Skiff::Upstream {

size_t ClusterSnapshot::shardOf(absl::string_view name) {
  // The top bits: a shard's map places and tags its keys by the low bits of the same hash, which
  // would all be equal within a shard if the shard came from them.
  return absl::Hash<absl::string_view>{}(name) >> (64 - 8);
}
static_assert(ClusterSnapshot::kShards == 256, "shardOf() takes 8 bits");

const ClusterInfoConstSharedPtr* ClusterSnapshot::find(absl::string_view name) const {
  const Shard* shard = shards_[shardOf(name)].get();
  if (shard == nullptr) {
    return nullptr;
  }
  auto it = shard->find(name);
  return it == shard->end() ? nullptr : &it->second;
}

std::shared_ptr<const ClusterSnapshot> ClusterSnapshot::update(
    const std::vector<ClusterInfoConstSharedPtr>& upserts,
    const std::vector<std::string>& removes) const {
  auto next = std::make_shared<ClusterSnapshot>(*this);
  // Each touched shard is copied once, however many of its clusters change.
  std::array<Shard*, kShards> copied{};
  auto writable = [&](size_t index) -> Shard& {
    if (copied[index] == nullptr) {
      const Shard* old = shards_[index].get();
      auto fresh = old != nullptr ? std::make_shared<Shard>(*old) : std::make_shared<Shard>();
      copied[index] = fresh.get();
      next->shards_[index] = std::move(fresh);
    }
    return *copied[index];
  };
  for (const ClusterInfoConstSharedPtr& info : upserts) {
    Shard& shard = writable(shardOf(info->name));
    auto it = shard.find(info->name);
    if (it != shard.end()) {
      // Re-keyed: the old key views the old info's name.
      ClusterInfoConstSharedPtr keep = std::move(it->second);
      shard.erase(it);
    } else {
      ++next->size_;
    }
    shard.emplace(absl::string_view(info->name), info);
  }
  for (const std::string& name : removes) {
    const size_t index = shardOf(name);
    if (copied[index] == nullptr &&
        (shards_[index] == nullptr || !shards_[index]->contains(name))) {
      continue;  // Not here: no need to copy the shard.
    }
    Shard& shard = writable(index);
    auto it = shard.find(name);
    if (it != shard.end()) {
      // Erase before the info (which the key views) can go.
      ClusterInfoConstSharedPtr keep = std::move(it->second);
      shard.erase(it);
      --next->size_;
    }
  }
  return next;
}

size_t ClusterSnapshot::differingShardsForTest(const ClusterSnapshot& other) const {
  size_t n = 0;
  for (size_t i = 0; i < kShards; ++i) {
    n += shards_[i] != other.shards_[i];
  }
  return n;
}

}  // namespace Skiff::Upstream
