#include "source/common/event/dispatcher_impl.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace Skiff::Event {
namespace {

TEST(DispatcherImplTest, PostsFromManyThreadsRunInOrderOnTheLoopThread) {
  DispatcherImpl dispatcher("test");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::vector<int>> seen(kThreads);
  std::atomic<int> remaining{kThreads * kPerThread};
  std::thread::id loop_thread;
  std::atomic<bool> wrong_thread{false};

  std::thread loop([&] {
    loop_thread = std::this_thread::get_id();
    dispatcher.run(Dispatcher::RunType::Block);
  });
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        dispatcher.post([&, t, i] {
          if (!dispatcher.isThreadSafe()) {
            wrong_thread = true;
          }
          seen[t].push_back(i);
          if (--remaining == 0) {
            dispatcher.exit();
          }
        });
      }
    });
  }
  for (auto& p : posters) {
    p.join();
  }
  loop.join();
  EXPECT_FALSE(wrong_thread);
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(seen[t].size(), static_cast<size_t>(kPerThread));
    for (int i = 0; i < kPerThread; ++i) {
      ASSERT_EQ(seen[t][i], i) << "thread " << t << " out of order";
    }
  }
}

TEST(DispatcherImplTest, PostBeforeRunIsDelivered) {
  DispatcherImpl dispatcher("test");
  bool ran = false;
  dispatcher.post([&] {
    ran = true;
    dispatcher.exit();
  });
  dispatcher.run(Dispatcher::RunType::Block);
  EXPECT_TRUE(ran);
}

TEST(DispatcherImplTest, IsThreadSafeOnlyOnLoopThread) {
  DispatcherImpl dispatcher("test");
  EXPECT_TRUE(dispatcher.isThreadSafe());
  bool other = true;
  std::thread([&] { other = dispatcher.isThreadSafe(); }).join();
  EXPECT_FALSE(other);
}

TEST(DispatcherImplTest, TimersFireInDeadlineOrderAndDisableCancels) {
  DispatcherImpl dispatcher("test");
  std::vector<int> fired;
  TimerPtr late = dispatcher.createTimer([&] {
    fired.push_back(30);
    dispatcher.exit();
  });
  TimerPtr early = dispatcher.createTimer([&] { fired.push_back(10); });
  TimerPtr cancelled = dispatcher.createTimer([&] { fired.push_back(-1); });
  late->enableTimer(std::chrono::milliseconds(30));
  early->enableTimer(std::chrono::milliseconds(10));
  cancelled->enableTimer(std::chrono::milliseconds(5));
  EXPECT_TRUE(cancelled->enabled());
  cancelled->disableTimer();
  EXPECT_FALSE(cancelled->enabled());
  auto start = std::chrono::steady_clock::now();
  dispatcher.run(Dispatcher::RunType::Block);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(25));
  EXPECT_EQ(fired, (std::vector<int>{10, 30}));
}

TEST(DispatcherImplTest, DestroyedTimerNeverFires) {
  DispatcherImpl dispatcher("test");
  bool fired = false;
  TimerPtr timer = dispatcher.createTimer([&] { fired = true; });
  timer->enableTimer(std::chrono::milliseconds(1));
  timer.reset();
  TimerPtr stop = dispatcher.createTimer([&] { dispatcher.exit(); });
  stop->enableTimer(std::chrono::milliseconds(20));
  dispatcher.run(Dispatcher::RunType::Block);
  EXPECT_FALSE(fired);
}

class Tracked : public DeferredDeletable {
 public:
  Tracked(std::vector<int>& log, int id, Dispatcher* chain = nullptr)
      : log_(log), id_(id), chain_(chain) {}
  ~Tracked() override {
    log_.push_back(id_);
    if (chain_ != nullptr) {
      // Deferring from inside a deferred destructor must not corrupt the list being cleared.
      chain_->deferredDelete(std::make_unique<Tracked>(log_, id_ + 100));
    }
  }

 private:
  std::vector<int>& log_;
  int id_;
  Dispatcher* chain_;
};

TEST(DispatcherImplTest, DeferredDeleteRunsAfterCallbackInFifoOrder) {
  DispatcherImpl dispatcher("test");
  std::vector<int> log;
  dispatcher.post([&] {
    dispatcher.deferredDelete(std::make_unique<Tracked>(log, 1, &dispatcher));
    dispatcher.deferredDelete(std::make_unique<Tracked>(log, 2));
    // Nothing is destroyed while the callback that deferred it is still running.
    EXPECT_TRUE(log.empty());
  });
  TimerPtr stop = dispatcher.createTimer([&] { dispatcher.exit(); });
  stop->enableTimer(std::chrono::milliseconds(20));
  dispatcher.run(Dispatcher::RunType::Block);
  EXPECT_EQ(log, (std::vector<int>{1, 2, 101}));
}

TEST(DispatcherImplTest, EdgeTriggeredFileEventReportsReadAndWrite) {
  DispatcherImpl dispatcher("test");
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  uint32_t seen = 0;
  FileEventPtr event = dispatcher.createFileEvent(
      fds[0],
      [&](uint32_t events) {
        seen |= events;
        if (seen & FileReadyType::Read) {
          dispatcher.exit();
        }
      },
      FileTriggerType::Edge, FileReadyType::Read | FileReadyType::Write);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  dispatcher.run(Dispatcher::RunType::Block);
  EXPECT_TRUE(seen & FileReadyType::Read);
  EXPECT_TRUE(seen & FileReadyType::Write);
  event.reset();
  close(fds[0]);
  close(fds[1]);
}

TEST(DispatcherImplTest, PendingPostsAreDestroyedWithTheDispatcher) {
  auto shared = std::make_shared<int>(0);
  {
    DispatcherImpl dispatcher("test");
    dispatcher.post([shared] { ++*shared; });
    EXPECT_EQ(shared.use_count(), 2);
  }
  EXPECT_EQ(shared.use_count(), 1);
  EXPECT_EQ(*shared, 0);
}

// A flood of slow posted callbacks must not hold the loop: I/O that becomes ready runs between
// them (each callback here outlasts the per-iteration budget on its own), and the posts still run
// in order. No timing asserts: only the order of events.
TEST(DispatcherImplTest, IoRunsBetweenPostedCallbacksOnceTheBudgetIsSpent) {
  DispatcherImpl dispatcher("test");
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  constexpr int kPosts = 20;
  std::vector<int> order;  // Post i records i; the read event records -1.
  FileEventPtr event = dispatcher.createFileEvent(
      fds[0],
      [&](uint32_t events) {
        if (events & FileReadyType::Read) {
          char c;
          while (read(fds[0], &c, 1) == 1) {
          }
          order.push_back(-1);
        }
      },
      FileTriggerType::Edge, FileReadyType::Read);
  for (int i = 0; i < kPosts; ++i) {
    dispatcher.post([&, i] {
      std::this_thread::sleep_for(2 * DispatcherImpl::kPostBudget);
      order.push_back(i);
      if (i == 0) {
        ASSERT_EQ(write(fds[1], "x", 1), 1);  // Ready now; must not wait for the other 19.
      }
      if (i == kPosts - 1) {
        dispatcher.exit();
      }
    });
  }
  dispatcher.run(Dispatcher::RunType::Block);
  event.reset();
  close(fds[0]);
  close(fds[1]);
  std::vector<int> posts;
  int read_at = -1;
  for (size_t k = 0; k < order.size(); ++k) {
    if (order[k] == -1) {
      read_at = static_cast<int>(k);
    } else {
      posts.push_back(order[k]);
    }
  }
  ASSERT_EQ(posts.size(), static_cast<size_t>(kPosts));
  for (int i = 0; i < kPosts; ++i) {
    EXPECT_EQ(posts[i], i);
  }
  ASSERT_GE(read_at, 1);
  EXPECT_LT(read_at, kPosts) << "the read waited for every posted callback";
}

// A callback that re-posts itself (a large update applied a slice per callback) must yield to
// I/O too: its re-post must not wake the loop again within the same pass.
TEST(DispatcherImplTest, IoRunsBetweenSelfRepostingCallbacks) {
  DispatcherImpl dispatcher("test");
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  constexpr int kSlices = 20;
  int slices = 0;
  int slices_before_read = -1;
  FileEventPtr event = dispatcher.createFileEvent(
      fds[0],
      [&](uint32_t events) {
        if ((events & FileReadyType::Read) && slices_before_read < 0) {
          slices_before_read = slices;
        }
      },
      FileTriggerType::Edge, FileReadyType::Read);
  std::function<void()> slice = [&] {
    std::this_thread::sleep_for(2 * DispatcherImpl::kPostBudget);
    if (++slices == 1) {
      ASSERT_EQ(write(fds[1], "x", 1), 1);
    }
    if (slices == kSlices) {
      dispatcher.exit();
      return;
    }
    dispatcher.post([&] { slice(); });
  };
  dispatcher.post([&] { slice(); });
  dispatcher.run(Dispatcher::RunType::Block);
  event.reset();
  close(fds[0]);
  close(fds[1]);
  EXPECT_EQ(slices, kSlices);
  ASSERT_GE(slices_before_read, 1);
  EXPECT_LT(slices_before_read, kSlices) << "the read waited for every slice";
}

// run(NonBlock) is the final pass at shutdown: it runs everything posted, budget or not.
TEST(DispatcherImplTest, NonBlockRunDrainsEveryPost) {
  DispatcherImpl dispatcher("test");
  int ran = 0;
  for (int i = 0; i < 5; ++i) {
    dispatcher.post([&] {
      std::this_thread::sleep_for(2 * DispatcherImpl::kPostBudget);
      ++ran;
    });
  }
  dispatcher.run(Dispatcher::RunType::NonBlock);
  EXPECT_EQ(ran, 5);
}

// Callbacks left over when the budget ran out are destroyed with the dispatcher, not run.
TEST(DispatcherImplTest, LeftoverPostsAreDestroyedWithTheDispatcher) {
  auto shared = std::make_shared<int>(0);
  {
    DispatcherImpl dispatcher("test");
    dispatcher.post([&] {
      std::this_thread::sleep_for(2 * DispatcherImpl::kPostBudget);
      dispatcher.exit();
    });
    dispatcher.post([shared] { ++*shared; });
    dispatcher.run(Dispatcher::RunType::Block);
  }
  EXPECT_EQ(shared.use_count(), 1);
}

}  // namespace
}  // namespace Skiff::Event
