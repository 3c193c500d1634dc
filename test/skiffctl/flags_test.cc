#include "source/skiffctl/flags.h"

#include "gtest/gtest.h"

namespace Skiff::Ctl {
namespace {

const std::vector<FlagSpec> kSpecs = {
    {"filename", 'f', true, "FILE", "a file"},
    {"group", 'g', true, "G", "a group"},
    {"all-groups", 'A', false, "", "all"},
};

TEST(FlagsTest, LongShortEqualsRepeatedAndPositional) {
  auto flags = parseFlags({"get", "-f", "a.yaml", "--filename=b.yaml", "--group", "g1", "-A", "x",
                           "-f", "-", "--", "--not-a-flag"},
                          kSpecs);
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->values("filename"), (std::vector<std::string>{"a.yaml", "b.yaml", "-"}));
  EXPECT_EQ(flags->value("group"), "g1");
  EXPECT_TRUE(flags->has("all-groups"));
  EXPECT_FALSE(flags->has("nope"));
  EXPECT_EQ(flags->value("nope", "fallback"), "fallback");
  EXPECT_EQ(flags->positional(), (std::vector<std::string>{"get", "x", "--not-a-flag"}));
}

TEST(FlagsTest, Mistakes) {
  EXPECT_EQ(parseFlags({"--bogus"}, kSpecs).status().message(), "unknown flag --bogus");
  EXPECT_EQ(parseFlags({"-f"}, kSpecs).status().message(), "-f needs a value");
  EXPECT_EQ(parseFlags({"--all-groups=yes"}, kSpecs).status().message(),
            "--all-groups takes no value");
  EXPECT_EQ(parseFlags({"-fx"}, kSpecs).status().message(), "unknown flag -fx");
}

TEST(FlagsTest, Usage) {
  EXPECT_EQ(flagsUsage({kSpecs[0], kSpecs[2]}),
            "  -f, --filename FILE          a file\n"
            "  -A, --all-groups             all\n");
}

}  // namespace
}  // namespace Skiff::Ctl
