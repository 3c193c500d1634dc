#include "source/common/access_log/access_log_manager_impl.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "source/common/stats/stats_impl.h"

namespace Skiff::AccessLog {
namespace {

using std::chrono::milliseconds;

std::string tempPath(absl::string_view name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
  std::remove(path.c_str());
  return path;
}

std::string readFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream content;
  content << file.rdbuf();
  return content.str();
}

// Polls until `done` or a generous deadline (the machine may be loaded); returns `done()`.
template <class F>
bool eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

// Timer flushes never happen during a test unless it asks for them.
AccessLogManagerImpl::Options quietOptions() {
  AccessLogManagerImpl::Options options;
  options.flush_interval = std::chrono::hours(1);
  return options;
}

TEST(AccessLogManagerTest, ConcurrentWritersLoseAndTearNothing) {
  Stats::StoreImpl stats;
  AccessLogManagerImpl manager(quietOptions(), &stats);
  const std::string path = tempPath("concurrent.log");
  auto file = manager.createAccessLogFile(path);
  ASSERT_TRUE(file.ok()) << file.status();

  constexpr int kThreads = 4;
  constexpr int kLines = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLines; ++i) {
        (*file)->write(absl::StrCat("thread ", t, " line ", i, " ", std::string(50, 'x'), "\n"));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  manager.flush();

  std::vector<std::string> lines = absl::StrSplit(readFile(path), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kLines));
  // Each thread's lines are whole and in its own order.
  std::vector<int> next(kThreads, 0);
  for (const std::string& line : lines) {
    int t = -1;
    int i = -1;
    ASSERT_EQ(std::sscanf(line.c_str(), "thread %d line %d", &t, &i), 2) << line;
    ASSERT_EQ(line.size(), absl::StrCat("thread ", t, " line ", i, " ").size() + 50) << line;
    EXPECT_EQ(i, next[t]) << "thread " << t;
    next[t] = i + 1;
  }
  EXPECT_EQ(stats.counter("filesystem.write_buffered").value(),
            static_cast<uint64_t>(kThreads * kLines));
  EXPECT_GE(stats.counter("filesystem.write_completed").value(), 1u);
  EXPECT_EQ(stats.gauge("filesystem.write_total_buffered").value(), 0);
}

TEST(AccessLogManagerTest, TimerFlushesWithoutBeingAsked) {
  Stats::StoreImpl stats;
  AccessLogManagerImpl::Options options;
  options.flush_interval = milliseconds(20);
  AccessLogManagerImpl manager(options, &stats);
  const std::string path = tempPath("timer.log");
  auto file = manager.createAccessLogFile(path);
  ASSERT_TRUE(file.ok());
  (*file)->write("hello\n");
  EXPECT_TRUE(eventually([&] { return readFile(path) == "hello\n"; }));
  EXPECT_TRUE(eventually([&] { return stats.counter("filesystem.flushed_by_timer").value() > 0; }));
}

TEST(AccessLogManagerTest, FullBufferWakesTheFlushThread) {
  AccessLogManagerImpl::Options options = quietOptions();
  options.flush_threshold_bytes = 1000;
  AccessLogManagerImpl manager(options, nullptr);
  const std::string path = tempPath("threshold.log");
  auto file = manager.createAccessLogFile(path);
  ASSERT_TRUE(file.ok());
  (*file)->write(std::string(600, 'a'));
  (*file)->write(std::string(600, 'b'));  // crosses the threshold
  EXPECT_TRUE(eventually([&] { return readFile(path).size() == 1200; }));
}

TEST(AccessLogManagerTest, DropsInsteadOfGrowingWithoutBound) {
  Stats::StoreImpl stats;
  AccessLogManagerImpl::Options options = quietOptions();
  options.flush_threshold_bytes = 1 << 20;
  options.max_buffer_bytes_per_thread = 100;
  AccessLogManagerImpl manager(options, &stats);
  const std::string path = tempPath("cap.log");
  auto file = manager.createAccessLogFile(path);
  ASSERT_TRUE(file.ok());
  (*file)->write(std::string(50, 'a'));
  (*file)->write(std::string(50, 'b'));
  (*file)->write(std::string(50, 'c'));  // would exceed 100 bytes
  manager.flush();
  EXPECT_EQ(readFile(path), std::string(50, 'a') + std::string(50, 'b'));
  EXPECT_EQ(stats.counter("filesystem.write_dropped").value(), 1u);
  (*file)->write("d");  // room again after the flush
  manager.flush();
  EXPECT_EQ(readFile(path).back(), 'd');
}

TEST(AccessLogManagerTest, ReopenAfterRotation) {
  AccessLogManagerImpl manager(quietOptions(), nullptr);
  const std::string path = tempPath("rotate.log");
  const std::string rotated = tempPath("rotate.log.1");
  auto file = manager.createAccessLogFile(path);
  ASSERT_TRUE(file.ok());
  (*file)->write("before\n");
  manager.flush();
  (*file)->write("buffered at rotation\n");
  ASSERT_EQ(std::rename(path.c_str(), rotated.c_str()), 0);
  manager.reopen();
  // Done when reopen() returns: lines buffered before it went to the old file, and the path
  // exists again for what comes after.
  EXPECT_EQ(access(path.c_str(), F_OK), 0);
  EXPECT_EQ(readFile(rotated), "before\nbuffered at rotation\n");
  (*file)->write("after\n");
  manager.flush();
  EXPECT_EQ(readFile(rotated), "before\nbuffered at rotation\n");
  EXPECT_EQ(readFile(path), "after\n");
}

TEST(AccessLogManagerTest, ReopenIsDoneByFlushToo) {
  AccessLogManagerImpl manager(quietOptions(), nullptr);
  const std::string path = tempPath("rotate2.log");
  const std::string rotated = tempPath("rotate2.log.1");
  auto file = manager.createAccessLogFile(path);
  ASSERT_TRUE(file.ok());
  (*file)->write("one\n");
  ASSERT_EQ(std::rename(path.c_str(), rotated.c_str()), 0);
  manager.reopen();
  manager.flush();
  (*file)->write("two\n");
  manager.flush();
  EXPECT_EQ(readFile(rotated), "one\n");
  EXPECT_EQ(readFile(path), "two\n");
}

TEST(AccessLogManagerTest, FailedReopenKeepsTheOldFile) {
  Stats::StoreImpl stats;
  AccessLogManagerImpl manager(quietOptions(), &stats);
  const std::string dir = tempPath("gone_dir");
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  const std::string path = dir + "/a.log";
  auto file = manager.createAccessLogFile(path);
  ASSERT_TRUE(file.ok());
  const std::string moved = tempPath("moved.log");
  ASSERT_EQ(std::rename(path.c_str(), moved.c_str()), 0);
  ASSERT_EQ(::rmdir(dir.c_str()), 0);
  manager.reopen();
  manager.flush();
  EXPECT_EQ(stats.counter("filesystem.reopen_failed").value(), 1u);
  (*file)->write("still logging\n");
  manager.flush();
  EXPECT_EQ(readFile(moved), "still logging\n");
}

TEST(AccessLogManagerTest, SamePathSameFile) {
  AccessLogManagerImpl manager(quietOptions(), nullptr);
  const std::string path = tempPath("shared.log");
  auto a = manager.createAccessLogFile(path);
  auto b = manager.createAccessLogFile(path);
  auto c = manager.createAccessLogFile(tempPath("other.log"));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_NE(a->get(), c->get());
}

TEST(AccessLogManagerTest, OpenFailureSaysWhy) {
  AccessLogManagerImpl manager(quietOptions(), nullptr);
  auto file = manager.createAccessLogFile("/nonexistent-dir/x.log");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().message(),
            "cannot open access log file \"/nonexistent-dir/x.log\": No such file or directory");
  EXPECT_FALSE(manager.createAccessLogFile("").ok());
}

TEST(AccessLogManagerTest, UnusedFilesAreFlushedAndClosed) {
  AccessLogManagerImpl manager(quietOptions(), nullptr);
  const std::string path = tempPath("unused.log");
  std::weak_ptr<AccessLogFile> weak;
  {
    auto file = manager.createAccessLogFile(path);
    ASSERT_TRUE(file.ok());
    (*file)->write("last words\n");
    weak = *file;
  }
  manager.flush();
  EXPECT_TRUE(weak.expired());
  EXPECT_EQ(readFile(path), "last words\n");
}

TEST(AccessLogManagerTest, DestructionWritesWhatIsBuffered) {
  const std::string path = tempPath("shutdown.log");
  {
    AccessLogManagerImpl manager(quietOptions(), nullptr);
    auto file = manager.createAccessLogFile(path);
    ASSERT_TRUE(file.ok());
    (*file)->write("goodbye\n");
  }
  EXPECT_EQ(readFile(path), "goodbye\n");
}

TEST(AccessLogManagerTest, StdoutIsTheProcessStream) {
  const std::string path = tempPath("stdout.capture");
  fflush(stdout);
  const int saved = ::dup(STDOUT_FILENO);
  const int capture = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(capture, 0);
  ASSERT_EQ(::dup2(capture, STDOUT_FILENO), STDOUT_FILENO);
  {
    AccessLogManagerImpl manager(quietOptions(), nullptr);
    auto out = manager.createAccessLogFile("/dev/stdout");
    ASSERT_TRUE(out.ok());
    (*out)->write("to stdout\n");
    manager.reopen();  // never closes stdout
    manager.flush();
    (*out)->write("still stdout\n");
    manager.flush();
  }
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  ::close(capture);
  EXPECT_EQ(readFile(path), "to stdout\nstill stdout\n");
}

}  // namespace
}  // namespace Skiff::AccessLog
