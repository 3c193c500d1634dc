#pragma once

// Minimal JSON writing helpers for skiff-control's admin pages. Pure functions; any thread.

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "source/common/common/json.h"

namespace Skiff::Control::Json {

// `s` as a JSON string literal, quotes included.
inline std::string quote(absl::string_view s) { return Skiff::Json::quote(s); }

// A JSON array of strings.
template <class Container>
std::string quoteList(const Container& items) {
  return absl::StrCat(
      "[",
      absl::StrJoin(items, ",", [](std::string* out, const auto& s) { out->append(quote(s)); }),
      "]");
}

}  // namespace Skiff::Control::Json
