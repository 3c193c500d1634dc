// The worker's one pool map: pools per (cluster, host address) that follow the cluster's
// membership, and ORIGINAL_DST's per-destination pools with their cleanup_interval.
#include "source/common/upstream/http_conn_pool_map.h"

#include <thread>

#include "gtest/gtest.h"
#include "source/common/event/dispatcher_impl.h"

namespace Skiff::Upstream {
namespace {

// A pool that only records what the map does with it.
class FakePool : public HttpConnPool {
 public:
  explicit FakePool(int& live) : live_(live) { ++live_; }
  ~FakePool() override { --live_; }
  Cancellable* newStream(Http::ResponseDecoder&, HttpConnPoolCallbacks&) override {
    return nullptr;
  }
  bool hasActiveConnections() const override { return active; }
  void drainConnections() override { drained = true; }

  bool active{false};
  bool drained{false};

 private:
  int& live_;
};

Network::Address::InstanceConstSharedPtr addr(uint32_t port) {
  return *Network::Address::Instance::parse("127.0.0.1", port);
}

// A static cluster with hosts on 127.0.0.1 at `ports`; `version` is its connection settings.
ClusterInfoConstSharedPtr cluster(const std::string& name, std::vector<uint32_t> ports,
                                  uint64_t version = 1) {
  auto info = std::make_shared<ClusterInfo>();
  info->name = name;
  info->connection_settings_version = version;
  for (uint32_t port : ports) {
    info->hosts.push_back(Host{addr(port), 1});
  }
  return info;
}

ClusterInfoConstSharedPtr originalDst(const std::string& name) {
  auto info = std::make_shared<ClusterInfo>();
  info->name = name;
  info->type = ClusterType::OriginalDst;
  info->connection_settings_version = 1;
  return info;
}

class HttpConnPoolMapTest : public testing::Test {
 protected:
  FakePool& fake(HttpConnPool* pool) { return *static_cast<FakePool*>(pool); }

  // Runs the dispatcher until the map has no retired entry left (or 10 s pass).
  void waitForSweep() {
    for (int i = 0; i < 200 && map_.drainingEntries() != 0; ++i) {
      dispatcher_.run(Event::Dispatcher::RunType::NonBlock);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  Event::DispatcherImpl dispatcher_{"test"};
  int live_{0};
  HttpConnPoolFactory factory_ = [this](Event::Dispatcher&, const Host&,
                                        const ClusterInfoConstSharedPtr&) -> HttpConnPoolPtr {
    return std::make_unique<FakePool>(live_);
  };
  HttpConnPoolMap map_{&dispatcher_, &factory_};
};

TEST_F(HttpConnPoolMapTest, OnePoolPerHostAddress) {
  auto web = cluster("web", {1000, 1001});
  ClusterConnPools& pools = map_.updateCluster(web);
  HttpConnPool* a = pools.pool(web->hosts[0]);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(pools.pool(web->hosts[0]), a);
  EXPECT_NE(pools.pool(web->hosts[1]), a);
  EXPECT_EQ(map_.activeEntries(), 2u);
  EXPECT_EQ(live_, 2);
}

TEST_F(HttpConnPoolMapTest, WithoutAFactoryThereIsNoPool) {
  HttpConnPoolMap no_factory(&dispatcher_, nullptr);
  auto web = cluster("web", {1000});
  EXPECT_EQ(no_factory.updateCluster(web).pool(web->hosts[0]), nullptr);
}

// An EDS push: the same connection settings with other hosts.
TEST_F(HttpConnPoolMapTest, MembershipUpdateKeepsStayingHostsAndRetiresTheOthers) {
  auto v1 = cluster("web", {1000, 1001, 1002});
  ClusterConnPools& pools = map_.updateCluster(v1);
  HttpConnPool* stays = pools.pool(v1->hosts[0]);
  FakePool& idle_leaver = fake(pools.pool(v1->hosts[1]));
  FakePool& busy_leaver = fake(pools.pool(v1->hosts[2]));
  busy_leaver.active = true;
  EXPECT_EQ(live_, 3);

  auto v2 = cluster("web", {1000, 1003});
  EXPECT_EQ(&map_.updateCluster(v2), &pools);
  EXPECT_EQ(pools.pool(v2->hosts[0]), stays);  // Kept, not drained.
  EXPECT_FALSE(fake(stays).drained);
  EXPECT_TRUE(busy_leaver.drained);
  // The idle pool of the host that left is gone at once; the busy one drains.
  EXPECT_EQ(live_, 2);
  EXPECT_EQ(map_.drainingEntries(), 1u);
  (void)idle_leaver;

  busy_leaver.active = false;
  waitForSweep();
  EXPECT_EQ(map_.drainingEntries(), 0u);
  EXPECT_EQ(live_, 1);
}

TEST_F(HttpConnPoolMapTest, SettingsChangeRetiresEveryPoolOfTheCluster) {
  auto v1 = cluster("web", {1000, 1001});
  auto other = cluster("db", {2000});
  ClusterConnPools& pools = map_.updateCluster(v1);
  FakePool& busy = fake(pools.pool(v1->hosts[0]));
  busy.active = true;
  pools.pool(v1->hosts[1]);
  HttpConnPool* db = map_.updateCluster(other).pool(other->hosts[0]);

  auto v2 = cluster("web", {1000, 1001}, /*version=*/2);
  map_.updateCluster(v2);
  EXPECT_TRUE(busy.drained);
  EXPECT_EQ(map_.drainingEntries(), 1u);
  EXPECT_FALSE(fake(db).drained);  // Another cluster's pools are not touched.
  HttpConnPool* fresh = pools.pool(v2->hosts[0]);
  EXPECT_NE(fresh, &busy);
  EXPECT_FALSE(fake(fresh).drained);
}

TEST_F(HttpConnPoolMapTest, RemovedClusterRetiresItsPools) {
  auto web = cluster("web", {1000, 1001});
  ClusterConnPools& pools = map_.updateCluster(web);
  FakePool& busy = fake(pools.pool(web->hosts[0]));
  busy.active = true;
  pools.pool(web->hosts[1]);
  map_.removeCluster("web");
  EXPECT_EQ(map_.clusterForTest("web"), nullptr);
  EXPECT_EQ(map_.activeEntries(), 0u);
  EXPECT_EQ(live_, 1);
  EXPECT_TRUE(busy.drained);
  busy.active = false;
  waitForSweep();
  EXPECT_EQ(live_, 0);
}

TEST_F(HttpConnPoolMapTest, DrainAllDrainsButKeepsThePools) {
  auto web = cluster("web", {1000});
  ClusterConnPools& pools = map_.updateCluster(web);
  HttpConnPool* pool = pools.pool(web->hosts[0]);
  map_.drainAll();
  EXPECT_TRUE(fake(pool).drained);
  EXPECT_EQ(pools.pool(web->hosts[0]), pool);
}

TEST_F(HttpConnPoolMapTest, OriginalDstHasAHostAndPoolPerDestination) {
  ClusterConnPools& pools = map_.updateCluster(originalDst("passthrough"));
  const Host& a = pools.originalDstHost(addr(8080));
  EXPECT_EQ(&pools.originalDstHost(addr(8080)), &a);
  const Host& b = pools.originalDstHost(addr(8081));
  EXPECT_NE(&a, &b);
  EXPECT_EQ(a.address->asString(), "127.0.0.1:8080");
  HttpConnPool* pool_a = pools.pool(a);
  EXPECT_EQ(pools.pool(a), pool_a);
  EXPECT_NE(pools.pool(b), pool_a);
  EXPECT_EQ(pools.size(), 2u);
}

// Envoy's cleanup_interval: a destination not used during one interval is removed at the next
// cleanup; its idle connections close, busy ones drain.
TEST_F(HttpConnPoolMapTest, OriginalDstCleanupRetiresDestinationsUnusedForAnInterval) {
  ClusterConnPools& pools = map_.updateCluster(originalDst("passthrough"));
  FakePool& a = fake(pools.pool(pools.originalDstHost(addr(8080))));
  FakePool& b = fake(pools.pool(pools.originalDstHost(addr(8081))));
  PooledHost* counted = pools.find("127.0.0.1:8082");
  EXPECT_EQ(counted, nullptr);
  pools.pool(pools.originalDstHost(addr(8082)));
  counted = pools.find("127.0.0.1:8082");
  ASSERT_NE(counted, nullptr);
  b.active = true;  // A keep-alive connection, idle or busy.

  pools.cleanupForTest();  // Everything was used in this interval.
  EXPECT_EQ(pools.size(), 3u);
  pools.originalDstHost(addr(8080));  // Used again.
  counted->active_requests = 1;       // A request in flight on it.
  pools.cleanupForTest();
  // 8081 was not used for a whole interval: drained, and kept until its connection is gone.
  EXPECT_EQ(pools.size(), 2u);
  EXPECT_EQ(pools.find("127.0.0.1:8081"), nullptr);
  EXPECT_TRUE(b.drained);
  EXPECT_FALSE(a.drained);
  EXPECT_EQ(map_.drainingEntries(), 1u);
  b.active = false;
  waitForSweep();
  EXPECT_EQ(live_, 2);

  counted->active_requests = 0;
  pools.cleanupForTest();
  pools.cleanupForTest();
  EXPECT_EQ(pools.size(), 0u);
  EXPECT_EQ(live_, 0);
}

// The timer: with a short interval, unused destinations go without anyone asking.
TEST_F(HttpConnPoolMapTest, OriginalDstCleanupRunsOnItsTimer) {
  auto info = std::make_shared<ClusterInfo>(*originalDst("passthrough"));
  info->cleanup_interval = std::chrono::milliseconds(20);
  ClusterConnPools& pools = map_.updateCluster(info);
  pools.pool(pools.originalDstHost(addr(8080)));
  for (int i = 0; i < 200 && pools.size() != 0; ++i) {
    dispatcher_.run(Event::Dispatcher::RunType::NonBlock);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(pools.size(), 0u);
  EXPECT_EQ(live_, 0);
}

}  // namespace
}  // namespace Skiff::Upstream
