#include "source/common/config/message_loader.h"

#include <exception>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "source/common/common/json.h"
#include "yaml-cpp/yaml.h"

namespace Skiff::Config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

void appendJsonString(std::string& out, absl::string_view s) {
  out.push_back('"');
  Json::appendEscaped(out, s);
  out.push_back('"');
}

// True if `s` is a number exactly as JSON spells one (so it can be copied into JSON unquoted).
bool isJsonNumber(absl::string_view s) {
  size_t i = 0;
  auto digits = [&]() {
    const size_t start = i;
    while (i < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
    }
    return i > start;
  };
  if (i < s.size() && s[i] == '-') {
    ++i;
  }
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) {
      return false;
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      ++i;
    }
    if (!digits()) {
      return false;
    }
  }
  return i == s.size();
}

bool isInteger(absl::string_view s) {
  return isJsonNumber(s) && !absl::StrContains(s, '.') && !absl::StrContains(s, 'e') &&
         !absl::StrContains(s, 'E');
}

// A scalar written without quotes ("plain" in YAML terms) is the only kind that may be typed as a
// null, bool or number; yaml-cpp tags quoted scalars "!".
bool isPlain(const YAML::Node& node) { return node.Tag() != "!"; }

bool plainBool(const YAML::Node& node, bool& out) {
  if (!isPlain(node)) {
    return false;
  }
  const std::string lower = absl::AsciiStrToLower(node.Scalar());
  if (lower == "true" || lower == "yes" || lower == "on") {
    out = true;
    return true;
  }
  if (lower == "false" || lower == "no" || lower == "off") {
    out = false;
    return true;
  }
  return false;
}

enum class WellKnown { None, StringScalar, Wrapper, Struct, Value, ListValue, Empty, Any };

WellKnown wellKnown(const Descriptor& d) {
  const std::string& name = d.full_name();
  if (!absl::StartsWith(name, "google.protobuf.")) {
    return WellKnown::None;
  }
  if (name == "google.protobuf.Duration" || name == "google.protobuf.Timestamp" ||
      name == "google.protobuf.FieldMask") {
    return WellKnown::StringScalar;
  }
  if (name == "google.protobuf.Struct") {
    return WellKnown::Struct;
  }
  if (name == "google.protobuf.Value") {
    return WellKnown::Value;
  }
  if (name == "google.protobuf.ListValue") {
    return WellKnown::ListValue;
  }
  if (name == "google.protobuf.Empty") {
    return WellKnown::Empty;
  }
  if (name == "google.protobuf.Any") {
    return WellKnown::Any;
  }
  if (absl::EndsWith(name, "Value") && d.field_count() == 1 && d.field(0)->name() == "value") {
    return WellKnown::Wrapper;
  }
  return WellKnown::None;
}

const FieldDescriptor* findField(const Descriptor& d, absl::string_view key) {
  for (int i = 0; i < d.field_count(); ++i) {
    const FieldDescriptor* f = d.field(i);
    if (f->name() == key || f->json_name() == key) {
      return f;
    }
  }
  return nullptr;
}

std::string join(const std::string& parent, absl::string_view name) {
  return parent.empty() ? std::string(name) : absl::StrCat(parent, ".", name);
}

// Walks a YAML tree alongside a message descriptor and writes proto3 JSON. Collects errors rather
// than stopping at the first one. yaml-cpp may throw from accessors; the caller catches.
class YamlJsonWriter {
 public:
  explicit YamlJsonWriter(absl::string_view source) : source_(source) {}

  // `skip_type_key`: the map is an Any's, whose "@type" key was already handled.
  void message(const YAML::Node& node, const Descriptor& d, const std::string& path,
               bool skip_type_key = false) {
    switch (wellKnown(d)) {
      case WellKnown::StringScalar:
        if (node.IsNull()) {
          out_ += "null";
        } else if (expectScalar(node, path)) {
          appendJsonString(out_, node.Scalar());
        }
        return;
      case WellKnown::Wrapper:
        if (node.IsNull()) {
          out_ += "null";
        } else {
          scalar(node, *d.field(0), path);
        }
        return;
      case WellKnown::Struct:
        if (node.IsNull()) {
          out_ += "{}";
        } else if (expectMap(node, path)) {
          untyped(node, path);
        }
        return;
      case WellKnown::Value:
        untyped(node, path);
        return;
      case WellKnown::ListValue:
        if (node.IsNull()) {
          out_ += "[]";
        } else if (expectSequence(node, path)) {
          untyped(node, path);
        }
        return;
      case WellKnown::Empty:
        out_ += "{}";
        return;
      case WellKnown::Any:
        any(node, path);
        return;
      case WellKnown::None:
        break;
    }
    if (node.IsNull()) {
      // `ads:` with nothing after it means an empty message, like `ads: {}`.
      out_ += "{}";
      return;
    }
    if (!expectMap(node, path)) {
      return;
    }
    out_.push_back('{');
    bool first = true;
    absl::flat_hash_set<const FieldDescriptor*> seen;
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      if (skip_type_key && key == "@type") {
        continue;
      }
      const std::string field_path = join(path, key);
      const FieldDescriptor* f = findField(d, key);
      if (f == nullptr) {
        error(kv.first, field_path, absl::StrFormat("unknown field (not in %s)", d.full_name()));
        continue;
      }
      if (!seen.insert(f).second) {
        error(kv.first, field_path, "field given more than once");
        continue;
      }
      if (!first) {
        out_.push_back(',');
      }
      first = false;
      recordLine(kv.first, field_path);
      appendJsonString(out_, f->name());
      out_.push_back(':');
      field(kv.second, *f, field_path);
    }
    out_.push_back('}');
  }

  std::string& json() { return out_; }
  const std::vector<std::string>& errors() const { return errors_; }
  absl::flat_hash_map<std::string, int>& lines() { return lines_; }

 private:
  void field(const YAML::Node& node, const FieldDescriptor& f, const std::string& path) {
    if (f.is_map()) {
      if (node.IsNull()) {
        out_ += "{}";
        return;
      }
      if (!expectMap(node, path)) {
        return;
      }
      const FieldDescriptor& value_field = *f.message_type()->map_value();
      out_.push_back('{');
      bool first = true;
      for (const auto& kv : node) {
        if (!first) {
          out_.push_back(',');
        }
        first = false;
        const std::string key = kv.first.Scalar();
        appendJsonString(out_, key);
        out_.push_back(':');
        single(kv.second, value_field, absl::StrCat(path, "[\"", key, "\"]"));
      }
      out_.push_back('}');
      return;
    }
    if (f.is_repeated()) {
      if (node.IsNull()) {
        out_ += "[]";
        return;
      }
      if (!expectSequence(node, path)) {
        return;
      }
      out_.push_back('[');
      for (size_t i = 0; i < node.size(); ++i) {
        if (i > 0) {
          out_.push_back(',');
        }
        const std::string element_path = absl::StrCat(path, "[", i, "]");
        recordLine(node[i], element_path);
        single(node[i], f, element_path);
      }
      out_.push_back(']');
      return;
    }
    single(node, f, path);
  }

  void single(const YAML::Node& node, const FieldDescriptor& f, const std::string& path) {
    if (f.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      message(node, *f.message_type(), path);
      return;
    }
    if (node.IsNull()) {
      out_ += "null";
      return;
    }
    scalar(node, f, path);
  }

  void scalar(const YAML::Node& node, const FieldDescriptor& f, const std::string& path) {
    if (!expectScalar(node, path)) {
      return;
    }
    const std::string& s = node.Scalar();
    switch (f.cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        appendJsonString(out_, s);
        return;
      case FieldDescriptor::CPPTYPE_BOOL: {
        bool b = false;
        if (plainBool(node, b)) {
          out_ += b ? "true" : "false";
        } else {
          appendJsonString(out_, s);  // The JSON parser reports the bad value with its field.
        }
        return;
      }
      case FieldDescriptor::CPPTYPE_ENUM:
        if (isPlain(node) && isInteger(s)) {
          out_ += s;
        } else {
          appendJsonString(out_, s);
        }
        return;
      default:  // Numbers. Quoted numbers are valid proto3 JSON too; anything else fails to parse.
        if (isPlain(node) && isJsonNumber(s)) {
          out_ += s;
        } else {
          appendJsonString(out_, s);
        }
        return;
    }
  }

  // google.protobuf.Any: "@type" picks the descriptor for the remaining keys.
  void any(const YAML::Node& node, const std::string& path) {
    if (node.IsNull()) {
      out_ += "null";
      return;
    }
    if (!expectMap(node, path)) {
      return;
    }
    const YAML::Node type_node = node["@type"];
    if (!type_node.IsDefined() || !type_node.IsScalar()) {
      error(node, path, "google.protobuf.Any needs an \"@type\" naming the message type");
      return;
    }
    const std::string type_url = type_node.Scalar();
    const size_t slash = type_url.rfind('/');
    const std::string type_name =
        slash == std::string::npos ? type_url : type_url.substr(slash + 1);
    const Descriptor* d =
        google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type_name);
    if (slash == std::string::npos || d == nullptr) {
      error(
          type_node, join(path, "@type"),
          absl::StrFormat("unknown type \"%s\" (skiff supports only the types in api/)", type_url));
      return;
    }
    out_ += "{\"@type\":";
    appendJsonString(out_, type_url);
    if (wellKnown(*d) != WellKnown::None) {
      // Well-known types inside an Any are written as {"@type": ..., "value": <json>}.
      for (const auto& kv : node) {
        const std::string key = kv.first.Scalar();
        if (key == "@type") {
          continue;
        }
        if (key != "value") {
          error(kv.first, join(path, key), "unknown field (expected only \"@type\" and \"value\")");
          continue;
        }
        out_ += ",\"value\":";
        message(kv.second, *d, join(path, key));
      }
      out_.push_back('}');
      return;
    }
    // Re-use the message walker on the other keys, then splice its object after "@type". (Not
    // by copying them into a new YAML::Node: yaml-cpp then merges the two documents' memory and
    // frees neither, which leaked about 9 KB per listener.)
    std::string saved;
    saved.swap(out_);
    message(node, *d, path, /*skip_type_key=*/true);
    std::string body;
    body.swap(out_);
    out_.swap(saved);
    if (body.size() > 2) {  // "{...}" with at least one member.
      out_.push_back(',');
      out_.append(body, 1, std::string::npos);
    } else {
      out_.push_back('}');
    }
  }

  // Schema-less YAML (inside Struct/Value/ListValue): plain scalars get YAML's usual types.
  void untyped(const YAML::Node& node, const std::string& path) {
    if (node.IsNull()) {
      out_ += "null";
    } else if (node.IsScalar()) {
      const std::string& s = node.Scalar();
      bool b = false;
      if (isPlain(node) && (s == "true" || s == "false" || s == "True" || s == "False")) {
        plainBool(node, b);
        out_ += b ? "true" : "false";
      } else if (isPlain(node) && isJsonNumber(s)) {
        out_ += s;
      } else {
        appendJsonString(out_, s);
      }
    } else if (node.IsSequence()) {
      out_.push_back('[');
      for (size_t i = 0; i < node.size(); ++i) {
        if (i > 0) {
          out_.push_back(',');
        }
        untyped(node[i], absl::StrCat(path, "[", i, "]"));
      }
      out_.push_back(']');
    } else if (node.IsMap()) {
      out_.push_back('{');
      bool first = true;
      for (const auto& kv : node) {
        if (!first) {
          out_.push_back(',');
        }
        first = false;
        appendJsonString(out_, kv.first.Scalar());
        out_.push_back(':');
        untyped(kv.second, join(path, kv.first.Scalar()));
      }
      out_.push_back('}');
    } else {
      out_ += "null";
    }
  }

  bool expectMap(const YAML::Node& node, const std::string& path) {
    if (node.IsMap()) {
      return true;
    }
    error(node, path, "expected a mapping (key: value pairs)");
    out_ += "null";
    return false;
  }

  bool expectSequence(const YAML::Node& node, const std::string& path) {
    if (node.IsSequence()) {
      return true;
    }
    error(node, path, "expected a list");
    out_ += "null";
    return false;
  }

  bool expectScalar(const YAML::Node& node, const std::string& path) {
    if (node.IsScalar()) {
      return true;
    }
    error(node, path, "expected a single value, not a list or mapping");
    out_ += "null";
    return false;
  }

  void error(const YAML::Node& node, const std::string& path, absl::string_view why) {
    const YAML::Mark mark = node.Mark();
    std::string location(source_);
    if (!mark.is_null()) {
      absl::StrAppend(&location, ":", mark.line + 1);
    }
    errors_.push_back(path.empty() ? absl::StrCat(location, ": ", why)
                                   : absl::StrCat(location, ": ", path, ": ", why));
  }

  void recordLine(const YAML::Node& node, const std::string& path) {
    const YAML::Mark mark = node.Mark();
    if (!mark.is_null()) {
      lines_.emplace(path, mark.line + 1);
    }
  }

  const std::string source_;
  std::string out_;
  std::vector<std::string> errors_;
  // Field path (as the protobuf JSON parser spells it in errors) -> 1-based YAML line.
  absl::flat_hash_map<std::string, int> lines_;
};

absl::StatusOr<std::string> convertYaml(absl::string_view yaml,
                                        const google::protobuf::Descriptor& descriptor,
                                        absl::string_view source_name,
                                        absl::flat_hash_map<std::string, int>* lines) {
  // yaml-cpp reports errors by throwing; nothing may escape this function.
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    YamlJsonWriter writer(source_name);
    if (!root.IsDefined() || root.IsNull()) {
      return std::string("{}");
    }
    if (!root.IsMap()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_name, ": the document must be a YAML mapping (key: value pairs)"));
    }
    writer.message(root, descriptor, "");
    if (!writer.errors().empty()) {
      return absl::InvalidArgumentError(absl::StrJoin(writer.errors(), "\n"));
    }
    if (lines != nullptr) {
      *lines = std::move(writer.lines());
    }
    return std::move(writer.json());
  } catch (const YAML::Exception& e) {
    std::string location(source_name);
    if (!e.mark.is_null()) {
      absl::StrAppend(&location, ":", e.mark.line + 1, ":", e.mark.column + 1);
    }
    return absl::InvalidArgumentError(
        absl::StrCat(location, ": invalid YAML: ", e.msg.empty() ? e.what() : e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ": invalid YAML: ", e.what()));
  }
}

// The protobuf JSON parser starts errors with "(<field path>): "; with the YAML line map this
// becomes "<file>:<line>: <field path>: ...".
absl::Status jsonToMessage(absl::string_view json, absl::string_view source_name,
                           google::protobuf::Message& message,
                           const absl::flat_hash_map<std::string, int>* lines = nullptr) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  message.Clear();
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &message, options);
  if (!status.ok()) {
    const std::string text(status.message());
    const size_t close = text.find("): ");
    if (lines != nullptr && absl::StartsWith(text, "(") && close != std::string::npos) {
      const std::string path = text.substr(1, close - 1);
      const auto it = lines->find(path);
      if (it != lines->end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(source_name, ":", it->second, ": ", path, ": ", text.substr(close + 3)));
      }
    }
    return absl::InvalidArgumentError(absl::StrCat(source_name, ": ", text));
  }
  return absl::OkStatus();
}

}  // namespace

ConfigFormat formatFromPath(absl::string_view path) {
  if (absl::EndsWith(path, ".yaml") || absl::EndsWith(path, ".yml")) {
    return ConfigFormat::Yaml;
  }
  if (absl::EndsWith(path, ".json")) {
    return ConfigFormat::Json;
  }
  return ConfigFormat::Auto;
}

absl::StatusOr<std::string> yamlToJson(absl::string_view yaml,
                                       const google::protobuf::Descriptor& descriptor,
                                       absl::string_view source_name) {
  return convertYaml(yaml, descriptor, source_name, nullptr);
}

absl::Status loadMessageFromString(absl::string_view content, ConfigFormat format,
                                   absl::string_view source_name,
                                   google::protobuf::Message& message) {
  if (format == ConfigFormat::Auto) {
    const size_t first = content.find_first_not_of(" \t\r\n");
    format = (first != absl::string_view::npos && content[first] == '{') ? ConfigFormat::Json
                                                                         : ConfigFormat::Yaml;
  }
  if (format == ConfigFormat::Json) {
    return jsonToMessage(content, source_name, message);
  }
  absl::flat_hash_map<std::string, int> lines;
  absl::StatusOr<std::string> json =
      convertYaml(content, *message.GetDescriptor(), source_name, &lines);
  if (!json.ok()) {
    message.Clear();
    return json.status();
  }
  return jsonToMessage(*json, source_name, message, &lines);
}

}  // namespace Skiff::Config
