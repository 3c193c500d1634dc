#include "source/common/network/address.h"

#include "gtest/gtest.h"

namespace Skiff::Network::Address {
namespace {

TEST(AddressTest, ParsesIpv4) {
  auto address = Instance::parse("127.0.0.1", 8080);
  ASSERT_TRUE(address.ok());
  EXPECT_EQ((*address)->version(), IpVersion::v4);
  EXPECT_EQ((*address)->port(), 8080);
  EXPECT_EQ((*address)->asString(), "127.0.0.1:8080");
  EXPECT_EQ((*address)->statName(), "127.0.0.1_8080");
  EXPECT_FALSE((*address)->isAnyAddress());
}

TEST(AddressTest, ParsesIpv6WithAndWithoutBrackets) {
  auto plain = Instance::parse("::1", 443);
  auto bracketed = Instance::parse("[::1]", 443);
  ASSERT_TRUE(plain.ok());
  ASSERT_TRUE(bracketed.ok());
  EXPECT_EQ((*plain)->version(), IpVersion::v6);
  EXPECT_EQ((*plain)->asString(), "[::1]:443");
  EXPECT_EQ(**plain, **bracketed);
  EXPECT_EQ((*plain)->statName(), "[::1]_443");
  EXPECT_TRUE((*Instance::parse("::", 0))->isAnyAddress());
  EXPECT_TRUE((*Instance::parse("0.0.0.0", 0))->isAnyAddress());
}

TEST(AddressTest, ParseWithPort) {
  EXPECT_EQ((*Instance::parseWithPort("10.1.2.3:99"))->asString(), "10.1.2.3:99");
  EXPECT_EQ((*Instance::parseWithPort("[fe80::1]:99"))->asString(), "[fe80::1]:99");
  EXPECT_FALSE(Instance::parseWithPort("fe80::1:99").ok());
  EXPECT_FALSE(Instance::parseWithPort("1.2.3.4").ok());
  EXPECT_FALSE(Instance::parseWithPort("1.2.3.4:http").ok());
}

TEST(AddressTest, RejectsNamesAndBadPorts) {
  auto name = Instance::parse("localhost", 80);
  ASSERT_FALSE(name.ok());
  EXPECT_NE(name.status().message().find("not an IPv4 or IPv6 address"), absl::string_view::npos);
  auto port = Instance::parse("127.0.0.1", 70000);
  ASSERT_FALSE(port.ok());
  EXPECT_NE(port.status().message().find("70000 is not a valid port"), absl::string_view::npos);
  EXPECT_FALSE(Instance::parse("256.0.0.1", 1).ok());
}

TEST(AddressTest, WithPortKeepsIp) {
  auto address = *Instance::parse("::1", 0);
  EXPECT_EQ(address->withPort(1234)->asString(), "[::1]:1234");
}

}  // namespace
}  // namespace Skiff::Network::Address
