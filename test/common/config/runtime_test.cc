#include "source/common/config/runtime.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/config/message_loader.h"

namespace Skiff::Config {
namespace {

using ::testing::HasSubstr;

envoy::config::bootstrap::v3::LayeredRuntime fromYaml(const std::string& yaml) {
  envoy::config::bootstrap::v3::LayeredRuntime runtime;
  auto status = loadMessageFromString(yaml, ConfigFormat::Yaml, "test", runtime);
  EXPECT_TRUE(status.ok()) << status;
  return runtime;
}

TEST(RuntimeTest, FlatAndNestedKeysLaterLayersWin) {
  auto snapshot = RuntimeSnapshot::create(fromYaml(R"(
layers:
- name: base
  static_layer:
    envoy.resource_limits.listener.ingress.connection_limit: 100
    envoy: {resource_limits: {listener: {egress: {connection_limit: "7"}}}}
    overload.global_downstream_max_connections: 5000
    envoy.reloadable_features.something: true
- name: override
  static_layer:
    envoy.resource_limits.listener.ingress.connection_limit: 3
)"));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->listenerConnectionLimit("ingress"), 3u);
  EXPECT_EQ(snapshot->listenerConnectionLimit("egress"), 7u);
  EXPECT_EQ(snapshot->listenerConnectionLimit("other"), std::nullopt);
  EXPECT_EQ(snapshot->getInteger(kGlobalDownstreamMaxConnectionsKey), 5000u);
  // Other keys are kept (and ignored by skiff), whatever their type.
  EXPECT_EQ(snapshot->size(), 4u);
  EXPECT_EQ(snapshot->getInteger("envoy.reloadable_features.something"), std::nullopt);
}

TEST(RuntimeTest, ErrorsNameTheField) {
  auto snapshot = RuntimeSnapshot::create(fromYaml(R"(
layers:
- static_layer:
    envoy.resource_limits.listener.ingress.connection_limit: -1
    overload: {global_downstream_max_connections: 1.5}
    some.list: [1, 2]
- name: empty
)"));
  ASSERT_FALSE(snapshot.ok());
  const std::string message(snapshot.status().message());
  EXPECT_THAT(message, HasSubstr("layered_runtime.layers[0].name: must not be empty"));
  EXPECT_THAT(message, HasSubstr("layered_runtime.layers[0].static_layer.envoy.resource_limits."
                                 "listener.ingress.connection_limit: -1 is not a valid "
                                 "connection limit"));
  EXPECT_THAT(message, HasSubstr("layered_runtime.layers[0].static_layer.overload."
                                 "global_downstream_max_connections: 1.5 is not a valid"));
  EXPECT_THAT(message, HasSubstr("layered_runtime.layers[0].static_layer.some.list: lists are "
                                 "not valid runtime values"));
  EXPECT_THAT(message, HasSubstr("layered_runtime.layers[1]: must set static_layer"));
}

}  // namespace
}  // namespace Skiff::Config
