#pragma once

// Building a route table collects every configuration error, each as "<field path>: <reason>",
// where the path names the route configuration, virtual host and route by index and name:
//   route_config "r1": virtual_hosts[0] "web": routes[2].match.safe_regex: invalid regex "(": ...
// Internal to the router's config builders.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace Skiff::Router {

class ConfigErrors {
 public:
  void add(absl::string_view path, absl::string_view why) {
    lines_.push_back(path.empty() ? std::string(why) : absl::StrCat(path, ": ", why));
  }
  // Keeps the lines of a status that already carries paths.
  void merge(const absl::Status& status) {
    if (!status.ok()) {
      lines_.push_back(std::string(status.message()));
    }
  }
  bool empty() const { return lines_.empty(); }
  absl::Status status() const {
    return lines_.empty() ? absl::OkStatus()
                          : absl::InvalidArgumentError(absl::StrJoin(lines_, "\n"));
  }

 private:
  std::vector<std::string> lines_;
};

// `parent` + `field`: "a.b", or "x \"name\": b" after an element named in quotes.
inline std::string fieldPath(absl::string_view parent, absl::string_view field) {
  if (parent.empty()) {
    return std::string(field);
  }
  return absl::StrCat(parent, parent.back() == '"' ? ": " : ".", field);
}

// "routes[2]", or `routes[2] "name"` when the element has a name.
inline std::string elementPath(absl::string_view parent, absl::string_view field, size_t index,
                               absl::string_view name) {
  std::string element = absl::StrCat(field, "[", index, "]");
  if (!name.empty()) {
    absl::StrAppend(&element, " \"", name, "\"");
  }
  return fieldPath(parent, element);
}

}  // namespace Skiff::Router
