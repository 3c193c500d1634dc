#pragma once

// request_headers_to_add/remove and response_headers_to_add/remove of one level (route
// configuration, virtual host, route or weighted cluster), with Envoy's semantics:
//   - removals first, then additions;
//   - every value of the level is computed before any is written, from the headers as they were
//     after the removals; then OVERWRITE_* values are set, then APPEND_IF_EXISTS_OR_ADD and
//     ADD_IF_ABSENT values are appended;
//   - append_action: APPEND_IF_EXISTS_OR_ADD (default) appends another field, ADD_IF_ABSENT adds
//     only when the header is absent, OVERWRITE_IF_EXISTS_OR_ADD replaces or adds,
//     OVERWRITE_IF_EXISTS replaces only when present; the deprecated `append` (true/false) means
//     APPEND_IF_EXISTS_OR_ADD / OVERWRITE_IF_EXISTS_OR_ADD and may not be combined with a
//     non-default append_action;
//   - a value that formats to "" is not added unless keep_empty_value;
//   - values may use command operators (the access log's, see FormatString): %DOWNSTREAM_REMOTE_
//     ADDRESS%, %START_TIME(...)%, %HOSTNAME%, %PROTOCOL%, %REQ(x)%, ...; a missing value is "".
//     "%%" is a literal '%'. An unknown operator is a configuration error;
//   - ":"-prefixed names and "host" can be neither added nor removed (use host_rewrite_literal
//     and the path rewrites instead).
//
// Thread: built on main or the control thread; apply() on any worker.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/config/core/v3/base.pb.h"
#include "google/protobuf/repeated_field.h"
#include "source/common/formatter/substitution_formatter.h"
#include "source/common/http/header_map.h"

namespace Skiff::Router {

class HeaderMutations;
using HeaderMutationsConstPtr = std::unique_ptr<const HeaderMutations>;

class HeaderMutations {
 public:
  // Returns null when there is nothing to do. Errors name `add_path[i]` / `remove_path[i]`.
  static absl::StatusOr<HeaderMutationsConstPtr> create(
      const google::protobuf::RepeatedPtrField<envoy::config::core::v3::HeaderValueOption>& add,
      const google::protobuf::RepeatedPtrField<std::string>& remove, absl::string_view add_path,
      absl::string_view remove_path);

  // Mutates `headers`; `context` is what header values are formatted against.
  void apply(Http::HeaderMap& headers, const Formatter::Context& context) const;

 private:
  enum class Action { AppendIfExistsOrAdd, AddIfAbsent, OverwriteIfExistsOrAdd, OverwriteIfExists };

  struct Entry {
    std::string key;                                  // lower-case
    std::string literal;                              // the value when it has no operators
    std::unique_ptr<Formatter::FormatString> format;  // otherwise
    Action action = Action::AppendIfExistsOrAdd;
    bool keep_empty_value = false;
  };

  std::vector<std::string> remove_;
  std::vector<Entry> add_;
};

// Applies the levels in order (null entries skipped).
inline void applyAll(std::initializer_list<const HeaderMutations*> levels, Http::HeaderMap& headers,
                     const Formatter::Context& context) {
  for (const HeaderMutations* level : levels) {
    if (level != nullptr) {
      level->apply(headers, context);
    }
  }
}

}  // namespace Skiff::Router
