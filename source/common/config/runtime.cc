#include "source/common/config/runtime.h"

#include <cmath>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace Skiff::Config {
namespace {

constexpr absl::string_view kListenerLimitPrefix = "envoy.resource_limits.listener.";
constexpr absl::string_view kListenerLimitSuffix = ".connection_limit";

std::optional<uint64_t> asInteger(const google::protobuf::Value& value) {
  switch (value.kind_case()) {
    case google::protobuf::Value::kNumberValue: {
      const double number = value.number_value();
      // 2^53: every integer below is exact in a double.
      if (!std::isfinite(number) || number < 0 || number != std::floor(number) ||
          number > 9007199254740992.0) {
        return std::nullopt;
      }
      return static_cast<uint64_t>(number);
    }
    case google::protobuf::Value::kStringValue: {
      const std::string& text = value.string_value();
      uint64_t parsed;
      if (text.empty() || !absl::c_all_of(text, [](char c) { return absl::ascii_isdigit(c); }) ||
          !absl::SimpleAtoi(text, &parsed)) {
        return std::nullopt;
      }
      return parsed;
    }
    default:
      return std::nullopt;
  }
}

std::string describe(const google::protobuf::Value& value) {
  switch (value.kind_case()) {
    case google::protobuf::Value::kNumberValue:
      return absl::StrCat(value.number_value());
    case google::protobuf::Value::kStringValue:
      return absl::StrCat("\"", value.string_value(), "\"");
    case google::protobuf::Value::kBoolValue:
      return value.bool_value() ? "true" : "false";
    case google::protobuf::Value::kNullValue:
      return "null";
    default:
      return "a non-scalar value";
  }
}

bool isConnectionLimitKey(absl::string_view key) {
  return key == kGlobalDownstreamMaxConnectionsKey ||
         (absl::StartsWith(key, kListenerLimitPrefix) &&
          absl::EndsWith(key, kListenerLimitSuffix) &&
          key.size() > kListenerLimitPrefix.size() + kListenerLimitSuffix.size());
}

void flatten(const google::protobuf::Struct& fields, const std::string& prefix,
             const std::string& path,
             absl::flat_hash_map<std::string, google::protobuf::Value>& out,
             std::vector<std::string>& errors) {
  for (const auto& [name, value] : fields.fields()) {
    const std::string key = prefix.empty() ? name : absl::StrCat(prefix, ".", name);
    const std::string field_path = absl::StrCat(path, ".", name);
    switch (value.kind_case()) {
      case google::protobuf::Value::kStructValue:
        flatten(value.struct_value(), key, field_path, out, errors);
        break;
      case google::protobuf::Value::kListValue:
        errors.push_back(absl::StrCat(field_path, ": lists are not valid runtime values"));
        break;
      default:
        if (isConnectionLimitKey(key) && !asInteger(value).has_value()) {
          errors.push_back(absl::StrCat(field_path, ": ", describe(value),
                                        " is not a valid connection limit (a non-negative "
                                        "integer)"));
          break;
        }
        out[key] = value;
    }
  }
}

}  // namespace

std::string listenerConnectionLimitKey(absl::string_view listener_name) {
  return absl::StrCat(kListenerLimitPrefix, listener_name, kListenerLimitSuffix);
}

absl::StatusOr<RuntimeSnapshot> RuntimeSnapshot::create(
    const envoy::config::bootstrap::v3::LayeredRuntime& runtime, absl::string_view path) {
  RuntimeSnapshot snapshot;
  std::vector<std::string> errors;
  for (int i = 0; i < runtime.layers_size(); ++i) {
    const auto& layer = runtime.layers(i);
    const std::string layer_path = absl::StrCat(path, ".layers[", i, "]");
    if (layer.name().empty()) {
      errors.push_back(absl::StrCat(layer_path, ".name: must not be empty"));
    }
    if (!layer.has_static_layer()) {
      errors.push_back(absl::StrCat(
          layer_path, ": must set static_layer (skiff supports only static runtime layers)"));
      continue;
    }
    // Later layers override earlier ones, key by key.
    flatten(layer.static_layer(), "", absl::StrCat(layer_path, ".static_layer"), snapshot.values_,
            errors);
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  }
  return snapshot;
}

std::optional<uint64_t> RuntimeSnapshot::getInteger(absl::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) {
    return std::nullopt;
  }
  return asInteger(it->second);
}

}  // namespace Skiff::Config
