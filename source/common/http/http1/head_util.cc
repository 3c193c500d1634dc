#include "source/common/http/http1/head_util.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace Skiff::Http::Http1 {
namespace {

struct ReasonPhrase {
  uint32_t code;
  absl::string_view phrase;
};

// Most frequent first: the common answers are found at once.
constexpr ReasonPhrase kReasonPhrases[] = {
    {200, "OK"},
    {204, "No Content"},
    {404, "Not Found"},
    {304, "Not Modified"},
    {302, "Found"},
    {301, "Moved Permanently"},
    {500, "Internal Server Error"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {400, "Bad Request"},
    {100, "Continue"},
    {101, "Switching Protocols"},
    {102, "Processing"},
    {103, "Early Hints"},
    {201, "Created"},
    {202, "Accepted"},
    {203, "Non-Authoritative Information"},
    {205, "Reset Content"},
    {206, "Partial Content"},
    {300, "Multiple Choices"},
    {303, "See Other"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Payload Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {421, "Misdirected Request"},
    {422, "Unprocessable Entity"},
    {425, "Too Early"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {501, "Not Implemented"},
    {505, "HTTP Version Not Supported"},
};

}  // namespace

// Whether a comma-separated field value lists `token` (case-insensitive). Runs for every
// connection field of every message (twice: close, upgrade), so it walks the bytes once, with a
// length check before any comparison, instead of splitting and stripping.
bool headerHasToken(absl::string_view value, absl::string_view token) {
  const char* p = value.data();
  const char* const end = p + value.size();
  while (p < end) {
    while (p < end && absl::ascii_isspace(static_cast<unsigned char>(*p))) {
      ++p;
    }
    const char* start = p;
    while (p < end && *p != ',') {
      ++p;
    }
    const char* stop = p;
    while (stop > start && absl::ascii_isspace(static_cast<unsigned char>(stop[-1]))) {
      --stop;
    }
    if (static_cast<size_t>(stop - start) == token.size() &&
        absl::EqualsIgnoreCase(absl::string_view(start, stop - start), token)) {
      return true;
    }
    ++p;  // Past the comma.
  }
  return false;
}

absl::string_view reasonPhrase(uint32_t code) {
  for (const ReasonPhrase& entry : kReasonPhrases) {
    if (entry.code == code) {
      return entry.phrase;
    }
  }
  return "";
}

// `request`: host() is written from the map's member, so a host field is left out.
HeadScan scanHead(const HeaderMap& headers, bool request) {
  HeadScan scan;
  for (const HeaderMap::Field& field : headers.fields()) {
    const size_t bytes = field.name.size() + field.value.size() + 4;
    switch (field.name.size()) {
      case 4:
        if (request && nameIs(field.name, "host")) {
          continue;
        }
        break;
      case 7:
        if (nameIs(field.name, "upgrade")) {
          scan.upgrade = true;
        }
        break;
      case 10:
        if (nameIs(field.name, "connection")) {
          scan.connection_size += bytes;
          scan.connection_close |= headerHasToken(field.value, "close");
          scan.connection_upgrade |= headerHasToken(field.value, "upgrade");
          continue;
        }
        break;
      case 14:
        scan.content_length |= nameIs(field.name, "content-length");
        break;
      case 17:
        if (nameIs(field.name, "transfer-encoding")) {
          continue;
        }
        break;
      default:
        break;
    }
    scan.size += bytes;
  }
  return scan;
}

// Appends "<hex length>\r\n".
void addChunkHeader(Buffer::Instance& out, uint64_t length) {
  char buf[20];
  char* p = buf + sizeof(buf);
  *--p = '\n';
  *--p = '\r';
  do {
    *--p = "0123456789abcdef"[length & 0xf];
    length >>= 4;
  } while (length != 0);
  out.add(p, buf + sizeof(buf) - p);
}

// Request-line pieces must not contain anything that would end or split the line.
bool validRequestLinePart(absl::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return false;
    }
  }
  return true;
}

bool validFieldValue(absl::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return false;
    }
  }
  return true;
}

}  // namespace Skiff::Http::Http1
