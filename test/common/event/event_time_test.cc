#include "source/common/event/event_time.h"

#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace Skiff::Event {
namespace {

using std::chrono::steady_clock;

// Waits until the clock has moved past `t` (no fixed sleep: just long enough to tell apart).
void waitPast(steady_clock::time_point t) {
  while (steady_clock::now() <= t) {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

TEST(EventTimeTest, OneReadingPerEventAndTheClockOutsideOne) {
  const steady_clock::time_point before = EventTime::now();
  waitPast(before);
  EXPECT_GT(EventTime::now(), before) << "outside an event: the clock";

  steady_clock::time_point inside;
  {
    EventTime::Scope scope;
    inside = EventTime::now();
    EXPECT_GT(inside, before);
    waitPast(inside);
    EXPECT_EQ(EventTime::now(), inside) << "inside an event: the first reading";
    {
      EventTime::Scope nested;
      EXPECT_EQ(EventTime::now(), inside) << "a nested scope belongs to the outer event";
    }
    EXPECT_EQ(EventTime::now(), inside) << "leaving the nested scope does not end the event";
  }
  EXPECT_GT(EventTime::now(), inside);

  {
    EventTime::Scope next;
    EXPECT_GT(EventTime::now(), inside) << "the next event reads the clock again";
  }
}

TEST(EventTimeTest, PerThread) {
  EventTime::Scope scope;
  const steady_clock::time_point here = EventTime::now();
  steady_clock::time_point there;
  std::thread other([&] {
    waitPast(here);
    there = EventTime::now();  // Not in an event on this thread.
  });
  other.join();
  EXPECT_GT(there, here);
  EXPECT_EQ(EventTime::now(), here);
}

}  // namespace
}  // namespace Skiff::Event
