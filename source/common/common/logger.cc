#include "source/common/common/logger.h"

#include <unistd.h>

#include <cstring>
#include <ctime>
#include <string>

#include "absl/strings/str_cat.h"

namespace Skiff::Logger {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
thread_local char t_thread_name[16] = "main";

constexpr absl::string_view kNames[] = {"trace", "debug",    "info", "warning",
                                        "error", "critical", "off"};

}  // namespace

Level level() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }

void setLevel(Level level) { g_level.store(static_cast<int>(level), std::memory_order_relaxed); }

bool parseLevel(absl::string_view name, Level& out) {
  if (name == "warn") {
    out = Level::warn;
    return true;
  }
  for (int i = 0; i <= static_cast<int>(Level::off); ++i) {
    if (kNames[i] == name) {
      out = static_cast<Level>(i);
      return true;
    }
  }
  return false;
}

absl::string_view levelName(Level level) { return kNames[static_cast<int>(level)]; }

void setThreadName(absl::string_view name) {
  size_t n = std::min(name.size(), sizeof(t_thread_name) - 1);
  std::memcpy(t_thread_name, name.data(), n);
  t_thread_name[n] = '\0';
}

void write(Level level, const char* file, int line, absl::string_view message) {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc;
  gmtime_r(&now.tv_sec, &utc);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
  const char* base = std::strrchr(file, '/');
  std::string out = absl::StrFormat("[%s.%03dZ][%s][%s][%s:%d] ", stamp, now.tv_nsec / 1000000,
                                    levelName(level), t_thread_name, base ? base + 1 : file, line);
  absl::StrAppend(&out, message, "\n");
  // One write per line so lines from different threads never interleave.
  ssize_t unused = ::write(STDERR_FILENO, out.data(), out.size());
  (void)unused;
}

}  // namespace Skiff::Logger
