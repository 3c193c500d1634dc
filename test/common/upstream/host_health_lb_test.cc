// The workers' side of health: load balancers skip unhealthy and ejected hosts (every policy),
// panic mode, and the ClusterManager carrying host health across cluster updates.

#include <map>

#include "gtest/gtest.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/stats/stats_impl.h"
#include "source/common/upstream/cluster_health.h"
#include "source/common/upstream/cluster_manager.h"

namespace Skiff::Upstream {
namespace {

class HealthLbTest : public ::testing::TestWithParam<std::pair<LbPolicy, bool>> {
 protected:
  std::shared_ptr<ClusterInfo> makeCluster(size_t hosts, LbPolicy policy, bool weighted) {
    auto info = std::make_shared<ClusterInfo>();
    info->name = "c";
    info->lb_policy = policy;
    info->stats = stats_.get();
    for (size_t i = 0; i < hosts; ++i) {
      auto address = Network::Address::Instance::parse("127.0.0.1", 2000 + i);
      const uint32_t weight = weighted ? static_cast<uint32_t>(i + 1) : 1;
      info->hosts.push_back(Host{*address, weight, std::make_shared<HostHealth>()});
      info->weighted |= weight != 1;
    }
    return info;
  }

  std::map<const Host*, int> pick(ThreadLocalCluster& cluster, int n) {
    std::map<const Host*, int> picks;
    for (int i = 0; i < n; ++i) {
      ++picks[cluster.chooseHost()];
    }
    return picks;
  }

  Stats::StoreImpl store_;
  std::unique_ptr<ClusterStats> stats_ = generateClusterStats(store_, "c");
};

TEST_P(HealthLbTest, SkipsUnhealthyAndEjectedHostsAndComesBackToThem) {
  auto info = makeCluster(4, GetParam().first, GetParam().second);
  ThreadLocalCluster cluster(info);
  const auto& hosts = info->hosts;
  EXPECT_EQ(pick(cluster, 400).size(), 4u);

  // Main marks host 1 failing its checks and host 2 ejected (50% healthy: not panic).
  hosts[1].health->setFlags(HealthFlag::kFailedActiveHc);
  hosts[2].health->setFlags(HealthFlag::kFailedOutlierCheck);
  info->health_state->bump();
  auto picks = pick(cluster, 400);
  EXPECT_EQ(picks.size(), 2u);
  EXPECT_EQ(picks.count(&hosts[1]), 0u);
  EXPECT_EQ(picks.count(&hosts[2]), 0u);
  EXPECT_EQ(stats_->lb_healthy_panic.value(), 0u);

  hosts[1].health->clearFlags(HealthFlag::kFailedActiveHc);
  hosts[2].health->clearFlags(HealthFlag::kFailedOutlierCheck);
  info->health_state->bump();
  EXPECT_EQ(pick(cluster, 400).size(), 4u);
}

TEST_P(HealthLbTest, PanicModeUsesEveryHostBelowTheThreshold) {
  auto info = makeCluster(4, GetParam().first, GetParam().second);
  ThreadLocalCluster cluster(info);
  for (size_t i = 0; i < 3; ++i) {
    info->hosts[i].health->setFlags(HealthFlag::kFailedActiveHc);  // 25% healthy < 50%.
  }
  info->health_state->bump();
  EXPECT_EQ(pick(cluster, 400).size(), 4u);
  EXPECT_EQ(stats_->lb_healthy_panic.value(), 400u);
}

INSTANTIATE_TEST_SUITE_P(Policies, HealthLbTest,
                         ::testing::Values(std::make_pair(LbPolicy::RoundRobin, false),
                                           std::make_pair(LbPolicy::RoundRobin, true),
                                           std::make_pair(LbPolicy::Random, false),
                                           std::make_pair(LbPolicy::LeastRequest, false),
                                           std::make_pair(LbPolicy::LeastRequest, true)));

TEST_F(HealthLbTest, ThresholdIsConfigurableAndZeroDisablesPanic) {
  auto info = makeCluster(4, LbPolicy::RoundRobin, false);
  info->healthy_panic_threshold = 0;
  ThreadLocalCluster cluster(info);
  for (const Host& host : info->hosts) {
    host.health->setFlags(HealthFlag::kFailedOutlierCheck);
  }
  info->health_state->bump();
  EXPECT_EQ(cluster.chooseHost(), nullptr);  // No healthy host: the router answers 503.

  info->hosts[0].health->clearFlags(HealthFlag::kFailedOutlierCheck);
  info->health_state->bump();
  EXPECT_EQ(cluster.chooseHost(), &info->hosts[0]);

  // 80%: with 3 of 4 healthy (75%) the cluster is in panic.
  auto strict = makeCluster(4, LbPolicy::RoundRobin, false);
  strict->healthy_panic_threshold = 80;
  ThreadLocalCluster strict_cluster(strict);
  strict->hosts[3].health->setFlags(HealthFlag::kFailedEdsHealth);
  strict->health_state->bump();
  EXPECT_EQ(pick(strict_cluster, 40).size(), 4u);
  strict->healthy_panic_threshold = 70;  // (Only read at rebuild time.)
  strict->health_state->bump();
  EXPECT_EQ(pick(strict_cluster, 40).size(), 3u);
}

// Envoy's ignore_new_hosts_until_first_hc: hosts pending their first check are excluded from the
// panic threshold's count, so adding hosts does not tip the cluster into panic (which would send
// them traffic before their check); in panic they are used like the others.
TEST_F(HealthLbTest, NewHostsPendingTheirFirstCheckCanBeExcludedFromPanic) {
  auto info = makeCluster(4, LbPolicy::RoundRobin, false);
  ThreadLocalCluster cluster(info);
  const auto& hosts = info->hosts;
  // One checked, healthy host and three just added (1 of 4 healthy: panic by default).
  for (size_t i = 1; i < 4; ++i) {
    hosts[i].health->setFlags(HealthFlag::kFailedActiveHc | HealthFlag::kPendingActiveHc);
  }
  info->health_state->bump();
  EXPECT_EQ(pick(cluster, 40).size(), 4u);
  EXPECT_GT(stats_->lb_healthy_panic.value(), 0u);

  info->ignore_new_hosts_until_first_hc = true;
  info->health_state->bump();
  auto picks = pick(cluster, 40);
  ASSERT_EQ(picks.size(), 1u);
  EXPECT_EQ(picks.begin()->first, &hosts[0]);  // 1 of 1 counted: healthy, no panic.

  // A host that failed its first check counts (no longer pending): 1 of 2 is 50%, no panic.
  hosts[1].health->clearFlags(HealthFlag::kPendingActiveHc);
  info->health_state->bump();
  EXPECT_EQ(pick(cluster, 40).size(), 1u);
  // With a second one failing: 1 of 3, panic, and every host (pending ones too) is used.
  hosts[2].health->clearFlags(HealthFlag::kPendingActiveHc);
  info->health_state->bump();
  EXPECT_EQ(pick(cluster, 40).size(), 4u);

  // Nothing counted and nothing healthy: panic over all of them, unless panic is disabled.
  auto fresh = makeCluster(2, LbPolicy::RoundRobin, false);
  fresh->ignore_new_hosts_until_first_hc = true;
  for (const Host& host : fresh->hosts) {
    host.health->setFlags(HealthFlag::kFailedActiveHc | HealthFlag::kPendingActiveHc);
  }
  ThreadLocalCluster fresh_cluster(fresh);
  EXPECT_EQ(pick(fresh_cluster, 20).size(), 2u);
  fresh->healthy_panic_threshold = 0;
  fresh->health_state->bump();
  EXPECT_EQ(fresh_cluster.chooseHost(), nullptr);
}

envoy::config::cluster::v3::Cluster clusterProto(
    std::vector<int> ports,
    envoy::config::core::v3::HealthStatus status = envoy::config::core::v3::UNKNOWN) {
  envoy::config::cluster::v3::Cluster proto;
  proto.set_name("c");
  auto* endpoints = proto.mutable_load_assignment()->add_endpoints();
  for (int port : ports) {
    auto* lb = endpoints->add_lb_endpoints();
    lb->set_health_status(status);
    auto* sa = lb->mutable_endpoint()->mutable_address()->mutable_socket_address();
    sa->set_address("127.0.0.1");
    sa->set_port_value(port);
  }
  return proto;
}

TEST(ClusterManagerHealthTest, AnUpdateKeepsTheHealthOfHostsThatStay) {
  Event::DispatcherImpl main("main");
  Stats::StoreImpl store;
  ClusterManager cm(store, {}, main);
  auto proto = clusterProto({3001, 3002});
  proto.mutable_outlier_detection();
  ASSERT_TRUE(cm.addOrUpdateCluster(proto).ok());
  auto first = cm.find("c");
  ASSERT_NE(first->outlier, nullptr);
  first->hosts[0].health->setFlags(HealthFlag::kFailedOutlierCheck);
  OutlierDetector* detector = cm.health("c")->outlierDetector();

  // An EDS-style update: 3001 stays, 3002 goes, 3003 comes; 3001 is reported DRAINING.
  auto next = clusterProto({3001, 3003}, envoy::config::core::v3::DRAINING);
  next.mutable_outlier_detection();
  ASSERT_TRUE(cm.addOrUpdateCluster(next).ok());
  auto second = cm.find("c");
  EXPECT_EQ(second->hosts[0].health, first->hosts[0].health);
  EXPECT_NE(second->hosts[1].health, first->hosts[1].health);
  EXPECT_EQ(second->health_state, first->health_state);
  EXPECT_EQ(second->hosts[0].health->flags(),
            HealthFlag::kFailedOutlierCheck | HealthFlag::kFailedEdsHealth);
  EXPECT_EQ(second->hosts[1].health->flags(), HealthFlag::kFailedEdsHealth);
  // Same outlier config: same detector and reporter.
  EXPECT_EQ(cm.health("c")->outlierDetector(), detector);
  EXPECT_EQ(second->outlier, first->outlier);
  EXPECT_EQ(store.gauge("cluster.c.membership_healthy").value(), 0);

  // HEALTHY again: only the EDS flag clears.
  auto healthy = clusterProto({3001, 3003}, envoy::config::core::v3::HEALTHY);
  ASSERT_TRUE(cm.addOrUpdateCluster(healthy).ok());
  auto third = cm.find("c");
  EXPECT_EQ(third->hosts[0].health, first->hosts[0].health);
  // outlier_detection removed: its ejection is lifted and nobody reports any more.
  EXPECT_EQ(third->outlier, nullptr);
  EXPECT_EQ(third->hosts[0].health->flags(), 0u);
  EXPECT_EQ(store.gauge("cluster.c.membership_healthy").value(), 2);
}

TEST(ClusterManagerHealthTest, HealthCheckedHostsStartPendingAndPanicThresholdIsRead) {
  Event::DispatcherImpl main("main");
  Stats::StoreImpl store;
  ClusterManager cm(store, {}, main);
  auto proto = clusterProto({3001});
  auto* hc = proto.add_health_checks();
  hc->mutable_timeout()->set_seconds(1);
  hc->mutable_interval()->set_seconds(1);
  hc->mutable_unhealthy_threshold()->set_value(1);
  hc->mutable_healthy_threshold()->set_value(1);
  hc->mutable_tcp_health_check();
  proto.mutable_common_lb_config()->mutable_healthy_panic_threshold()->set_value(25.9);
  proto.mutable_common_lb_config()->set_ignore_new_hosts_until_first_hc(true);
  ASSERT_TRUE(cm.addOrUpdateCluster(proto).ok());
  auto info = cm.find("c");
  EXPECT_EQ(info->healthy_panic_threshold, 25u);
  EXPECT_TRUE(info->ignore_new_hosts_until_first_hc);
  EXPECT_EQ(info->hosts[0].health->flags(),
            HealthFlag::kFailedActiveHc | HealthFlag::kPendingActiveHc);
  EXPECT_EQ(healthFlagsToString(info->hosts[0].health->flags()),
            "/failed_active_hc/pending_active_hc");
  EXPECT_EQ(healthStatusJson(info->hosts[0].health->flags()),
            "{\"eds_health_status\":\"HEALTHY\",\"failed_active_health_check\":true,"
            "\"pending_active_hc\":true}");
  // Health checks removed: the host is trusted again.
  proto.clear_health_checks();
  ASSERT_TRUE(cm.addOrUpdateCluster(proto).ok());
  EXPECT_EQ(cm.find("c")->hosts[0].health->flags(), 0u);
  EXPECT_EQ(healthFlagsToString(0), "healthy");
}

}  // namespace
}  // namespace Skiff::Upstream
