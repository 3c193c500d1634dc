// Runs every input of a fuzz target's corpus (seeds and the crashes found so far) through the
// target's entry point, as an ordinary test: what the fuzzer once found stays fixed. Built with
// the regular compiler. $FUZZ_CORPUS (the test's `env`) is the corpus directory relative to the
// runfiles root.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

TEST(FuzzCorpusTest, EveryInputRuns) {
  const char* corpus = std::getenv("FUZZ_CORPUS");
  ASSERT_NE(corpus, nullptr) << "FUZZ_CORPUS is not set";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    if (entry.is_regular_file()) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no corpus in " << corpus;
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    // Named before it runs: a crash (abort, sanitizer report) leaves no gtest trace.
    fprintf(stderr, "input %s\n", file.c_str());
    std::ifstream in(file, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size()),
              0);
  }
}

}  // namespace
