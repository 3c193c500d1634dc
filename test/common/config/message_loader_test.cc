#include "source/common/config/message_loader.h"

#include <string>

#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace Skiff::Config {
namespace {

using envoy::config::bootstrap::v3::Bootstrap;
using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;
using ::testing::HasSubstr;

absl::Status load(const std::string& yaml, google::protobuf::Message& message) {
  return loadMessageFromString(yaml, ConfigFormat::Yaml, "f.yaml", message);
}

TEST(MessageLoaderTest, FormatFromPath) {
  EXPECT_EQ(formatFromPath("a/b.yaml"), ConfigFormat::Yaml);
  EXPECT_EQ(formatFromPath("b.yml"), ConfigFormat::Yaml);
  EXPECT_EQ(formatFromPath("b.json"), ConfigFormat::Json);
  EXPECT_EQ(formatFromPath("b.conf"), ConfigFormat::Auto);
}

TEST(MessageLoaderTest, ScalarsAreTypedByTheSchema) {
  Listener listener;
  ASSERT_TRUE(load(R"(
name: 1234
stat_prefix: true
address: {socket_address: {address: 10.0.0.1, port_value: "10000", ipv4_compat: yes}}
per_connection_buffer_limit_bytes: 65536
enable_reuse_port: false
listener_filters_timeout: 1.5s
drain_type: MODIFY_ONLY
)",
                   listener)
                  .ok());
  EXPECT_EQ(listener.name(), "1234");
  EXPECT_EQ(listener.stat_prefix(), "true");
  EXPECT_EQ(listener.address().socket_address().port_value(), 10000);
  EXPECT_TRUE(listener.address().socket_address().ipv4_compat());
  EXPECT_EQ(listener.per_connection_buffer_limit_bytes().value(), 65536);
  ASSERT_TRUE(listener.has_enable_reuse_port());
  EXPECT_FALSE(listener.enable_reuse_port().value());
  EXPECT_EQ(listener.listener_filters_timeout().seconds(), 1);
  EXPECT_EQ(listener.listener_filters_timeout().nanos(), 500000000);
  EXPECT_EQ(listener.drain_type(), Listener::MODIFY_ONLY);
}

TEST(MessageLoaderTest, EnumByNumber) {
  Listener listener;
  ASSERT_TRUE(load("drain_type: 1\n", listener).ok());
  EXPECT_EQ(listener.drain_type(), Listener::MODIFY_ONLY);
}

TEST(MessageLoaderTest, StructValuesKeepYamlTypes) {
  Bootstrap bootstrap;
  ASSERT_TRUE(load(R"(
node:
  id: n
  metadata:
    replicas: 3
    ratio: 0.5
    enabled: true
    version: "3"
    labels: {app: web}
    ports: [80, "443"]
    nothing: ~
)",
                   bootstrap)
                  .ok());
  const auto& fields = bootstrap.node().metadata().fields();
  EXPECT_EQ(fields.at("replicas").number_value(), 3);
  EXPECT_EQ(fields.at("ratio").number_value(), 0.5);
  EXPECT_TRUE(fields.at("enabled").bool_value());
  EXPECT_EQ(fields.at("version").string_value(), "3");
  EXPECT_EQ(fields.at("labels").struct_value().fields().at("app").string_value(), "web");
  EXPECT_EQ(fields.at("ports").list_value().values(0).number_value(), 80);
  EXPECT_EQ(fields.at("ports").list_value().values(1).string_value(), "443");
  EXPECT_TRUE(fields.at("nothing").has_null_value());
}

TEST(MessageLoaderTest, CamelCaseNamesAccepted) {
  Listener listener;
  ASSERT_TRUE(load("statPrefix: s\naddress: {socketAddress: {portValue: 1}}\n", listener).ok());
  EXPECT_EQ(listener.stat_prefix(), "s");
  EXPECT_EQ(listener.address().socket_address().port_value(), 1);
}

TEST(MessageLoaderTest, UnknownFieldsNamedWithLine) {
  Listener listener;
  absl::Status status =
      load("name: x\naddress:\n  socket_address:\n    prot: 1\n    bogus: 2\n", listener);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("f.yaml:4: address.socket_address.prot: unknown field"));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("f.yaml:5: address.socket_address.bogus: unknown field"));
}

TEST(MessageLoaderTest, UnknownFieldInsideTypedConfig) {
  Listener listener;
  absl::Status status = load(R"(filter_chains:
- filters:
  - name: tcp
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
      stat_prefix: s
      clustr: c
)",
                             listener);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("f.yaml:7: filter_chains[0].filters[0].typed_config.clustr: unknown field "
                        "(not in envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy)"));
}

TEST(MessageLoaderTest, AnyWithoutType) {
  Listener listener;
  absl::Status status =
      load("filter_chains:\n- filters:\n  - name: tcp\n    typed_config: {cluster: c}\n", listener);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("filter_chains[0].filters[0].typed_config: google.protobuf.Any needs an "
                        "\"@type\""));
}

TEST(MessageLoaderTest, DuplicateKey) {
  Listener listener;
  absl::Status status = load("name: a\nname: b\n", listener);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("f.yaml:2: name: field given more than once"));
}

TEST(MessageLoaderTest, ScalarWhereMappingExpected) {
  Listener listener;
  absl::Status status = load("address: 127.0.0.1:80\n", listener);
  EXPECT_THAT(std::string(status.message()), HasSubstr("f.yaml:1: address: expected a mapping"));
}

TEST(MessageLoaderTest, BadScalarReportedByJsonParser) {
  Listener listener;
  absl::Status status = load("address: {socket_address: {port_value: -1}}\n", listener);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("f.yaml"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("port_value"));
}

TEST(MessageLoaderTest, YamlSyntaxErrorHasLine) {
  Listener listener;
  absl::Status status = load("name: a\naddress: {\n  socket_address: [\n", listener);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("f.yaml:"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("invalid YAML"));
}

TEST(MessageLoaderTest, TopLevelMustBeMapping) {
  Listener listener;
  absl::Status status = load("- a\n- b\n", listener);
  EXPECT_THAT(std::string(status.message()), HasSubstr("must be a YAML mapping"));
}

TEST(MessageLoaderTest, JsonUnknownFieldRejected) {
  Listener listener;
  absl::Status status = loadMessageFromString(R"({"name": "a", "nmae": "b"})", ConfigFormat::Json,
                                              "f.json", listener);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("f.json"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("nmae"));
}

TEST(MessageLoaderTest, StringsAreEscaped) {
  auto json = yamlToJson("name: \"a\\\"b\\\\c\\n\"\n", *Listener::descriptor(), "f");
  ASSERT_TRUE(json.ok()) << json.status();
  Listener listener;
  ASSERT_TRUE(
      loadMessageFromString("name: \"a\\\"b\\\\c\\n\"\n", ConfigFormat::Yaml, "f", listener).ok());
  EXPECT_EQ(listener.name(), "a\"b\\c\n");
}

TEST(MessageLoaderTest, WellKnownTypeInsideAny) {
  Bootstrap bootstrap;
  ASSERT_TRUE(load(R"(
static_resources:
  listeners:
  - metadata:
      typed_filter_metadata:
        skiff:
          "@type": type.googleapis.com/google.protobuf.Duration
          value: 2s
)",
                   bootstrap)
                  .ok());
  const auto& any =
      bootstrap.static_resources().listeners(0).metadata().typed_filter_metadata().at("skiff");
  google::protobuf::Duration d;
  ASSERT_TRUE(any.UnpackTo(&d));
  EXPECT_EQ(d.seconds(), 2);
}

}  // namespace
}  // namespace Skiff::Config
