// XdsManager with the real listener and cluster managers and real worker threads: what gets
// NACKed (and with which message) before anything reaches a worker, and what gets applied.
#include "source/server/xds_manager.h"

#include <future>

#include "envoy/config/listener/v3/listener.pb.h"
#include "gtest/gtest.h"
#include "source/common/config/message_loader.h"
#include "source/common/router/config_impl.h"
#include "source/common/stats/stats_impl.h"
#include "test/server/tcp_proxy_listener.h"

namespace Skiff::Server {
namespace {

using namespace std::chrono_literals;
using Config::Xds::ConfigUpdate;
using Config::Xds::DecodedResource;

DecodedResource resource(const std::string& name, const google::protobuf::Message& message) {
  DecodedResource r;
  r.name = name;
  r.version = "1";
  r.resource.PackFrom(message);
  return r;
}

class XdsManagerTest : public testing::Test {
 protected:
  XdsManagerTest() {
    for (uint32_t i = 0; i < 2; ++i) {
      workers_.push_back(std::make_unique<WorkerImpl>(i));
      dispatchers_.push_back(&workers_.back()->dispatcher());
      raw_workers_.push_back(workers_.back().get());
    }
    clusters_ = std::make_unique<Upstream::ClusterManager>(stats_, dispatchers_, main_);
    routes_ = std::make_unique<
        Extensions::NetworkFilters::HttpConnectionManager::RouteConfigProviderManagerImpl>(
        dispatchers_, main_,
        [](const envoy::config::route::v3::RouteConfiguration& config, bool from_rds) {
          Router::RouteTableOptions options;
          options.validate_clusters_default = !from_rds;
          return Router::RouteTable::create(config, options);
        });
    context_.reset(
        new Extensions::NetworkFilters::FactoryContext{stats_, *clusters_, routes_.get()});
    listeners_ = std::make_unique<ListenerManagerImpl>(raw_workers_, main_, stats_, *context_);
    listeners_->startWorkers();
    xds_ = std::make_unique<XdsManager>(
        main_, control_, *listeners_, *clusters_,
        XdsManager::Options{.drain_time = 100ms, .initial_fetch_timeout = 1s}, routes_.get());
  }
  ~XdsManagerTest() override {
    for (auto& worker : workers_) {
      worker->stop();
    }
  }

  // Delivers `update` as the control thread would and runs main until it is ACKed or NACKed.
  // (Here one thread plays both main and control, which the manager allows: it only posts.)
  absl::Status apply(ConfigUpdate update) {
    std::optional<absl::Status> result;
    xds_->onConfigUpdate(std::move(update), [&](absl::Status status) {
      result = status;
      main_.exit();
    });
    Event::TimerPtr guard = main_.createTimer([this] { main_.exit(); });
    guard->enableTimer(5s);
    if (!result.has_value()) {
      main_.run(Event::Dispatcher::RunType::Block);
    }
    return result.value_or(absl::DeadlineExceededError("no ACK or NACK within 5 s"));
  }

  Stats::StoreImpl stats_;
  Event::DispatcherImpl main_{"main"};
  Event::DispatcherImpl& control_ = main_;
  std::vector<std::unique_ptr<WorkerImpl>> workers_;
  std::vector<Event::Dispatcher*> dispatchers_;
  std::vector<WorkerImpl*> raw_workers_;
  std::unique_ptr<Upstream::ClusterManager> clusters_;
  std::unique_ptr<Extensions::NetworkFilters::HttpConnectionManager::RouteConfigProviderManagerImpl>
      routes_;
  std::unique_ptr<Extensions::NetworkFilters::FactoryContext> context_;
  std::unique_ptr<ListenerManagerImpl> listeners_;
  std::unique_ptr<XdsManager> xds_;
};

TEST_F(XdsManagerTest, ValidListenerIsAppliedOnEveryWorkerBeforeTheAck) {
  ConfigUpdate update{
      Config::Xds::kListenerType, "v1", {resource("in", tcpProxyListener("in", 0, "c"))}, {}};
  ASSERT_TRUE(apply(update).ok());
  ASSERT_EQ(listeners_->listeners().size(), 1u);
  EXPECT_EQ(listeners_->listeners()[0]->version_info, "v1");
  ASSERT_FALSE(listeners_->recentUpdates().empty());
  EXPECT_EQ(listeners_->recentUpdates().back().per_worker.size(), 2u);
}

TEST_F(XdsManagerTest, UnknownFilterTypeIsNackedNamingTheFilter) {
  auto listener = tcpProxyListener("in", 0, "c");
  envoy::config::listener::v3::Listener not_a_filter;
  listener.mutable_filter_chains(0)->mutable_filters(0)->mutable_typed_config()->PackFrom(
      not_a_filter);
  auto status = apply({Config::Xds::kListenerType, "v1", {resource("in", listener)}, {}});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("listener 'in'"), absl::string_view::npos) << status.message();
  EXPECT_NE(status.message().find("filter_chains[0].filters[0].typed_config"),
            absl::string_view::npos)
      << status.message();
  EXPECT_TRUE(listeners_->listeners().empty());
}

TEST_F(XdsManagerTest, BadPortIsNackedAndNothingChanges) {
  ASSERT_TRUE(
      apply(
          {Config::Xds::kListenerType, "v1", {resource("ok", tcpProxyListener("ok", 0, "c"))}, {}})
          .ok());
  auto status = apply({Config::Xds::kListenerType,
                       "v2",
                       {resource("ok", tcpProxyListener("ok", 0, "other")),
                        resource("bad", tcpProxyListener("bad", 70000, "c"))},
                       {}});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("70000"), absl::string_view::npos) << status.message();
  // All or nothing: the valid half of the rejected update was not applied either.
  ASSERT_EQ(listeners_->listeners().size(), 1u);
  EXPECT_EQ(listeners_->listeners()[0]->version_info, "v1");
}

TEST_F(XdsManagerTest, StaticClusterWithoutEndpointsIsNacked) {
  envoy::config::cluster::v3::Cluster cluster;
  cluster.set_name("empty");
  cluster.set_type(envoy::config::cluster::v3::Cluster::STATIC);
  auto status = apply({Config::Xds::kClusterType, "v1", {resource("empty", cluster)}, {}});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("cluster 'empty'"), absl::string_view::npos) << status.message();
  EXPECT_EQ(clusters_->find("empty"), nullptr);
}

// A cluster the shared rules accept but the sidecar cannot build (a STRICT_DNS hostname: no DNS
// resolution yet) is NACKed. It used to be ACKed and then fail on main, never applied: found by
// the bootstrap fuzzer's "validated means buildable" check.
TEST_F(XdsManagerTest, ClusterThatCannotBeBuiltIsNacked) {
  envoy::config::cluster::v3::Cluster cluster;
  cluster.set_name("dns");
  cluster.set_type(envoy::config::cluster::v3::Cluster::STRICT_DNS);
  auto* socket = cluster.mutable_load_assignment()
                     ->add_endpoints()
                     ->add_lb_endpoints()
                     ->mutable_endpoint()
                     ->mutable_address()
                     ->mutable_socket_address();
  cluster.mutable_load_assignment()->set_cluster_name("dns");
  socket->set_address("backend.example");
  socket->set_port_value(80);
  auto status = apply({Config::Xds::kClusterType, "v1", {resource("dns", cluster)}, {}});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("cluster 'dns'"), absl::string_view::npos) << status.message();
  EXPECT_NE(status.message().find("backend.example"), absl::string_view::npos) << status.message();
  EXPECT_EQ(clusters_->find("dns"), nullptr);
}

TEST_F(XdsManagerTest, EdsClusterWaitsForItsEndpointsAndListenersWaitForIt) {
  envoy::config::cluster::v3::Cluster cluster;
  cluster.set_name("svc");
  cluster.set_type(envoy::config::cluster::v3::Cluster::EDS);
  cluster.mutable_eds_cluster_config()->mutable_eds_config()->mutable_ads();
  ASSERT_TRUE(apply({Config::Xds::kClusterType, "c1", {resource("svc", cluster)}, {}}).ok());
  EXPECT_EQ(clusters_->find("svc"), nullptr);  // Warming: not usable yet.

  // A listener arriving now is held until the cluster is warm.
  std::optional<absl::Status> listener_result;
  xds_->onConfigUpdate(
      {Config::Xds::kListenerType, "l1", {resource("in", tcpProxyListener("in", 0, "svc"))}, {}},
      [&](absl::Status status) { listener_result = status; });
  EXPECT_TRUE(listeners_->listeners().empty());

  envoy::config::endpoint::v3::ClusterLoadAssignment assignment;
  assignment.set_cluster_name("svc");
  auto* address = assignment.add_endpoints()
                      ->add_lb_endpoints()
                      ->mutable_endpoint()
                      ->mutable_address()
                      ->mutable_socket_address();
  address->set_address("127.0.0.1");
  address->set_port_value(9);
  ASSERT_TRUE(apply({Config::Xds::kEndpointType, "e1", {resource("svc", assignment)}, {}}).ok());
  ASSERT_NE(clusters_->find("svc"), nullptr);
  EXPECT_EQ(clusters_->find("svc")->hosts.size(), 1u);
  // The held listener now goes through.
  Event::TimerPtr stop = main_.createTimer([this] { main_.exit(); });
  for (int i = 0; i < 50 && !listener_result.has_value(); ++i) {
    stop->enableTimer(20ms);
    main_.run(Event::Dispatcher::RunType::Block);
  }
  ASSERT_TRUE(listener_result.has_value());
  EXPECT_TRUE(listener_result->ok());
  EXPECT_EQ(listeners_->listeners().size(), 1u);
}

envoy::config::route::v3::RouteConfiguration routeConfig(const std::string& yaml) {
  envoy::config::route::v3::RouteConfiguration config;
  auto status = Config::loadMessageFromString(yaml, Config::ConfigFormat::Yaml, "<test>", config);
  EXPECT_TRUE(status.ok()) << status.message();
  return config;
}

envoy::config::listener::v3::Listener rdsListener(const std::string& name,
                                                  const std::string& route_name) {
  envoy::config::listener::v3::Listener listener;
  auto status = Config::loadMessageFromString(R"(
name: )" + name + R"(
address: {socket_address: {address: 127.0.0.1, port_value: 0}}
filter_chains:
- filters:
  - name: envoy.filters.network.http_connection_manager
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      stat_prefix: in
      rds: {route_config_name: )" + route_name + R"(, config_source: {ads: {}}}
      http_filters: [{name: envoy.filters.http.router}]
)",
                                              Config::ConfigFormat::Yaml, "<test>", listener);
  EXPECT_TRUE(status.ok()) << status.message();
  return listener;
}

TEST_F(XdsManagerTest, InvalidRouteConfigurationIsNackedNamingTheField) {
  auto bad = routeConfig(R"(
name: r
virtual_hosts:
- name: web
  domains: ["*"]
  routes:
  - match: {safe_regex: {regex: "("}}
    route: {cluster: c}
)");
  auto status = apply({Config::Xds::kRouteType, "v1", {resource("r", bad)}, {}});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("routes[0].match.safe_regex"), absl::string_view::npos)
      << status.message();
  EXPECT_TRUE(routes_->dynamicConfigs().empty());
  EXPECT_EQ(routes_->getOrCreateRds("r")->current(), nullptr);
}

TEST_F(XdsManagerTest, ListenerWaitsForItsRoutesWhichReachEveryWorker) {
  // A listener naming RDS routes that have not arrived is held back.
  std::optional<absl::Status> listener_result;
  xds_->onConfigUpdate(
      {Config::Xds::kListenerType, "l1", {resource("in", rdsListener("in", "r"))}, {}},
      [&](absl::Status status) { listener_result = status; });
  EXPECT_FALSE(listener_result.has_value());
  EXPECT_TRUE(listeners_->listeners().empty());

  auto good = routeConfig(R"(
name: r
virtual_hosts:
- name: web
  domains: ["*"]
  routes:
  - match: {prefix: "/"}
    route: {cluster: not_yet_known}
)");
  ASSERT_TRUE(apply({Config::Xds::kRouteType, "v1", {resource("r", good)}, {}}).ok());
  ASSERT_EQ(routes_->dynamicConfigs().size(), 1u);
  EXPECT_EQ(routes_->dynamicConfigs()[0].version_info, "v1");
  // Every worker has the table (the ACK waited for them).
  auto provider = routes_->getOrCreateRds("r");
  std::atomic<int> seen{0};
  for (auto* dispatcher : dispatchers_) {
    dispatcher->post([&] { seen += provider->current() != nullptr ? 1 : 0; });
  }
  Event::TimerPtr stop = main_.createTimer([this] { main_.exit(); });
  for (int i = 0; i < 100 && (seen.load() < 2 || !listener_result.has_value()); ++i) {
    stop->enableTimer(20ms);
    main_.run(Event::Dispatcher::RunType::Block);
  }
  EXPECT_EQ(seen.load(), 2);
  // And the held listener went through once its routes were everywhere.
  ASSERT_TRUE(listener_result.has_value());
  EXPECT_TRUE(listener_result->ok()) << listener_result->message();
  EXPECT_EQ(listeners_->listeners().size(), 1u);
}

}  // namespace
}  // namespace Skiff::Server
