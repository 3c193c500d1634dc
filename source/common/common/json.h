#pragma once

// Writing JSON strings by hand (admin pages, config dumps, the YAML-to-JSON loader). Pure
// functions; any thread.

#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace Skiff::Json {

// Appends `s` escaped for use inside a JSON string literal (no quotes added). Control characters
// become \u00XX; everything else, including UTF-8, passes through.
inline void appendEscaped(std::string& out, absl::string_view s) {
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
}

inline std::string escape(absl::string_view s) {
  std::string out;
  appendEscaped(out, s);
  return out;
}

// `s` as a JSON string literal, quotes included.
inline std::string quote(absl::string_view s) {
  std::string out = "\"";
  appendEscaped(out, s);
  out += '"';
  return out;
}

}  // namespace Skiff::Json
