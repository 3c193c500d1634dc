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

TEST(OptionsTest, Webhook) {
  auto options = parse({"--config-dir", "d"});
  ASSERT_TRUE(options.ok());
  EXPECT_TRUE(options->webhook_address.empty());
  EXPECT_EQ(options->inject.control_plane, "skiff-control.skiff-system.svc:18000");
  EXPECT_TRUE(options->inject.capture);

  options = parse({"--config-dir", "d", "--webhook-address", "0.0.0.0:15017", "--webhook-cert",
                   "c.pem", "--webhook-key=k.pem", "--webhook-client-ca", "ca.pem",
                   "--inject-control-plane", "cp:1", "--inject-native-sidecar=false",
                   "--inject-no-capture", "--inject-kubernetes-version", "1.30", "--inject-image",
                   "i:1", "--inject-init-image", "j:1"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->webhook_address, "0.0.0.0:15017");
  EXPECT_EQ(options->webhook_cert, "c.pem");
  EXPECT_EQ(options->webhook_key, "k.pem");
  EXPECT_EQ(options->webhook_client_ca, "ca.pem");
  EXPECT_EQ(options->inject.control_plane, "cp:1");
  EXPECT_EQ(options->inject.native_sidecar, Inject::NativeSidecarMode::Disabled);
  EXPECT_FALSE(options->inject.capture);
  EXPECT_EQ(options->inject.kubernetes_version, "1.30");
  EXPECT_EQ(options->inject.proxy_image, "i:1");
  EXPECT_EQ(options->inject.init_image, "j:1");

  auto result = parse({"--config-dir", "d", "--webhook-address", "0.0.0.0:15017"});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message().find("--webhook-address needs --webhook-cert"), 0);
  EXPECT_FALSE(parse({"--config-dir", "d", "--webhook-address", "nope", "--webhook-cert", "c",
                      "--webhook-key", "k"})
                   .ok());
  result = parse({"--config-dir", "d", "--webhook-client-ca", "ca.pem"});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message().find("--webhook-client-ca needs --webhook-address"), 0);
  EXPECT_FALSE(parse({"--config-dir", "d", "--inject-native-sidecar", "maybe"}).ok());
  EXPECT_FALSE(parse({"--config-dir", "d", "--inject-control-plane", "nohostport"}).ok());
}

TEST(OptionsTest, TlsFlags) {
  auto options = parse({"--config-dir", "d"});
  ASSERT_TRUE(options.ok());
  EXPECT_TRUE(options->xds_tls_cert.empty());  // plaintext by default

  options = parse({"--config-dir", "d", "--xds-tls-cert", "c.pem", "--xds-tls-key=k.pem"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->xds_tls_cert, "c.pem");
  EXPECT_EQ(options->xds_tls_key, "k.pem");
  EXPECT_TRUE(options->xds_tls_client_ca.empty());

  options = parse({"--config-dir", "d", "--xds-tls-cert", "c.pem", "--xds-tls-key", "k.pem",
                   "--xds-tls-client-ca", "ca.pem"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->xds_tls_client_ca, "ca.pem");

  auto result = parse({"--config-dir", "d", "--xds-tls-cert", "c.pem"});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message().find("--xds-tls-cert and --xds-tls-key go together"), 0);
  result = parse({"--config-dir", "d", "--xds-tls-client-ca", "ca.pem"});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message().find("--xds-tls-client-ca needs --xds-tls-cert"), 0);
}

}  // namespace
}  // namespace Skiff::Control
