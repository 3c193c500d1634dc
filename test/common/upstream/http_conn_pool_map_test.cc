#include "source/common/upstream/http_conn_pool_map.h"

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

ClusterInfoConstSharedPtr cluster(const std::string& name, int hosts) {
  auto info = std::make_shared<ClusterInfo>();
  info->name = name;
  info->hosts.resize(hosts);
  return info;
}

class HttpConnPoolMapTest : public testing::Test {
 protected:
  Event::DispatcherImpl dispatcher_{"test"};
  int live_{0};
  std::vector<FakePool*> made_;
  HttpConnPoolMap map_{
      dispatcher_,
      [this](Event::Dispatcher&, ClusterInfoConstSharedPtr, const Host&) -> HttpConnPoolPtr {
        auto pool = std::make_unique<FakePool>(live_);
        made_.push_back(pool.get());
        return pool;
      }};
};

TEST_F(HttpConnPoolMapTest, OnePoolPerHost) {
  auto web = cluster("web", 2);
  HttpConnPool& a = map_.get(web, web->hosts[0]);
  EXPECT_EQ(&map_.get(web, web->hosts[0]), &a);
  EXPECT_NE(&map_.get(web, web->hosts[1]), &a);
  EXPECT_EQ(map_.activePools(), 2u);
}

TEST_F(HttpConnPoolMapTest, ReplacedClusterPoolsDrainAndGoWhenEmpty) {
  auto v1 = cluster("web", 2);
  auto other = cluster("db", 1);
  map_.get(v1, v1->hosts[0]);
  map_.get(v1, v1->hosts[1]);
  map_.get(other, other->hosts[0]);
  made_[0]->active = true;  // Still carrying a request.
  auto v2 = cluster("web", 1);
  map_.get(v2, v2->hosts[0]);
  EXPECT_TRUE(made_[0]->drained);
  EXPECT_FALSE(made_[2]->drained);  // Another cluster is left alone.
  EXPECT_EQ(map_.activePools(), 2u);
  EXPECT_EQ(map_.drainingPools(), 1u);  // The idle one (made_[1]) was freed at once.
  EXPECT_EQ(live_, 3);
  made_[0]->active = false;
  map_.sweep();
  EXPECT_EQ(map_.drainingPools(), 0u);
  EXPECT_EQ(live_, 2);
}

TEST_F(HttpConnPoolMapTest, RemovedCluster) {
  auto web = cluster("web", 1);
  map_.get(web, web->hosts[0]);
  map_.removeCluster("web");
  EXPECT_EQ(map_.activePools(), 0u);
  EXPECT_EQ(live_, 0);
}

}  // namespace
}  // namespace Skiff::Upstream
