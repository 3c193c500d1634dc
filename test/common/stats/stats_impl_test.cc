#include "source/common/stats/stats_impl.h"

#include <atomic>
#include <cmath>
#include <future>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace Skiff::Stats {
namespace {

TEST(StoreImplTest, SameNameSameObject) {
  StoreImpl store;
  Counter& a = store.counter("cluster.a.upstream_cx_total");
  Counter& b = store.counter("cluster.a.upstream_cx_total");
  EXPECT_EQ(&a, &b);
  EXPECT_NE(static_cast<Metric*>(&a), static_cast<Metric*>(&store.counter("cluster.b.x")));
  EXPECT_EQ(&store.gauge("g"), &store.gauge("g"));
  Histogram& h = store.histogram("h", Histogram::Unit::Milliseconds);
  EXPECT_EQ(&h, &store.histogram("h", Histogram::Unit::Bytes));
  EXPECT_EQ(h.unit(), Histogram::Unit::Milliseconds);  // first lookup fixes the unit
  EXPECT_EQ(a.name(), "cluster.a.upstream_cx_total");
}

TEST(StoreImplTest, CounterAndGaugeBasics) {
  StoreImpl store;
  Counter& c = store.counter("c");
  EXPECT_EQ(c.value(), 0);
  EXPECT_FALSE(c.used());
  c.inc();
  c.add(5);
  EXPECT_EQ(c.value(), 6);
  EXPECT_TRUE(c.used());

  Gauge& g = store.gauge("g");
  g.inc();
  g.inc();
  g.dec();
  EXPECT_EQ(g.value(), 1);
  g.sub(3);
  EXPECT_EQ(g.value(), -2);
  g.set(7);
  EXPECT_EQ(g.value(), 7);
  g.set(0);
  EXPECT_EQ(g.value(), 0);
  EXPECT_TRUE(g.used());  // used even though back to zero
}

TEST(StoreImplTest, ManyStatsCrossChunks) {
  StoreImpl store;
  std::vector<Counter*> counters;
  for (int i = 0; i < 2000; ++i) {
    counters.push_back(&store.counter("c" + std::to_string(i)));
  }
  for (int i = 0; i < 2000; ++i) {
    counters[i]->add(i);
  }
  for (int i = 0; i < 2000; ++i) {
    EXPECT_EQ(counters[i]->value(), static_cast<uint64_t>(i));
  }
  std::vector<Histogram*> histograms;
  for (int i = 0; i < 10; ++i) {
    histograms.push_back(&store.histogram("h" + std::to_string(i), Histogram::Unit::Unspecified));
  }
  for (int i = 0; i < 10; ++i) {
    histograms[i]->recordValue(i);
  }
  for (int i = 0; i < 10; ++i) {
    HistogramSnapshot s = histograms[i]->snapshot();
    EXPECT_EQ(s.count, 1);
    EXPECT_EQ(s.sum, static_cast<uint64_t>(i));
    EXPECT_EQ(s.min, static_cast<uint64_t>(i));
    EXPECT_EQ(s.max, static_cast<uint64_t>(i));
  }
}

TEST(StoreImplTest, ConcurrentIncrementsSumExactly) {
  StoreImpl store;
  Counter& c1 = store.counter("c1");
  Counter& c2 = store.counter("c2");
  Gauge& g = store.gauge("g");
  Histogram& h = store.histogram("h", Histogram::Unit::Milliseconds);
  constexpr int kThreads = 6;
  constexpr int kIterations = 100000;

  std::atomic<bool> done{false};
  // A reader racing the writers sees a counter that never goes backwards.
  std::thread reader([&] {
    uint64_t last = 0;
    while (!done.load()) {
      const uint64_t now = c1.value();
      EXPECT_GE(now, last);
      last = now;
      h.snapshot();
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kIterations; ++i) {
        c1.inc();
        c2.add(3);
        // Up on even threads, down on odd threads: shards go negative, the sum is exact.
        if (t % 2 == 0) {
          g.inc();
        } else {
          g.dec();
        }
        if (i % 100 == 0) {
          h.recordValue(t);
        }
      }
    });
  }
  for (std::thread& w : writers) {
    w.join();
  }
  done = true;
  reader.join();
  EXPECT_EQ(c1.value(), uint64_t{kThreads} * kIterations);
  EXPECT_EQ(c2.value(), uint64_t{kThreads} * kIterations * 3);
  EXPECT_EQ(g.value(), 0);
  HistogramSnapshot s = h.snapshot();
  EXPECT_EQ(s.count, uint64_t{kThreads} * kIterations / 100);
  EXPECT_EQ(s.min, 0);
  EXPECT_EQ(s.max, kThreads - 1);
}

TEST(StoreImplTest, ThreadExitKeepsCounts) {
  StoreImpl store;
  Counter& c = store.counter("c");
  Gauge& g = store.gauge("g");
  Histogram& h = store.histogram("h", Histogram::Unit::Unspecified);
  c.add(1);  // this thread's shard
  EXPECT_EQ(store.liveShardCountForTest(), 1);
  for (int round = 0; round < 3; ++round) {
    std::thread t([&] {
      c.add(10);
      g.inc();
      h.recordValue(1000 + round);
      h.recordValue(5 + round);
    });
    t.join();
    // The thread's shard is folded into the retired totals and freed.
    EXPECT_EQ(store.liveShardCountForTest(), 1);
  }
  EXPECT_EQ(c.value(), 31);
  EXPECT_EQ(g.value(), 3);
  HistogramSnapshot s = h.snapshot();
  EXPECT_EQ(s.count, 6);
  EXPECT_EQ(s.min, 5);
  EXPECT_EQ(s.max, 1002);
  EXPECT_EQ(s.sum, 1000 + 1001 + 1002 + 5 + 6 + 7);
}

TEST(StoreImplTest, ThreadOutlivesStore) {
  auto store = std::make_unique<StoreImpl>();
  Counter* c = &store->counter("c");
  // std::promise rather than absl::Notification: Debian's abseil is not TSAN-instrumented, so
  // TSAN would not see the happens-before edge of an absl::Notification.
  std::promise<void> wrote;
  std::promise<void> store_gone;
  std::thread t([&, gone = store_gone.get_future()] {
    c->inc();
    wrote.set_value();
    gone.wait();
    // Exits with a registration for a dead store: must be skipped, not folded.
  });
  wrote.get_future().wait();
  EXPECT_EQ(c->value(), 1);
  store.reset();
  store_gone.set_value();
  t.join();
}

TEST(StoreImplTest, TwoStoresOnOneThread) {
  StoreImpl a;
  StoreImpl b;
  Counter& ca = a.counter("c");
  Counter& cb = b.counter("c");
  for (int i = 0; i < 10; ++i) {
    ca.inc();
    cb.add(2);
  }
  EXPECT_EQ(ca.value(), 10);
  EXPECT_EQ(cb.value(), 20);
  {
    StoreImpl c;  // a short-lived store at maybe the same address as a later one
    c.counter("c").add(100);
  }
  StoreImpl d;
  d.counter("c").inc();
  EXPECT_EQ(d.counter("c").value(), 1);
}

TEST(StoreImplTest, ForEachIsSortedByName) {
  StoreImpl store;
  store.counter("b");
  store.counter("a.z");
  store.counter("a");
  std::vector<std::string> names;
  store.forEachCounter([&](const Counter& c) { names.push_back(c.name()); });
  EXPECT_EQ(names, (std::vector<std::string>{"a", "a.z", "b"}));
}

TEST(HistogramBucketsTest, LayoutIsContiguousAndMonotonic) {
  EXPECT_EQ(HistogramBuckets::kNumBuckets, 157);
  for (size_t i = 0; i + 1 < HistogramBuckets::kNumBuckets; ++i) {
    EXPECT_LT(HistogramBuckets::lowerBound(i), HistogramBuckets::upperBound(i)) << i;
    EXPECT_EQ(HistogramBuckets::upperBound(i), HistogramBuckets::lowerBound(i + 1)) << i;
    EXPECT_EQ(HistogramBuckets::bucketIndex(HistogramBuckets::lowerBound(i)), i);
    EXPECT_EQ(HistogramBuckets::bucketIndex(HistogramBuckets::upperBound(i) - 1), i);
    // Widest bucket is a quarter of its lower bound.
    if (HistogramBuckets::lowerBound(i) >= 4) {
      EXPECT_LE(HistogramBuckets::upperBound(i) - HistogramBuckets::lowerBound(i),
                HistogramBuckets::lowerBound(i) / 4);
    }
  }
  EXPECT_EQ(HistogramBuckets::bucketIndex(0), 0);
  EXPECT_EQ(HistogramBuckets::bucketIndex(7), 7);
  EXPECT_EQ(HistogramBuckets::bucketIndex(uint64_t{1} << 40), HistogramBuckets::kNumBuckets - 1);
  EXPECT_EQ(HistogramBuckets::bucketIndex(UINT64_MAX), HistogramBuckets::kNumBuckets - 1);
}

TEST(HistogramTest, QuantilesOnUniformData) {
  StoreImpl store;
  Histogram& h = store.histogram("h", Histogram::Unit::Milliseconds);
  for (uint64_t v = 1; v <= 100; ++v) {
    h.recordValue(v);
  }
  HistogramSnapshot s = h.snapshot();
  EXPECT_EQ(s.count, 100);
  EXPECT_EQ(s.sum, 5050);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 100);
  // Nearest-rank truth is q*100; the estimate may be off by at most one bucket width (25%).
  const std::vector<double>& qs = HistogramSnapshot::supportedQuantiles();
  ASSERT_EQ(s.quantiles.size(), qs.size());
  EXPECT_EQ(s.quantiles.front(), 1);
  EXPECT_EQ(s.quantiles.back(), 100);
  for (size_t i = 1; i + 1 < qs.size(); ++i) {
    const double truth = std::ceil(qs[i] * 100);
    EXPECT_NEAR(s.quantiles[i], truth, truth * 0.25) << "q=" << qs[i];
  }
  EXPECT_DOUBLE_EQ(s.quantile(0.5), 50);
  EXPECT_DOUBLE_EQ(s.quantile(0.25), 25);
  EXPECT_DOUBLE_EQ(s.quantile(0.9), 90);
}

TEST(HistogramTest, ExactForSmallAndConstantValues) {
  StoreImpl store;
  Histogram& h = store.histogram("h", Histogram::Unit::Unspecified);
  HistogramSnapshot empty = h.snapshot();
  EXPECT_EQ(empty.count, 0);
  EXPECT_TRUE(std::isnan(empty.quantile(0.5)));
  EXPECT_TRUE(std::isnan(empty.quantiles[0]));

  for (int i = 0; i < 3; ++i) {
    h.recordValue(1);
    h.recordValue(2);
    h.recordValue(3);
  }
  HistogramSnapshot s = h.snapshot();
  EXPECT_DOUBLE_EQ(s.quantile(0), 1);
  EXPECT_DOUBLE_EQ(s.quantile(0.3), 1);
  EXPECT_DOUBLE_EQ(s.quantile(0.5), 2);
  EXPECT_DOUBLE_EQ(s.quantile(0.9), 3);
  EXPECT_DOUBLE_EQ(s.quantile(1), 3);

  Histogram& constant = store.histogram("constant", Histogram::Unit::Unspecified);
  for (int i = 0; i < 10; ++i) {
    constant.recordValue(1234567);
  }
  for (double q : HistogramSnapshot::supportedQuantiles()) {
    EXPECT_DOUBLE_EQ(constant.snapshot().quantile(q), 1234567);
  }
}

TEST(HistogramTest, PrometheusCountsAreExactAtBounds) {
  StoreImpl store;
  Histogram& h = store.histogram("h", Histogram::Unit::Milliseconds);
  h.recordValue(0);        // <= 0.5
  h.recordValue(1);        // <= 1
  h.recordValue(5);        // <= 5
  h.recordValue(6);        // <= 10
  h.recordValue(3600000);  // <= 3600000
  h.recordValue(3600001);  // +Inf only
  HistogramSnapshot s = h.snapshot();
  ASSERT_EQ(s.prometheus_counts.size(), HistogramBuckets::prometheusBounds().size() + 1);
  EXPECT_EQ(s.prometheus_counts[0], 1);
  EXPECT_EQ(s.prometheus_counts[1], 1);
  EXPECT_EQ(s.prometheus_counts[2], 1);
  EXPECT_EQ(s.prometheus_counts[3], 1);
  EXPECT_EQ(s.prometheus_counts[18], 1);
  EXPECT_EQ(s.prometheus_counts[19], 1);
  EXPECT_EQ(s.count, 6);
}

TEST(HistogramTest, HugeValues) {
  StoreImpl store;
  Histogram& h = store.histogram("h", Histogram::Unit::Bytes);
  h.recordValue(uint64_t{1} << 50);
  h.recordValue(UINT64_MAX);
  HistogramSnapshot s = h.snapshot();
  EXPECT_EQ(s.min, uint64_t{1} << 50);
  EXPECT_EQ(s.max, UINT64_MAX);
  EXPECT_EQ(s.bucket_counts.back(), 2);
  EXPECT_GE(s.quantile(0.5), static_cast<double>(uint64_t{1} << 50));
}

}  // namespace
}  // namespace Skiff::Stats
