#include "source/common/overload/overload_state.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "source/common/overload/connection_limit.h"

namespace Skiff::Overload {
namespace {

TEST(OverloadStateTest, NamesRoundTrip) {
  for (size_t i = 0; i < kNumOverloadActions; ++i) {
    const auto action = static_cast<OverloadActionName>(i);
    EXPECT_EQ(overloadActionFromName(overloadActionName(action)), action);
  }
  EXPECT_EQ(overloadActionName(OverloadActionName::StopAcceptingRequests),
            "envoy.overload_actions.stop_accepting_requests");
  EXPECT_FALSE(overloadActionFromName("envoy.overload_actions.shrink_heap").has_value());
}

TEST(OverloadStateTest, StateIsClampedAndSaturatesAtOne) {
  EXPECT_EQ(OverloadActionState(-1).value(), 0);
  EXPECT_EQ(OverloadActionState(7).value(), 1);
  EXPECT_FALSE(OverloadActionState(0.99).isSaturated());
  EXPECT_TRUE(OverloadActionState::saturated().isSaturated());
}

// Off a worker (no state bound to the thread) nothing is ever active; a bound state is seen only
// by its own thread.
TEST(OverloadStateTest, PerThreadState) {
  const auto action = OverloadActionName::StopAcceptingRequests;
  EXPECT_FALSE(ThreadLocalOverloadState::get().getState(action).isSaturated());
  ThreadLocalOverloadState mine;
  mine.setState(action, OverloadActionState::saturated());
  ThreadLocalOverloadState::setForThisThread(&mine);
  EXPECT_TRUE(ThreadLocalOverloadState::get().getState(action).isSaturated());
  bool other_thread_saw = true;
  std::thread([&] {
    other_thread_saw = ThreadLocalOverloadState::get().getState(action).isSaturated();
  }).join();
  EXPECT_FALSE(other_thread_saw);
  ThreadLocalOverloadState::setForThisThread(nullptr);
  EXPECT_FALSE(ThreadLocalOverloadState::get().getState(action).isSaturated());
}

TEST(ConnectionLimitTest, SlotsAreGivenBack) {
  auto limit = std::make_shared<ConnectionLimit>(2);
  ConnectionLimit::Slot a, b, c;
  EXPECT_TRUE(tryAcquireSlot(limit, a));
  EXPECT_TRUE(tryAcquireSlot(limit, b));
  EXPECT_FALSE(tryAcquireSlot(limit, c));
  EXPECT_EQ(limit->current(), 2u);
  a.reset();
  EXPECT_EQ(limit->current(), 1u);
  EXPECT_TRUE(tryAcquireSlot(limit, c));
  {
    ConnectionLimit::Slot moved = std::move(b);
    EXPECT_EQ(limit->current(), 2u);
  }
  EXPECT_EQ(limit->current(), 1u);
  // No limit configured: always admitted, nothing counted.
  ConnectionLimit::Slot none;
  EXPECT_TRUE(tryAcquireSlot(nullptr, none));
}

// Several threads racing for slots never exceed the limit (run under TSan by tools/test).
TEST(ConnectionLimitTest, NeverExceededAcrossThreads) {
  auto limit = std::make_shared<ConnectionLimit>(100);
  std::atomic<uint64_t> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        if (limit->tryAcquire()) {
          granted.fetch_add(1);
          EXPECT_LE(limit->current(), 100u);
          limit->release();
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_GT(granted.load(), 0u);
  EXPECT_EQ(limit->current(), 0u);
  limit->setMax(0);
  EXPECT_FALSE(limit->tryAcquire());
}

}  // namespace
}  // namespace Skiff::Overload
