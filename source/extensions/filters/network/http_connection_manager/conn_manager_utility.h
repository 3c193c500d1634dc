#pragma once

// Header rules the HTTP connection manager applies to every request before routing and to every
// response before it goes downstream (Envoy's ConnectionManagerUtility): hop-by-hop fields,
// x-forwarded-for / x-forwarded-proto, x-request-id, via and server.
//
// Thread: pure functions over one stream's headers; any thread.

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "source/common/http/header_map.h"
#include "source/common/network/address.h"

namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager {

enum class ServerHeaderTransformation { Overwrite, AppendIfAbsent, PassThrough };

// The parts of the connection manager's config these rules read.
struct HeaderRules {
  bool use_remote_address{false};
  uint32_t xff_num_trusted_hops{0};
  bool skip_xff_append{false};
  bool generate_request_id{true};
  bool always_set_request_id_in_response{false};
  std::string via;  // Empty: no via header.
  std::string server_name{"envoy"};
  ServerHeaderTransformation server_header_transformation{ServerHeaderTransformation::Overwrite};
};

// What the request rules decided, for access logs and the response.
struct RequestHeaderResult {
  // The client address the connection manager trusts (the peer, or the XFF entry
  // xff_num_trusted_hops from the right), "" if none could be determined.
  std::string downstream_address;
  // The request was judged internal (from a loopback or private address) or external.
  bool internal{false};
};

// Lower-case hop-by-hop fields a proxy must not forward (RFC 9110 7.6.1), plus those named in
// the request's own `connection` header. `keep_upgrade` keeps `upgrade` and a `connection:
// upgrade` for an upgrade the route allows.
void removeHopByHopHeaders(Http::HeaderMap& headers, bool keep_upgrade);

// True if `headers` ask to upgrade the connection (`connection` lists "upgrade" and an `upgrade`
// header is present). Returns the upgrade token (e.g. "websocket", lower-cased) in `type`.
bool isUpgradeRequest(const Http::HeaderMap& headers, std::string* type = nullptr);

// True if `value` (a comma-separated list, any case) contains `token`.
bool headerListContains(absl::string_view value, absl::string_view token);

// Applies x-forwarded-for, x-forwarded-proto, x-request-id and via to a request from `remote`.
// `random` supplies the request id's randomness (per-worker generator).
RequestHeaderResult mutateRequestHeaders(Http::RequestHeaderMap& headers,
                                         const Network::Address::Instance& remote,
                                         const HeaderRules& rules, uint64_t (*random)(void*),
                                         void* random_state);

// Applies server, via and (if asked) x-request-id to a response. `request_id` is the request's
// x-request-id value, or nullptr.
void mutateResponseHeaders(Http::ResponseHeaderMap& headers, const HeaderRules& rules,
                           const absl::string_view* request_id);

// A random (version 4) UUID in its 36-character text form, from two 64-bit random values.
void formatUuidV4(uint64_t high, uint64_t low, char out[36]);

// Loopback, RFC 1918 private, or IPv6 unique local / loopback: Envoy's "internal" addresses.
bool isInternalAddress(absl::string_view ip);

}  // namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager
