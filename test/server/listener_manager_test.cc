// The listener manager and workers together, in-process: real worker threads, real loopback
// sockets, real backends. Run under TSan by tools/test, so it also checks that configs, stats and
// completions cross threads only through Dispatcher::post.
#include "source/server/listener_manager.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "source/common/stats/stats_impl.h"
#include "source/common/upstream/cluster_manager.h"
#include "test/server/tcp_proxy_listener.h"

namespace Skiff::Server {
namespace {

using namespace std::chrono_literals;

// A blocking backend on loopback that answers every connection with its name, then echoes.
class NamedBackend {
 public:
  explicit NamedBackend(std::string name) : name_(std::move(name)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 64), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~NamedBackend() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (auto& t : connections_) {
      t.join();
    }
  }
  uint16_t port() const { return port_; }

 private:
  void serve() {
    while (true) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) {
        return;
      }
      connections_.emplace_back([this, c] {
        std::string hello = name_ + "\n";
        ::send(c, hello.data(), hello.size(), MSG_NOSIGNAL);
        char buf[4096];
        ssize_t n;
        while ((n = ::recv(c, buf, sizeof(buf), 0)) > 0) {
          ::send(c, buf, n, MSG_NOSIGNAL);
        }
        ::close(c);
      });
    }
  }

  std::string name_;
  int fd_;
  uint16_t port_;
  std::thread thread_;
  std::vector<std::thread> connections_;
};

// A blocking client connection with a receive timeout.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  // Reads one line (without the newline); empty on EOF, reset or timeout.
  std::string readLine() {
    std::string line;
    char c;
    while (::recv(fd_, &c, 1, 0) == 1) {
      if (c == '\n') {
        return line;
      }
      line.push_back(c);
    }
    return line;
  }
  void send(const std::string& data) { ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL); }
  // True if the peer closed (EOF or reset) within the receive timeout.
  bool closedByPeer() {
    char c;
    return ::recv(fd_, &c, 1, 0) <= 0;
  }

 private:
  int fd_;
  bool connected_{false};
};

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

}  // namespace
}  // namespace Skiff::Server
