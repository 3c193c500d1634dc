#pragma once

// HTTP header blocks as the codecs produce them and the connection manager, router and access log
// read them. Value types owned by one stream on one worker thread; not thread-safe.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"

namespace Skiff::Http {

/**
 * An ordered list of (name, value) fields. Names are stored lower-case (HTTP field names are
 * case-insensitive and HTTP/2 requires lower case), so lookups compare bytes. A request has a few
 * dozen fields at most, so a flat array searched linearly beats a hash map: one allocation for
 * the whole block, cache-friendly scans, insertion order kept for forwarding.
 */
class HeaderMap {
 public:
  struct Field {
    std::string name;  // lower-case
    std::string value;
  };
  using Fields = absl::InlinedVector<Field, 12>;

  // Appends a field; `name` is lower-cased. Repeated names are kept as separate fields.
  void add(absl::string_view name, absl::string_view value);
  // Appends a field whose name the caller guarantees is already lower-case (codecs that
  // lower-case while parsing, constants).
  void addLowerCase(std::string name, std::string value);
  // For codecs that parse in place, without intermediate strings: appends an empty field whose
  // name and value the caller fills (the name lower-case), then either finishLastField(), which
  // counts it in byteSize(), or removeLastField().
  Field& addEmptyField() { return fields_.emplace_back(); }
  Field& lastField() { return fields_.back(); }
  void finishLastField() { byte_size_ += fields_.back().name.size() + fields_.back().value.size(); }
  void removeLastField() { fields_.pop_back(); }
  // Replaces every field named `name` with one field (appended if absent).
  void set(absl::string_view name, absl::string_view value);
  // Removes every field named `name`; returns how many were removed.
  size_t remove(absl::string_view name);

  // The first field named `name` (lower-case), or nullptr.
  const std::string* get(absl::string_view name) const;
  std::string* getMutable(absl::string_view name);
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
  Fields fields_;
  uint64_t byte_size_ = 0;
};

/**
 * A request's header block. The request line (HTTP/1) or pseudo-headers (HTTP/2) are kept as
 * members, not fields, so routing reads them without a search; `host` holds Host / :authority.
 */
class RequestHeaderMap : public HeaderMap {
 public:
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
class ResponseHeaderMap : public HeaderMap {
 public:
  uint32_t status() const { return status_; }
  void setStatus(uint32_t status) { status_ = status; }

 private:
  uint32_t status_ = 0;
};

using RequestHeaderMapPtr = std::unique_ptr<RequestHeaderMap>;
using ResponseHeaderMapPtr = std::unique_ptr<ResponseHeaderMap>;

// Lower-cases ASCII letters of `s` in place.
void toLowerAscii(std::string& s);

}  // namespace Skiff::Http
