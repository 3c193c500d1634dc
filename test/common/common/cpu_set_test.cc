#include "source/common/common/cpu_set.h"

#include <thread>

#include "gtest/gtest.h"

namespace Skiff::Thread {
namespace {

TEST(CpuSetTest, ListsParseAndPrintInShortestForm) {
  const std::pair<const char*, const char*> cases[] = {
      {"0", "0"}, {"0-3", "0-3"}, {"3,1,2", "1-3"}, {" 0 , 2-3,7", "0,2-3,7"}, {"5-5", "5"},
  };
  for (const auto& [list, printed] : cases) {
    auto cpus = CpuSet::parse(list);
    ASSERT_TRUE(cpus.ok()) << list << ": " << cpus.status();
    EXPECT_EQ(cpus->toString(), printed) << list;
  }
  auto cpus = CpuSet::parse("0,2-3");
  ASSERT_TRUE(cpus.ok());
  EXPECT_EQ(cpus->count(), 3);
  EXPECT_TRUE(cpus->contains(2));
  EXPECT_FALSE(cpus->contains(1));
  EXPECT_FALSE(cpus->contains(-1));
}

TEST(CpuSetTest, BadListsNameTheItem) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "\"\" is not a CPU number or range (0-1023)"},
      {"0,", "\"\" is not a CPU number or range (0-1023)"},
      {"x", "\"x\" is not a CPU number or range (0-1023)"},
      {"-1", "\"-1\" is not a CPU number or range (0-1023)"},
      {"1024", "\"1024\" is not a CPU number or range (0-1023)"},
      {"3-1", "\"3-1\" is a backwards range"},
      {"1-2-3", "\"1-2-3\" is not a CPU range"},
      {"0-", "\"0-\" is not a CPU number or range (0-1023)"},
  };
  for (const auto& [list, error] : cases) {
    auto cpus = CpuSet::parse(list);
    ASSERT_FALSE(cpus.ok()) << list;
    EXPECT_EQ(cpus.status().message(), error) << list;
  }
}

TEST(CpuSetTest, SubsetAndTheCallingThread) {
  const CpuSet mine = CpuSet::ofCallingThread();
  ASSERT_GT(mine.count(), 0);
  EXPECT_TRUE(mine.isSubsetOf(mine));
  CpuSet one;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (mine.contains(cpu)) {
      one.add(cpu);
      break;
    }
  }
  EXPECT_TRUE(one.isSubsetOf(mine));
  CpuSet outside;
  outside.add(CPU_SETSIZE - 1);
  EXPECT_FALSE(outside.isSubsetOf(mine));
  // Narrowing a thread of its own is allowed; the test runs it on a thread it owns.
  std::thread([&] {
    ASSERT_TRUE(one.applyToCallingThread().ok());
    EXPECT_EQ(CpuSet::ofCallingThread().toString(), one.toString());
  }).join();
  EXPECT_EQ(CpuSet::ofCallingThread().toString(), mine.toString());  // Unchanged here.
}

}  // namespace
}  // namespace Skiff::Thread
