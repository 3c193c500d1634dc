#include "source/common/stats/tag_extractor.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace Skiff::Stats {

namespace {

// Length of the first dotted segment of `rest` when a non-empty remainder follows it, else 0.
size_t segmentLength(absl::string_view rest) {
  const size_t dot = rest.find('.');
  if (dot == absl::string_view::npos || dot == 0 || dot + 1 == rest.size()) {
    return 0;
  }
  return dot;
}

bool isIpv4AddressChar(char c) { return absl::ascii_isdigit(c) || c == '.' || c == '_'; }

bool isIpv6AddressChar(char c) {
  return absl::ascii_isxdigit(c) || c == '[' || c == ']' || c == ':' || c == '_';
}

// Mirrors Envoy's greedy regex `^listener\.((<class>*)\.)`: the longest run of address characters
// that is followed by a '.', with a non-empty stat name after it. Every position before `run` is
// an address character, so any '.' at or before `run` ends a valid address. Returns 0 if none.
size_t addressLength(absl::string_view rest, bool (*in_class)(char)) {
  if (rest.size() < 3) {
    return 0;
  }
  size_t run = 0;
  while (run < rest.size() && in_class(rest[run])) {
    ++run;
  }
  for (size_t p = std::min(run, rest.size() - 2); p > 0; --p) {
    if (rest[p] == '.') {
      return p;
    }
  }
  return 0;
}

struct SegmentRule {
  absl::string_view prefix;  // including the trailing '.'
  absl::string_view tag_name;
};

constexpr SegmentRule kSegmentRules[] = {
    {"cluster.", "envoy.cluster_name"},
    {"tcp.", "envoy.tcp_prefix"},
};

constexpr absl::string_view kListenerPrefix = "listener.";

}  // namespace

TaggedName extractTags(absl::string_view stat_name) {
  for (const SegmentRule& rule : kSegmentRules) {
    if (!absl::StartsWith(stat_name, rule.prefix)) {
      continue;
    }
    absl::string_view rest = stat_name.substr(rule.prefix.size());
    const size_t length = segmentLength(rest);
    if (length == 0) {
      break;
    }
    return TaggedName{absl::StrCat(rule.prefix, rest.substr(length + 1)),
                      {Tag{std::string(rule.tag_name), std::string(rest.substr(0, length))}}};
  }
  if (absl::StartsWith(stat_name, kListenerPrefix)) {
    absl::string_view rest = stat_name.substr(kListenerPrefix.size());
    size_t length = addressLength(rest, isIpv4AddressChar);
    if (length == 0) {
      length = addressLength(rest, isIpv6AddressChar);
    }
    if (length > 0) {
      return TaggedName{absl::StrCat(kListenerPrefix, rest.substr(length + 1)),
                        {Tag{"envoy.listener_address", std::string(rest.substr(0, length))}}};
    }
  }
  return TaggedName{std::string(stat_name), {}};
}

}  // namespace Skiff::Stats
