#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace Skiff::Stats {

// Stats are Envoy-style: dotted names ("cluster.backend.upstream_cx_total"), created once on the
// main thread at configuration time, then updated from any thread without locks. Every write goes
// to memory owned by the calling thread; a read sums all threads' copies.
//
// Stats are never removed. A cluster or listener that goes away simply stops updating its stats;
// the memory cost is a few dozen bytes per stat per thread that touched it, and never freeing
// means a reference handed out by Store stays valid for the Store's whole life without any
// reference counting on the hot path.

/**
 * What every stat has. name() and used() may be called from any thread.
 */
class Metric {
 public:
  virtual ~Metric() = default;

  virtual const std::string& name() const = 0;

  // True once the stat has been written at least once. Admin's "?usedonly" hides the rest: most
  // per-cluster stats of a quiet proxy are never touched.
  virtual bool used() const = 0;
};

/**
 * A monotonically increasing count. inc()/add() are lock-free from any thread; value() from any
 * thread sums all threads' shards (it takes the store's lock, so keep it off hot paths).
 */
class Counter : public Metric {
 public:
  virtual void inc() = 0;
  virtual void add(uint64_t amount) = 0;
  virtual uint64_t value() const = 0;
};

/**
 * A value that goes up and down (active connections). inc()/dec()/add()/sub() are lock-free from
 * any thread; one thread's shard may go negative (a connection opened on one worker and closed on
 * another), only the sum is meaningful.
 *
 * set() is for gauges written only by the main thread (e.g. "total_listeners_active"): it adds
 * (target - current sum) to the caller's shard, which is exact only if no other thread writes the
 * gauge concurrently.
 */
class Gauge : public Metric {
 public:
  virtual void inc() = 0;
  virtual void dec() = 0;
  virtual void add(int64_t amount) = 0;
  virtual void sub(int64_t amount) = 0;
  virtual void set(int64_t value) = 0;
  virtual int64_t value() const = 0;
};

/**
 * A merged, point-in-time view of a histogram. Plain data; any thread.
 */
struct HistogramSnapshot {
  uint64_t count = 0;
  uint64_t sum = 0;
  uint64_t min = 0;  // meaningful only when count > 0
  uint64_t max = 0;  // meaningful only when count > 0

  // Disjoint counts per log-linear bucket; see HistogramBuckets for the bucket bounds.
  std::vector<uint64_t> bucket_counts;

  // Disjoint counts per Prometheus bucket: [i] counts values in (bound[i-1], bound[i]] of
  // HistogramBuckets::prometheusBounds(), the last entry counts values above the largest bound.
  std::vector<uint64_t> prometheus_counts;

  // Estimates for supportedQuantiles(), in the same order; NaN when count == 0.
  std::vector<double> quantiles;

  // The quantiles Envoy prints (P0 P25 P50 P75 P90 P95 P99 P99.5 P99.9 P100), as fractions.
  static const std::vector<double>& supportedQuantiles();

  // Estimates the q-quantile (0 <= q <= 1) by linear interpolation inside the log-linear bucket
  // that holds it; q == 0 and q == 1 are the exact min and max. NaN when empty.
  double quantile(double q) const;
};

/**
 * Fixed log-linear bucket layout shared by every histogram: values 0..3 each get a bucket, then
 * every power of two [2^e, 2^(e+1)) is split into 4 equal sub-buckets, up to 2^40; larger values
 * share one overflow bucket. The widest bucket is 1/4 of its lower bound, so a quantile estimate is
 * within 25% (usually much better after interpolation).
 */
namespace HistogramBuckets {

inline constexpr int kSubBucketBits = 2;
inline constexpr int kMaxExponent = 40;  // values >= 2^40 go to the overflow bucket
inline constexpr size_t kNumBuckets =
    (size_t{1} << kSubBucketBits) +
    (kMaxExponent - kSubBucketBits) * (size_t{1} << kSubBucketBits) + 1;

size_t bucketIndex(uint64_t value);
// Inclusive lower bound of bucket `index`.
uint64_t lowerBound(size_t index);
// Exclusive upper bound of bucket `index`; UINT64_MAX for the overflow bucket.
uint64_t upperBound(size_t index);

// The "le" bounds Envoy uses for its Prometheus histograms by default (0.5 .. 3600000). Skiff
// keeps an exact count per bound so dashboards built for Envoy compute the same
// histogram_quantile() results.
const std::vector<double>& prometheusBounds();
// Index into prometheusBounds() of the first bound >= value, or prometheusBounds().size().
size_t prometheusIndex(uint64_t value);

}  // namespace HistogramBuckets

/**
 * A distribution of unsigned integer samples (latencies, sizes). recordValue() is lock-free from
 * any thread; snapshot() from any thread merges all threads' buckets (takes the store's lock).
 */
class Histogram : public Metric {
 public:
  // Only informational: it is not part of the name and no unit conversion is done on output
  // (Envoy's names already say "_ms").
  enum class Unit { Unspecified, Bytes, Microseconds, Milliseconds };

  virtual Unit unit() const = 0;
  virtual void recordValue(uint64_t value) = 0;
  virtual HistogramSnapshot snapshot() const = 0;
};

/**
 * Owns every stat of the process. One per process, owned by main, and it must outlive every
 * thread's last use of its stats.
 *
 * counter()/gauge()/histogram() may be called from any thread (they take a lock) but belong at
 * configuration time on the main thread: look a stat up once and keep the reference. The same
 * name returns the same object; the reference is valid for the store's life. Counters, gauges and
 * histograms have separate name spaces; a histogram's unit is fixed by its first lookup.
 *
 * forEach*() visit the stats of one kind sorted by name, from any thread. The callback must not
 * create stats.
 */
class Store {
 public:
  virtual ~Store() = default;

  virtual Counter& counter(absl::string_view name) = 0;
  virtual Gauge& gauge(absl::string_view name) = 0;
  virtual Histogram& histogram(absl::string_view name, Histogram::Unit unit) = 0;

  virtual void forEachCounter(const std::function<void(const Counter&)>& cb) const = 0;
  virtual void forEachGauge(const std::function<void(const Gauge&)>& cb) const = 0;
  virtual void forEachHistogram(const std::function<void(const Histogram&)>& cb) const = 0;
};

using StorePtr = std::unique_ptr<Store>;

}  // namespace Skiff::Stats
