#include "source/common/config/utility.h"

#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace Skiff::Config {
namespace {

using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;
using ::testing::HasSubstr;

TEST(UtilityTest, TypeUrl) {
  EXPECT_EQ(typeUrl<TcpProxy>(),
            "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy");
  EXPECT_EQ(typeNameFromUrl("example.com/a.b.C"), "a.b.C");
  EXPECT_EQ(typeNameFromUrl("a.b.C"), "a.b.C");
}

TEST(UtilityTest, ParseTypedConfig) {
  TcpProxy tcp_proxy;
  tcp_proxy.set_stat_prefix("s");
  tcp_proxy.set_cluster("c");
  google::protobuf::Any any;
  any.PackFrom(tcp_proxy);
  auto parsed = parseTypedConfig<TcpProxy>(any, "f.typed_config");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->cluster(), "c");

  auto wrong = parseTypedConfig<Listener>(any, "f.typed_config");
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(std::string(wrong.status().message()),
              HasSubstr("f.typed_config: expected type "
                        "\"type.googleapis.com/envoy.config.listener.v3.Listener\" but got "
                        "\"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3."
                        "TcpProxy\""));
}

TEST(UtilityTest, DurationToMilliseconds) {
  google::protobuf::Duration d;
  d.set_seconds(1);
  d.set_nanos(250999999);
  EXPECT_EQ(*durationToMilliseconds(d), std::chrono::milliseconds(1250));
  d.set_seconds(-1);
  EXPECT_FALSE(durationToMilliseconds(d).ok());
  EXPECT_EQ(durationToMillisecondsOr(d, std::chrono::milliseconds(7)),
            std::chrono::milliseconds(7));
  d.set_seconds(0);
  d.set_nanos(-1);
  EXPECT_FALSE(durationToMilliseconds(d).ok());
}

TEST(UtilityTest, Macros) {
  TcpProxy tcp_proxy;
  EXPECT_EQ(SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(tcp_proxy, idle_timeout, kDefaultTcpProxyIdleTimeout),
            std::chrono::hours(1));
  tcp_proxy.mutable_idle_timeout()->set_seconds(0);
  EXPECT_EQ(SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(tcp_proxy, idle_timeout, kDefaultTcpProxyIdleTimeout),
            std::chrono::milliseconds(0));
  EXPECT_EQ(SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(tcp_proxy, max_connect_attempts,
                                                  kDefaultMaxConnectAttempts),
            1u);
  Listener listener;
  listener.mutable_per_connection_buffer_limit_bytes()->set_value(0);
  EXPECT_EQ(SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(listener, per_connection_buffer_limit_bytes,
                                                  kDefaultPerConnectionBufferLimitBytes),
            0u);
}

}  // namespace
}  // namespace Skiff::Config
