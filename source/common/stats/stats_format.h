#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "source/common/stats/stats.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace Skiff::Stats {

/**
 * Which stats an admin request asked for: "?usedonly" and "?filter=<regex>". The regex is RE2
 * syntax, as Envoy's, and matches anywhere in the name unless anchored. RE2, not std::regex: the
 * pattern comes from whoever reaches the admin port, and std::regex compiles and matches by
 * recursion (a deeply nested pattern exhausts the stack) with undefined behaviour on huge
 * back-reference numbers (found by the admin fuzzer); RE2 bounds both time and memory.
 * Immutable after create(); any thread.
 */
class StatsFilter {
 public:
  // An empty regex matches everything. A bad regex is InvalidArgument naming the pattern.
  static absl::StatusOr<StatsFilter> create(bool used_only, absl::string_view regex);

  // Matches everything.
  StatsFilter() = default;

  bool matches(const Metric& metric) const;

 private:
  bool used_only_ = false;
  std::shared_ptr<const re2::RE2> regex_;  // Null: no filter.
};

// Renderers of a whole store. All read values from any thread (they take the store's locks once
// per stat), never create stats, and produce deterministic, name-sorted output.

// Envoy's /stats text: "name: value" for counters and gauges (sorted together), then histograms
// as "name: P0(nan,v) P25(nan,v) ... P100(nan,v)" or "name: No recorded values". The first value
// of each pair is Envoy's per-flush-interval quantile; skiff has no flush interval, so it is
// always "nan" and the second (cumulative) value carries the data.
std::string renderText(const Store& store, const StatsFilter& filter);

// Envoy's /stats?format=json: {"stats":[{"name":..,"value":..},...,{"histograms":{
// "supported_quantiles":[0,25,...],"computed_quantiles":[{"name":..,"values":[{"interval":null,
// "cumulative":v},...]}]}}]}.
std::string renderJson(const Store& store, const StatsFilter& filter);

// Prometheus text exposition format v0.0.4, the way Envoy renders /stats/prometheus: names
// prefixed "envoy_", characters outside [a-zA-Z0-9_] replaced by '_', dynamic segments moved to
// labels by extractTags() (cluster.foo.upstream_cx_active ->
// envoy_cluster_upstream_cx_active{envoy_cluster_name="foo"}), one "# TYPE" line per family,
// histograms as _bucket{le=...} (Envoy's default bounds, then +Inf), _sum and _count. Counters keep
// their Envoy names (no "_total" appended), as Envoy does.
//
// This is deliberate: matching Envoy byte for byte in naming lets existing Envoy dashboards and
// alerts work on skiff unchanged, at the cost of promtool's lint style warnings (no _total suffix,
// "_ms" units, no HELP text).
std::string renderPrometheus(const Store& store, const StatsFilter& filter);

// Content types for the renderers above.
inline constexpr absl::string_view kTextContentType = "text/plain; charset=UTF-8";
inline constexpr absl::string_view kJsonContentType = "application/json";
inline constexpr absl::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// Exposed for tests.
std::string sanitizePrometheusName(absl::string_view name);
std::string escapePrometheusLabelValue(absl::string_view value);
// Shortest decimal that reads back as the same double; "nan" for NaN.
std::string formatDouble(double value);

}  // namespace Skiff::Stats
