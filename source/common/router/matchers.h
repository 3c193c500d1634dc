#pragma once

// Request matchers of the route API: StringMatcher, RegexMatcher (RE2), HeaderMatcher and
// QueryParameterMatcher, with Envoy's semantics. Built on the main or control thread; immutable,
// then used by every worker without locks.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/config/route/v3/route_components.pb.h"
#include "envoy/type/matcher/v3/regex.pb.h"
#include "envoy/type/matcher/v3/string.pb.h"
#include "re2/re2.h"
#include "source/common/http/header_map.h"

namespace Skiff::Router {

// Envoy's default limit on a regex's compiled program size (its
// re2.max_program_size.error_level); google_re2.max_program_size overrides it.
inline constexpr uint32_t kDefaultMaxRegexProgramSize = 100;

using RegexSharedPtr = std::shared_ptr<const re2::RE2>;

// Compiles a RegexMatcher. `path` is the matcher's field path; errors read
// `<path>: invalid regex "(": missing ): (`.
absl::StatusOr<RegexSharedPtr> compileRegex(const envoy::type::matcher::v3::RegexMatcher& matcher,
                                            absl::string_view path);

// Whole-string RE2 match, as every safe_regex in Envoy's route API is.
inline bool regexFullMatch(const re2::RE2& regex, absl::string_view value) {
  return re2::RE2::FullMatch(re2::StringPiece(value.data(), value.size()), regex);
}

/**
 * envoy.type.matcher.v3.StringMatcher: exact, prefix, suffix, contains (each optionally
 * ignore_case) or safe_regex (full match; ignore_case has no effect, as in Envoy).
 */
class StringMatcher {
 public:
  static absl::StatusOr<StringMatcher> create(const envoy::type::matcher::v3::StringMatcher& config,
                                              absl::string_view path);

  bool match(absl::string_view value) const;

 private:
  enum class Kind { Exact, Prefix, Suffix, Contains, Regex };
  Kind kind_ = Kind::Exact;
  std::string value_;  // lower-case when ignore_case_
  bool ignore_case_ = false;
  RegexSharedPtr regex_;
};

/**
 * envoy.config.route.v3.HeaderMatcher. Repeated headers are matched as their values joined with
 * "," (Envoy's rule). Pseudo-headers read the request line: ":method", ":path", ":scheme" and
 * ":authority" (also "host").
 *
 * A missing header (without treat_missing_header_as_empty) matches only `present_match: false`,
 * or `present_match: true` with invert_match; otherwise the value (or "" for a missing header
 * treated as empty) is matched and the result inverted by invert_match. No specifier at all
 * means present_match: true.
 */
class HeaderMatcher {
 public:
  static absl::StatusOr<HeaderMatcher> create(const envoy::config::route::v3::HeaderMatcher& config,
                                              absl::string_view path);

  bool matches(const Http::RequestHeaderMap& headers) const;

 private:
  enum class Type { Exact, Regex, Range, Present, Prefix, Suffix, Contains, String };
  enum class Source : uint8_t { Field, Method, Path, Host, Scheme };

  bool matchValue(absl::string_view value) const;

  std::string name_;  // lower-case
  Source source_ = Source::Field;
  Type type_ = Type::Present;
  std::string value_;
  RegexSharedPtr regex_;
  int64_t range_start_ = 0;
  int64_t range_end_ = 0;
  bool present_ = true;
  absl::optional<StringMatcher> string_matcher_;
  bool invert_ = false;
  bool treat_missing_as_empty_ = false;
};

/**
 * A request's query string split into (name, value) pairs, parsed once per request on first use
 * and only when a route has query matchers. Views into the request's path; no allocation for up
 * to 16 parameters.
 */
class QueryParams {
 public:
  explicit QueryParams(absl::string_view query) : query_(query) {}

  // The first value of `name` (percent-decoded, '+' as space), or nullopt. `scratch` holds the
  // decoded value when decoding was needed.
  absl::optional<absl::string_view> firstValue(absl::string_view name, std::string& scratch);

 private:
  void parse();

  absl::string_view query_;
  bool parsed_ = false;
  absl::InlinedVector<std::pair<absl::string_view, absl::string_view>, 16> params_;
};

// Decodes %XX escapes and '+' (as a space) of a query string component.
std::string decodeQueryComponent(absl::string_view encoded);

/**
 * envoy.config.route.v3.QueryParameterMatcher, on the first value of the parameter (Envoy's
 * rule): present_match, string_match, or neither (the parameter must be present).
 */
class QueryParameterMatcher {
 public:
  static absl::StatusOr<QueryParameterMatcher> create(
      const envoy::config::route::v3::QueryParameterMatcher& config, absl::string_view path);

  bool matches(QueryParams& params) const;

 private:
  std::string name_;
  absl::optional<bool> present_match_;
  absl::optional<StringMatcher> matcher_;
};

// Whether `name` is a valid HTTP field name (RFC 9110 token characters).
bool isValidHeaderName(absl::string_view name);
// Whether `value` can go in a header: no CR, LF or NUL.
bool isValidHeaderValue(absl::string_view value);

}  // namespace Skiff::Router
