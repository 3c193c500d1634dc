#include "source/common/inject/yaml_writer.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "source/common/common/json.h"

namespace Skiff::Inject {
namespace {

constexpr absl::string_view kCoreTagPrefix = "tag:yaml.org,2002:";

bool allDigits(absl::string_view s, int base) {
  if (s.empty()) {
    return false;
  }
  for (const char c : s) {
    const bool ok = base == 16 ? absl::ascii_isxdigit(c) : (c >= '0' && c < '0' + base);
    if (!ok) {
      return false;
    }
  }
  return true;
}

absl::string_view withoutSign(absl::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    s.remove_prefix(1);
  }
  return s;
}

bool isIntText(absl::string_view s) {
  if (absl::StartsWith(s, "0x")) {
    return allDigits(s.substr(2), 16);
  }
  if (absl::StartsWith(s, "0o")) {
    return allDigits(s.substr(2), 8);
  }
  return allDigits(withoutSign(s), 10);
}

// [-+]? ( \.[0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?, or .inf / .nan.
bool isFloatText(absl::string_view s) {
  const absl::string_view unsigned_part = withoutSign(s);
  for (absl::string_view special : {".inf", ".Inf", ".INF"}) {
    if (unsigned_part == special) {
      return true;
    }
  }
  for (absl::string_view special : {".nan", ".NaN", ".NAN"}) {
    if (s == special) {
      return true;
    }
  }
  size_t i = 0;
  const auto digits = [&] {
    const size_t start = i;
    while (i < unsigned_part.size() && absl::ascii_isdigit(unsigned_part[i])) {
      ++i;
    }
    return i - start;
  };
  const size_t integer_digits = digits();
  size_t fraction_digits = 0;
  if (i < unsigned_part.size() && unsigned_part[i] == '.') {
    ++i;
    fraction_digits = digits();
  }
  if (integer_digits == 0 && fraction_digits == 0) {
    return false;
  }
  if (i < unsigned_part.size() && (unsigned_part[i] == 'e' || unsigned_part[i] == 'E')) {
    ++i;
    if (i < unsigned_part.size() && (unsigned_part[i] == '-' || unsigned_part[i] == '+')) {
      ++i;
    }
    if (digits() == 0) {
      return false;
    }
  }
  return i == unsigned_part.size();
}

bool isBoolText(absl::string_view s, bool* value = nullptr) {
  static const char* const kTrue[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                      "on",   "On",   "ON",   "y",   "Y"};
  static const char* const kFalse[] = {"false", "False", "FALSE", "no", "No", "NO",
                                       "off",   "Off",   "OFF",   "n",  "N"};
  for (const char* word : kTrue) {
    if (s == word) {
      if (value != nullptr) {
        *value = true;
      }
      return true;
    }
  }
  for (const char* word : kFalse) {
    if (s == word) {
      if (value != nullptr) {
        *value = false;
      }
      return true;
    }
  }
  return false;
}

bool isNullText(absl::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

ScalarType resolvePlain(absl::string_view s) {
  if (isNullText(s)) {
    return ScalarType::Null;
  }
  if (isBoolText(s)) {
    return ScalarType::Bool;
  }
  if (isIntText(s)) {
    return ScalarType::Int;
  }
  if (isFloatText(s)) {
    return ScalarType::Float;
  }
  return ScalarType::String;
}

std::string shortestDouble(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string out(buffer, result.ptr);
  // JSON needs a digit before an exponent's mantissa dot and rejects "inf"/"nan" (handled by the
  // caller); to_chars never writes a leading '.', so its output is already valid JSON.
  return out;
}

// The JSON text of a number scalar; a JSON string when it has no JSON form (.inf, .nan).
std::string numberJson(absl::string_view text, ScalarType type) {
  if (type == ScalarType::Int) {
    const std::string s(text);
    int base = 10;
    const char* digits = s.c_str();
    if (absl::StartsWith(s, "0x")) {
      base = 16;
      digits += 2;
    } else if (absl::StartsWith(s, "0o")) {
      base = 8;
      digits += 2;
    }
    errno = 0;
    char* end = nullptr;
    const long long value = std::strtoll(digits, &end, base);
    if (errno == 0 && end != nullptr && *end == '\0') {
      return absl::StrCat(value);
    }
    // Too big for 64 bits: JSON numbers have no size limit, decimal text carries over.
    if (base == 10) {
      std::string out(withoutSign(text));
      out.erase(0, std::min(out.find_first_not_of('0'), out.size() - 1));
      return absl::StartsWith(text, "-") ? absl::StrCat("-", out) : out;
    }
    return shortestDouble(std::strtod(s.c_str(), nullptr));
  }
  if (absl::StrContains(text, "inf") || absl::StrContains(text, "Inf") ||
      absl::StrContains(text, "INF") || absl::StrContains(absl::AsciiStrToLower(text), "nan")) {
    return Json::quote(text);
  }
  const std::string s(text);
  return shortestDouble(std::strtod(s.c_str(), nullptr));
}

// A scalar's value in a form that compares equal exactly when the values are equal.
std::string canonicalScalar(const YAML::Node& node, ScalarType type) {
  switch (type) {
    case ScalarType::Null:
      return "null";
    case ScalarType::Bool: {
      bool value = false;
      isBoolText(node.Scalar(), &value);
      return value ? "true" : "false";
    }
    case ScalarType::Int:
    case ScalarType::Float:
      return numberJson(node.Scalar(), type);
    case ScalarType::String:
      return node.Scalar();
  }
  return node.Scalar();
}

bool hasControl(absl::string_view s, bool allow_newline_and_tab) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (allow_newline_and_tab && (c == '\n' || c == '\t')) {
      continue;
    }
    if (u < 0x20 || u == 0x7f) {
      return true;
    }
  }
  return false;
}

// Digits first: YAML 1.1 readers (go-yaml, so Kubernetes) also take 1_000, 0b101, 0755, 1:30 and
// 2001-12-14 as numbers or dates. A letter that is no base or exponent marker ("64Mi", "10m",
// "30s") rules all of those out.
bool digitLedStringSafe(absl::string_view s) {
  for (const char c : s) {
    if (absl::ascii_isalpha(c) &&
        absl::string_view("eExXoObB").find(c) == absl::string_view::npos) {
      return true;
    }
  }
  return false;
}

// True when `s` can be written without quotes in block context and reads back as this string.
bool plainSafe(absl::string_view s) {
  if (s.empty() || absl::ascii_isspace(s.front()) || absl::ascii_isspace(s.back())) {
    return false;
  }
  if (absl::string_view("?:,[]{}#&*!|>'\"%@`").find(s.front()) != absl::string_view::npos) {
    return false;  // indicators
  }
  // "-x" is plain ("--port"); "- x" would be a sequence entry and "---" a document marker.
  if (s.front() == '-' && (s.size() == 1 || s[1] == ' ' || absl::StartsWith(s, "---"))) {
    return false;
  }
  if (absl::ascii_isdigit(s.front()) && !digitLedStringSafe(s)) {
    return false;
  }
  if (s == "=" || s == "<<") {
    return false;  // YAML 1.1's value and merge keys
  }
  if (hasControl(s, false) || absl::StrContains(s, ": ") || absl::StrContains(s, " #") ||
      s.back() == ':') {
    return false;
  }
  // Whatever YAML would read as a null, boolean or number (-5, .inf, yes, ~).
  return resolvePlain(s) == ScalarType::String;
}

std::string doubleQuoted(absl::string_view s) {
  // JSON string escapes are valid YAML double-quoted escapes.
  return Json::quote(s);
}

std::string singleQuoted(absl::string_view s) {
  std::string out = "'";
  for (const char c : s) {
    out += c;
    if (c == '\'') {
      out += '\'';
    }
  }
  out += '\'';
  return out;
}

// A string on one line: plain, single-quoted or double-quoted.
std::string inlineString(absl::string_view s) {
  if (plainSafe(s)) {
    return std::string(s);
  }
  if (!hasControl(s, false)) {
    return singleQuoted(s);
  }
  return doubleQuoted(s);
}

bool literalBlockSafe(absl::string_view s) {
  if (!absl::StrContains(s, '\n') || hasControl(s, true)) {
    return false;
  }
  // The first non-empty line fixes the block's indentation: it must not start with a space.
  for (absl::string_view line : absl::StrSplit(s, '\n')) {
    if (!line.empty()) {
      return line.front() != ' ' && line.front() != '\t';
    }
  }
  return false;  // only newlines
}

// `s` as a literal block scalar: the header ("|", "|-" or "|+") and its lines at `indent`.
std::string literalBlock(absl::string_view s, int indent) {
  size_t trailing = 0;
  while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n') {
    ++trailing;
  }
  absl::string_view content = s;
  std::string out = "|";
  if (trailing == 0) {
    out += "-";
  } else {
    content.remove_suffix(1);
    if (trailing > 1) {
      out += "+";
    }
  }
  out += "\n";
  const std::string pad(indent, ' ');
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    if (!line.empty()) {
      absl::StrAppend(&out, pad, line);
    }
    out += "\n";
  }
  return out;
}

std::string scalarText(const YAML::Node& node) {
  const ScalarType type = scalarType(node);
  if (type == ScalarType::Null) {
    return "null";
  }
  if (type != ScalarType::String) {
    // A plain scalar keeps its spelling; an explicitly tagged one is written plain, which reads
    // back as the same type (isIntText etc. accepted it).
    return node.Scalar();
  }
  return inlineString(node.Scalar());
}

std::string keyText(const YAML::Node& key) {
  if (key.IsScalar() || key.IsNull()) {
    return scalarText(key);
  }
  return toJson(key);
}

class YamlWriter {
 public:
  std::string out;

  void document(const YAML::Node& node) {
    if (node.IsMap() && node.size() > 0) {
      map(node, 0, false);
    } else if (node.IsSequence() && node.size() > 0) {
      sequence(node, 0);
    } else {
      inlineValue(node, 2);
      out += "\n";
    }
  }

 private:
  void pad(int indent) { out.append(indent, ' '); }

  // A mapping at `indent`; when `continues_line`, the first key goes where the cursor is (after
  // a sequence's "- ").
  void map(const YAML::Node& node, int indent, bool continues_line) {
    bool first = true;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!(first && continues_line)) {
        pad(indent);
      }
      first = false;
      absl::StrAppend(&out, keyText(it->first), ":");
      value(it->second, indent);
    }
  }

  // What follows "key:" for a key at `indent`.
  void value(const YAML::Node& node, int indent) {
    if (node.IsMap() && node.size() > 0) {
      out += "\n";
      map(node, indent + 2, false);
    } else if (node.IsSequence() && node.size() > 0) {
      out += "\n";
      sequence(node, indent);
    } else {
      out += " ";
      inlineValue(node, indent + 2);
      if (out.back() != '\n') {
        out += "\n";
      }
    }
  }

  void sequence(const YAML::Node& node, int indent) {
    for (const YAML::Node& item : node) {
      pad(indent);
      out += "-";
      if (item.IsMap() && item.size() > 0) {
        out += " ";
        map(item, indent + 2, true);
      } else if (item.IsSequence() && item.size() > 0) {
        out += "\n";
        sequence(item, indent + 2);
      } else {
        out += " ";
        inlineValue(item, indent + 2);
        if (out.back() != '\n') {
          out += "\n";
        }
      }
    }
  }

  // A scalar or an empty collection; a multi-line string becomes a literal block whose lines sit
  // at `block_indent`.
  void inlineValue(const YAML::Node& node, int block_indent) {
    if (node.IsMap()) {
      out += "{}";
    } else if (node.IsSequence()) {
      out += "[]";
    } else if (node.IsScalar() && scalarType(node) == ScalarType::String &&
               literalBlockSafe(node.Scalar())) {
      out += literalBlock(node.Scalar(), block_indent);
    } else {
      out += scalarText(node);
    }
  }
};

void writeJson(const YAML::Node& node, std::string& out) {
  if (node.IsMap()) {
    out += "{";
    bool first = true;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!first) {
        out += ",";
      }
      first = false;
      // By value: yaml-cpp's iterators hand out pairs that die with the expression.
      const YAML::Node key = it->first;
      out += Json::quote(key.IsScalar() ? key.Scalar() : (key.IsNull() ? "null" : toJson(key)));
      out += ":";
      writeJson(it->second, out);
    }
    out += "}";
    return;
  }
  if (node.IsSequence()) {
    out += "[";
    bool first = true;
    for (const YAML::Node& item : node) {
      if (!first) {
        out += ",";
      }
      first = false;
      writeJson(item, out);
    }
    out += "]";
    return;
  }
  const ScalarType type = node.IsDefined() ? scalarType(node) : ScalarType::Null;
  switch (type) {
    case ScalarType::Null:
      out += "null";
      return;
    case ScalarType::String:
      out += Json::quote(node.Scalar());
      return;
    default:
      out += canonicalScalar(node, type);
  }
}

}  // namespace

ScalarType scalarType(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) {
    return ScalarType::Null;
  }
  const std::string& tag = node.Tag();
  if (tag == "!") {
    return ScalarType::String;
  }
  if (absl::StartsWith(tag, kCoreTagPrefix)) {
    const absl::string_view kind = absl::string_view(tag).substr(kCoreTagPrefix.size());
    const absl::string_view text = node.Scalar();
    if (kind == "null") {
      return ScalarType::Null;
    }
    if (kind == "bool" && isBoolText(text)) {
      return ScalarType::Bool;
    }
    if (kind == "int" && isIntText(text)) {
      return ScalarType::Int;
    }
    if (kind == "float" && (isFloatText(text) || isIntText(text))) {
      return ScalarType::Float;
    }
    return ScalarType::String;
  }
  if (!tag.empty() && tag != "?") {
    return ScalarType::String;  // an application tag: keep the text
  }
  return resolvePlain(node.Scalar());
}

YAML::Node lookup(const YAML::Node& map, absl::string_view key) {
  if (!map.IsDefined() || !map.IsMap()) {
    return YAML::Node();
  }
  const YAML::Node value = map[std::string(key)];
  return value.IsDefined() ? value : YAML::Node();
}

YAML::Node stringNode(absl::string_view value) {
  YAML::Node node{std::string(value)};
  node.SetTag("!");
  return node;
}

YAML::Node intNode(int64_t value) { return YAML::Node(absl::StrCat(value)); }

YAML::Node boolNode(bool value) { return YAML::Node(value ? "true" : "false"); }

bool nodesEqual(const YAML::Node& a, const YAML::Node& b) {
  if (a.IsMap() != b.IsMap() || a.IsSequence() != b.IsSequence()) {
    return false;
  }
  if (a.IsMap()) {
    if (a.size() != b.size()) {
      return false;
    }
    for (auto ia = a.begin(); ia != a.end(); ++ia) {
      bool found = false;
      for (auto ib = b.begin(); ib != b.end(); ++ib) {
        if (nodesEqual(ia->first, ib->first)) {
          if (!nodesEqual(ia->second, ib->second)) {
            return false;
          }
          found = true;
          break;
        }
      }
      if (!found) {
        return false;
      }
    }
    return true;
  }
  if (a.IsSequence()) {
    if (a.size() != b.size()) {
      return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
      if (!nodesEqual(a[i], b[i])) {
        return false;
      }
    }
    return true;
  }
  const ScalarType type = scalarType(a);
  return type == scalarType(b) && canonicalScalar(a, type) == canonicalScalar(b, type);
}

std::string toYaml(const YAML::Node& node) {
  YamlWriter writer;
  writer.document(node);
  return std::move(writer.out);
}

std::string toJson(const YAML::Node& node) {
  std::string out;
  writeJson(node, out);
  return out;
}

absl::StatusOr<YAML::Node> parseYaml(absl::string_view text, absl::string_view source,
                                     int line_offset) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source, ":", e.mark.line + 1 + line_offset, ":",
                                                   e.mark.column + 1, ": ", e.msg));
  }
}

}  // namespace Skiff::Inject
