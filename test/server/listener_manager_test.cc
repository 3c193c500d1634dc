// The listener manager and workers together, in-process: real worker threads, real loopback
// sockets, real backends. Run under TSan by tools/test, so it also checks that configs, stats and
// completions cross threads only through Dispatcher::post.
#include "source/server/listener_manager.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "source/common/stats/stats_impl.h"
#include "source/common/upstream/cluster_manager.h"
#include "test/server/loopback_peers.h"
#include "test/server/tcp_proxy_listener.h"

namespace Skiff::Server {
namespace {

using namespace std::chrono_literals;

envoy::config::cluster::v3::Cluster cluster(const std::string& name, uint16_t port) {
  envoy::config::cluster::v3::Cluster c;
  c.set_name(name);
  c.mutable_connect_timeout()->set_seconds(1);
  auto* socket = c.mutable_load_assignment()
                     ->add_endpoints()
                     ->add_lb_endpoints()
                     ->mutable_endpoint()
                     ->mutable_address()
                     ->mutable_socket_address();
  socket->set_address("127.0.0.1");
  socket->set_port_value(port);
  return c;
}

envoy::config::listener::v3::Listener listener(const std::string& name, uint16_t port,
                                               const std::string& cluster_name) {
  return tcpProxyListener(name, port, cluster_name);
}

class ListenerManagerTest : public testing::Test {
 protected:
  void SetUp() override {
    for (uint32_t i = 0; i < 2; ++i) {
      workers_.push_back(std::make_unique<WorkerImpl>(i));
      worker_dispatchers_.push_back(&workers_.back()->dispatcher());
      raw_workers_.push_back(workers_.back().get());
    }
    cluster_manager_ =
        std::make_unique<Upstream::ClusterManager>(stats_, worker_dispatchers_, main_);
    context_.reset(new Extensions::NetworkFilters::FactoryContext{stats_, *cluster_manager_});
    manager_ = std::make_unique<ListenerManagerImpl>(raw_workers_, main_, stats_, *context_);
    manager_->startWorkers();
  }

  void TearDown() override {
    for (auto& worker : workers_) {
      worker->stop();
    }
    manager_.reset();
  }

  // Runs the main dispatcher until `start` has called its completion (or 10 s pass).
  void runUntilApplied(const std::function<void(std::function<void()>)>& start) {
    bool done = false;
    start([&] {
      done = true;
      main_.exit();
    });
    Event::TimerPtr guard = main_.createTimer([this] { main_.exit(); });
    guard->enableTimer(10s);
    if (!done) {
      main_.run(Event::Dispatcher::RunType::Block);
    }
    ASSERT_TRUE(done) << "workers did not apply the change in time";
  }

  uint16_t boundPort(const std::string& name) {
    for (const auto& l : manager_->listeners()) {
      if (l->name == name) {
        return l->address->port();
      }
    }
    return 0;
  }

  Stats::StoreImpl stats_;
  Event::DispatcherImpl main_{"main"};
  std::vector<std::unique_ptr<WorkerImpl>> workers_;
  std::vector<Event::Dispatcher*> worker_dispatchers_;
  std::vector<WorkerImpl*> raw_workers_;
  std::unique_ptr<Upstream::ClusterManager> cluster_manager_;
  std::unique_ptr<Extensions::NetworkFilters::FactoryContext> context_;
  std::unique_ptr<ListenerManagerImpl> manager_;
};

TEST_F(ListenerManagerTest, ProxiesThroughEveryWorker) {
  NamedBackend a("a");
  runUntilApplied([&](auto done) {
    ASSERT_TRUE(cluster_manager_->addOrUpdateCluster(cluster("a", a.port()), done).ok());
  });
  runUntilApplied([&](auto done) {
    ASSERT_TRUE(manager_->addOrUpdateListener(listener("in", 0, "a"), done).ok());
  });
  uint16_t port = boundPort("in");
  ASSERT_NE(port, 0);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 40; ++i) {
    clients.push_back(std::make_unique<Client>(port));
    ASSERT_TRUE(clients.back()->connected());
    EXPECT_EQ(clients.back()->readLine(), "a");
    clients.back()->send("echo " + std::to_string(i) + "\n");
    EXPECT_EQ(clients.back()->readLine(), "echo " + std::to_string(i));
  }
  EXPECT_EQ(manager_->numConnections(), 40u);
  EXPECT_EQ(
      stats_.counter("listener.127.0.0.1_" + std::to_string(port) + ".downstream_cx_total").value(),
      40u);
  // Both workers' reuse-port sockets took some of the 40 connections.
  EXPECT_GT(workers_[0]->numConnections(), 0u);
  EXPECT_GT(workers_[1]->numConnections(), 0u);
}

TEST_F(ListenerManagerTest, UpdateKeepsOpenConnectionsOnTheirOldConfig) {
  NamedBackend a("a");
  NamedBackend b("b");
  runUntilApplied([&](auto done) {
    ASSERT_TRUE(cluster_manager_->addOrUpdateCluster(cluster("a", a.port())).ok());
    ASSERT_TRUE(cluster_manager_->addOrUpdateCluster(cluster("b", b.port()), done).ok());
  });
  runUntilApplied([&](auto done) {
    ASSERT_TRUE(manager_->addOrUpdateListener(listener("in", 0, "a"), done).ok());
  });
  uint16_t port = boundPort("in");
  Client before(port);
  EXPECT_EQ(before.readLine(), "a");

  // Same name, same address, new target: the sockets are kept and the change is in place.
  runUntilApplied([&](auto done) {
    ASSERT_TRUE(manager_->addOrUpdateListener(listener("in", port, "b"), done).ok());
  });
  EXPECT_EQ(boundPort("in"), port);
  Client after(port);
  EXPECT_EQ(after.readLine(), "b");
  // The connection opened before the update still works, on its old config and upstream.
  before.send("still here\n");
  EXPECT_EQ(before.readLine(), "still here");
  EXPECT_EQ(stats_.counter("listener_manager.listener_modified").value(), 1u);
}

TEST_F(ListenerManagerTest, PortConflictIsAnErrorNotACrash) {
  NamedBackend a("a");
  runUntilApplied([&](auto done) {
    ASSERT_TRUE(manager_->addOrUpdateListener(listener("first", 0, "a"), done).ok());
  });
  uint16_t port = boundPort("first");
  // Another socket without SO_REUSEPORT holds a port: binding it must fail cleanly.
  int blocker = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(blocker, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(blocker, 1), 0);
  socklen_t len = sizeof(addr);
  getsockname(blocker, reinterpret_cast<sockaddr*>(&addr), &len);
  auto status = manager_->addOrUpdateListener(listener("second", ntohs(addr.sin_port), "a"));
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("cannot bind"), absl::string_view::npos) << status.message();
  EXPECT_EQ(manager_->listeners().size(), 1u);
  EXPECT_EQ(boundPort("first"), port);
  ::close(blocker);
}

TEST_F(ListenerManagerTest, UnknownClusterClosesTheConnectionAndCountsIt) {
  runUntilApplied([&](auto done) {
    ASSERT_TRUE(manager_->addOrUpdateListener(listener("in", 0, "missing"), done).ok());
  });
  Client client(boundPort("in"));
  EXPECT_TRUE(client.closedByPeer());
  EXPECT_EQ(stats_.counter("tcp.in.downstream_cx_no_route").value(), 1u);
}

TEST_F(ListenerManagerTest, RemovedListenerStopsAcceptingAndDrainsItsConnections) {
  NamedBackend a("a");
  runUntilApplied([&](auto done) {
    ASSERT_TRUE(cluster_manager_->addOrUpdateCluster(cluster("a", a.port()), done).ok());
  });
  runUntilApplied([&](auto done) {
    ASSERT_TRUE(manager_->addOrUpdateListener(listener("in", 0, "a"), done).ok());
  });
  uint16_t port = boundPort("in");
  Client open(port);
  EXPECT_EQ(open.readLine(), "a");
  runUntilApplied(
      [&](auto done) { ASSERT_TRUE(manager_->removeListener("in", 200ms, done).ok()); });
  Client refused(port);
  EXPECT_FALSE(refused.connected());
  // Still served during the drain time...
  open.send("during drain\n");
  EXPECT_EQ(open.readLine(), "during drain");
  // ...and closed once it is over.
  EXPECT_TRUE(open.closedByPeer());
  EXPECT_FALSE(manager_->removeListener("in", 0ms).ok());
  EXPECT_EQ(stats_.gauge("listener_manager.total_listeners_draining").value(), 1);
}

TEST_F(ListenerManagerTest, OptionalDrainClosesConnectionsOfTheOldConfigOnly) {
  NamedBackend a("a");
  NamedBackend b("b");
  manager_->setDrainOnUpdate(150ms);
  runUntilApplied([&](auto done) {
    ASSERT_TRUE(cluster_manager_->addOrUpdateCluster(cluster("a", a.port())).ok());
    ASSERT_TRUE(cluster_manager_->addOrUpdateCluster(cluster("b", b.port()), done).ok());
  });
  runUntilApplied([&](auto done) {
    ASSERT_TRUE(manager_->addOrUpdateListener(listener("in", 0, "a"), done).ok());
  });
  uint16_t port = boundPort("in");
  Client old_config(port);
  EXPECT_EQ(old_config.readLine(), "a");
  runUntilApplied([&](auto done) {
    ASSERT_TRUE(manager_->addOrUpdateListener(listener("in", port, "b"), done).ok());
  });
  Client new_config(port);
  EXPECT_EQ(new_config.readLine(), "b");
  // The old connection is closed once the drain time has passed...
  EXPECT_TRUE(old_config.closedByPeer());
  // ...and the one accepted under the new config is untouched.
  new_config.send("alive\n");
  EXPECT_EQ(new_config.readLine(), "alive");
}

// A port nothing listens on (free a moment ago).
uint16_t unusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// True if this process can bind 127.0.0.1:port without SO_REUSEPORT (so skiff holds no socket
// there).
bool portIsFree(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

TEST_F(ListenerManagerTest, BindToPortFalseHoldsNoSocketAndCanStartOrStopBinding) {
  NamedBackend a("a");
  runUntilApplied([&](auto done) {
    ASSERT_TRUE(cluster_manager_->addOrUpdateCluster(cluster("a", a.port()), done).ok());
  });
  const uint16_t port = unusedPort();
  auto virtual_listener = listener("svc", port, "a");
  virtual_listener.mutable_bind_to_port()->set_value(false);
  runUntilApplied(
      [&](auto done) { ASSERT_TRUE(manager_->addOrUpdateListener(virtual_listener, done).ok()); });
  EXPECT_EQ(boundPort("svc"), port);
  EXPECT_FALSE(manager_->listeners()[0]->bind_to_port);
  EXPECT_TRUE(portIsFree(port));
  EXPECT_FALSE(Client(port).connected());

  // Starts binding: same name and address, now with sockets.
  runUntilApplied([&](auto done) {
    ASSERT_TRUE(manager_->addOrUpdateListener(listener("svc", port, "a"), done).ok());
  });
  Client served(port);
  EXPECT_EQ(served.readLine(), "a");

  // And stops again: the sockets close once the workers let go; the open connection stays.
  runUntilApplied(
      [&](auto done) { ASSERT_TRUE(manager_->addOrUpdateListener(virtual_listener, done).ok()); });
  EXPECT_TRUE(portIsFree(port));
  served.send("still open\n");
  EXPECT_EQ(served.readLine(), "still open");

  auto zero = listener("zero", 0, "a");
  zero.mutable_bind_to_port()->set_value(false);
  auto status = manager_->addOrUpdateListener(zero);
  EXPECT_NE(status.message().find("a port is required with bind_to_port: false"),
            absl::string_view::npos)
      << status;
}

TEST_F(ListenerManagerTest, TwoListenersMayNotShareAnAddress) {
  runUntilApplied([&](auto done) {
    ASSERT_TRUE(manager_->addOrUpdateListener(listener("first", 0, "a"), done).ok());
  });
  const uint16_t port = boundPort("first");
  // SO_REUSEPORT would let the second bind; it must be refused before that, bound or not.
  auto second = listener("second", port, "a");
  auto status = manager_->addOrUpdateListener(second);
  EXPECT_NE(status.message().find(absl::StrCat("listener 'second': address 127.0.0.1:", port,
                                               " is already used by listener 'first'")),
            absl::string_view::npos)
      << status;
  second.mutable_bind_to_port()->set_value(false);
  EXPECT_FALSE(manager_->addOrUpdateListener(second).ok());
  EXPECT_EQ(manager_->listeners().size(), 1u);

  // In one update the whole result counts: moving the address from one to the other is fine,
  // two new ones on one address are not (and nothing of that update applies).
  auto third = listener("third", unusedPort(), "a");
  auto clash = listener("clash", third.address().socket_address().port_value(), "a");
  EXPECT_FALSE(manager_->applyUpdate({third, clash}, {}, "v1", 0ms, nullptr).ok());
  EXPECT_EQ(manager_->listeners().size(), 1u);
  runUntilApplied([&](auto done) {
    ASSERT_TRUE(
        manager_->applyUpdate({listener("second", port, "a")}, {"first"}, "v2", 0ms, done).ok());
  });
  EXPECT_EQ(boundPort("second"), port);
}

TEST_F(ListenerManagerTest, ListenerFiltersAndUseOriginalDstAreBuilt) {
  auto capture = listener("virtualOutbound", 0, "passthrough");
  capture.mutable_use_original_dst()->set_value(true);
  runUntilApplied(
      [&](auto done) { ASSERT_TRUE(manager_->addOrUpdateListener(capture, done).ok()); });
  auto built = manager_->listeners()[0];
  EXPECT_TRUE(built->use_original_dst);
  // use_original_dst implies the original_dst listener filter, as in Envoy...
  EXPECT_EQ(built->listener_filters.size(), 1u);
  // ...which is not added twice when it is also configured.
  capture.add_listener_filters()->set_name("envoy.filters.listener.original_dst");
  runUntilApplied(
      [&](auto done) { ASSERT_TRUE(manager_->addOrUpdateListener(capture, done).ok()); });
  EXPECT_EQ(manager_->listeners()[0]->listener_filters.size(), 1u);

  capture.add_listener_filters()->set_name("envoy.filters.listener.tls_inspector");
  auto status = manager_->addOrUpdateListener(capture);
  EXPECT_NE(status.message().find("listener_filters[1]: unsupported listener filter "
                                  "'envoy.filters.listener.tls_inspector'"),
            absl::string_view::npos)
      << status;
}

}  // namespace
}  // namespace Skiff::Server
