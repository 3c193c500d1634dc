#include "source/common/upstream/cluster_manager.h"

#include <future>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/stats/stats_impl.h"
#include "source/common/upstream/http_conn_pool.h"

namespace Skiff::Upstream {
namespace {

std::shared_ptr<ClusterInfo> makeCluster(LbPolicy policy, std::vector<uint32_t> weights) {
  auto info = std::make_shared<ClusterInfo>();
  info->name = "c";
  info->lb_policy = policy;
  for (size_t i = 0; i < weights.size(); ++i) {
    auto address = Network::Address::Instance::parse("127.0.0.1", 1000 + i);
    info->hosts.push_back(Host{*address, weights[i]});
    info->weighted |= weights[i] != 1;
  }
  return info;
}

TEST(LeastRequestTest, PrefersTheHostWithFewerRequestsInFlight) {
  ThreadLocalCluster cluster(makeCluster(LbPolicy::LeastRequest, {1, 1}));
  const auto& hosts = cluster.info()->hosts;
  for (int i = 0; i < 5; ++i) {
    cluster.onRequestStart(hosts[0]);
  }
  // With two hosts both are always the two choices: the idle one wins every time.
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(cluster.chooseHost(), &hosts[1]);
  }
  for (int i = 0; i < 5; ++i) {
    cluster.onRequestDone(hosts[0]);
  }
  cluster.onRequestStart(hosts[1]);
  EXPECT_EQ(cluster.chooseHost(), &hosts[0]);
}

TEST(LeastRequestTest, SpreadsEvenlyWhenIdleAndNeverPicksTheSameHostTwiceAsChoices) {
  ThreadLocalCluster cluster(makeCluster(LbPolicy::LeastRequest, {1, 1, 1, 1}));
  std::map<const Host*, int> picks;
  for (int i = 0; i < 4000; ++i) {
    ++picks[cluster.chooseHost()];
  }
  ASSERT_EQ(picks.size(), 4u);
  for (const auto& [host, n] : picks) {
    EXPECT_GT(n, 700);  // 1000 expected; random, but far from this bound.
  }
}

TEST(LeastRequestTest, LoadIsRelativeToWeight) {
  ThreadLocalCluster cluster(makeCluster(LbPolicy::LeastRequest, {1, 10}));
  const auto& hosts = cluster.info()->hosts;
  // 5 in flight on the weight-10 host is less load than 1 on the weight-1 host.
  for (int i = 0; i < 5; ++i) {
    cluster.onRequestStart(hosts[1]);
  }
  cluster.onRequestStart(hosts[0]);
  EXPECT_EQ(cluster.chooseHost(), &hosts[1]);
}

TEST(ResourceLimitTest, CanCreateUntilTheLimit) {
  ResourceLimit limit(2);
  EXPECT_TRUE(limit.canCreate());
  limit.inc();
  limit.inc();
  EXPECT_FALSE(limit.canCreate());
  EXPECT_EQ(limit.count(), 2u);
  limit.dec();
  EXPECT_TRUE(limit.canCreate());
}

TEST(BuildClusterInfoTest, CircuitBreakersFromTheDefaultPriority) {
  envoy::config::cluster::v3::Cluster proto;
  proto.set_name("c");
  proto.set_lb_policy(envoy::config::cluster::v3::Cluster::LEAST_REQUEST);
  auto* t = proto.mutable_circuit_breakers()->add_thresholds();
  t->mutable_max_requests()->set_value(7);
  t->mutable_max_retries()->set_value(0);
  auto* high = proto.mutable_circuit_breakers()->add_thresholds();
  high->set_priority(envoy::config::core::v3::HIGH);
  high->mutable_max_requests()->set_value(99);
  auto info = buildClusterInfo(proto);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ((*info)->lb_policy, LbPolicy::LeastRequest);
  EXPECT_EQ((*info)->resource_manager->requests.max(), 7u);
  EXPECT_EQ((*info)->resource_manager->retries.max(), 0u);
  EXPECT_EQ((*info)->resource_manager->connections.max(), 1024u);
  EXPECT_EQ((*info)->resource_manager->pending_requests.max(), 1024u);
}

// A pool that only records what the cluster manager does to it.
class FakePool : public HttpConnPool {
 public:
  explicit FakePool(int& alive) : alive_(alive) { ++alive_; }
  ~FakePool() override { --alive_; }
  Cancellable* newStream(Http::ResponseDecoder&, HttpConnPoolCallbacks&) override {
    return nullptr;
  }
  bool hasActiveConnections() const override { return active; }
  void drainConnections() override { drained = true; }

  bool active{false};
  bool drained{false};

 private:
  int& alive_;
};

TEST(ThreadLocalClusterManagerTest, ReplacedClusterKeepsBusyPoolsUntilTheyDrain) {
  Event::DispatcherImpl dispatcher("test");
  int alive = 0;
  FakePool* last = nullptr;
  HttpConnPoolFactory factory = [&](Event::Dispatcher&, const Host&,
                                    const ClusterInfoConstSharedPtr&) -> HttpConnPoolPtr {
    auto pool = std::make_unique<FakePool>(alive);
    last = pool.get();
    return pool;
  };
  ThreadLocalClusterManager tls(&dispatcher, &factory);
  tls.set(makeCluster(LbPolicy::RoundRobin, {1}));
  ThreadLocalCluster* first = tls.get(std::string("c"));
  ASSERT_NE(first, nullptr);
  HttpConnPool* pool = first->httpConnPool(first->info()->hosts[0]);
  ASSERT_EQ(pool, last);
  EXPECT_EQ(first->httpConnPool(first->info()->hosts[0]), pool);  // Made once.
  FakePool* busy = last;
  busy->active = true;

  // An update replaces the cluster; the busy pool is drained, not destroyed.
  tls.set(makeCluster(LbPolicy::RoundRobin, {1}));
  EXPECT_NE(tls.get(std::string("c")), first);
  EXPECT_TRUE(busy->drained);
  EXPECT_EQ(alive, 1);
  EXPECT_EQ(tls.drainingForTest(), 1u);

  // Once its last connection is gone the sweep frees it.
  busy->active = false;
  for (int i = 0; i < 100 && tls.drainingForTest() != 0; ++i) {
    dispatcher.run(Event::Dispatcher::RunType::NonBlock);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(tls.drainingForTest(), 0u);
  EXPECT_EQ(alive, 0);

  // A removed cluster with idle pools goes at once.
  ThreadLocalCluster* second = tls.get(std::string("c"));
  second->httpConnPool(second->info()->hosts[0]);
  EXPECT_EQ(alive, 1);
  tls.remove("c");
  EXPECT_EQ(alive, 0);
  EXPECT_EQ(tls.get(std::string("c")), nullptr);
}

envoy::config::cluster::v3::Cluster staticCluster(const std::string& name) {
  envoy::config::cluster::v3::Cluster proto;
  proto.set_name(name);
  auto* sa = proto.mutable_load_assignment()
                 ->add_endpoints()
                 ->add_lb_endpoints()
                 ->mutable_endpoint()
                 ->mutable_address()
                 ->mutable_socket_address();
  sa->set_address("127.0.0.1");
  sa->set_port_value(4000);
  return proto;
}

// A big update reaches each worker as slices: work posted to a worker after the update runs
// after the first slice, not after the whole update (the worker serves its connections between
// slices). Configs it removes are freed on main, at the completion, not on a worker.
TEST(ClusterManagerTest, BigUpdatesReachWorkersInSlicesAndOldConfigsAreFreedOnMain) {
  Event::DispatcherImpl main("main");
  Event::DispatcherImpl worker0("worker_0");
  Event::DispatcherImpl worker1("worker_1");
  Stats::StoreImpl store;
  ClusterManager cm(store, {&worker0, &worker1}, main);
  constexpr size_t kClusters = 5 * ClusterManager::kWorkerSlice;
  std::vector<envoy::config::cluster::v3::Cluster> protos;
  std::vector<std::string> names;
  for (size_t i = 0; i < kClusters; ++i) {
    names.push_back(absl::StrCat("c", i));
    protos.push_back(staticCluster(names.back()));
  }
  bool applied = false;
  ASSERT_TRUE(cm.applyUpdate(protos, {}, [&] {
                  applied = true;
                  main.exit();
                }).ok());
  // Queued behind the update on worker 0, before its loop runs.
  size_t seen_by_marker = 0;
  worker0.post([&] {
    for (const auto& name : names) {
      seen_by_marker += cm.threadLocal().get(name) != nullptr;
    }
  });
  std::vector<std::thread> threads;
  int index = 0;
  for (auto* worker : {&worker0, &worker1}) {
    threads.emplace_back([worker, i = index++] {
      ThreadLocal::setCurrentWorkerIndex(i);
      worker->run(Event::Dispatcher::RunType::Block);
    });
  }
  main.run(Event::Dispatcher::RunType::Block);
  EXPECT_TRUE(applied);
  EXPECT_EQ(cm.clusters().size(), kClusters);

  // Every worker has every cluster; the marker ran between slices.
  auto count = [&](Event::Dispatcher& worker) {
    std::promise<size_t> result;
    worker.post([&] {
      size_t n = 0;
      for (const auto& name : names) {
        n += cm.threadLocal().get(name) != nullptr;
      }
      result.set_value(n);
    });
    return result.get_future().get();
  };
  EXPECT_EQ(count(worker0), kClusters);
  EXPECT_EQ(count(worker1), kClusters);
  EXPECT_EQ(seen_by_marker, ClusterManager::kWorkerSlice);

  // Remove them all: the last reference to each config goes on main, at the completion.
  std::weak_ptr<const ClusterInfo> first = cm.find("c0");
  ASSERT_FALSE(first.expired());
  bool expired_at_completion = false;
  applied = false;
  ASSERT_TRUE(cm.applyUpdate({}, names, [&] {
                  applied = true;
                  expired_at_completion = first.expired();
                  main.exit();
                }).ok());
  main.run(Event::Dispatcher::RunType::Block);
  EXPECT_TRUE(applied);
  EXPECT_TRUE(expired_at_completion);
  EXPECT_TRUE(cm.clusters().empty());
  EXPECT_EQ(count(worker0), 0u);
  EXPECT_EQ(count(worker1), 0u);

  worker0.exit();
  worker1.exit();
  for (auto& t : threads) {
    t.join();
  }
}

}  // namespace
}  // namespace Skiff::Upstream
