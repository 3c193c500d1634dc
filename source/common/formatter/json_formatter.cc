#include "source/common/formatter/json_formatter.h"

#include <cmath>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "source/common/common/json.h"

namespace Skiff::Formatter {
namespace {

// One value of the template. Built once; formatting walks the tree.
struct Node {
  enum class Kind { Object, List, Format, Constant };
  Kind kind = Kind::Constant;
  // Object: keys (sorted) and their values, index for index. Two vectors rather than one of
  // pair<string, Node>: a pair of an incomplete type does not compile with clang (tools/fuzz).
  std::vector<std::string> member_keys;
  std::vector<Node> member_values;
  std::vector<Node> items;               // List
  std::unique_ptr<FormatString> format;  // Format
  std::string constant;                  // Constant: JSON text
};

std::string numberText(double value) {
  if (std::isfinite(value) && std::trunc(value) == value && std::fabs(value) < 9007199254740992.0) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  if (!std::isfinite(value)) {
    return "null";  // JSON has no NaN or infinity
  }
  return absl::StrFormat("%.17g", value);
}

absl::StatusOr<Node> build(const google::protobuf::Value& value, const std::string& path,
                           const JsonFormatOptions& options);

absl::StatusOr<Node> buildObject(const google::protobuf::Struct& object, const std::string& path,
                                 const JsonFormatOptions& options) {
  Node node;
  node.kind = Node::Kind::Object;
  // std::map orders the keys; protobuf's map has no stable order of its own.
  std::map<std::string, const google::protobuf::Value*> sorted;
  for (const auto& [key, value] : object.fields()) {
    sorted.emplace(key, &value);
  }
  for (const auto& [key, value] : sorted) {
    auto child = build(*value, absl::StrCat(path, ".", key), options);
    if (!child.ok()) {
      return child.status();
    }
    node.member_keys.push_back(key);
    node.member_values.push_back(std::move(*child));
  }
  return node;
}

absl::StatusOr<Node> build(const google::protobuf::Value& value, const std::string& path,
                           const JsonFormatOptions& options) {
  Node node;
  switch (value.kind_case()) {
    case google::protobuf::Value::kStringValue: {
      auto format = FormatString::parse(value.string_value(),
                                        {.omit_empty_values = options.omit_empty_values});
      if (!format.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(path, ": ", format.status().message()));
      }
      node.kind = Node::Kind::Format;
      node.format = std::make_unique<FormatString>(std::move(*format));
      return node;
    }
    case google::protobuf::Value::kNumberValue:
      node.constant = numberText(value.number_value());
      break;
    case google::protobuf::Value::kBoolValue:
      node.constant = value.bool_value() ? "true" : "false";
      break;
    case google::protobuf::Value::kNullValue:
    case google::protobuf::Value::KIND_NOT_SET:
      node.constant = "null";
      break;
    case google::protobuf::Value::kStructValue:
      return buildObject(value.struct_value(), path, options);
    case google::protobuf::Value::kListValue: {
      node.kind = Node::Kind::List;
      const auto& list = value.list_value();
      for (int i = 0; i < list.values_size(); ++i) {
        auto item = build(list.values(i), absl::StrCat(path, "[", i, "]"), options);
        if (!item.ok()) {
          return item.status();
        }
        node.items.push_back(std::move(*item));
      }
      return node;
    }
  }
  if (!options.typed) {
    // Untyped: constants become strings too.
    node.constant = Json::quote(node.constant);
  }
  return node;
}

class JsonFormatter : public Formatter {
 public:
  JsonFormatter(Node root, JsonFormatOptions options) : root_(std::move(root)), options_(options) {}

  void format(const Context& context, std::string& out) const override {
    appendNode(root_, context, out);
    out += '\n';
  }

 private:
  // Appends `node`; returns false (appending nothing) when it is a missing single operator that
  // omit_empty_values drops.
  bool appendNode(const Node& node, const Context& context, std::string& out) const {
    switch (node.kind) {
      case Node::Kind::Constant:
        out += node.constant;
        return true;
      case Node::Kind::Object: {
        out += '{';
        bool first = true;
        for (size_t i = 0; i < node.member_keys.size(); ++i) {
          const std::string& key = node.member_keys[i];
          const Node& child = node.member_values[i];
          const size_t mark = out.size();
          if (!first) {
            out += ',';
          }
          out += '"';
          Json::appendEscaped(out, key);
          out += "\":";
          if (appendNode(child, context, out)) {
            first = false;
          } else {
            out.resize(mark);
          }
        }
        out += '}';
        return true;
      }
      case Node::Kind::List: {
        out += '[';
        bool first = true;
        for (const Node& item : node.items) {
          const size_t mark = out.size();
          if (!first) {
            out += ',';
          }
          if (appendNode(item, context, out)) {
            first = false;
          } else {
            out.resize(mark);
          }
        }
        out += ']';
        return true;
      }
      case Node::Kind::Format:
        return appendFormat(*node.format, context, out);
    }
    return true;
  }

  bool appendFormat(const FormatString& format, const Context& context, std::string& out) const {
    std::string& scratch = scratchBuffer();
    scratch.clear();
    if (options_.typed && format.isSingleOperator()) {
      bool numeric = false;
      if (!format.formatSingle(context, scratch, numeric)) {
        if (options_.omit_empty_values) {
          return false;
        }
        out += "null";
        return true;
      }
      if (numeric) {
        out += scratch;
        return true;
      }
    } else {
      format.format(context, scratch);
    }
    out += '"';
    Json::appendEscaped(out, scratch);
    out += '"';
    return true;
  }

  // Values are formatted into a per-thread buffer first (they need escaping), so a busy worker
  // reuses one allocation.
  static std::string& scratchBuffer() {
    thread_local std::string buffer;
    return buffer;
  }

  Node root_;
  JsonFormatOptions options_;
};

}  // namespace

absl::StatusOr<FormatterConstSharedPtr> createJsonFormatter(const google::protobuf::Struct& format,
                                                            JsonFormatOptions options) {
  auto root = buildObject(format, "json_format", options);
  if (!root.ok()) {
    return root.status();
  }
  return std::make_shared<const JsonFormatter>(std::move(*root), options);
}

}  // namespace Skiff::Formatter
