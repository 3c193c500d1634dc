#include "source/common/formatter/time_format.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace Skiff::Formatter {
namespace {

// Days since 1970-01-01 to a civil date (proleptic Gregorian), the well-known era-based method:
// shift the year to start in March so the leap day comes last, then split into 400-year eras.
void civilFromDays(int64_t days, int64_t& year, unsigned& month, unsigned& day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
}

void appendDigits(std::string& out, uint64_t value, int width) {
  char buf[20];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buf, width);
}

int64_t floorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::atomic<uint64_t> next_segment_id{1};

// A small direct-mapped cache of formatted whole seconds, per thread: a strftime format changes
// once a second while a busy worker logs thousands of lines in it.
struct CacheEntry {
  uint64_t id = 0;
  int64_t second = 0;
  std::string text;
};
constexpr size_t kCacheSize = 16;
thread_local CacheEntry time_cache[kCacheSize];

}  // namespace

void appendIso8601Millis(std::chrono::system_clock::time_point time, std::string& out) {
  const int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const int64_t seconds = floorDiv(ms, 1000);
  const int64_t days = floorDiv(seconds, 86400);
  const int64_t second_of_day = seconds - days * 86400;
  int64_t year;
  unsigned month;
  unsigned day;
  civilFromDays(days, year, month, day);
  if (year < 0 || year > 9999) {
    // Outside what four digits can hold; not a time a request starts at.
    out += absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromChrono(time), absl::UTCTimeZone());
    return;
  }
  appendDigits(out, static_cast<uint64_t>(year), 4);
  out += '-';
  appendDigits(out, month, 2);
  out += '-';
  appendDigits(out, day, 2);
  out += 'T';
  appendDigits(out, static_cast<uint64_t>(second_of_day / 3600), 2);
  out += ':';
  appendDigits(out, static_cast<uint64_t>(second_of_day / 60 % 60), 2);
  out += ':';
  appendDigits(out, static_cast<uint64_t>(second_of_day % 60), 2);
  out += '.';
  appendDigits(out, static_cast<uint64_t>(ms - seconds * 1000), 3);
  out += 'Z';
}

TimeFormat::TimeFormat(absl::string_view format) {
  std::string current;
  auto flush = [&]() {
    if (current.empty()) {
      return;
    }
    Segment segment{Segment::Kind::Strftime, current};
    // %E#S, %E*S, %E#f and %E*f print sub-second digits; only formats without them are the same
    // for a whole second.
    segment.cacheable = current.find("%E") == std::string::npos;
    segment.id = next_segment_id.fetch_add(1, std::memory_order_relaxed);
    segments_.push_back(std::move(segment));
    current.clear();
  };
  for (size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (c != '%' || i + 1 >= format.size()) {
      current += c;
      continue;
    }
    const char next = format[i + 1];
    if (next == '%') {
      current += "%%";
      ++i;
    } else if (next == 's') {
      flush();
      segments_.push_back(Segment{Segment::Kind::EpochSeconds});
      ++i;
    } else if (next == 'f') {
      flush();
      segments_.push_back(Segment{Segment::Kind::Fraction, "", 9});
      ++i;
    } else if (next >= '1' && next <= '9' && i + 2 < format.size() && format[i + 2] == 'f') {
      flush();
      segments_.push_back(Segment{Segment::Kind::Fraction, "", next - '0'});
      i += 2;
    } else {
      current += c;
    }
  }
  flush();
}

void TimeFormat::format(std::chrono::system_clock::time_point time, std::string& out) const {
  const int64_t ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  const int64_t seconds = floorDiv(ns, 1000000000);
  for (const Segment& segment : segments_) {
    switch (segment.kind) {
      case Segment::Kind::EpochSeconds:
        absl::StrAppend(&out, seconds);
        break;
      case Segment::Kind::Fraction: {
        uint64_t fraction = static_cast<uint64_t>(ns - seconds * 1000000000);
        for (int i = segment.digits; i < 9; ++i) {
          fraction /= 10;
        }
        appendDigits(out, fraction, segment.digits);
        break;
      }
      case Segment::Kind::Strftime: {
        if (!segment.cacheable) {
          out += absl::FormatTime(segment.text, absl::FromChrono(time), absl::UTCTimeZone());
          break;
        }
        CacheEntry& entry = time_cache[segment.id % kCacheSize];
        if (entry.id != segment.id || entry.second != seconds) {
          entry.id = segment.id;
          entry.second = seconds;
          entry.text =
              absl::FormatTime(segment.text, absl::FromUnixSeconds(seconds), absl::UTCTimeZone());
        }
        out += entry.text;
        break;
      }
    }
  }
}

}  // namespace Skiff::Formatter
