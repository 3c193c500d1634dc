#include "source/common/router/matchers.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

// Envoy's deprecated fields (exact_match, append, total_weight, format, ...) are still part of the
// API skiff accepts; reading them is intended.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace Skiff::Router {
namespace {

using envoy::type::matcher::v3::RegexMatcher;

bool isTokenChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
    return true;
  }
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

// Case-insensitive substring search; `needle` is already lower-case.
bool containsIgnoreCase(absl::string_view haystack, absl::string_view needle) {
  if (needle.size() > haystack.size()) {
    return false;
  }
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    size_t j = 0;
    while (j < needle.size() &&
           absl::ascii_tolower(static_cast<unsigned char>(haystack[i + j])) == needle[j]) {
      ++j;
    }
    if (j == needle.size()) {
      return true;
    }
  }
  return false;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool needsDecoding(absl::string_view s) { return s.find_first_of("%+") != absl::string_view::npos; }

}  // namespace

bool isValidHeaderName(absl::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (const char c : name) {
    if (!isTokenChar(c)) {
      return false;
    }
  }
  return true;
}

bool isValidHeaderValue(absl::string_view value) {
  return value.find_first_of(absl::string_view("\r\n\0", 3)) == absl::string_view::npos;
}

absl::StatusOr<RegexSharedPtr> compileRegex(const RegexMatcher& matcher, absl::string_view path) {
  if (matcher.regex().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ".regex: must not be empty"));
  }
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto regex = std::make_shared<const re2::RE2>(matcher.regex(), options);
  if (!regex->ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: invalid regex \"%s\": %s", path, matcher.regex(), regex->error()));
  }
  const uint32_t limit = matcher.has_google_re2() && matcher.google_re2().has_max_program_size()
                             ? matcher.google_re2().max_program_size().value()
                             : kDefaultMaxRegexProgramSize;
  if (static_cast<uint32_t>(regex->ProgramSize()) > limit) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: regex \"%s\" is too complex: its program size is %d, the limit is %d (raise it with "
        "google_re2.max_program_size)",
        path, matcher.regex(), regex->ProgramSize(), limit));
  }
  return regex;
}

absl::StatusOr<StringMatcher> StringMatcher::create(
    const envoy::type::matcher::v3::StringMatcher& config, absl::string_view path) {
  using Proto = envoy::type::matcher::v3::StringMatcher;
  StringMatcher matcher;
  matcher.ignore_case_ = config.ignore_case();
  auto nonEmpty = [&](absl::string_view field, const std::string& value) -> absl::Status {
    if (value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".", field, ": must not be empty"));
    }
    return absl::OkStatus();
  };
  switch (config.match_pattern_case()) {
    case Proto::kExact:
      matcher.kind_ = Kind::Exact;
      matcher.value_ = config.exact();
      break;
    case Proto::kPrefix:
      if (auto status = nonEmpty("prefix", config.prefix()); !status.ok()) {
        return status;
      }
      matcher.kind_ = Kind::Prefix;
      matcher.value_ = config.prefix();
      break;
    case Proto::kSuffix:
      if (auto status = nonEmpty("suffix", config.suffix()); !status.ok()) {
        return status;
      }
      matcher.kind_ = Kind::Suffix;
      matcher.value_ = config.suffix();
      break;
    case Proto::kContains:
      if (auto status = nonEmpty("contains", config.contains()); !status.ok()) {
        return status;
      }
      matcher.kind_ = Kind::Contains;
      matcher.value_ = config.contains();
      break;
    case Proto::kSafeRegex: {
      auto regex = compileRegex(config.safe_regex(), absl::StrCat(path, ".safe_regex"));
      if (!regex.ok()) {
        return regex.status();
      }
      matcher.kind_ = Kind::Regex;
      matcher.regex_ = std::move(*regex);
      matcher.ignore_case_ = false;
      break;
    }
    case Proto::MATCH_PATTERN_NOT_SET:
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": must set exact, prefix, suffix, contains or safe_regex"));
  }
  if (matcher.ignore_case_) {
    absl::AsciiStrToLower(&matcher.value_);
  }
  return matcher;
}

bool StringMatcher::match(absl::string_view value) const {
  switch (kind_) {
    case Kind::Exact:
      return ignore_case_ ? absl::EqualsIgnoreCase(value, value_) : value == value_;
    case Kind::Prefix:
      return ignore_case_ ? absl::StartsWithIgnoreCase(value, value_)
                          : absl::StartsWith(value, value_);
    case Kind::Suffix:
      return ignore_case_ ? absl::EndsWithIgnoreCase(value, value_) : absl::EndsWith(value, value_);
    case Kind::Contains:
      return ignore_case_ ? containsIgnoreCase(value, value_) : absl::StrContains(value, value_);
    case Kind::Regex:
      return regexFullMatch(*regex_, value);
  }
  return false;
}

absl::StatusOr<HeaderMatcher> HeaderMatcher::create(
    const envoy::config::route::v3::HeaderMatcher& config, absl::string_view path) {
  using Proto = envoy::config::route::v3::HeaderMatcher;
  HeaderMatcher matcher;
  matcher.name_ = absl::AsciiStrToLower(config.name());
  const absl::string_view name = matcher.name_;
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ".name: must not be empty"));
  }
  if (name == ":method") {
    matcher.source_ = Source::Method;
  } else if (name == ":path") {
    matcher.source_ = Source::Path;
  } else if (name == ":authority" || name == "host") {
    matcher.source_ = Source::Host;
  } else if (name == ":scheme") {
    matcher.source_ = Source::Scheme;
  } else if (!isValidHeaderName(name)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s.name: \"%s\" is not a valid header name", path, config.name()));
  }
  matcher.invert_ = config.invert_match();
  matcher.treat_missing_as_empty_ = config.treat_missing_header_as_empty();
  auto nonEmpty = [&](absl::string_view field, const std::string& value) -> absl::Status {
    if (value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".", field, ": must not be empty"));
    }
    return absl::OkStatus();
  };
  switch (config.header_match_specifier_case()) {
    case Proto::kExactMatch:
      matcher.type_ = Type::Exact;
      matcher.value_ = config.exact_match();
      break;
    case Proto::kSafeRegexMatch: {
      auto regex = compileRegex(config.safe_regex_match(), absl::StrCat(path, ".safe_regex_match"));
      if (!regex.ok()) {
        return regex.status();
      }
      matcher.type_ = Type::Regex;
      matcher.regex_ = std::move(*regex);
      break;
    }
    case Proto::kRangeMatch:
      matcher.type_ = Type::Range;
      matcher.range_start_ = config.range_match().start();
      matcher.range_end_ = config.range_match().end();
      break;
    case Proto::kPresentMatch:
      matcher.type_ = Type::Present;
      matcher.present_ = config.present_match();
      break;
    case Proto::kPrefixMatch:
      if (auto status = nonEmpty("prefix_match", config.prefix_match()); !status.ok()) {
        return status;
      }
      matcher.type_ = Type::Prefix;
      matcher.value_ = config.prefix_match();
      break;
    case Proto::kSuffixMatch:
      if (auto status = nonEmpty("suffix_match", config.suffix_match()); !status.ok()) {
        return status;
      }
      matcher.type_ = Type::Suffix;
      matcher.value_ = config.suffix_match();
      break;
    case Proto::kContainsMatch:
      if (auto status = nonEmpty("contains_match", config.contains_match()); !status.ok()) {
        return status;
      }
      matcher.type_ = Type::Contains;
      matcher.value_ = config.contains_match();
      break;
    case Proto::kStringMatch: {
      auto string_matcher =
          StringMatcher::create(config.string_match(), absl::StrCat(path, ".string_match"));
      if (!string_matcher.ok()) {
        return string_matcher.status();
      }
      matcher.type_ = Type::String;
      matcher.string_matcher_ = std::move(*string_matcher);
      break;
    }
    case Proto::HEADER_MATCH_SPECIFIER_NOT_SET:
      matcher.type_ = Type::Present;
      matcher.present_ = true;
      break;
  }
  return matcher;
}

bool HeaderMatcher::matchValue(absl::string_view value) const {
  switch (type_) {
    case Type::Exact:
      return value_.empty() || value == value_;
    case Type::Regex:
      return regexFullMatch(*regex_, value);
    case Type::Range: {
      int64_t number = 0;
      return absl::SimpleAtoi(value, &number) && number >= range_start_ && number < range_end_;
    }
    case Type::Present:
      return present_;
    case Type::Prefix:
      return absl::StartsWith(value, value_);
    case Type::Suffix:
      return absl::EndsWith(value, value_);
    case Type::Contains:
      return absl::StrContains(value, value_);
    case Type::String:
      return string_matcher_->match(value);
  }
  return false;
}

bool HeaderMatcher::matches(const Http::RequestHeaderMap& headers) const {
  absl::string_view value;
  bool found = false;
  std::string joined;  // only for repeated headers
  switch (source_) {
    case Source::Method:
      value = headers.method();
      found = !value.empty();
      break;
    case Source::Path:
      value = headers.path();
      found = !value.empty();
      break;
    case Source::Host:
      value = headers.host();
      found = !value.empty();
      break;
    case Source::Scheme:
      value = headers.scheme();
      found = !value.empty();
      break;
    case Source::Field:
      for (const Http::HeaderMap::Field& field : headers.fields()) {
        if (field.name != name_) {
          continue;
        }
        if (!found) {
          value = field.value;
          found = true;
        } else {
          if (joined.empty()) {
            joined.assign(value.data(), value.size());
          }
          joined += ',';
          joined.append(field.value.data(), field.value.size());
          value = joined;
        }
      }
      break;
  }
  if (!found && !treat_missing_as_empty_) {
    return invert_ ? (type_ == Type::Present && present_) : (type_ == Type::Present && !present_);
  }
  return matchValue(found ? value : absl::string_view()) != invert_;
}

std::string decodeQueryComponent(absl::string_view encoded) {
  std::string decoded;
  decoded.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (c == '+') {
      decoded += ' ';
    } else if (c == '%' && i + 2 < encoded.size() && hexValue(encoded[i + 1]) >= 0 &&
               hexValue(encoded[i + 2]) >= 0) {
      decoded += static_cast<char>(hexValue(encoded[i + 1]) * 16 + hexValue(encoded[i + 2]));
      i += 2;
    } else {
      decoded += c;
    }
  }
  return decoded;
}

void QueryParams::parse() {
  parsed_ = true;
  absl::string_view rest = query_;
  // A fragment is not part of the query.
  const size_t hash = rest.find('#');
  if (hash != absl::string_view::npos) {
    rest = rest.substr(0, hash);
  }
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const absl::string_view pair = rest.substr(0, amp);
    rest = amp == absl::string_view::npos ? absl::string_view() : rest.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    const size_t eq = pair.find('=');
    if (eq == absl::string_view::npos) {
      params_.emplace_back(pair, absl::string_view());
    } else {
      params_.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    }
  }
}

absl::optional<absl::string_view> QueryParams::firstValue(absl::string_view name,
                                                          std::string& scratch) {
  if (!parsed_) {
    parse();
  }
  for (const auto& [raw_name, raw_value] : params_) {
    const bool same =
        needsDecoding(raw_name) ? decodeQueryComponent(raw_name) == name : raw_name == name;
    if (!same) {
      continue;
    }
    if (!needsDecoding(raw_value)) {
      return raw_value;
    }
    scratch = decodeQueryComponent(raw_value);
    return absl::string_view(scratch);
  }
  return absl::nullopt;
}

absl::StatusOr<QueryParameterMatcher> QueryParameterMatcher::create(
    const envoy::config::route::v3::QueryParameterMatcher& config, absl::string_view path) {
  using Proto = envoy::config::route::v3::QueryParameterMatcher;
  QueryParameterMatcher matcher;
  if (config.name().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ".name: must not be empty"));
  }
  matcher.name_ = config.name();
  switch (config.query_parameter_match_specifier_case()) {
    case Proto::kPresentMatch:
      matcher.present_match_ = config.present_match();
      break;
    case Proto::kStringMatch: {
      auto string_matcher =
          StringMatcher::create(config.string_match(), absl::StrCat(path, ".string_match"));
      if (!string_matcher.ok()) {
        return string_matcher.status();
      }
      matcher.matcher_ = std::move(*string_matcher);
      break;
    }
    case Proto::QUERY_PARAMETER_MATCH_SPECIFIER_NOT_SET:
      break;
  }
  return matcher;
}

bool QueryParameterMatcher::matches(QueryParams& params) const {
  std::string scratch;
  const absl::optional<absl::string_view> value = params.firstValue(name_, scratch);
  if (!value.has_value()) {
    return false;
  }
  if (present_match_.has_value()) {
    return *present_match_;
  }
  if (!matcher_.has_value()) {
    return true;
  }
  return matcher_->match(*value);
}

}  // namespace Skiff::Router
