#include "source/control/options.h"

#include "gtest/gtest.h"

namespace Skiff::Control {
namespace {

absl::StatusOr<Options> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "skiff-control");
  return parseOptions(static_cast<int>(args.size()), args.data());
}

TEST(OptionsTest, DefaultsAndFlags) {
  auto options = parse({"--config-dir", "/etc/skiff"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->config_dir, "/etc/skiff");
  EXPECT_EQ(options->xds_address, "127.0.0.1:18000");
  EXPECT_EQ(options->admin_address, "127.0.0.1:18001");
  EXPECT_EQ(options->admin_token_file, "");

  options = parse({"--config-dir=d", "--xds-address", "127.0.0.1:0", "--admin-address=[::1]:9",
                   "-l", "debug", "--admin-token-file", "/run/secrets/token"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->admin_token_file, "/run/secrets/token");
  EXPECT_EQ(options->xds_address, "127.0.0.1:0");
  EXPECT_EQ(options->log_level, Logger::Level::debug);
  std::string host;
  uint16_t port;
  ASSERT_TRUE(splitHostPort(options->admin_address, host, port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 9);
}

TEST(OptionsTest, Mistakes) {
  EXPECT_FALSE(parse({}).ok());
  EXPECT_FALSE(parse({"--config-dir"}).ok());
  EXPECT_FALSE(parse({"--config-dir", "d", "--bogus", "x"}).ok());
  EXPECT_FALSE(parse({"--config-dir", "d", "--xds-address", "nohost"}).ok());
  EXPECT_FALSE(parse({"--config-dir", "d", "--admin-address", "h:99999"}).ok());
  auto result = parse({"--config-dir", "d", "-l", "loud"});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message().find("unknown log level \"loud\""), 0);
}

}  // namespace
}  // namespace Skiff::Control
