#include "source/extensions/filters/network/http_connection_manager/conn_manager_utility.h"

#include <arpa/inet.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager {
namespace {

// Removes every field whose (lower-case) name satisfies `pred`, without allocating.
template <class Pred>
void removeIf(Http::HeaderMap& headers, Pred pred) {
  // HeaderMap::remove() takes one name at a time; collect first so each is removed once.
  absl::InlinedVector<absl::string_view, 4> names;
  for (const auto& field : headers.fields()) {
    if (pred(field.name)) {
      bool seen = false;
      for (const auto& n : names) {
        seen |= n == field.name;
      }
      if (!seen) {
        names.push_back(field.name);
      }
    }
  }
  for (const auto& name : names) {
    headers.remove(name);
  }
}

}  // namespace

bool headerListContains(absl::string_view value, absl::string_view token) {
  for (absl::string_view item : absl::StrSplit(value, ',')) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(item), token)) {
      return true;
    }
  }
  return false;
}

bool isUpgradeRequest(const Http::HeaderMap& headers, std::string* type) {
  const absl::string_view* upgrade = headers.get("upgrade");
  if (upgrade == nullptr || upgrade->empty()) {
    return false;
  }
  bool listed = false;
  for (const auto& field : headers.fields()) {
    if (field.name == "connection" && headerListContains(field.value, "upgrade")) {
      listed = true;
      break;
    }
  }
  if (!listed) {
    return false;
  }
  if (type != nullptr) {
    *type = absl::AsciiStrToLower(absl::StripAsciiWhitespace(*upgrade));
  }
  return true;
}

namespace {

// Hop-by-hop names (and `connection`), checked by length first: most requests have none.
bool mayBeHopByHop(absl::string_view name) {
  switch (name.size()) {
    case 2:
      return name == "te";
    case 7:
      return name == "upgrade" || name == "trailer";
    case 10:
      return name == "connection" || name == "keep-alive";
    case 16:
      return name == "proxy-connection";
    case 17:
      return name == "transfer-encoding";
    case 18:
      return name == "proxy-authenticate";
    default:
      return false;
  }
}

}  // namespace

void removeHopByHopHeaders(Http::HeaderMap& headers, bool keep_upgrade) {
  bool any = false;
  for (const auto& field : headers.fields()) {
    if (mayBeHopByHop(field.name)) {
      any = true;
      break;
    }
  }
  if (!any) {
    return;  // Nothing to strip (the `connection` field is the only way to name others).
  }
  // Fields the `connection` header names are hop-by-hop too (RFC 9110 7.6.1), except the ones
  // that carry end-to-end meaning we must keep.
  absl::InlinedVector<std::string, 4> named;
  bool has_connection = false;
  for (const auto& field : headers.fields()) {
    if (field.name != "connection") {
      continue;
    }
    has_connection = true;
    for (absl::string_view item : absl::StrSplit(field.value, ',')) {
      std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(item));
      if (name.empty() || name == "close" || name == "keep-alive" || name == "upgrade" ||
          name == "te") {
        continue;
      }
      // Never let a client strip the fields the proxy itself relies on.
      if (name == "host" || name == "x-forwarded-for" || name == "x-request-id" ||
          name == "content-length") {
        continue;
      }
      named.push_back(std::move(name));
    }
  }
  removeIf(headers, [&](absl::string_view name) {
    if (name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
        name == "proxy-authenticate" || name == "trailer") {
      return true;
    }
    if (name == "te") {
      return true;  // Only "trailers" may pass; it is re-added below if it was there.
    }
    if (name == "upgrade") {
      return !keep_upgrade;
    }
    for (const auto& n : named) {
      if (n == name) {
        return true;
      }
    }
    return false;
  });
  if (has_connection) {
    headers.remove("connection");
    if (keep_upgrade) {
      headers.addLowerCase("connection", "upgrade");
    }
  }
}

bool isInternalAddress(absl::string_view ip_view) {
  std::string ip(ip_view);
  in_addr v4;
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) {
    const uint32_t a = ntohl(v4.s_addr);
    return (a >> 24) == 10 || (a >> 24) == 127 || (a >> 20) == ((172u << 4) | 1) ||
           (a >> 16) == ((192u << 8) | 168);
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, ip.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) {
      return true;
    }
    return (v6.s6_addr[0] & 0xfe) == 0xfc;  // fc00::/7 unique local.
  }
  return false;
}

void formatUuidV4(uint64_t high, uint64_t low, char out[36]) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Version 4 and the RFC 4122 variant.
  high = (high & ~uint64_t{0xf000}) | 0x4000;
  low = (low & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60);
  uint8_t bytes[16];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<uint8_t>(high >> (56 - 8 * i));
    bytes[8 + i] = static_cast<uint8_t>(low >> (56 - 8 * i));
  }
  int o = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out[o++] = '-';
    }
    out[o++] = kHex[bytes[i] >> 4];
    out[o++] = kHex[bytes[i] & 0xf];
  }
}

RequestHeaderResult mutateRequestHeaders(Http::RequestHeaderMap& headers,
                                         const Network::Address::Instance& remote,
                                         const HeaderRules& rules, uint64_t (*random)(void*),
                                         void* random_state) {
  RequestHeaderResult result;
  const absl::string_view* xff = headers.get("x-forwarded-for");
  if (rules.use_remote_address) {
    // The peer is the client, unless trusted proxies in front of us put it into XFF.
    result.downstream_address = remote.ip();
    if (rules.xff_num_trusted_hops > 0 && xff != nullptr) {
      // The address xff_num_trusted_hops - 1 entries from the right (we append the peer's).
      std::vector<absl::string_view> parts = absl::StrSplit(*xff, ',');
      if (parts.size() >= rules.xff_num_trusted_hops) {
        result.downstream_address = std::string(
            absl::StripAsciiWhitespace(parts[parts.size() - rules.xff_num_trusted_hops]));
      }
    }
    if (!rules.skip_xff_append) {
      if (xff != nullptr && !xff->empty()) {
        headers.setFirst("x-forwarded-for", absl::StrCat(*xff, ",", remote.ip()));
      } else if (xff != nullptr) {
        headers.setFirst("x-forwarded-for", remote.ip());
      } else {
        headers.addLowerCase("x-forwarded-for", remote.ip());
      }
    }
    // A hop we do not trust may not tell the upstream what the scheme was.
    if (rules.xff_num_trusted_hops == 0 || !headers.has("x-forwarded-proto")) {
      headers.set("x-forwarded-proto", headers.scheme());
    }
  } else {
    // Behind a trusted edge: the client is the XFF entry xff_num_trusted_hops from the right.
    if (xff != nullptr && !xff->empty()) {
      std::vector<absl::string_view> parts = absl::StrSplit(*xff, ',');
      const size_t hops = rules.xff_num_trusted_hops;
      if (parts.size() > hops) {
        result.downstream_address =
            std::string(absl::StripAsciiWhitespace(parts[parts.size() - 1 - hops]));
      }
    }
    if (!headers.has("x-forwarded-proto")) {
      headers.addLowerCase("x-forwarded-proto", headers.scheme());
    }
  }
  result.internal =
      !result.downstream_address.empty() ? isInternalAddress(result.downstream_address) : false;

  if (rules.generate_request_id) {
    const absl::string_view* id = headers.get("x-request-id");
    // An edge proxy does not trust ids from outside: they could collide on purpose.
    const bool edge_external = rules.use_remote_address && !result.internal;
    if (id == nullptr || id->empty() || edge_external) {
      char uuid[36];
      const uint64_t high = random(random_state);
      const uint64_t low = random(random_state);
      formatUuidV4(high, low, uuid);
      if (id != nullptr) {
        headers.setFirst("x-request-id", absl::string_view(uuid, sizeof(uuid)));
      } else {
        headers.addLowerCase("x-request-id", absl::string_view(uuid, sizeof(uuid)));
      }
    }
  }

  if (!rules.via.empty()) {
    const absl::string_view* via = headers.get("via");
    if (via != nullptr) {
      headers.setFirst("via", absl::StrCat(*via, ", ", rules.via));
    } else {
      headers.addLowerCase("via", rules.via);
    }
  }
  return result;
}

void mutateResponseHeaders(Http::ResponseHeaderMap& headers, const HeaderRules& rules,
                           const absl::string_view* request_id) {
  switch (rules.server_header_transformation) {
    case ServerHeaderTransformation::Overwrite:
      headers.set("server", rules.server_name);
      break;
    case ServerHeaderTransformation::AppendIfAbsent:
      if (!headers.has("server")) {
        headers.addLowerCase("server", rules.server_name);
      }
      break;
    case ServerHeaderTransformation::PassThrough:
      break;
  }
  if (!rules.via.empty()) {
    const absl::string_view* via = headers.get("via");
    if (via != nullptr) {
      headers.setFirst("via", absl::StrCat(*via, ", ", rules.via));
    } else {
      headers.addLowerCase("via", rules.via);
    }
  }
  if (rules.always_set_request_id_in_response && request_id != nullptr &&
      !headers.has("x-request-id")) {
    headers.addLowerCase("x-request-id", *request_id);
  }
}

}  // namespace Skiff::Extensions::NetworkFilters::HttpConnectionManager
