#pragma once

#include <atomic>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace Skiff::Logger {

// Severity levels, in Envoy's order and spelling so `--log-level` takes the same words.
enum class Level : int { trace = 0, debug, info, warn, error, critical, off };

// The process-wide threshold. Any thread may read or set it; it is a relaxed atomic because a log
// line that races with a level change may go either way without harm.
Level level();
void setLevel(Level level);

// Parses "trace".."off" (also "warning"); returns false for anything else.
bool parseLevel(absl::string_view name, Level& out);
absl::string_view levelName(Level level);

// Writes one formatted line to stderr: timestamp, level, thread name, file:line, message. A single
// write(2) per line keeps lines from different threads whole.
void write(Level level, const char* file, int line, absl::string_view message);

// Names the calling thread in log lines ("main", "worker_0", "control"). Call once per thread.
void setThreadName(absl::string_view name);

}  // namespace Skiff::Logger

// SKIFF_LOG(info, "listener {} added", name) style is not used: absl::StrFormat checks the format
// string against the arguments at compile time.
#define SKIFF_LOG(LEVEL, ...)                                                   \
  do {                                                                          \
    if (::Skiff::Logger::Level::LEVEL >= ::Skiff::Logger::level()) {            \
      ::Skiff::Logger::write(::Skiff::Logger::Level::LEVEL, __FILE__, __LINE__, \
                             ::absl::StrFormat(__VA_ARGS__));                   \
    }                                                                           \
  } while (false)
