#pragma once

// Minimal JSON writing helpers for skiff-control's admin pages. Pure functions; any thread.

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace Skiff::Control::Json {

// `s` as a JSON string literal, quotes included; control characters escaped as \u00XX.
inline std::string quote(absl::string_view s) {
  std::string out = "\"";
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
  out += "\"";
  return out;
}

// A JSON array of strings.
template <class Container>
std::string quoteList(const Container& items) {
  return absl::StrCat(
      "[",
      absl::StrJoin(items, ",", [](std::string* out, const auto& s) { out->append(quote(s)); }),
      "]");
}

}  // namespace Skiff::Control::Json
