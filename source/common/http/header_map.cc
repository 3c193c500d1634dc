#include "source/common/http/header_map.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"

namespace Skiff::Http {

void toLowerAscii(char* s, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    s[i] = absl::ascii_tolower(static_cast<unsigned char>(s[i]));
  }
}

void toLowerAscii(std::string& s) { toLowerAscii(s.data(), s.size()); }

HeaderMap::HeaderMap(const HeaderMap& other) { *this = other; }

HeaderMap& HeaderMap::operator=(const HeaderMap& other) {
  if (this == &other) {
    return *this;
  }
  clear();
  for (const Field& field : other.fields_) {
    fields_.push_back(Field{store(field.name), store(field.value)});
  }
  byte_size_ = other.byte_size_;
  return *this;
}

void HeaderMap::reserve(size_t length) {
  if (length <= left_) {
    return;
  }
  // Chunks double, so a big header block takes a few allocations, not one per field.
  const size_t bytes = std::max({length, kMinChunkBytes, 2 * last_chunk_bytes_});
  chunks_.push_back(std::make_unique<char[]>(bytes));
  cur_ = chunks_.back().get();
  left_ = bytes;
  last_chunk_bytes_ = bytes;
}

absl::string_view HeaderMap::store(absl::string_view s) {
  if (s.empty()) {
    return {};
  }
  reserve(s.size());
  char* out = cur_;
  memcpy(out, s.data(), s.size());
  cur_ += s.size();
  left_ -= s.size();
  return {out, s.size()};
}

char* HeaderMap::extend(absl::string_view& view, size_t length) {
  if (view.empty() || view.data() + view.size() != cur_ || length > left_) {
    // Start over at cur_ (in a new chunk if needed) with the bytes so far. The old copy stays
    // behind: a value split over several reads is rare.
    reserve(view.size() + length);
    if (!view.empty()) {
      memmove(cur_, view.data(), view.size());
    }
    view = absl::string_view(cur_, view.size());
    cur_ += view.size();
    left_ -= view.size();
  }
  char* out = cur_;
  cur_ += length;
  left_ -= length;
  view = absl::string_view(view.data(), view.size() + length);
  return out;
}

HeaderMap::Field& HeaderMap::addField(size_t name_length, size_t value_length) {
  const size_t length = name_length + value_length;
  reserve(length);
  Field& field = fields_.emplace_back();
  field.name = absl::string_view(cur_, name_length);
  field.value = absl::string_view(cur_ + name_length, value_length);
  cur_ += length;
  left_ -= length;
  return field;
}

void HeaderMap::add(absl::string_view name, absl::string_view value) {
  Field field{store(name), store(value)};
  toLowerAscii(const_cast<char*>(field.name.data()), field.name.size());
  byte_size_ += field.name.size() + field.value.size();
  fields_.push_back(field);
}

void HeaderMap::addLowerCase(absl::string_view name, absl::string_view value) {
  byte_size_ += name.size() + value.size();
  fields_.push_back(Field{store(name), store(value)});
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
  // The common case, one field of that name already there (or none): the field is overwritten
  // in place and keeps its position.
  if (!hasUpper(name)) {
    for (size_t i = 0; i < fields_.size(); ++i) {
      Field& field = fields_[i];
      if (field.name != name) {
        continue;
      }
      byte_size_ -= field.value.size();
      field.value = store(value);
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
    addLowerCase(name, value);
    return;
  }
  remove(name);
  add(name, value);
}

bool HeaderMap::setFirst(absl::string_view name, absl::string_view value) {
  for (Field& field : fields_) {
    if (field.name == name) {
      byte_size_ -= field.value.size();
      field.value = store(value);
      byte_size_ += field.value.size();
      return true;
    }
  }
  return false;
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

const absl::string_view* HeaderMap::get(absl::string_view name) const {
  for (const Field& field : fields_) {
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
      joined.append(field.value.data(), field.value.size());
    }
  }
  return joined;
}

void HeaderMap::clear() {
  fields_.clear();
  byte_size_ = 0;
  chunks_.clear();
  cur_ = inline_;
  left_ = kInlineBytes;
  last_chunk_bytes_ = kInlineBytes;
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
