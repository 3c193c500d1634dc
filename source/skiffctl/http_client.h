#pragma once

// A small blocking HTTP/1.1 client for skiffctl's calls to skiff-control's admin API: one request
// per connection (Connection: close), plain HTTP only (the admin API listens on loopback; reach
// a remote one through `kubectl port-forward`). Every step is bounded by the timeout.
//
// Thread: any; no shared state.

#include <chrono>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace Skiff::Ctl {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct HttpUrl {
  std::string host;  // without brackets for IPv6
  uint16_t port = 80;
  std::string path_prefix;  // "" or "/prefix" (no trailing slash)
};

// Parses "http://host[:port][/prefix]". https:// and other schemes are refused with a message
// saying why.
absl::StatusOr<HttpUrl> parseHttpUrl(absl::string_view url);

// Percent-encodes `value` for a query string (RFC 3986 unreserved characters stay).
std::string urlEncode(absl::string_view value);

// Sends `method` `target` (path and query, appended to the URL's prefix) with `body` and `headers`
// to `url`, and reads the whole response. Errors are connection problems and malformed responses;
// any HTTP status is a successful call.
absl::StatusOr<HttpResponse> httpRequest(const HttpUrl& url, absl::string_view method,
                                         absl::string_view target, absl::string_view body,
                                         const std::map<std::string, std::string>& headers,
                                         std::chrono::milliseconds timeout);

// Parses a complete HTTP/1.x response (status line, headers, then a body delimited by
// Content-Length, chunked encoding, or the end of the data). Exposed for tests.
absl::StatusOr<HttpResponse> parseHttpResponse(absl::string_view raw);

}  // namespace Skiff::Ctl
