#include "source/common/stats/stats_format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "re2/re2.h"
#include "source/common/stats/tag_extractor.h"

namespace Skiff::Stats {

absl::StatusOr<StatsFilter> StatsFilter::create(bool used_only, absl::string_view regex) {
  StatsFilter filter;
  filter.used_only_ = used_only;
  if (!regex.empty()) {
    re2::RE2::Options options;
    options.set_log_errors(false);
    auto compiled =
        std::make_shared<const re2::RE2>(re2::StringPiece(regex.data(), regex.size()), options);
    if (!compiled->ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid filter regex '", regex, "': ", compiled->error()));
    }
    filter.regex_ = std::move(compiled);
  }
  return filter;
}

bool StatsFilter::matches(const Metric& metric) const {
  if (used_only_ && !metric.used()) {
    return false;
  }
  return regex_ == nullptr || re2::RE2::PartialMatch(metric.name(), *regex_);
}

std::string formatDouble(double value) {
  if (std::isnan(value)) {
    return "nan";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  // Integers (the common case: quantiles clamp to recorded integer samples) print without an
  // exponent up to 2^53, as Envoy's fmt output does.
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    return absl::StrFormat("%.0f", value);
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::string out = absl::StrFormat("%.*g", precision, value);
    if (std::strtod(out.c_str(), nullptr) == value) {
      return out;
    }
  }
  return absl::StrFormat("%.17g", value);
}

namespace {

// "P99.5": Envoy's label for a supported quantile.
std::string quantileLabel(double q) { return absl::StrFormat("%.6g", q * 100); }

void appendJsonString(std::string& out, absl::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// JSON has no NaN; Envoy writes null for "no value".
std::string jsonNumber(double value) { return std::isnan(value) ? "null" : formatDouble(value); }

struct NamedValue {
  const std::string* name;
  std::string value;
};

// Counters and gauges that pass the filter, merged and sorted by name (Envoy lists them
// together).
std::vector<NamedValue> scalarValues(const Store& store, const StatsFilter& filter) {
  std::vector<NamedValue> values;
  store.forEachCounter([&](const Counter& counter) {
    if (filter.matches(counter)) {
      values.push_back({&counter.name(), absl::StrCat(counter.value())});
    }
  });
  store.forEachGauge([&](const Gauge& gauge) {
    if (filter.matches(gauge)) {
      values.push_back({&gauge.name(), absl::StrCat(gauge.value())});
    }
  });
  std::stable_sort(values.begin(), values.end(),
                   [](const NamedValue& a, const NamedValue& b) { return *a.name < *b.name; });
  return values;
}

}  // namespace

std::string renderText(const Store& store, const StatsFilter& filter) {
  std::string out;
  for (const NamedValue& value : scalarValues(store, filter)) {
    absl::StrAppend(&out, *value.name, ": ", value.value, "\n");
  }
  const std::vector<double>& quantiles = HistogramSnapshot::supportedQuantiles();
  store.forEachHistogram([&](const Histogram& histogram) {
    if (!filter.matches(histogram)) {
      return;
    }
    const HistogramSnapshot snapshot = histogram.snapshot();
    absl::StrAppend(&out, histogram.name(), ":");
    if (snapshot.count == 0) {
      out.append(" No recorded values\n");
      return;
    }
    for (size_t i = 0; i < quantiles.size(); ++i) {
      absl::StrAppend(&out, " P", quantileLabel(quantiles[i]), "(nan,",
                      formatDouble(snapshot.quantiles[i]), ")");
    }
    out.append("\n");
  });
  return out;
}

std::string renderJson(const Store& store, const StatsFilter& filter) {
  std::string out = "{\"stats\":[";
  bool first = true;
  for (const NamedValue& value : scalarValues(store, filter)) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    out.append("{\"name\":");
    appendJsonString(out, *value.name);
    absl::StrAppend(&out, ",\"value\":", value.value, "}");
  }

  std::string computed;
  const std::vector<double>& quantiles = HistogramSnapshot::supportedQuantiles();
  store.forEachHistogram([&](const Histogram& histogram) {
    if (!filter.matches(histogram)) {
      return;
    }
    const HistogramSnapshot snapshot = histogram.snapshot();
    if (!computed.empty()) {
      computed.push_back(',');
    }
    computed.append("{\"name\":");
    appendJsonString(computed, histogram.name());
    computed.append(",\"values\":[");
    for (size_t i = 0; i < quantiles.size(); ++i) {
      absl::StrAppend(&computed, i == 0 ? "" : ",",
                      "{\"interval\":null,\"cumulative\":", jsonNumber(snapshot.quantiles[i]), "}");
    }
    computed.append("]}");
  });
  if (!computed.empty()) {
    if (!first) {
      out.push_back(',');
    }
    out.append("{\"histograms\":{\"supported_quantiles\":[");
    for (size_t i = 0; i < quantiles.size(); ++i) {
      absl::StrAppend(&out, i == 0 ? "" : ",", quantileLabel(quantiles[i]));
    }
    absl::StrAppend(&out, "],\"computed_quantiles\":[", computed, "]}}");
  }
  out.append("]}");
  return out;
}

std::string sanitizePrometheusName(absl::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (!absl::ascii_isalnum(c) && c != '_') {
      c = '_';
    }
  }
  return out;
}

std::string escapePrometheusLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out.append("\\\\");
        break;
      case '"':
        out.append("\\\"");
        break;
      case '\n':
        out.append("\\n");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

namespace {

enum class FamilyType { Counter, Gauge, Histogram };

absl::string_view typeName(FamilyType type) {
  switch (type) {
    case FamilyType::Counter:
      return "counter";
    case FamilyType::Gauge:
      return "gauge";
    case FamilyType::Histogram:
      return "histogram";
  }
  return "untyped";
}

struct Family {
  FamilyType type;
  // Rendered label set ("a=\"x\",b=\"y\"", no braces) -> sample. Sorted, and a duplicate label set
  // (two stat names that sanitize alike) keeps the first, so the output stays valid.
  std::map<std::string, std::variant<std::string, HistogramSnapshot>> series;
};

class PrometheusBuilder {
 public:
  void add(absl::string_view stat_name, FamilyType type,
           std::variant<std::string, HistogramSnapshot> sample) {
    TaggedName tagged = extractTags(stat_name);
    std::string family_name = absl::StrCat("envoy_", sanitizePrometheusName(tagged.name));
    std::string labels;
    for (const Tag& tag : tagged.tags) {
      absl::StrAppend(&labels, labels.empty() ? "" : ",", sanitizePrometheusName(tag.name), "=\"",
                      escapePrometheusLabelValue(tag.value), "\"");
    }
    auto [it, inserted] = families_.try_emplace(std::move(family_name), Family{type, {}});
    if (!inserted && it->second.type != type) {
      return;  // a counter and a gauge that render to one name: keep the first family's type
    }
    it->second.series.try_emplace(std::move(labels), std::move(sample));
  }

  std::string render() const {
    std::string out;
    const std::vector<double>& bounds = HistogramBuckets::prometheusBounds();
    for (const auto& [name, family] : families_) {
      absl::StrAppend(&out, "# TYPE ", name, " ", typeName(family.type), "\n");
      for (const auto& [labels, sample] : family.series) {
        if (const std::string* value = std::get_if<std::string>(&sample)) {
          absl::StrAppend(&out, name, braces(labels), " ", *value, "\n");
          continue;
        }
        const HistogramSnapshot& snapshot = std::get<HistogramSnapshot>(sample);
        const std::string prefix = labels.empty() ? "" : absl::StrCat(labels, ",");
        uint64_t cumulative = 0;
        for (size_t i = 0; i < bounds.size(); ++i) {
          cumulative += snapshot.prometheus_counts[i];
          absl::StrAppend(&out, name, "_bucket{", prefix, "le=\"", formatDouble(bounds[i]), "\"} ",
                          cumulative, "\n");
        }
        absl::StrAppend(&out, name, "_bucket{", prefix, "le=\"+Inf\"} ", snapshot.count, "\n");
        absl::StrAppend(&out, name, "_sum", braces(labels), " ", snapshot.sum, "\n");
        absl::StrAppend(&out, name, "_count", braces(labels), " ", snapshot.count, "\n");
      }
    }
    return out;
  }

 private:
  static std::string braces(const std::string& labels) {
    return labels.empty() ? "" : absl::StrCat("{", labels, "}");
  }

  std::map<std::string, Family> families_;
};

}  // namespace

std::string renderPrometheus(const Store& store, const StatsFilter& filter) {
  PrometheusBuilder builder;
  store.forEachCounter([&](const Counter& counter) {
    if (filter.matches(counter)) {
      builder.add(counter.name(), FamilyType::Counter, absl::StrCat(counter.value()));
    }
  });
  store.forEachGauge([&](const Gauge& gauge) {
    if (filter.matches(gauge)) {
      builder.add(gauge.name(), FamilyType::Gauge, absl::StrCat(gauge.value()));
    }
  });
  store.forEachHistogram([&](const Histogram& histogram) {
    if (filter.matches(histogram)) {
      builder.add(histogram.name(), FamilyType::Histogram, histogram.snapshot());
    }
  });
  return builder.render();
}

}  // namespace Skiff::Stats
