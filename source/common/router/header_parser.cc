#include "source/common/router/header_parser.h"

#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "source/common/router/config_errors.h"
#include "source/common/router/matchers.h"

// Envoy's deprecated fields (exact_match, append, total_weight, format, ...) are still part of the
// API skiff accepts; reading them is intended.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace Skiff::Router {
namespace {

using envoy::config::core::v3::HeaderValueOption;

// Whether a (lower-case) name may be added or removed by header mutations.
bool isMutableHeader(absl::string_view name) { return name.front() != ':' && name != "host"; }

}  // namespace

absl::StatusOr<HeaderMutationsConstPtr> HeaderMutations::create(
    const google::protobuf::RepeatedPtrField<HeaderValueOption>& add,
    const google::protobuf::RepeatedPtrField<std::string>& remove, absl::string_view add_path,
    absl::string_view remove_path) {
  if (add.empty() && remove.empty()) {
    return HeaderMutationsConstPtr();
  }
  ConfigErrors errors;
  auto mutations = std::unique_ptr<HeaderMutations>(new HeaderMutations());
  for (int i = 0; i < remove.size(); ++i) {
    const std::string path = absl::StrCat(remove_path, "[", i, "]");
    const std::string name = absl::AsciiStrToLower(remove[i]);
    if (!isValidHeaderName(name) && !(name.size() > 1 && name[0] == ':')) {
      errors.add(path, absl::StrFormat("\"%s\" is not a valid header name", remove[i]));
    } else if (!isMutableHeader(name)) {
      errors.add(path, absl::StrFormat("\"%s\": \":\"-prefixed and host headers may not be "
                                       "removed",
                                       remove[i]));
    } else {
      mutations->remove_.push_back(name);
    }
  }
  for (int i = 0; i < add.size(); ++i) {
    const HeaderValueOption& option = add[i];
    const std::string path = absl::StrCat(add_path, "[", i, "]");
    Entry entry;
    entry.key = absl::AsciiStrToLower(option.header().key());
    if (entry.key.empty()) {
      errors.add(path + ".header.key", "must not be empty");
      continue;
    }
    if (!isValidHeaderName(entry.key) && entry.key[0] != ':') {
      errors.add(path + ".header.key",
                 absl::StrFormat("\"%s\" is not a valid header name", option.header().key()));
      continue;
    }
    if (!isMutableHeader(entry.key)) {
      errors.add(path + ".header.key",
                 absl::StrFormat("\"%s\": \":\"-prefixed and host headers may not be modified "
                                 "(use the route's host_rewrite_literal or path rewrites)",
                                 option.header().key()));
      continue;
    }
    if (option.has_append()) {
      if (option.append_action() != HeaderValueOption::APPEND_IF_EXISTS_OR_ADD) {
        errors.add(path, "both append and append_action are set; use only append_action");
        continue;
      }
      entry.action =
          option.append().value() ? Action::AppendIfExistsOrAdd : Action::OverwriteIfExistsOrAdd;
    } else {
      switch (option.append_action()) {
        case HeaderValueOption::APPEND_IF_EXISTS_OR_ADD:
          entry.action = Action::AppendIfExistsOrAdd;
          break;
        case HeaderValueOption::ADD_IF_ABSENT:
          entry.action = Action::AddIfAbsent;
          break;
        case HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD:
          entry.action = Action::OverwriteIfExistsOrAdd;
          break;
        case HeaderValueOption::OVERWRITE_IF_EXISTS:
          entry.action = Action::OverwriteIfExists;
          break;
        default:
          errors.add(path + ".append_action",
                     absl::StrFormat("unknown value %d", static_cast<int>(option.append_action())));
          continue;
      }
    }
    entry.keep_empty_value = option.keep_empty_value();
    // Envoy takes raw_value when value is empty.
    const std::string& value =
        option.header().value().empty() ? option.header().raw_value() : option.header().value();
    if (!isValidHeaderValue(value)) {
      errors.add(path + ".header.value", "must not contain CR, LF or NUL");
      continue;
    }
    auto format = Formatter::FormatString::parse(value, {.omit_empty_values = true});
    if (!format.ok()) {
      errors.add(path + ".header.value",
                 absl::StrFormat("\"%s\": %s", value, format.status().message()));
      continue;
    }
    if (format->isLiteral()) {
      entry.literal = format->literalText();
    } else {
      entry.format = std::make_unique<Formatter::FormatString>(std::move(*format));
    }
    mutations->add_.push_back(std::move(entry));
  }
  if (!errors.empty()) {
    return errors.status();
  }
  return HeaderMutationsConstPtr(std::move(mutations));
}

void HeaderMutations::apply(Http::HeaderMap& headers, const Formatter::Context& context) const {
  for (const std::string& name : remove_) {
    headers.remove(name);
  }
  if (add_.empty()) {
    return;
  }
  struct Pending {
    const Entry* entry;
    absl::string_view value;
  };
  // All values first, from the headers as they are now; reserve so the formatted strings never
  // move while views into them are held.
  absl::InlinedVector<std::string, 4> formatted;
  formatted.reserve(add_.size());
  absl::InlinedVector<Pending, 8> overwrite;
  absl::InlinedVector<Pending, 8> append;
  for (const Entry& entry : add_) {
    absl::string_view value = entry.literal;
    if (entry.format != nullptr) {
      formatted.emplace_back();
      entry.format->format(context, formatted.back());
      value = formatted.back();
    }
    if (value.empty() && !entry.keep_empty_value) {
      continue;
    }
    switch (entry.action) {
      case Action::AppendIfExistsOrAdd:
        append.push_back({&entry, value});
        break;
      case Action::AddIfAbsent:
        if (!headers.has(entry.key)) {
          append.push_back({&entry, value});
        }
        break;
      case Action::OverwriteIfExists:
        if (headers.has(entry.key)) {
          overwrite.push_back({&entry, value});
        }
        break;
      case Action::OverwriteIfExistsOrAdd:
        overwrite.push_back({&entry, value});
        break;
    }
  }
  for (const Pending& pending : overwrite) {
    headers.remove(pending.entry->key);
    headers.addLowerCase(pending.entry->key, std::string(pending.value));
  }
  for (const Pending& pending : append) {
    headers.addLowerCase(pending.entry->key, std::string(pending.value));
  }
}

}  // namespace Skiff::Router
