#pragma once

// Access logging: loggers (one per configured AccessLog) format a finished request and hand the
// line to an output file that buffers it in memory; a flush thread owned by the
// AccessLogManager writes the buffers to disk. A worker never waits for the disk.
//
// Threads:
//   - AccessLogManager::createAccessLogFile runs on main or the control thread (config building).
//   - Instance::log and AccessLogFile::write run on any worker, concurrently, lock-free with
//     respect to each other: each thread appends to its own buffer.
//   - The manager's flush thread drains the buffers every flush interval, or sooner when a
//     thread's buffer passes 64 KiB.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "source/common/formatter/substitution_formatter.h"

namespace Skiff::AccessLog {

/**
 * One output (a file path, stdout or stderr), shared by every logger that names it.
 */
class AccessLogFile {
 public:
  virtual ~AccessLogFile() = default;

  // Appends `data` to the calling thread's buffer for this file. Any thread; never blocks on I/O.
  // If the disk falls so far behind that the buffer reaches its cap, the data is dropped and
  // counted (filesystem.write_dropped) rather than letting memory grow without bound.
  virtual void write(absl::string_view data) = 0;
};

using AccessLogFileSharedPtr = std::shared_ptr<AccessLogFile>;

/**
 * Owns the open files and the flush thread. One per process, created on main before any worker
 * logs and destroyed after every worker stopped (its destructor writes what is still buffered).
 */
class AccessLogManager {
 public:
  virtual ~AccessLogManager() = default;

  // The file at `path` ("/dev/stdout" and "/dev/stderr" are the process's own streams), opened
  // for appending and created if needed; the same object for the same path. Fails if the file
  // cannot be opened. Main or control thread.
  virtual absl::StatusOr<AccessLogFileSharedPtr> createAccessLogFile(const std::string& path) = 0;

  // Closes and reopens every file by its path (after log rotation moved it): what was logged
  // before the call is written to the old file, what is logged after it returns goes to the new
  // one. Does the writes and the open(2) on the calling thread (a few system calls; never a
  // worker). Any thread: the admin handler for POST /reopen_logs and the SIGUSR1 handler (both
  // on main) call it.
  virtual void reopen() = 0;

  // Writes everything buffered so far, on the calling thread, before returning (and performs a
  // pending reopen). For shutdown and tests. Any thread.
  virtual void flush() = 0;
};

/**
 * One configured access log: a format and an output.
 */
class Instance {
 public:
  virtual ~Instance() = default;

  // Logs one finished request. Any worker, concurrently (instances are shared by all workers).
  virtual void log(const Formatter::Context& context) = 0;
};

using InstanceSharedPtr = std::shared_ptr<Instance>;

}  // namespace Skiff::AccessLog
