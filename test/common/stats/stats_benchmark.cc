// Cost of the stats hot path. Run: bazel run -c opt //test/common/stats:stats_benchmark
// The shared-atomic baseline shows what per-thread shards avoid: with several threads, one
// fetch_add target bounces its cache line between cores.

#include <atomic>

#include "benchmark/benchmark.h"
#include "source/common/stats/stats_impl.h"

namespace Skiff::Stats {
namespace {

StoreImpl& store() {
  static auto* const store = new StoreImpl();
  return *store;
}

void BM_CounterInc(benchmark::State& state) {
  Counter& counter = store().counter("bench.counter");
  for (auto _ : state) {
    counter.inc();
  }
  benchmark::DoNotOptimize(counter.used());
}
BENCHMARK(BM_CounterInc)->Threads(1)->Threads(2)->Threads(4);

void BM_GaugeIncDec(benchmark::State& state) {
  Gauge& gauge = store().gauge("bench.gauge");
  for (auto _ : state) {
    gauge.inc();
    gauge.dec();
  }
}
BENCHMARK(BM_GaugeIncDec)->Threads(1)->Threads(2);

void BM_HistogramRecord(benchmark::State& state) {
  Histogram& histogram = store().histogram("bench.histogram", Histogram::Unit::Milliseconds);
  uint64_t value = 1;
  for (auto _ : state) {
    histogram.recordValue(value);
    value = (value * 7 + 3) & 0xffff;
  }
}
BENCHMARK(BM_HistogramRecord)->Threads(1)->Threads(2);

void BM_SharedAtomicFetchAdd(benchmark::State& state) {
  static std::atomic<uint64_t> shared{0};
  for (auto _ : state) {
    shared.fetch_add(1, std::memory_order_relaxed);
  }
}
BENCHMARK(BM_SharedAtomicFetchAdd)->Threads(1)->Threads(2)->Threads(4);

void BM_CounterValue(benchmark::State& state) {
  Counter& counter = store().counter("bench.counter");
  for (auto _ : state) {
    benchmark::DoNotOptimize(counter.value());
  }
}
BENCHMARK(BM_CounterValue);

}  // namespace
}  // namespace Skiff::Stats

BENCHMARK_MAIN();
