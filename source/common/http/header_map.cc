#include "source/common/http/header_map.h"

#include <algorithm>

#include "absl/strings/ascii.h"

namespace Skiff::Http {

void toLowerAscii(std::string& s) {
  for (char& c : s) {
    c = absl::ascii_tolower(static_cast<unsigned char>(c));
  }
}

void HeaderMap::add(absl::string_view name, absl::string_view value) {
  std::string lower(name.data(), name.size());
  toLowerAscii(lower);
  addLowerCase(std::move(lower), std::string(value.data(), value.size()));
}

void HeaderMap::addLowerCase(std::string name, std::string value) {
  byte_size_ += name.size() + value.size();
  fields_.push_back(Field{std::move(name), std::move(value)});
}

namespace {

bool hasUpper(absl::string_view s) {
  for (const char c : s) {
    if (c >= 'A' && c <= 'Z') {
      return true;
    }
  }
  return false;
}

}  // namespace

void HeaderMap::set(absl::string_view name, absl::string_view value) {
  // The common case, one field of that name already there (or none), takes no allocation
  // beyond the value's: the field is overwritten in place and keeps its position.
  if (!hasUpper(name)) {
    for (size_t i = 0; i < fields_.size(); ++i) {
      Field& field = fields_[i];
      if (field.name != name) {
        continue;
      }
      byte_size_ -= field.value.size();
      field.value.assign(value.data(), value.size());
      byte_size_ += field.value.size();
      // Any later duplicates go.
      for (size_t j = fields_.size(); j-- > i + 1;) {
        if (fields_[j].name == name) {
          byte_size_ -= fields_[j].name.size() + fields_[j].value.size();
          fields_.erase(fields_.begin() + j);
        }
      }
      return;
    }
    addLowerCase(std::string(name.data(), name.size()), std::string(value.data(), value.size()));
    return;
  }
  remove(name);
  add(name, value);
}

size_t HeaderMap::remove(absl::string_view name) {
  // Callers nearly always pass a lower-case constant: compare it as it is, no copy.
  std::string lowered;
  absl::string_view lower = name;
  if (hasUpper(name)) {
    lowered.assign(name.data(), name.size());
    toLowerAscii(lowered);
    lower = lowered;
  }
  const size_t before = fields_.size();
  auto end = std::remove_if(fields_.begin(), fields_.end(), [&](const Field& field) {
    if (field.name != lower) {
      return false;
    }
    byte_size_ -= field.name.size() + field.value.size();
    return true;
  });
  fields_.erase(end, fields_.end());
  return before - fields_.size();
}

const std::string* HeaderMap::get(absl::string_view name) const {
  for (const Field& field : fields_) {
    if (field.name == name) {
      return &field.value;
    }
  }
  return nullptr;
}

std::string* HeaderMap::getMutable(absl::string_view name) {
  for (Field& field : fields_) {
    if (field.name == name) {
      return &field.value;
    }
  }
  return nullptr;
}

std::string HeaderMap::getJoined(absl::string_view name) const {
  std::string joined;
  for (const Field& field : fields_) {
    if (field.name == name) {
      if (!joined.empty()) {
        joined.append(", ");
      }
      joined.append(field.value);
    }
  }
  return joined;
}

void HeaderMap::clear() {
  fields_.clear();
  byte_size_ = 0;
}

absl::string_view RequestHeaderMap::pathWithoutQuery() const {
  absl::string_view path = path_;
  const size_t query = path.find('?');
  return query == absl::string_view::npos ? path : path.substr(0, query);
}

absl::string_view RequestHeaderMap::query() const {
  absl::string_view path = path_;
  const size_t query = path.find('?');
  return query == absl::string_view::npos ? absl::string_view() : path.substr(query + 1);
}

}  // namespace Skiff::Http
