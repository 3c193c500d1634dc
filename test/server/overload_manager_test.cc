// The overload manager on its own (monitors, triggers, stats, change notifications), and with real
// workers: an action's state reaches each worker's ThreadLocalOverloadState, and
// stop_accepting_connections stops and resumes accepting on real sockets.
#include "source/server/overload_manager.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "source/common/config/message_loader.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/stats/stats_impl.h"
#include "source/server/worker.h"

namespace Skiff::Server {
namespace {

using Overload::OverloadActionName;
using Overload::OverloadActionState;

envoy::config::overload::v3::OverloadManager fromYaml(const std::string& yaml) {
  envoy::config::overload::v3::OverloadManager config;
  auto status = Config::loadMessageFromString(yaml, Config::ConfigFormat::Yaml, "test", config);
  EXPECT_TRUE(status.ok()) << status;
  return config;
}

// A monitor whose pressure the test sets (or makes fail).
class SettablePressure : public ResourceMonitor {
 public:
  explicit SettablePressure(double* value) : value_(value) {}
  absl::StatusOr<double> pressure() override {
    if (*value_ < 0) {
      return absl::UnavailableError("cannot read");
    }
    return *value_;
  }

 private:
  double* value_;
};

constexpr char kConfig[] = R"(
refresh_interval: 0.01s
resource_monitors:
- name: heap
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig
    max_heap_size_bytes: 1000
- name: envoy.resource_monitors.global_downstream_max_connections
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig
    max_active_downstream_connections: 4
actions:
- name: envoy.overload_actions.stop_accepting_requests
  triggers: [{name: heap, threshold: {value: 0.9}}]
- name: envoy.overload_actions.disable_http_keepalive
  triggers:
  - {name: heap, scaled: {scaling_threshold: 0.5, saturation_threshold: 0.7}}
  - {name: envoy.resource_monitors.global_downstream_max_connections, threshold: {value: 1}}
)";

class OverloadManagerTest : public testing::Test {
 protected:
  void SetUp() override {
    auto manager =
        OverloadManagerImpl::create(fromYaml(kConfig), dispatcher_, stats_,
                                    [this](OverloadActionName action, OverloadActionState state) {
                                      changes_.emplace_back(action, state.value());
                                    });
    ASSERT_TRUE(manager.ok()) << manager.status();
    manager_ = std::move(*manager);
    manager_->setMonitorForTest("heap", std::make_unique<SettablePressure>(&heap_));
  }

  int64_t gauge(const std::string& name) { return stats_.gauge(name).value(); }

  Event::DispatcherImpl dispatcher_{"test"};
  Stats::StoreImpl stats_;
  std::unique_ptr<OverloadManagerImpl> manager_;
  double heap_ = 0;
  std::vector<std::pair<OverloadActionName, double>> changes_;
};

TEST_F(OverloadManagerTest, ThresholdTrigger) {
  manager_->refresh();
  EXPECT_TRUE(changes_.empty());
  heap_ = 0.95;
  manager_->refresh();
  EXPECT_TRUE(manager_->actionState(OverloadActionName::StopAcceptingRequests).isSaturated());
  EXPECT_EQ(gauge("overload.heap.pressure"), 95);
  EXPECT_EQ(gauge("overload.envoy.overload_actions.stop_accepting_requests.active"), 1);
  // Unchanged state: no new notification.
  const size_t notified = changes_.size();
  manager_->refresh();
  EXPECT_EQ(changes_.size(), notified);
  heap_ = 0.2;
  manager_->refresh();
  EXPECT_FALSE(manager_->actionState(OverloadActionName::StopAcceptingRequests).isSaturated());
  EXPECT_EQ(gauge("overload.envoy.overload_actions.stop_accepting_requests.active"), 0);
  // Not configured: never active.
  EXPECT_FALSE(manager_->actionState(OverloadActionName::StopAcceptingConnections).isSaturated());
}

TEST_F(OverloadManagerTest, ScaledTriggerAndMaxOfTriggers) {
  const auto keepalive = OverloadActionName::DisableHttpKeepalive;
  heap_ = 0.6;
  manager_->refresh();
  EXPECT_NEAR(manager_->actionState(keepalive).value(), 0.5, 1e-9);
  EXPECT_FALSE(manager_->actionState(keepalive).isSaturated());
  EXPECT_EQ(gauge("overload.envoy.overload_actions.disable_http_keepalive.scale_percent"), 50);
  EXPECT_EQ(gauge("overload.envoy.overload_actions.disable_http_keepalive.active"), 0);
  heap_ = 0.7;
  manager_->refresh();
  EXPECT_TRUE(manager_->actionState(keepalive).isSaturated());

  // The other trigger alone saturates it too: connections at the global limit.
  heap_ = 0;
  manager_->refresh();
  EXPECT_EQ(manager_->actionState(keepalive).value(), 0);
  auto limit = manager_->globalConnectionLimit();
  ASSERT_NE(limit, nullptr);
  EXPECT_EQ(limit->max(), 4u);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(limit->tryAcquire());
  }
  EXPECT_FALSE(limit->tryAcquire());
  manager_->refresh();
  EXPECT_TRUE(manager_->actionState(keepalive).isSaturated());
  EXPECT_EQ(gauge("overload.envoy.resource_monitors.global_downstream_max_connections.pressure"),
            100);
  limit->release();
  manager_->refresh();
  EXPECT_FALSE(manager_->actionState(keepalive).isSaturated());
  EXPECT_EQ(gauge("overload.envoy.resource_monitors.global_downstream_max_connections.pressure"),
            75);
  // Every change was reported, in order, with its value.
  ASSERT_GE(changes_.size(), 4u);
  EXPECT_EQ(changes_.front(), std::make_pair(keepalive, 0.5));
}

TEST_F(OverloadManagerTest, FailedReadKeepsTheLastPressure) {
  heap_ = 0.95;
  manager_->refresh();
  heap_ = -1;
  manager_->refresh();
  EXPECT_EQ(stats_.counter("overload.heap.failed_updates").value(), 1u);
  EXPECT_TRUE(manager_->actionState(OverloadActionName::StopAcceptingRequests).isSaturated());
}

TEST_F(OverloadManagerTest, RefreshesOnItsTimer) {
  heap_ = 0.95;
  manager_->start();
  heap_ = 0.1;
  // Runs the loop until the periodic refresh has seen the new pressure.
  for (int i = 0; i < 1000 && gauge("overload.heap.pressure") != 10; ++i) {
    dispatcher_.run(Event::Dispatcher::RunType::NonBlock);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(gauge("overload.heap.pressure"), 10);
  EXPECT_FALSE(manager_->actionState(OverloadActionName::StopAcceptingRequests).isSaturated());
}

TEST(OverloadManagerConfigTest, InvalidConfigIsAnError) {
  Event::DispatcherImpl dispatcher("test");
  Stats::StoreImpl stats;
  auto manager = OverloadManagerImpl::create(fromYaml(R"(
resource_monitors:
- name: heap
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig
actions:
- name: envoy.overload_actions.stop_accepting_requests
  triggers: [{name: nope, threshold: {value: 0.9}}]
)"),
                                             dispatcher, stats, nullptr);
  ASSERT_FALSE(manager.ok());
  EXPECT_NE(manager.status().message().find("max_heap_size_bytes: must be greater than 0"),
            std::string::npos);
  EXPECT_NE(manager.status().message().find(
                "overload_manager.actions[0].triggers[0].name: unknown resource monitor \"nope\""),
            std::string::npos);
}

// A state change posted to a worker is what the data path on that worker reads, and only there.
TEST(OverloadWorkerTest, WorkerSeesTheActionState) {
  WorkerImpl worker(0);
  worker.start();
  auto read_on_worker = [&worker] {
    std::atomic<int> seen{-1};
    worker.dispatcher().post([&seen] {
      seen = Overload::ThreadLocalOverloadState::get()
                     .getState(OverloadActionName::StopAcceptingRequests)
                     .isSaturated()
                 ? 1
                 : 0;
    });
    while (seen.load() < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return seen.load() == 1;
  };
  EXPECT_FALSE(read_on_worker());
  worker.setOverloadActionState(OverloadActionName::StopAcceptingRequests,
                                OverloadActionState::saturated());
  EXPECT_TRUE(read_on_worker());
  EXPECT_FALSE(Overload::ThreadLocalOverloadState::get()
                   .getState(OverloadActionName::StopAcceptingRequests)
                   .isSaturated());
  worker.setOverloadActionState(OverloadActionName::StopAcceptingRequests,
                                OverloadActionState::inactive());
  EXPECT_FALSE(read_on_worker());
  worker.stop();
}

TEST(FixedHeapMonitorTest, PressureFollowsTheHeap) {
  uint64_t heap = 500;
  FixedHeapMonitor monitor(1000, [&] { return heap; });
  EXPECT_DOUBLE_EQ(*monitor.pressure(), 0.5);
  heap = 2000;
  EXPECT_DOUBLE_EQ(*monitor.pressure(), 2.0);
}

// mallinfo2 sees memory the process allocates (and stops seeing it once freed).
TEST(FixedHeapMonitorTest, HeapBytesInUseSeesAllocations) {
  const uint64_t before = heapBytesInUse();
  constexpr size_t kSize = 64 << 20;
  char* block = static_cast<char*>(std::malloc(kSize));
  ASSERT_NE(block, nullptr);
  block[0] = 1;
  block[kSize - 1] = 1;
  EXPECT_GE(heapBytesInUse(), before + kSize);
  std::free(block);
  EXPECT_LT(heapBytesInUse(), before + kSize);
}

}  // namespace
}  // namespace Skiff::Server
