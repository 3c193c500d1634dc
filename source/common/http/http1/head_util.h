#pragma once

// Pieces of HTTP/1 message heads shared by the server and client codecs: serialization into a
// reserved buffer, the scan of a header map before encoding, name and token tests. Internal to
// the codecs.

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/string_view.h"
#include "source/common/buffer/buffer.h"
#include "source/common/http/header_map.h"

namespace Skiff::Http::Http1 {

inline constexpr absl::string_view kCrlf = "\r\n";
inline constexpr absl::string_view kLastChunk = "0\r\n\r\n";

// Serializes a message head into memory reserved once: the size is computed first, then every
// piece is copied in place. No allocation, no formatting library.
class HeadWriter {
 public:
  explicit HeadWriter(char* out) : out_(out) {}
  void add(absl::string_view s) {
    memcpy(out_, s.data(), s.size());
    out_ += s.size();
  }
  void addChar(char c) { *out_++ = c; }
  void addCrlf() {
    out_[0] = '\r';
    out_[1] = '\n';
    out_ += 2;
  }
  void addField(absl::string_view name, absl::string_view value) {
    add(name);
    out_[0] = ':';
    out_[1] = ' ';
    out_ += 2;
    add(value);
    addCrlf();
  }
  void addStatus(uint32_t status) {
    addChar(static_cast<char>('0' + status / 100));
    addChar(static_cast<char>('0' + status / 10 % 10));
    addChar(static_cast<char>('0' + status % 10));
  }
  char* end() const { return out_; }

 private:
  char* out_;
};

// Whether a (lower-case) field name is `literal`. The size test first, and a fixed-size compare
// the compiler turns into a few loads: name checks run for every field of every message.
template <size_t N>
inline bool nameIs(absl::string_view name, const char (&literal)[N]) {
  return name.size() == N - 1 && memcmp(name.data(), literal, N - 1) == 0;
}

// Copies a header name lower-cased, a word at a time. Names are tokens (llhttp checked: ASCII
// only), so a byte is an upper-case letter exactly when adding 0x80 - 'A' sets its top bit and
// adding 0x80 - 'Z' - 1 does not; those bytes get 0x20 added. Lower-casing twice changes
// nothing, so the last word may overlap the one before it: no byte-by-byte tail.
template <class Word>
inline void copyLowerCaseWord(char* out, const char* in) {
  constexpr Word kOnes = static_cast<Word>(0x0101010101010101ULL);
  Word word;
  memcpy(&word, in, sizeof(Word));
  const Word at_least_a = word + kOnes * (0x80 - 'A');
  const Word above_z = word + kOnes * (0x80 - 'Z' - 1);
  word |= ((at_least_a & ~above_z) & (kOnes * 0x80)) >> 2;
  memcpy(out, &word, sizeof(Word));
}

inline void copyLowerCaseToken(char* out, const char* in, size_t length) {
  if (length >= 8) {
    size_t i = 0;
    for (; i + 8 < length; i += 8) {
      copyLowerCaseWord<uint64_t>(out + i, in + i);
    }
    copyLowerCaseWord<uint64_t>(out + length - 8, in + length - 8);
  } else if (length >= 4) {
    copyLowerCaseWord<uint32_t>(out, in);
    copyLowerCaseWord<uint32_t>(out + length - 4, in + length - 4);
  } else {
    for (size_t i = 0; i < length; ++i) {
      const char c = in[i];
      out[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
    }
  }
}

// What encoding needs to know about a header map, found in one pass: the size of the fields
// written as they are, and the framing and connection fields.
struct HeadScan {
  size_t size = 0;             // Fields other than host, transfer-encoding and connection.
  size_t connection_size = 0;  // The connection fields.
  bool content_length = false;
  bool upgrade = false;
  bool connection_close = false;
  bool connection_upgrade = false;
};

// `request`: host() is written from the map's member, so a host field is left out.
HeadScan scanHead(const HeaderMap& headers, bool request);

// Whether a field is written as it is (not host, transfer-encoding, or a connection field the
// codec replaces).
inline bool writtenAsIs(absl::string_view name, bool skip_connection, bool request) {
  switch (name.size()) {
    case 4:
      return !(request && nameIs(name, "host"));
    case 10:
      return !(skip_connection && nameIs(name, "connection"));
    case 17:
      return !nameIs(name, "transfer-encoding");
    default:
      return true;
  }
}

// The gaps scanned for obs-fold are a few bytes (": ", "\r\n"): a plain loop beats a call.
inline bool hasLineFeed(const char* begin, const char* end) {
  for (const char* p = begin; p < end; ++p) {
    if (*p == '\n') {
      return true;
    }
  }
  return false;
}

constexpr size_t fieldSize(absl::string_view name, absl::string_view value) {
  return name.size() + value.size() + 4;
}

// Whether a comma-separated field value lists `token` (case-insensitive).
bool headerHasToken(absl::string_view value, absl::string_view token);

// The reason phrase for a status code ("" if unknown).
absl::string_view reasonPhrase(uint32_t code);

// Appends "<hex length>\r\n".
void addChunkHeader(Buffer::Instance& out, uint64_t length);

// Request-line pieces must not contain anything that would end or split the line.
bool validRequestLinePart(absl::string_view s);

bool validFieldValue(absl::string_view s);

}  // namespace Skiff::Http::Http1
