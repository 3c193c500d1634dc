#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "source/common/stats/stats.h"

namespace Skiff::Stats {

namespace HistogramBuckets {

namespace {
constexpr size_t kSubBuckets = size_t{1} << kSubBucketBits;
constexpr size_t kOverflowIndex = kNumBuckets - 1;
}  // namespace

size_t bucketIndex(uint64_t value) {
  if (value < kSubBuckets) {
    return static_cast<size_t>(value);
  }
  const int exponent = 63 - std::countl_zero(value);
  if (exponent >= kMaxExponent) {
    return kOverflowIndex;
  }
  const int shift = exponent - kSubBucketBits;
  const size_t sub = static_cast<size_t>(value >> shift) & (kSubBuckets - 1);
  return kSubBuckets + static_cast<size_t>(shift) * kSubBuckets + sub;
}

uint64_t lowerBound(size_t index) {
  if (index < kSubBuckets) {
    return index;
  }
  if (index >= kOverflowIndex) {
    return uint64_t{1} << kMaxExponent;
  }
  const size_t shift = (index - kSubBuckets) / kSubBuckets;
  const size_t sub = (index - kSubBuckets) % kSubBuckets;
  return static_cast<uint64_t>(kSubBuckets + sub) << shift;
}

uint64_t upperBound(size_t index) {
  if (index < kSubBuckets) {
    return index + 1;
  }
  if (index >= kOverflowIndex) {
    return std::numeric_limits<uint64_t>::max();
  }
  const size_t shift = (index - kSubBuckets) / kSubBuckets;
  return lowerBound(index) + (uint64_t{1} << shift);
}

const std::vector<double>& prometheusBounds() {
  static const auto* const bounds = new std::vector<double>{
      0.5,  1,    5,     10,    25,    50,     100,    250,     500,    1000,
      2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000};
  return *bounds;
}

size_t prometheusIndex(uint64_t value) {
  const std::vector<double>& bounds = prometheusBounds();
  return static_cast<size_t>(
      std::lower_bound(bounds.begin(), bounds.end(), static_cast<double>(value)) - bounds.begin());
}

}  // namespace HistogramBuckets

const std::vector<double>& HistogramSnapshot::supportedQuantiles() {
  static const auto* const quantiles =
      new std::vector<double>{0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1};
  return *quantiles;
}

double HistogramSnapshot::quantile(double q) const {
  if (count == 0) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (q <= 0) {
    return static_cast<double>(min);
  }
  if (q >= 1) {
    return static_cast<double>(max);
  }
  // Nearest rank: the k-th smallest sample, k = ceil(q * count). Samples are integers, so inside
  // its bucket assume the bucket's samples are spread evenly over its integer points
  // [lower, upper - 1]: exact for buckets of width 1 and for evenly spread data.
  const double rank = std::max(1.0, std::ceil(q * static_cast<double>(count)));
  double cumulative = 0;
  for (size_t i = 0; i < bucket_counts.size(); ++i) {
    const double in_bucket = static_cast<double>(bucket_counts[i]);
    if (in_bucket == 0) {
      continue;
    }
    if (cumulative + in_bucket >= rank) {
      const double lower = static_cast<double>(HistogramBuckets::lowerBound(i));
      const double last_point = i + 1 == HistogramBuckets::kNumBuckets
                                    ? static_cast<double>(max)
                                    : static_cast<double>(HistogramBuckets::upperBound(i) - 1);
      const double estimate =
          in_bucket == 1 ? (lower + last_point) / 2
                         : lower + (rank - cumulative - 1) * (last_point - lower) / (in_bucket - 1);
      return std::clamp(estimate, static_cast<double>(min), static_cast<double>(max));
    }
    cumulative += in_bucket;
  }
  return static_cast<double>(max);
}

}  // namespace Skiff::Stats
