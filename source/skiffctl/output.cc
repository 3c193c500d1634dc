#include "source/skiffctl/output.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "source/common/common/json.h"

namespace Skiff::Ctl {

using google::protobuf::Value;

std::string renderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  const auto measure = [&widths](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& row : rows) {
    measure(row);
  }
  std::string out;
  const auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string& cell = i < row.size() ? row[i] : "";
      absl::StrAppend(&line, cell);
      if (i + 1 < widths.size()) {
        line.append(widths[i] - cell.size() + 3, ' ');
      }
    }
    absl::StrAppend(&out, absl::StripTrailingAsciiWhitespace(line), "\n");
  };
  emit(header);
  for (const auto& row : rows) {
    emit(row);
  }
  return out;
}

std::string scalarText(const Value& value) {
  switch (value.kind_case()) {
    case Value::kStringValue:
      return value.string_value();
    case Value::kBoolValue:
      return value.bool_value() ? "true" : "false";
    case Value::kNumberValue: {
      const double number = value.number_value();
      if (std::floor(number) == number && std::fabs(number) < 1e15) {
        return absl::StrCat(static_cast<int64_t>(number));
      }
      return absl::StrCat(number);
    }
    case Value::kNullValue:
      return "null";
    default:
      return "";
  }
}

namespace {

// Whether `s` can be written as a plain YAML scalar and still read back as the same string.
bool plainSafe(const std::string& s) {
  if (s.empty() || s == "~" || s == "-") {
    return false;
  }
  const std::string lower = absl::AsciiStrToLower(s);
  for (const char* special : {"null", "true", "false", "yes", "no", "on", "off", "y", "n"}) {
    if (lower == special) {
      return false;
    }
  }
  double number;
  if (absl::SimpleAtod(s, &number) || lower == ".inf" || lower == ".nan") {
    return false;
  }
  for (const char c : s) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' ||
          c == '-' || c == '+')) {
      return false;
    }
  }
  return !(s[0] == '-' || s[0] == '.');
}

std::string yamlScalar(const Value& value) {
  if (value.kind_case() == Value::kStringValue) {
    // A JSON string is a valid YAML double-quoted scalar.
    return plainSafe(value.string_value()) ? value.string_value()
                                           : Json::quote(value.string_value());
  }
  return scalarText(value);
}

bool isEmptyCollection(const Value& value) {
  return (value.has_struct_value() && value.struct_value().fields().empty()) ||
         (value.has_list_value() && value.list_value().values().empty());
}

bool isCollection(const Value& value) {
  return (value.has_struct_value() || value.has_list_value()) && !isEmptyCollection(value);
}

// Protobuf maps have no order; sort keys, with "@type" and "name" first as people write them.
std::vector<std::string> orderedKeys(const google::protobuf::Struct& object) {
  std::vector<std::string> keys;
  for (const auto& [key, field] : object.fields()) {
    keys.push_back(key);
  }
  const auto rank = [](const std::string& key) {
    return key == "@type" ? 0 : (key == "name" || key == "cluster_name") ? 1 : 2;
  };
  std::sort(keys.begin(), keys.end(), [&rank](const std::string& a, const std::string& b) {
    return rank(a) != rank(b) ? rank(a) < rank(b) : a < b;
  });
  return keys;
}

std::string yamlKey(const std::string& key) { return plainSafe(key) ? key : Json::quote(key); }

void appendJson(const Value& value, int indent, std::string& out) {
  const std::string pad(static_cast<size_t>(indent) * 2, ' ');
  if (value.has_struct_value()) {
    const auto keys = orderedKeys(value.struct_value());
    if (keys.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    for (size_t i = 0; i < keys.size(); ++i) {
      absl::StrAppend(&out, pad, "  ", Json::quote(keys[i]), ": ");
      appendJson(value.struct_value().fields().at(keys[i]), indent + 1, out);
      absl::StrAppend(&out, i + 1 < keys.size() ? ",\n" : "\n");
    }
    absl::StrAppend(&out, pad, "}");
  } else if (value.has_list_value()) {
    const auto& items = value.list_value().values();
    if (items.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (int i = 0; i < items.size(); ++i) {
      absl::StrAppend(&out, pad, "  ");
      appendJson(items[i], indent + 1, out);
      absl::StrAppend(&out, i + 1 < items.size() ? ",\n" : "\n");
    }
    absl::StrAppend(&out, pad, "]");
  } else if (value.kind_case() == Value::kStringValue) {
    out += Json::quote(value.string_value());
  } else {
    out += scalarText(value);
  }
}

}  // namespace

std::string toYaml(const Value& value, int indent) {
  const std::string pad(static_cast<size_t>(indent) * 2, ' ');
  std::string out;
  if (value.has_struct_value() && !isEmptyCollection(value)) {
    for (const auto& key : orderedKeys(value.struct_value())) {
      const Value& field = value.struct_value().fields().at(key);
      if (isCollection(field)) {
        absl::StrAppend(&out, pad, yamlKey(key), ":\n",
                        toYaml(field, field.has_list_value() ? indent : indent + 1));
      } else {
        absl::StrAppend(
            &out, pad, yamlKey(key), ": ",
            isEmptyCollection(field) ? (field.has_struct_value() ? "{}" : "[]") : yamlScalar(field),
            "\n");
      }
    }
    return out;
  }
  if (value.has_list_value() && !isEmptyCollection(value)) {
    for (const auto& item : value.list_value().values()) {
      if (isCollection(item)) {
        // "- " then the item's first line; the rest stays indented under it.
        std::string body = toYaml(item, indent + 1);
        absl::StrAppend(&out, pad, "- ", body.substr(pad.size() + 2));
      } else {
        absl::StrAppend(
            &out, pad, "- ",
            isEmptyCollection(item) ? (item.has_struct_value() ? "{}" : "[]") : yamlScalar(item),
            "\n");
      }
    }
    return out;
  }
  if (isEmptyCollection(value)) {
    return absl::StrCat(pad, value.has_struct_value() ? "{}" : "[]", "\n");
  }
  return absl::StrCat(pad, yamlScalar(value), "\n");
}

std::string toPrettyJson(const Value& value) {
  std::string out;
  appendJson(value, 0, out);
  return out + "\n";
}

const Value* lookup(const Value& value, std::initializer_list<absl::string_view> path) {
  const Value* current = &value;
  for (absl::string_view key : path) {
    if (current->has_struct_value()) {
      const auto& fields = current->struct_value().fields();
      const auto it = fields.find(std::string(key));
      if (it == fields.end()) {
        return nullptr;
      }
      current = &it->second;
    } else if (current->has_list_value()) {
      int index = 0;
      if (!absl::SimpleAtoi(key, &index) || index < 0 ||
          index >= current->list_value().values_size()) {
        return nullptr;
      }
      current = &current->list_value().values(index);
    } else {
      return nullptr;
    }
  }
  return current;
}

std::string text(const Value& value, std::initializer_list<absl::string_view> path) {
  const Value* found = lookup(value, path);
  return found == nullptr ? "" : scalarText(*found);
}

std::string ageSince(const std::string& rfc3339) {
  absl::Time then;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, rfc3339, &then, &error)) {
    return "";
  }
  const int64_t seconds = std::max<int64_t>(0, absl::ToInt64Seconds(absl::Now() - then));
  if (seconds >= 2 * 86400) {
    return absl::StrCat(seconds / 86400, "d");
  }
  if (seconds >= 2 * 3600) {
    return absl::StrCat(seconds / 3600, "h");
  }
  if (seconds >= 2 * 60) {
    return absl::StrCat(seconds / 60, "m");
  }
  return absl::StrCat(seconds, "s");
}

}  // namespace Skiff::Ctl
