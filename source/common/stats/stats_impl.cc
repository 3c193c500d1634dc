#include "source/common/stats/stats_impl.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/hash/hash.h"

#if defined(__SANITIZE_THREAD__)
#define SKIFF_STATS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SKIFF_STATS_TSAN 1
#endif
#endif
#ifdef SKIFF_STATS_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace Skiff::Stats {

namespace Detail {

namespace {

/**
 * absl::MutexLock plus ThreadSanitizer hints. Debian's abseil is not built with
 * -fsanitize=thread, so TSAN cannot see absl::Mutex's happens-before edges and reports false
 * races on everything a Mutex guards (reproduced with a 10-line program). Telling TSAN about the
 * acquire/release keeps `--config=tsan` meaningful for the lock-free parts. Null `mu` = no-op,
 * for callers that already hold the lock.
 */
class ABSL_SCOPED_LOCKABLE Lock {
 public:
  explicit Lock(absl::Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    if (mu_ != nullptr) {
      mu_->Lock();
#ifdef SKIFF_STATS_TSAN
      __tsan_acquire(mu_);
#endif
    }
  }
  ~Lock() ABSL_UNLOCK_FUNCTION() {
    if (mu_ != nullptr) {
#ifdef SKIFF_STATS_TSAN
      __tsan_release(mu_);
#endif
      mu_->Unlock();
    }
  }

  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

 private:
  absl::Mutex* const mu_;
};

// Adds to a slot that only the calling thread writes (or that the caller guards with the store's
// lock). A plain load+store instead of fetch_add: there is no other writer to race with, and it
// avoids a locked instruction on every increment. Readers on other threads see either value.
inline void bump(std::atomic<uint64_t>& slot, uint64_t amount) {
  slot.store(slot.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
}

inline void raise(std::atomic<uint64_t>& slot, uint64_t candidate) {
  if (candidate > slot.load(std::memory_order_relaxed)) {
    slot.store(candidate, std::memory_order_relaxed);
  }
}

// Layout of one histogram's slots in a shard.
constexpr size_t kHistSum = 0;
constexpr size_t kHistMax = 1;
// Stores ~min so that "bigger is better" like max and a zeroed slot means "no sample yet".
constexpr size_t kHistInvMin = 2;
constexpr size_t kHistBuckets = 3;
constexpr size_t kHistPrometheus = kHistBuckets + HistogramBuckets::kNumBuckets;
constexpr size_t kNumPrometheusCounts = 20;  // 19 Envoy bounds + the overflow
constexpr size_t kHistogramSlots = kHistPrometheus + kNumPrometheusCounts;

constexpr size_t kScalarsPerChunk = 512;  // 4 KiB
constexpr size_t kHistogramsPerChunk = 4;

// Aligned so two threads' chunks never share a cache line at their edges.
template <size_t N>
struct alignas(64) Chunk {
  std::atomic<uint64_t> slots[N]{};
};

/**
 * Slots in chunks that never move. The owning thread reads `chunks_` without a lock (it is the
 * only writer of the vector) and takes `grow_mu` only to add a chunk; other threads read it only
 * while holding that same lock.
 */
template <size_t N>
class ChunkedSlots {
 public:
  static constexpr size_t kSlotsPerChunk = N;

  // Owner: the slot, allocating its chunk on first touch. `grow_mu` is null when the caller
  // already holds the store's lock.
  // Always inlined: it runs on every counter update, and the call cost more than the work.
  ABSL_ATTRIBUTE_ALWAYS_INLINE std::atomic<uint64_t>& slot(size_t index, absl::Mutex* grow_mu) {
    const size_t chunk = index / N;
    if (ABSL_PREDICT_FALSE(chunk >= chunks_.size() || chunks_[chunk] == nullptr)) {
      grow(chunk, grow_mu);
    }
    return chunks_[chunk]->slots[index % N];
  }

  // Reader under the store's lock: the slot or null if this shard never touched its chunk.
  const std::atomic<uint64_t>* find(size_t index) const {
    const size_t chunk = index / N;
    if (chunk >= chunks_.size() || chunks_[chunk] == nullptr) {
      return nullptr;
    }
    return &chunks_[chunk]->slots[index % N];
  }

  uint64_t load(size_t index) const {
    const std::atomic<uint64_t>* s = find(index);
    return s == nullptr ? 0 : s->load(std::memory_order_relaxed);
  }

  size_t chunkCount() const { return chunks_.size(); }

 private:
  ABSL_ATTRIBUTE_NOINLINE void grow(size_t chunk, absl::Mutex* grow_mu) {
    Lock lock(grow_mu);
    if (chunk >= chunks_.size()) {
      chunks_.resize(chunk + 1);
    }
    chunks_[chunk] = std::make_unique<Chunk<N>>();
  }

  std::vector<std::unique_ptr<Chunk<N>>> chunks_;
};

}  // namespace

/**
 * One thread's copy of every stat it has written (or, for the store's retired shard, the folded
 * totals of exited threads).
 */
struct Shard {
  explicit Shard(absl::Mutex* grow_mu) : grow_mu_(grow_mu) {}

  std::atomic<uint64_t>& scalar(uint32_t index) { return scalars_.slot(index, grow_mu_); }
  std::atomic<uint64_t>* histogram(uint32_t index) {
    return &histograms_.slot(size_t{index} * kHistogramSlots, grow_mu_);
  }

  // Null for the retired shard, whose every access already holds the store's lock.
  absl::Mutex* const grow_mu_;
  ChunkedSlots<kScalarsPerChunk> scalars_;
  ChunkedSlots<kHistogramsPerChunk * kHistogramSlots> histograms_;
};

/**
 * The part of a store that threads keep a weak reference to, so a thread exiting after the store
 * is gone notices and skips folding.
 */
class StoreCore : public std::enable_shared_from_this<StoreCore> {
 public:
  StoreCore() : id_(next_id_.fetch_add(1, std::memory_order_relaxed)), retired_(nullptr) {}

  // Runs `op` on the calling thread's shard; on a thread that is already tearing down its
  // thread_locals, on the retired shard under the lock instead, so late writes are not lost.
  template <class Op>
  void write(Op op) {
    Shard* shard = localShard();
    if (ABSL_PREDICT_TRUE(shard != nullptr)) {
      op(*shard);
      return;
    }
    Lock lock(&mu_);
    op(retired_);
  }

  uint64_t sumScalar(uint32_t index) const {
    Lock lock(&mu_);
    uint64_t total = retired_.scalars_.load(index);
    for (const auto& shard : shards_) {
      total += shard->scalars_.load(index);
    }
    return total;
  }

  HistogramSnapshot histogramSnapshot(uint32_t index) const;

  // Folds an exiting thread's shard into the retired totals and forgets it.
  void retire(Shard* shard);

  size_t liveShards() const {
    Lock lock(&mu_);
    return shards_.size();
  }

 private:
  Shard* localShard();
  Shard* localShardSlow();

  static std::atomic<uint64_t> next_id_;

  // Never reused, so a thread's cached (id, shard) pair can't match a newer store at the same
  // address.
  const uint64_t id_;
  mutable absl::Mutex mu_;
  // Written only under mu_; its grow_mu_ is null because of that.
  Shard retired_;
  std::vector<std::unique_ptr<Shard>> shards_ ABSL_GUARDED_BY(mu_);
};

std::atomic<uint64_t> StoreCore::next_id_{1};

namespace {

// The fast path: trivially destructible, so reading it needs no thread_local init guard.
struct TlsCache {
  uint64_t store_id = 0;
  Shard* shard = nullptr;
};
thread_local TlsCache tls_cache;
thread_local bool tls_exiting = false;

// Every store this thread has a shard in. Its destructor runs at thread exit and folds them.
struct ThreadShards {
  struct Entry {
    uint64_t store_id;
    std::weak_ptr<StoreCore> core;
    Shard* shard;
  };

  ~ThreadShards() {
    tls_exiting = true;
    tls_cache = TlsCache{};
    for (Entry& entry : entries) {
      if (std::shared_ptr<StoreCore> core = entry.core.lock()) {
        core->retire(entry.shard);
      }
    }
  }

  std::vector<Entry> entries;
};
thread_local ThreadShards tls_shards;

}  // namespace

Shard* StoreCore::localShard() {
  if (ABSL_PREDICT_TRUE(tls_cache.store_id == id_)) {
    return tls_cache.shard;
  }
  return localShardSlow();
}

Shard* StoreCore::localShardSlow() {
  if (tls_exiting) {
    return nullptr;
  }
  std::vector<ThreadShards::Entry>& entries = tls_shards.entries;
  // Drop registrations of stores that no longer exist (tests create many stores).
  entries.erase(std::remove_if(entries.begin(), entries.end(),
                               [](const ThreadShards::Entry& e) { return e.core.expired(); }),
                entries.end());
  Shard* shard = nullptr;
  for (const ThreadShards::Entry& entry : entries) {
    if (entry.store_id == id_) {
      shard = entry.shard;
      break;
    }
  }
  if (shard == nullptr) {
    Lock lock(&mu_);
    shards_.push_back(std::make_unique<Shard>(&mu_));
    shard = shards_.back().get();
    entries.push_back({id_, weak_from_this(), shard});
  }
  tls_cache = TlsCache{id_, shard};
  return shard;
}

void StoreCore::retire(Shard* shard) {
  Lock lock(&mu_);
  const size_t scalar_slots = shard->scalars_.chunkCount() * kScalarsPerChunk;
  for (size_t i = 0; i < scalar_slots; ++i) {
    const uint64_t value = shard->scalars_.load(i);
    if (value != 0) {
      bump(retired_.scalars_.slot(i, nullptr), value);
    }
  }
  const size_t histogram_count = shard->histograms_.chunkCount() * kHistogramsPerChunk;
  for (size_t h = 0; h < histogram_count; ++h) {
    const std::atomic<uint64_t>* from = shard->histograms_.find(h * kHistogramSlots);
    if (from == nullptr || (from[kHistMax].load(std::memory_order_relaxed) == 0 &&
                            from[kHistInvMin].load(std::memory_order_relaxed) == 0)) {
      continue;  // chunk not allocated, or this histogram never recorded on this thread
    }
    std::atomic<uint64_t>* to = retired_.histogram(static_cast<uint32_t>(h));
    for (size_t i = 0; i < kHistogramSlots; ++i) {
      const uint64_t value = from[i].load(std::memory_order_relaxed);
      if (i == kHistMax || i == kHistInvMin) {
        raise(to[i], value);
      } else {
        bump(to[i], value);
      }
    }
  }
  shards_.erase(
      std::find_if(shards_.begin(), shards_.end(),
                   [shard](const std::unique_ptr<Shard>& s) { return s.get() == shard; }));
}

HistogramSnapshot StoreCore::histogramSnapshot(uint32_t index) const {
  HistogramSnapshot snapshot;
  snapshot.bucket_counts.assign(HistogramBuckets::kNumBuckets, 0);
  snapshot.prometheus_counts.assign(kNumPrometheusCounts, 0);
  uint64_t max = 0;
  uint64_t inv_min = 0;
  auto merge = [&](const Shard& shard) {
    const std::atomic<uint64_t>* slots = shard.histograms_.find(size_t{index} * kHistogramSlots);
    if (slots == nullptr) {
      return;
    }
    snapshot.sum += slots[kHistSum].load(std::memory_order_relaxed);
    max = std::max(max, slots[kHistMax].load(std::memory_order_relaxed));
    inv_min = std::max(inv_min, slots[kHistInvMin].load(std::memory_order_relaxed));
    for (size_t i = 0; i < HistogramBuckets::kNumBuckets; ++i) {
      snapshot.bucket_counts[i] += slots[kHistBuckets + i].load(std::memory_order_relaxed);
    }
    for (size_t i = 0; i < kNumPrometheusCounts; ++i) {
      snapshot.prometheus_counts[i] += slots[kHistPrometheus + i].load(std::memory_order_relaxed);
    }
  };
  {
    Lock lock(&mu_);
    merge(retired_);
    for (const auto& shard : shards_) {
      merge(*shard);
    }
  }
  for (uint64_t c : snapshot.prometheus_counts) {
    snapshot.count += c;
  }
  if (snapshot.count > 0) {
    snapshot.max = max;
    snapshot.min = ~inv_min;
    // A reader racing a writer may see the bucket before min/max (relaxed, separate slots); keep
    // the pair ordered so quantile() never clamps into an empty range.
    snapshot.min = std::min(snapshot.min, snapshot.max);
  }
  for (double q : HistogramSnapshot::supportedQuantiles()) {
    snapshot.quantiles.push_back(snapshot.quantile(q));
  }
  return snapshot;
}

namespace {

// Set on first write. Checked before set so that after the first write every later write only
// reads this cache line, which stays shared between cores instead of bouncing.
inline void markUsed(std::atomic<bool>& used) {
  if (ABSL_PREDICT_FALSE(!used.load(std::memory_order_relaxed))) {
    used.store(true, std::memory_order_relaxed);
  }
}

}  // namespace

class CounterImpl : public Counter {
 public:
  CounterImpl(std::string name, StoreCore& core, uint32_t index)
      : name_(std::move(name)), core_(core), index_(index) {}

  const std::string& name() const override { return name_; }
  bool used() const override { return used_.load(std::memory_order_relaxed); }
  void inc() override { add(1); }
  void add(uint64_t amount) override {
    markUsed(used_);
    core_.write([this, amount](Shard& shard) { bump(shard.scalar(index_), amount); });
  }
  uint64_t value() const override { return core_.sumScalar(index_); }

 private:
  const std::string name_;
  StoreCore& core_;
  const uint32_t index_;
  std::atomic<bool> used_{false};
};

class GaugeImpl : public Gauge {
 public:
  GaugeImpl(std::string name, StoreCore& core, uint32_t index)
      : name_(std::move(name)), core_(core), index_(index) {}

  const std::string& name() const override { return name_; }
  bool used() const override { return used_.load(std::memory_order_relaxed); }
  void inc() override { add(1); }
  void dec() override { add(-1); }
  void sub(int64_t amount) override { add(-amount); }
  // Two's-complement wraparound: per-shard values may go "negative"; the sum is still exact.
  void add(int64_t amount) override {
    markUsed(used_);
    core_.write([this, amount](Shard& shard) {
      bump(shard.scalar(index_), static_cast<uint64_t>(amount));
    });
  }
  void set(int64_t value) override { add(value - this->value()); }
  int64_t value() const override { return static_cast<int64_t>(core_.sumScalar(index_)); }

 private:
  const std::string name_;
  StoreCore& core_;
  const uint32_t index_;
  std::atomic<bool> used_{false};
};

class HistogramImpl : public Histogram {
 public:
  HistogramImpl(std::string name, Unit unit, StoreCore& core, uint32_t index)
      : name_(std::move(name)), unit_(unit), core_(core), index_(index) {}

  const std::string& name() const override { return name_; }
  bool used() const override { return used_.load(std::memory_order_relaxed); }
  Unit unit() const override { return unit_; }
  void recordValue(uint64_t value) override {
    markUsed(used_);
    const size_t bucket = HistogramBuckets::bucketIndex(value);
    const size_t prometheus = HistogramBuckets::prometheusIndex(value);
    core_.write([&](Shard& shard) {
      std::atomic<uint64_t>* slots = shard.histogram(index_);
      bump(slots[kHistSum], value);
      raise(slots[kHistMax], value);
      raise(slots[kHistInvMin], ~value);
      bump(slots[kHistBuckets + bucket], 1);
      bump(slots[kHistPrometheus + prometheus], 1);
    });
  }
  HistogramSnapshot snapshot() const override { return core_.histogramSnapshot(index_); }

 private:
  const std::string name_;
  const Unit unit_;
  StoreCore& core_;
  const uint32_t index_;
  std::atomic<bool> used_{false};
};

static_assert(kNumPrometheusCounts == 20, "prometheusBounds() has 19 entries");

}  // namespace Detail

StoreImpl::StoreImpl() : core_(std::make_shared<Detail::StoreCore>()) {}

StoreImpl::~StoreImpl() = default;

using Detail::Lock;

StoreImpl::NameKey StoreImpl::keyOf(absl::string_view name) {
  return NameKey{name, absl::Hash<absl::string_view>{}(name)};
}

Counter& StoreImpl::counter(absl::string_view name) {
  const NameKey key = keyOf(name);
  Lock lock(&names_mu_);
  // One probe whether found or not: with millions of names, each probe is a cache miss.
  auto it = counters_.lazy_emplace(key, [&](const auto& construct) {
    auto stat = std::make_unique<Detail::CounterImpl>(std::string(name), *core_, next_scalar_++);
    const NameKey own{stat->name(), key.hash};
    construct(own, std::move(stat));
  });
  return *it->second;
}

Gauge& StoreImpl::gauge(absl::string_view name) {
  const NameKey key = keyOf(name);
  Lock lock(&names_mu_);
  // One probe whether found or not: with millions of names, each probe is a cache miss.
  auto it = gauges_.lazy_emplace(key, [&](const auto& construct) {
    auto stat = std::make_unique<Detail::GaugeImpl>(std::string(name), *core_, next_scalar_++);
    const NameKey own{stat->name(), key.hash};
    construct(own, std::move(stat));
  });
  return *it->second;
}

Histogram& StoreImpl::histogram(absl::string_view name, Histogram::Unit unit) {
  const NameKey key = keyOf(name);
  Lock lock(&names_mu_);
  // One probe whether found or not: with millions of names, each probe is a cache miss.
  auto it = histograms_.lazy_emplace(key, [&](const auto& construct) {
    auto stat =
        std::make_unique<Detail::HistogramImpl>(std::string(name), unit, *core_, next_histogram_++);
    const NameKey own{stat->name(), key.hash};
    construct(own, std::move(stat));
  });
  return *it->second;
}

namespace {

// Collects under the names lock, sorts and calls back without it: the callback reads values,
// which takes the core's lock, and stats never go away, so the pointers stay valid.
template <class T, class Map>
std::vector<const T*> collect(const Map& map) {
  std::vector<const T*> out;
  out.reserve(map.size());
  for (const auto& [name, stat] : map) {
    out.push_back(stat.get());
  }
  return out;
}

template <class T>
void sortByName(std::vector<const T*>& stats) {
  std::sort(stats.begin(), stats.end(),
            [](const T* a, const T* b) { return a->name() < b->name(); });
}

}  // namespace

void StoreImpl::forEachCounter(const std::function<void(const Counter&)>& cb) const {
  std::vector<const Counter*> stats;
  {
    Lock lock(&names_mu_);
    stats = collect<Counter>(counters_);
  }
  sortByName(stats);
  for (const Counter* stat : stats) {
    cb(*stat);
  }
}

void StoreImpl::forEachGauge(const std::function<void(const Gauge&)>& cb) const {
  std::vector<const Gauge*> stats;
  {
    Lock lock(&names_mu_);
    stats = collect<Gauge>(gauges_);
  }
  sortByName(stats);
  for (const Gauge* stat : stats) {
    cb(*stat);
  }
}

void StoreImpl::forEachHistogram(const std::function<void(const Histogram&)>& cb) const {
  std::vector<const Histogram*> stats;
  {
    Lock lock(&names_mu_);
    stats = collect<Histogram>(histograms_);
  }
  sortByName(stats);
  for (const Histogram* stat : stats) {
    cb(*stat);
  }
}

size_t StoreImpl::liveShardCountForTest() const { return core_->liveShards(); }

}  // namespace Skiff::Stats
