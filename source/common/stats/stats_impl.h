#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "source/common/stats/stats.h"

namespace Skiff::Stats {

namespace Detail {
class StoreCore;
class CounterImpl;
class GaugeImpl;
class HistogramImpl;
}  // namespace Detail

/**
 * The Store implementation: per-thread shards, summed on read.
 *
 * Each stat is a slot number. Each thread that writes a stat gets its own shard of this store: a
 * set of chunked arrays of relaxed atomics (4 KiB chunks of 512 counters/gauges, chunks of 4
 * histograms), created on the thread's first write and registered with the store. A write is
 * "find my shard through a thread_local cache, load and store my own slot": no lock, no
 * read-modify-write instruction, no cache line shared with another writer. Chunks never move once
 * created, and a chunk is only allocated in a thread that touches a stat in it, so an idle thread
 * costs nothing and memory grows with stats actually used per thread.
 *
 * Readers (value(), snapshot()) take the store's lock, which guards the list of shards, and sum
 * the slot over all shards plus a "retired" shard. When a thread exits, a thread_local destructor
 * folds its shard into the retired shard under the same lock, so counts survive the thread and a
 * reader never sees them twice or not at all.
 *
 * Thread rules are those of Store. The store must be destroyed after every thread has stopped
 * writing its stats; threads may outlive it (their registration is dropped harmlessly).
 */
class StoreImpl : public Store {
 public:
  StoreImpl();
  ~StoreImpl() override;

  Counter& counter(absl::string_view name) override;
  Gauge& gauge(absl::string_view name) override;
  Histogram& histogram(absl::string_view name, Histogram::Unit unit) override;

  void forEachCounter(const std::function<void(const Counter&)>& cb) const override;
  void forEachGauge(const std::function<void(const Gauge&)>& cb) const override;
  void forEachHistogram(const std::function<void(const Histogram&)>& cb) const override;

  // Number of threads currently holding a shard of this store (exited threads are folded away).
  size_t liveShardCountForTest() const;

 private:
  // Declared first so it is destroyed last: stats point into it.
  std::shared_ptr<Detail::StoreCore> core_;

  // By name; the key views the stat's own name (a stat never moves or goes away), so a name is
  // stored once, and carries its hash, so growing the table does not read every name again.
  // Hashed rather than sorted: with 100,000 clusters there are millions of names sharing long
  // prefixes ("cluster.c000123."), and a tree lookup's ~22 string comparisons made creating a
  // cluster's stats most of the cost of a big CDS update. forEach*() sort instead.
  struct NameKey {
    absl::string_view name;
    size_t hash;
  };
  struct NameKeyHash {
    size_t operator()(const NameKey& key) const { return key.hash; }
  };
  struct NameKeyEq {
    bool operator()(const NameKey& a, const NameKey& b) const {
      return a.hash == b.hash && a.name == b.name;
    }
  };
  template <class T>
  using NameMap = absl::flat_hash_map<NameKey, std::unique_ptr<T>, NameKeyHash, NameKeyEq>;
  static NameKey keyOf(absl::string_view name);

  mutable absl::Mutex names_mu_;
  NameMap<Detail::CounterImpl> counters_ ABSL_GUARDED_BY(names_mu_);
  NameMap<Detail::GaugeImpl> gauges_ ABSL_GUARDED_BY(names_mu_);
  NameMap<Detail::HistogramImpl> histograms_ ABSL_GUARDED_BY(names_mu_);
  uint32_t next_scalar_ ABSL_GUARDED_BY(names_mu_) = 0;
  uint32_t next_histogram_ ABSL_GUARDED_BY(names_mu_) = 0;
};

}  // namespace Skiff::Stats
