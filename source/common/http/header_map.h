#pragma once

// HTTP header blocks as the codecs produce them and the connection manager, router and access log
// read them. Value types owned by one stream on one worker thread; not thread-safe.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "source/common/common/per_thread_pool.h"

namespace Skiff::Http {

/**
 * An ordered list of (name, value) fields. Names are stored lower-case (HTTP field names are
 * case-insensitive and HTTP/2 requires lower case), so lookups compare bytes. A request has a few
 * dozen fields at most, so a flat array searched linearly beats a hash map: cache-friendly scans,
 * insertion order kept for forwarding.
 *
 * The bytes of names and values live in an arena the map owns (append-only; a small first chunk
 * inside the map, larger ones on the heap if a message needs them), and a field is two views into
 * it: no allocation per field, and a field's bytes never move, so views taken from the map stay
 * valid until the map is cleared or destroyed (not only until the next add). Bytes replaced by
 * set() or removed stay in the arena until then: a map lives for one message.
 */
class HeaderMap {
 public:
  struct Field {
    absl::string_view name;  // lower-case
    absl::string_view value;
  };
  using Fields = absl::InlinedVector<Field, 12>;

  // User-provided (not `= default`), here and in the subclasses: make_unique value-initializes,
  // which for a defaulted constructor first zeroes the whole object, inline storage included.
  HeaderMap() {}
  // Copies re-store the bytes in the new map's arena (a copy's views point into its own).
  HeaderMap(const HeaderMap& other);
  HeaderMap& operator=(const HeaderMap& other);

  // Appends a field; `name` is lower-cased. Repeated names are kept as separate fields.
  void add(absl::string_view name, absl::string_view value);
  // Appends a field whose name the caller guarantees is already lower-case (codecs that
  // lower-case while parsing, constants).
  void addLowerCase(absl::string_view name, absl::string_view value);
  // For codecs that parse in place, without intermediate strings: appends an empty field, fills
  // its name and value with extendLastName() / extendLastValue() (the name lower-case; the views
  // of lastField() may be shortened in place), then either finishLastField(), which counts it in
  // byteSize(), or removeLastField().
  Field& addEmptyField() { return fields_.emplace_back(); }
  // The same with room for a name and value of known lengths: the caller writes the bytes
  // through the views (the arena is the map's; the views are const only for readers).
  Field& addField(size_t name_length, size_t value_length);
  Field& lastField() { return fields_.back(); }
  // Grows the last field's name (value) by `length` bytes and returns where to write them.
  char* extendLastName(size_t length) { return extend(fields_.back().name, length); }
  char* extendLastValue(size_t length) { return extend(fields_.back().value, length); }
  void finishLastField() { byte_size_ += fields_.back().name.size() + fields_.back().value.size(); }
  void removeLastField() { fields_.pop_back(); }
  // Replaces every field named `name` with one field (appended if absent).
  void set(absl::string_view name, absl::string_view value);
  // Replaces the value of the first field named `name` (lower-case), leaving later ones; returns
  // false, changing nothing, if there is none.
  bool setFirst(absl::string_view name, absl::string_view value);
  // Removes every field named `name`; returns how many were removed.
  size_t remove(absl::string_view name);

  // The value of the first field named `name` (lower-case), or nullptr. The pointer is valid
  // until the next change to the map's fields; the view it points to until clear().
  const absl::string_view* get(absl::string_view name) const;
  // Every value of `name` joined with ", " (RFC 9110 list semantics); empty if absent.
  std::string getJoined(absl::string_view name) const;
  bool has(absl::string_view name) const { return get(name) != nullptr; }

  const Fields& fields() const { return fields_; }
  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  // Bytes of names and values, the figure limits like max_request_headers_kb are checked against.
  uint64_t byteSize() const { return byte_size_; }
  void clear();

 private:
  // A small GET's fields (request or response) fit in the first chunk.
  static constexpr size_t kInlineBytes = 256;
  static constexpr size_t kMinChunkBytes = 1024;

  // Copies `s` into the arena.
  absl::string_view store(absl::string_view s);
  // Grows `view` (the arena's newest bytes, or empty) by `length` bytes, moving it to a new
  // chunk if the current one has no room; returns where the new bytes go.
  char* extend(absl::string_view& view, size_t length);
  // Makes `length` contiguous bytes available at cur_.
  void reserve(size_t length);

  Fields fields_;
  uint64_t byte_size_ = 0;
  char* cur_ = inline_;  // Next free byte of the current chunk.
  size_t left_ = kInlineBytes;
  size_t last_chunk_bytes_ = kInlineBytes;
  absl::InlinedVector<std::unique_ptr<char[]>, 1> chunks_;
  char inline_[kInlineBytes];
};

/**
 * A request's header block. The request line (HTTP/1) or pseudo-headers (HTTP/2) are kept as
 * members, not fields, so routing reads them without a search; `host` holds Host / :authority.
 */
class RequestHeaderMap : public HeaderMap, public PerThreadPooled<RequestHeaderMap> {
 public:
  RequestHeaderMap() {}  // See HeaderMap().

  const std::string& method() const { return method_; }
  void setMethod(absl::string_view method) { method_.assign(method.data(), method.size()); }
  // The request target as sent: origin-form "/a/b?q" (or absolute-form for a forward proxy).
  const std::string& path() const { return path_; }
  void setPath(absl::string_view path) { path_.assign(path.data(), path.size()); }
  const std::string& host() const { return host_; }
  void setHost(absl::string_view host) { host_.assign(host.data(), host.size()); }
  // "http" or "https"; what x-forwarded-proto reports.
  const std::string& scheme() const { return scheme_; }
  void setScheme(absl::string_view scheme) { scheme_.assign(scheme.data(), scheme.size()); }

  // The path without the query string.
  absl::string_view pathWithoutQuery() const;
  // The query string after '?', without the '?'; empty if none.
  absl::string_view query() const;

 private:
  std::string method_;
  std::string path_;
  std::string host_;
  std::string scheme_ = "http";
};

/**
 * A response's header block; the status line's code is a member.
 */
class ResponseHeaderMap : public HeaderMap, public PerThreadPooled<ResponseHeaderMap> {
 public:
  ResponseHeaderMap() {}  // See HeaderMap().

  uint32_t status() const { return status_; }
  void setStatus(uint32_t status) { status_ = status; }

 private:
  uint32_t status_ = 0;
};

using RequestHeaderMapPtr = std::unique_ptr<RequestHeaderMap>;
using ResponseHeaderMapPtr = std::unique_ptr<ResponseHeaderMap>;

// Lower-cases ASCII letters of `s` in place.
void toLowerAscii(std::string& s);
void toLowerAscii(char* s, size_t length);

}  // namespace Skiff::Http
