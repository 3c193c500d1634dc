#include "source/common/event/deadline_timer.h"

#include <chrono>

#include "gtest/gtest.h"
#include "source/common/event/dispatcher_impl.h"

namespace Skiff::Event {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Runs the loop until `done` or the deadline (generous: the machine may be loaded).
template <class Pred>
void runUntil(DispatcherImpl& dispatcher, Pred done, milliseconds limit = milliseconds(5000)) {
  const auto end = Clock::now() + limit;
  while (!done() && Clock::now() < end) {
    dispatcher.run(Dispatcher::RunType::NonBlock);
    std::this_thread::sleep_for(milliseconds(1));
  }
}

TEST(DeadlineTimerTest, FiresOnceAfterTheDeadline) {
  DispatcherImpl dispatcher("test");
  int fired = 0;
  Clock::time_point fired_at;
  DeadlineTimer timer(dispatcher, [&] {
    ++fired;
    fired_at = Clock::now();
  });
  const auto start = Clock::now();
  timer.arm(milliseconds(30));
  EXPECT_TRUE(timer.enabled());
  runUntil(dispatcher, [&] { return fired > 0; });
  ASSERT_EQ(fired, 1);
  EXPECT_GE(fired_at - start, milliseconds(30));
  EXPECT_FALSE(timer.enabled());
  // Nothing more without a new deadline.
  std::this_thread::sleep_for(milliseconds(50));
  dispatcher.run(Dispatcher::RunType::NonBlock);
  EXPECT_EQ(fired, 1);
}

TEST(DeadlineTimerTest, MovingTheDeadlineLaterPostponesTheCallback) {
  DispatcherImpl dispatcher("test");
  int fired = 0;
  Clock::time_point fired_at;
  DeadlineTimer timer(dispatcher, [&] {
    ++fired;
    fired_at = Clock::now();
  });
  timer.arm(milliseconds(40));
  // Keep pushing it back for a while (an idle timeout touched by activity).
  const auto start = Clock::now();
  Clock::time_point last_touch;
  while (Clock::now() - start < milliseconds(150)) {
    last_touch = Clock::now();
    timer.arm(milliseconds(40));
    dispatcher.run(Dispatcher::RunType::NonBlock);
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(fired, 0);
  runUntil(dispatcher, [&] { return fired > 0; });
  ASSERT_EQ(fired, 1);
  EXPECT_GE(fired_at - last_touch, milliseconds(40));
}

TEST(DeadlineTimerTest, AnEarlierDeadlineFiresEarlyAndDisarmStopsIt) {
  DispatcherImpl dispatcher("test");
  int fired = 0;
  DeadlineTimer timer(dispatcher, [&] { ++fired; });
  timer.arm(milliseconds(60000));
  timer.arm(milliseconds(10));  // Earlier: re-armed at once.
  runUntil(dispatcher, [&] { return fired > 0; });
  EXPECT_EQ(fired, 1);

  timer.arm(milliseconds(20));
  timer.disarm();
  EXPECT_FALSE(timer.enabled());
  std::this_thread::sleep_for(milliseconds(60));
  for (int i = 0; i < 5; ++i) {
    dispatcher.run(Dispatcher::RunType::NonBlock);
  }
  EXPECT_EQ(fired, 1);

  timer.arm(milliseconds(0));  // Zero disables.
  EXPECT_FALSE(timer.enabled());
}

}  // namespace
}  // namespace Skiff::Event
