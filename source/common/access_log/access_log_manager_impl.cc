#include "source/common/access_log/access_log_manager_impl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "source/common/common/logger.h"

namespace Skiff::AccessLog {
namespace {

std::atomic<size_t> next_thread_index{0};

// A small number per thread, assigned on the thread's first access log write.
size_t threadIndex() {
  thread_local const size_t index = next_thread_index.fetch_add(1, std::memory_order_relaxed);
  return index;
}

int openForAppend(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

}  // namespace

AccessLogFileImpl::AccessLogFileImpl(AccessLogManagerImpl& manager, std::string path, int fd,
                                     bool owns_fd)
    : manager_(manager),
      path_(std::move(path)),
      fd_(fd),
      owns_fd_(owns_fd),
      buffers_(new std::atomic<Buffer*>[kMaxThreads]) {
  for (size_t i = 0; i < kMaxThreads; ++i) {
    buffers_[i].store(nullptr, std::memory_order_relaxed);
  }
}

AccessLogFileImpl::~AccessLogFileImpl() {
  for (size_t i = 0; i < kMaxThreads; ++i) {
    delete buffers_[i].load(std::memory_order_acquire);
  }
  if (owns_fd_ && fd_ >= 0) {
    ::close(fd_);
  }
}

AccessLogFileImpl::Buffer& AccessLogFileImpl::bufferForThisThread() {
  std::atomic<Buffer*>& slot = buffers_[threadIndex() % kMaxThreads];
  Buffer* buffer = slot.load(std::memory_order_acquire);
  if (buffer != nullptr) {
    return *buffer;
  }
  auto* fresh = new Buffer;
  Buffer* expected = nullptr;
  if (slot.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) {
    return *fresh;
  }
  // Another thread sharing this slot (more than kMaxThreads writers) got there first.
  delete fresh;
  return *expected;
}

void AccessLogFileImpl::write(absl::string_view data) {
  const AccessLogManagerImpl::FileStats& stats = manager_.stats_;
  Buffer& buffer = bufferForThisThread();
  size_t before;
  {
    Thread::LockGuard lock(buffer.mutex);
    before = buffer.data.size();
    if (before + data.size() > manager_.options_.max_buffer_bytes_per_thread) {
      if (stats.write_dropped != nullptr) {
        stats.write_dropped->inc();
      }
      return;
    }
    buffer.data.append(data.data(), data.size());
  }
  if (stats.write_buffered != nullptr) {
    stats.write_buffered->inc();
    stats.write_total_buffered->add(static_cast<int64_t>(data.size()));
  }
  const size_t threshold = manager_.options_.flush_threshold_bytes;
  if (before < threshold && before + data.size() >= threshold) {
    manager_.wakeFlushThread();
  }
}

void AccessLogFileImpl::flushBuffers() {
  for (size_t i = 0; i < kMaxThreads; ++i) {
    Buffer* buffer = buffers_[i].load(std::memory_order_acquire);
    if (buffer == nullptr) {
      continue;
    }
    // Swap the writer's buffer for an empty string; the write happens outside the lock.
    std::string pending;
    {
      Thread::LockGuard lock(buffer->mutex);
      pending.swap(buffer->data);
    }
    if (pending.empty()) {
      continue;
    }
    if (manager_.stats_.write_total_buffered != nullptr) {
      manager_.stats_.write_total_buffered->sub(static_cast<int64_t>(pending.size()));
    }
    writeToFd(pending);
  }
}

void AccessLogFileImpl::writeToFd(const std::string& data) {
  const AccessLogManagerImpl::FileStats& stats = manager_.stats_;
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t rc = ::write(fd_, data.data() + written, data.size() - written);
    if (rc < 0 && errno == EINTR) {
      continue;
    }
    if (rc <= 0) {
      if (stats.write_failed != nullptr) {
        stats.write_failed->inc();
      }
      if (!write_failure_logged_) {
        write_failure_logged_ = true;
        SKIFF_LOG(error, "access log \"%s\": write failed: %s (dropping %d bytes)", path_,
                  rc < 0 ? std::strerror(errno) : "no progress", data.size() - written);
      }
      return;
    }
    written += static_cast<size_t>(rc);
  }
  write_failure_logged_ = false;
  if (stats.write_completed != nullptr) {
    stats.write_completed->inc();
  }
}

void AccessLogFileImpl::reopenFile() {
  if (!owns_fd_) {
    return;
  }
  // Open the new file before closing the old one: if it fails, logging goes on where it was.
  const int fd = openForAppend(path_);
  if (fd < 0) {
    if (manager_.stats_.reopen_failed != nullptr) {
      manager_.stats_.reopen_failed->inc();
    }
    SKIFF_LOG(error, "access log \"%s\": reopen failed: %s", path_, std::strerror(errno));
    return;
  }
  ::close(fd_);
  fd_ = fd;
}

AccessLogManagerImpl::AccessLogManagerImpl(Options options, Stats::Store* stats)
    : options_(options) {
  if (stats != nullptr) {
    stats_.write_buffered = &stats->counter("filesystem.write_buffered");
    stats_.write_completed = &stats->counter("filesystem.write_completed");
    stats_.write_failed = &stats->counter("filesystem.write_failed");
    stats_.write_dropped = &stats->counter("filesystem.write_dropped");
    stats_.flushed_by_timer = &stats->counter("filesystem.flushed_by_timer");
    stats_.reopen_failed = &stats->counter("filesystem.reopen_failed");
    stats_.write_total_buffered = &stats->gauge("filesystem.write_total_buffered");
  }
  flush_thread_ = std::thread([this] { flushThreadMain(); });
}

AccessLogManagerImpl::~AccessLogManagerImpl() {
  {
    Thread::LockGuard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  flush_thread_.join();  // The thread flushes once more before it exits.
}

absl::StatusOr<AccessLogFileSharedPtr> AccessLogManagerImpl::createAccessLogFile(
    const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("access log path must not be empty");
  }
  Thread::LockGuard lock(files_mutex_);
  auto it = files_.find(path);
  if (it != files_.end()) {
    return AccessLogFileSharedPtr(it->second);
  }
  std::shared_ptr<AccessLogFileImpl> file;
  if (path == "/dev/stdout") {
    file = std::make_shared<AccessLogFileImpl>(*this, path, STDOUT_FILENO, false);
  } else if (path == "/dev/stderr") {
    file = std::make_shared<AccessLogFileImpl>(*this, path, STDERR_FILENO, false);
  } else {
    const int fd = openForAppend(path);
    if (fd < 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("cannot open access log file \"%s\": %s", path, std::strerror(errno)));
    }
    file = std::make_shared<AccessLogFileImpl>(*this, path, fd, true);
  }
  files_.emplace(path, file);
  return AccessLogFileSharedPtr(std::move(file));
}

void AccessLogManagerImpl::reopen() {
  reopen_generation_.fetch_add(1, std::memory_order_release);
  // On the caller's thread rather than the flush thread's: then "logged after reopen() returned"
  // means "in the new file", which is what logrotate's postrotate (and a test) can rely on. The
  // flush thread may not be scheduled for a while on a busy machine.
  flushAll(false);
}

void AccessLogManagerImpl::flush() { flushAll(false); }

void AccessLogManagerImpl::wakeFlushThread() {
  {
    Thread::LockGuard lock(wake_mutex_);
    wake_requested_ = true;
  }
  wake_.notify_one();
}

void AccessLogManagerImpl::flushThreadMain() {
  Logger::setThreadName("access_log");
  while (true) {
    bool by_timer;
    bool stop;
    wake_mutex_.lock();
    by_timer = !wake_.wait_for(
        wake_mutex_, options_.flush_interval,
        [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return wake_requested_ || stopping_; });
    wake_requested_ = false;
    stop = stopping_;
    wake_mutex_.unlock();
    flushAll(by_timer);
    if (stop) {
      return;
    }
  }
}

void AccessLogManagerImpl::flushAll(bool by_timer) {
  Thread::LockGuard flush_lock(flush_mutex_);
  const uint64_t generation = reopen_generation_.load(std::memory_order_acquire);
  std::vector<std::shared_ptr<AccessLogFileImpl>> files;
  {
    Thread::LockGuard lock(files_mutex_);
    files.reserve(files_.size());
    for (const auto& [path, file] : files_) {
      files.push_back(file);
    }
  }
  for (const auto& file : files) {
    file->flushBuffers();
  }
  // Data buffered before reopen() was called goes to the old file; everything after to the new.
  if (generation != reopened_generation_) {
    for (const auto& file : files) {
      file->reopenFile();
    }
    reopened_generation_ = generation;
  }
  if (by_timer && stats_.flushed_by_timer != nullptr) {
    stats_.flushed_by_timer->inc();
  }
  files.clear();

  // Close files no logger uses any more (a config update removed them). Nobody else can hold or
  // obtain one without files_mutex_, but a logger may have written just before letting go, so
  // flush each once more before closing it.
  std::vector<std::shared_ptr<AccessLogFileImpl>> unused;
  {
    Thread::LockGuard lock(files_mutex_);
    for (auto it = files_.begin(); it != files_.end();) {
      if (it->second.use_count() == 1) {
        unused.push_back(std::move(it->second));
        files_.erase(it++);
      } else {
        ++it;
      }
    }
  }
  for (const auto& file : unused) {
    file->flushBuffers();
  }
}

}  // namespace Skiff::AccessLog
