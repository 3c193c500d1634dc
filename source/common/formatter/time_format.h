#pragma once

// START_TIME formatting: Envoy's default ("2016-04-15T20:17:00.310Z", UTC with milliseconds) on a
// hand-written fast path, and strftime-style formats with Envoy's extra specifiers (%s, %f,
// %1f..%9f) through absl::FormatTime in UTC, cached per thread for one second.
//
// Thread: parse on any thread; a parsed TimeFormat is immutable; format() from any thread.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace Skiff::Formatter {

// Appends `time` as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC), what %START_TIME% prints by default.
void appendIso8601Millis(std::chrono::system_clock::time_point time, std::string& out);

class TimeFormat {
 public:
  // Splits `format` around %s, %f and %Nf; the rest goes to absl::FormatTime.
  explicit TimeFormat(absl::string_view format);

  void format(std::chrono::system_clock::time_point time, std::string& out) const;

 private:
  struct Segment {
    enum class Kind { Strftime, EpochSeconds, Fraction };
    Kind kind;
    std::string text;        // Strftime: the absl::FormatTime format
    int digits = 9;          // Fraction: how many digits of the second
    bool cacheable = false;  // Strftime output depends only on the whole second
    uint64_t id = 0;         // process-unique, keys the per-thread cache
  };
  std::vector<Segment> segments_;
};

}  // namespace Skiff::Formatter
