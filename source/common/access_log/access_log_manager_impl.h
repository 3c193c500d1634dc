#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "source/common/access_log/access_log.h"
#include "source/common/common/thread.h"
#include "source/common/stats/stats.h"

namespace Skiff::AccessLog {

class AccessLogManagerImpl;

/**
 * A file with one buffer per writing thread. A thread finds its buffer by a process-wide
 * thread index (assigned on its first write to any file), so writers never share a buffer unless
 * there are more than kMaxThreads writing threads. Each buffer has its own mutex, taken by its
 * writer per line and by the flush thread once per flush to swap the buffer out: uncontended in
 * practice, and never held across I/O.
 */
class AccessLogFileImpl : public AccessLogFile {
 public:
  static constexpr size_t kMaxThreads = 64;

  // `fd` is open for appending; `owns_fd` is false for stdout and stderr (never closed or
  // reopened).
  AccessLogFileImpl(AccessLogManagerImpl& manager, std::string path, int fd, bool owns_fd);
  ~AccessLogFileImpl() override;

  void write(absl::string_view data) override;

  const std::string& path() const { return path_; }

  // Flush thread (or AccessLogManager::flush) only, serialized by the manager.
  void flushBuffers();
  void reopenFile();

 private:
  struct Buffer {
    Thread::MutexBasicLockable mutex;
    std::string data ABSL_GUARDED_BY(mutex);
  };

  Buffer& bufferForThisThread();
  void writeToFd(const std::string& data);

  AccessLogManagerImpl& manager_;
  const std::string path_;
  // Written by the flush thread only (write(2) and reopen both happen there).
  int fd_;
  const bool owns_fd_;
  bool write_failure_logged_ = false;
  std::unique_ptr<std::atomic<Buffer*>[]> buffers_;
};

/**
 * See AccessLogManager. The flush thread starts in the constructor.
 */
class AccessLogManagerImpl : public AccessLogManager {
 public:
  struct Options {
    // How often buffered lines are written when traffic is light.
    std::chrono::milliseconds flush_interval{1000};
    // A thread's buffer this large wakes the flush thread early.
    size_t flush_threshold_bytes = 64 * 1024;
    // A thread's buffer never grows beyond this; lines that would are dropped and counted.
    size_t max_buffer_bytes_per_thread = 4 * 1024 * 1024;
  };

  // `stats` (may be null) gets Envoy's filesystem.* stats and skiff's filesystem.write_dropped;
  // it must outlive the manager.
  AccessLogManagerImpl(Options options, Stats::Store* stats);
  explicit AccessLogManagerImpl(Stats::Store* stats) : AccessLogManagerImpl(Options{}, stats) {}
  ~AccessLogManagerImpl() override;

  absl::StatusOr<AccessLogFileSharedPtr> createAccessLogFile(const std::string& path) override;
  void reopen() override;
  void flush() override;

 private:
  friend class AccessLogFileImpl;

  struct FileStats {
    Stats::Counter* write_buffered = nullptr;
    Stats::Counter* write_completed = nullptr;
    Stats::Counter* write_failed = nullptr;
    Stats::Counter* write_dropped = nullptr;
    Stats::Counter* flushed_by_timer = nullptr;
    Stats::Counter* reopen_failed = nullptr;
    Stats::Gauge* write_total_buffered = nullptr;
  };

  void flushThreadMain();
  // Writes every file's buffers, reopens if asked, forgets files no logger holds any more.
  void flushAll(bool by_timer);
  // Called by a writer whose buffer passed the threshold.
  void wakeFlushThread();

  const Options options_;
  FileStats stats_;

  Thread::MutexBasicLockable files_mutex_;
  absl::flat_hash_map<std::string, std::shared_ptr<AccessLogFileImpl>> files_
      ABSL_GUARDED_BY(files_mutex_);

  // Serializes flushes: the flush thread's and flush() callers'.
  Thread::MutexBasicLockable flush_mutex_;
  uint64_t reopened_generation_ ABSL_GUARDED_BY(flush_mutex_) = 0;
  std::atomic<uint64_t> reopen_generation_{0};

  Thread::MutexBasicLockable wake_mutex_;
  std::condition_variable_any wake_;
  bool wake_requested_ ABSL_GUARDED_BY(wake_mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(wake_mutex_) = false;
  std::thread flush_thread_;
};

}  // namespace Skiff::AccessLog
