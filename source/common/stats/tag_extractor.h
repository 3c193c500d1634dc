#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace Skiff::Stats {

// A dimension pulled out of a dotted stat name. `name` uses Envoy's well-known tag names
// ("envoy.cluster_name"); Prometheus output sanitizes it to "envoy_cluster_name".
struct Tag {
  std::string name;
  std::string value;
};

// A stat name with its dynamic segments removed and turned into tags.
struct TaggedName {
  std::string name;
  std::vector<Tag> tags;
};

/**
 * Envoy's default tag extraction, for the stat trees skiff emits:
 *   cluster.<name>.<rest>       -> cluster.<rest>   + envoy.cluster_name=<name>
 *   listener.<address>.<rest>   -> listener.<rest>  + envoy.listener_address=<address>
 *   tcp.<stat_prefix>.<rest>    -> tcp.<rest>       + envoy.tcp_prefix=<stat_prefix>
 * <name> and <stat_prefix> are one dotted segment. <address> is Envoy's listener stat form:
 * "127.0.0.1_10000" (digits, dots, '_') or "[::1]_10000" / "[__1]_10000" (hex digits, brackets,
 * ':' and '_'); anything else after "listener." (e.g. "listener.admin.") is left alone, as in
 * Envoy. Names matching no rule come back unchanged with no tags.
 *
 * Deliberately Envoy's rules and tag names, so Grafana dashboards and alerts written for Envoy's
 * /stats/prometheus work against skiff unchanged. Pure function; any thread.
 */
TaggedName extractTags(absl::string_view stat_name);

}  // namespace Skiff::Stats
