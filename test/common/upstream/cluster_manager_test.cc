#include "source/common/upstream/cluster_manager.h"

#include <algorithm>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/stats/stats_impl.h"
#include "source/common/upstream/http_conn_pool.h"
#include "source/common/upstream/http_conn_pool_map.h"

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

// A retry's view of the hosts: rejects those on its list, allowing `reselects` more picks.
class RejectHosts : public LoadBalancerContext {
 public:
  RejectHosts(std::vector<const Host*> rejected, uint32_t reselects)
      : rejected_(std::move(rejected)), reselects_(reselects) {}
  bool shouldSelectAnotherHost(const Host& host) const override {
    return std::find(rejected_.begin(), rejected_.end(), &host) != rejected_.end();
  }
  uint32_t hostSelectionRetryCount() const override { return reselects_; }

 private:
  std::vector<const Host*> rejected_;
  uint32_t reselects_;
};

TEST(HostSelectionRetryTest, RejectedPicksAreRedoneUpToTheCount) {
  ThreadLocalCluster cluster(makeCluster(LbPolicy::Random, {1, 1, 1, 1}));
  const auto& hosts = cluster.info()->hosts;
  // 100 more picks: the chance that all 101 land on the three rejected hosts is 0.75^101.
  const RejectHosts all_but_last({&hosts[0], &hosts[1], &hosts[2]}, 100);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(cluster.chooseHost(&all_but_last), &hosts[3]);
  }
  // With no reselects allowed the predicate is not consulted: every host gets picks.
  const RejectHosts no_reselect({&hosts[0], &hosts[1], &hosts[2]}, 0);
  std::set<const Host*> picked;
  for (int i = 0; i < 400; ++i) {
    picked.insert(cluster.chooseHost(&no_reselect));
  }
  EXPECT_EQ(picked.size(), 4u);
}

TEST(HostSelectionRetryTest, EachPickAdvancesThePolicyAndTheLastOneStands) {
  ThreadLocalCluster cluster(makeCluster(LbPolicy::RoundRobin, {1, 1, 1}));
  const auto& hosts = cluster.info()->hosts;
  const RejectHosts first({&hosts[0]}, 1);
  EXPECT_EQ(cluster.chooseHost(&first), &hosts[1]);  // 0 rejected, then 1.
  EXPECT_EQ(cluster.chooseHost(&first), &hosts[2]);
  EXPECT_EQ(cluster.chooseHost(&first), &hosts[1]);  // 0 rejected again.
  // Every host rejected: 1 + 3 picks (2, 0, 1, 2) and the last one is used anyway.
  const RejectHosts everything({&hosts[0], &hosts[1], &hosts[2]}, 3);
  EXPECT_EQ(cluster.chooseHost(&everything), &hosts[2]);
  EXPECT_EQ(cluster.chooseHost(), &hosts[0]);
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

class ThreadLocalClusterManagerTest : public testing::Test {
 protected:
  // Runs the dispatcher until no replaced cluster is kept (or 10 s pass).
  void waitForSweep() {
    for (int i = 0; i < 200 && tls_.drainingForTest() != 0; ++i) {
      dispatcher_.run(Event::Dispatcher::RunType::NonBlock);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  Event::DispatcherImpl dispatcher_{"test"};
  int alive_ = 0;
  HttpConnPoolFactory factory_ = [this](Event::Dispatcher&, const Host&,
                                        const ClusterInfoConstSharedPtr&) -> HttpConnPoolPtr {
    return std::make_unique<FakePool>(alive_);
  };
  ThreadLocalClusterManager tls_{&dispatcher_, &factory_};
};

TEST_F(ThreadLocalClusterManagerTest, ReplacedClusterStaysUntilItsRequestsAreDone) {
  tls_.set(makeCluster(LbPolicy::RoundRobin, {1, 1}));
  ThreadLocalCluster* first = tls_.get(std::string("c"));
  ASSERT_NE(first, nullptr);
  const Host& host = first->info()->hosts[0];
  HttpConnPool* pool = first->httpConnPool(host);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(first->httpConnPool(host), pool);  // Made once.
  first->onRequestStart(host);

  // Only the hosts changed (same connection settings): the staying host keeps its pool, the
  // old cluster object stays for the request counted on it.
  tls_.set(makeCluster(LbPolicy::RoundRobin, {1}));
  ThreadLocalCluster* second = tls_.get(std::string("c"));
  EXPECT_NE(second, first);
  EXPECT_EQ(second->httpConnPool(second->info()->hosts[0]), pool);
  EXPECT_FALSE(static_cast<FakePool*>(pool)->drained);
  EXPECT_EQ(tls_.drainingForTest(), 1u);
  EXPECT_EQ(first->activeRequests(host), 1u);

  first->onRequestDone(host);
  waitForSweep();
  EXPECT_EQ(tls_.drainingForTest(), 0u);
  EXPECT_EQ(alive_, 1);

  // A removed cluster's idle pools go at once.
  tls_.remove("c");
  EXPECT_EQ(alive_, 0);
  EXPECT_EQ(tls_.get(std::string("c")), nullptr);
}

TEST_F(ThreadLocalClusterManagerTest, SettingsChangeDrainsThePools) {
  auto v1 = makeCluster(LbPolicy::RoundRobin, {1});
  v1->connection_settings_version = 1;
  tls_.set(v1);
  ThreadLocalCluster* first = tls_.get(std::string("c"));
  auto* pool = static_cast<FakePool*>(first->httpConnPool(first->info()->hosts[0]));
  pool->active = true;
  auto v2 = makeCluster(LbPolicy::RoundRobin, {1});
  v2->connection_settings_version = 2;
  tls_.set(v2);
  EXPECT_TRUE(pool->drained);
  ThreadLocalCluster* second = tls_.get(std::string("c"));
  EXPECT_NE(second->httpConnPool(second->info()->hosts[0]), pool);
  EXPECT_EQ(alive_, 2);
  EXPECT_EQ(tls_.poolsForTest().drainingEntries(), 1u);
}

std::shared_ptr<ClusterInfo> namedCluster(const std::string& name, int hosts = 1) {
  auto info = makeCluster(LbPolicy::RoundRobin, std::vector<uint32_t>(hosts, 1));
  info->name = name;
  return info;
}

// A push of many clusters must cost a worker no per-cluster objects: state is made on use.
TEST_F(ThreadLocalClusterManagerTest, ClustersAreInstantiatedOnFirstUseOnly) {
  for (int i = 0; i < 1000; ++i) {
    tls_.set(namedCluster(absl::StrCat("c", i)));
  }
  EXPECT_EQ(tls_.size(), 1000u);
  EXPECT_EQ(tls_.instantiatedForTest(), 0u);
  EXPECT_EQ(tls_.poolsForTest().clusterForTest("c7"), nullptr);

  ThreadLocalCluster* used = tls_.get(absl::string_view("c7"));
  ASSERT_NE(used, nullptr);
  EXPECT_EQ(used->info()->name, "c7");
  EXPECT_EQ(tls_.get(absl::string_view("c7")), used);  // Made once.
  EXPECT_EQ(tls_.instantiatedForTest(), 1u);
  EXPECT_NE(tls_.poolsForTest().clusterForTest("c7"), nullptr);
  EXPECT_EQ(tls_.poolsForTest().clusterForTest("c8"), nullptr);
  EXPECT_EQ(tls_.get(absl::string_view("nope")), nullptr);

  // Updating an unused cluster makes nothing; updating the used one drops its state (made
  // again, from the new info, by the next request).
  tls_.set(namedCluster("c8", 2));
  tls_.set(namedCluster("c7", 3));
  EXPECT_EQ(tls_.instantiatedForTest(), 0u);
  EXPECT_EQ(tls_.size(), 1000u);
  ThreadLocalCluster* again = tls_.get(absl::string_view("c7"));
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->info()->hosts.size(), 3u);
  EXPECT_EQ(tls_.get(absl::string_view("c8"))->info()->hosts.size(), 2u);

  for (int i = 0; i < 1000; ++i) {
    tls_.remove(absl::StrCat("c", i));
  }
  EXPECT_EQ(tls_.size(), 0u);
  EXPECT_EQ(tls_.get(absl::string_view("c7")), nullptr);
  EXPECT_EQ(tls_.poolsForTest().clusterForTest("c7"), nullptr);
}

// Pools outlive the worker's state for a cluster (kept for hosts that stay), so a change must
// reach them even when no request came since the previous change.
TEST_F(ThreadLocalClusterManagerTest, ChangesReachThePoolsOfAClusterNotUsedSinceTheLastChange) {
  auto v1 = makeCluster(LbPolicy::RoundRobin, {1});
  v1->connection_settings_version = 1;
  tls_.set(v1);
  ThreadLocalCluster* first = tls_.get(absl::string_view("c"));
  auto* pool = static_cast<FakePool*>(first->httpConnPool(first->info()->hosts[0]));
  pool->active = true;
  auto v2 = makeCluster(LbPolicy::RoundRobin, {1});
  v2->connection_settings_version = 1;  // Same settings and host: the pool stays.
  tls_.set(v2);
  EXPECT_FALSE(pool->drained);
  EXPECT_EQ(tls_.instantiatedForTest(), 0u);
  auto v3 = makeCluster(LbPolicy::RoundRobin, {1});
  v3->connection_settings_version = 2;  // No request in between; new settings retire the pool.
  tls_.set(v3);
  EXPECT_TRUE(pool->drained);
  EXPECT_EQ(tls_.poolsForTest().drainingEntries(), 1u);
}

// The map is keyed by a view of the cluster's own name: replacing the info must re-key the entry
// (a view of the freed old name would make lookups read freed memory under ASan).
TEST_F(ThreadLocalClusterManagerTest, ReplacingAClusterKeepsItFindableByName) {
  auto v1 = namedCluster("a-rather-long-cluster-name-outside-any-small-string-buffer");
  const std::string name = v1->name;
  tls_.set(std::move(v1));
  for (int i = 2; i < 20; ++i) {
    tls_.set(namedCluster(name, i));
    ThreadLocalCluster* cluster = tls_.get(absl::string_view(name));
    ASSERT_NE(cluster, nullptr);
    EXPECT_EQ(cluster->info()->hosts.size(), static_cast<size_t>(i));
  }
  EXPECT_EQ(tls_.size(), 1u);
}

class FixedDestination : public LoadBalancerContext {
 public:
  explicit FixedDestination(Network::Address::InstanceConstSharedPtr address)
      : address_(std::move(address)) {}
  const Network::Address::InstanceConstSharedPtr* restoredDestination() const override {
    return address_ != nullptr ? &address_ : nullptr;
  }

 private:
  Network::Address::InstanceConstSharedPtr address_;
};

TEST_F(ThreadLocalClusterManagerTest, OriginalDstPoolsPerRestoredDestination) {
  auto info = std::make_shared<ClusterInfo>();
  info->name = "passthrough";
  info->type = ClusterType::OriginalDst;
  tls_.set(info);
  ThreadLocalCluster* cluster = tls_.get(std::string("passthrough"));
  ASSERT_NE(cluster, nullptr);

  // Not restored (or no context): no host, so no request loops back into skiff.
  EXPECT_EQ(cluster->chooseHost(), nullptr);
  const FixedDestination not_restored(nullptr);
  EXPECT_EQ(cluster->chooseHost(&not_restored), nullptr);

  const FixedDestination a(*Network::Address::Instance::parse("10.0.0.1", 80));
  const FixedDestination b(*Network::Address::Instance::parse("10.0.0.2", 80));
  const Host* host_a = cluster->chooseHost(&a);
  ASSERT_NE(host_a, nullptr);
  EXPECT_EQ(host_a->address->asString(), "10.0.0.1:80");
  const Host* host_b = cluster->chooseHost(&b);
  EXPECT_EQ(host_b->address->asString(), "10.0.0.2:80");
  EXPECT_EQ(cluster->chooseHost(&a), host_a);  // One host (and pool) per destination.
  HttpConnPool* pool_a = cluster->httpConnPool(*host_a);
  ASSERT_NE(pool_a, nullptr);
  EXPECT_NE(cluster->httpConnPool(*host_b), pool_a);
  EXPECT_EQ(cluster->httpConnPool(*host_a), pool_a);

  // A request in flight keeps its destination through cleanups; unused ones go.
  cluster->onRequestStart(*host_a);
  ClusterConnPools* pools = tls_.poolsForTest().clusterForTest("passthrough");
  ASSERT_NE(pools, nullptr);
  pools->cleanupForTest();
  pools->cleanupForTest();
  EXPECT_EQ(pools->size(), 1u);
  EXPECT_EQ(alive_, 1);
  EXPECT_EQ(cluster->chooseHost(&a), host_a);

  // Still counted after the cluster is replaced with other settings (entry retired, kept).
  auto v2 = std::make_shared<ClusterInfo>(*info);
  v2->connection_settings_version = 7;
  tls_.set(v2);
  EXPECT_EQ(pools->size(), 0u);
  EXPECT_EQ(tls_.poolsForTest().drainingEntries(), 1u);
  EXPECT_EQ(tls_.drainingForTest(), 1u);
  cluster->onRequestDone(*host_a);
  waitForSweep();
  for (int i = 0; i < 200 && tls_.poolsForTest().drainingEntries() != 0; ++i) {
    dispatcher_.run(Event::Dispatcher::RunType::NonBlock);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(tls_.poolsForTest().drainingEntries(), 0u);
  EXPECT_EQ(alive_, 0);
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

bool hasCounter(const Stats::Store& store, const std::string& name) {
  bool found = false;
  store.forEachCounter([&](const Stats::Counter& c) { found |= c.name() == name; });
  return found;
}

// Deferred stats (bootstrap deferred_stat_options): a cluster's traffic stats appear in the
// store on first use only, then stay the same objects across updates of the cluster; the
// membership gauges are there from the start.
TEST(ClusterManagerTest, DeferredTrafficStatsAreMadeOnFirstUse) {
  Event::DispatcherImpl main("main");
  Stats::StoreImpl store;
  ClusterManager cm(store, {}, main, nullptr, /*deferred_stats=*/true);
  ASSERT_TRUE(cm.addOrUpdateCluster(staticCluster("a")).ok());
  EXPECT_FALSE(hasCounter(store, "cluster.a.upstream_rq_total"));
  EXPECT_EQ(store.gauge("cluster.a.membership_total").value(), 1);

  cm.find("a")->stats->upstream_rq_total.inc();
  EXPECT_TRUE(hasCounter(store, "cluster.a.upstream_rq_total"));
  EXPECT_TRUE(hasCounter(store, "cluster.a.upstream_cx_total"));  // The whole set at once.
  EXPECT_EQ(store.counter("cluster.a.upstream_rq_total").value(), 1u);

  // A new config of the cluster uses the same stats.
  auto updated = staticCluster("a");
  updated.mutable_connect_timeout()->set_seconds(3);
  ASSERT_TRUE(cm.addOrUpdateCluster(updated).ok());
  EXPECT_EQ(&cm.find("a")->stats->upstream_rq_total, &store.counter("cluster.a.upstream_rq_total"));
  EXPECT_EQ(cm.find("a")->stats->upstream_rq_total.value(), 1u);
}

TEST(ClusterManagerTest, DeferredStatsMadeOnceWhenThreadsRaceForThem) {
  Stats::StoreImpl store;
  ClusterStatsHandle handle(store, "a", /*deferred=*/true);
  EXPECT_FALSE(handle.created());
  std::vector<std::thread> threads;
  std::vector<ClusterStats*> seen(4);
  for (size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&, i] {
      seen[i] = &handle.get();
      seen[i]->upstream_rq_total.inc();
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  for (ClusterStats* stats : seen) {
    EXPECT_EQ(stats, seen[0]);
  }
  EXPECT_EQ(store.counter("cluster.a.upstream_rq_total").value(), 4u);
}

TEST(ClusterManagerTest, EagerStatsAreThereAtOnce) {
  Event::DispatcherImpl main("main");
  Stats::StoreImpl store;
  ClusterManager cm(store, {}, main);
  ASSERT_TRUE(cm.addOrUpdateCluster(staticCluster("a")).ok());
  EXPECT_TRUE(hasCounter(store, "cluster.a.upstream_rq_total"));
}

// Only an endpoint change keeps the connection settings (and the workers' pools of the hosts
// that stay); any other change makes new ones.
TEST(ClusterManagerTest, ConnectionSettingsKeptWhenOnlyEndpointsChange) {
  Event::DispatcherImpl main("main");
  Stats::StoreImpl store;
  ClusterManager cm(store, {}, main);
  ASSERT_TRUE(cm.addOrUpdateCluster(staticCluster("a")).ok());
  const uint64_t first = cm.find("a")->connection_settings_version;
  const auto* first_limits = cm.find("a")->resource_manager.get();

  auto endpoints_changed = staticCluster("a");
  endpoints_changed.mutable_load_assignment()
      ->mutable_endpoints(0)
      ->mutable_lb_endpoints(0)
      ->mutable_endpoint()
      ->mutable_address()
      ->mutable_socket_address()
      ->set_port_value(4001);
  ASSERT_TRUE(cm.addOrUpdateCluster(endpoints_changed).ok());
  EXPECT_EQ(cm.find("a")->connection_settings_version, first);
  EXPECT_EQ(cm.find("a")->resource_manager.get(), first_limits);

  auto timeout_changed = endpoints_changed;
  timeout_changed.mutable_connect_timeout()->set_seconds(7);
  ASSERT_TRUE(cm.addOrUpdateCluster(timeout_changed).ok());
  EXPECT_NE(cm.find("a")->connection_settings_version, first);
}

// A big update reaches each worker as one snapshot: work posted to a worker after the update
// sees all of it at once, and the worker has made no state for any of its clusters (that comes
// with the first request). Configs it removes are freed on main, at the completion, not on a
// worker.
TEST(ClusterManagerTest, BigUpdatesReachWorkersAsOneSnapshotAndOldConfigsAreFreedOnMain) {
  Event::DispatcherImpl main("main");
  Event::DispatcherImpl worker0("worker_0");
  Event::DispatcherImpl worker1("worker_1");
  Stats::StoreImpl store;
  ClusterManager cm(store, {&worker0, &worker1}, main);
  constexpr size_t kClusters = 1000;
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
  size_t size_at_marker = 0;
  size_t instantiated_at_marker = 1;
  worker0.post([&] {
    size_at_marker = cm.threadLocal().size();
    instantiated_at_marker = cm.threadLocal().instantiatedForTest();
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

  // Every worker has every cluster; the marker saw the whole update, with no state made.
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
  EXPECT_EQ(seen_by_marker, kClusters);
  EXPECT_EQ(size_at_marker, kClusters);
  EXPECT_EQ(instantiated_at_marker, 0u);

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
