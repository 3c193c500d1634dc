// Hand-off by original destination (use_original_dst, bind_to_port: false) on one real worker
// thread with real loopback sockets and backends. SO_ORIGINAL_DST needs iptables, so the
// original_dst listener filter gets a fake getter here: it looks the destination up by the
// client's port, which each test registers before connecting. Run under TSan by tools/test.
#include "source/server/connection_handler.h"

#include <sys/socket.h>

#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "gtest/gtest.h"
#include "source/common/common/thread.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/stats/stats_impl.h"
#include "source/common/upstream/cluster_manager.h"
#include "source/extensions/filters/listener/original_dst/original_dst.h"
#include "source/extensions/filters/network/tcp_proxy/config.h"
#include "source/server/worker.h"
#include "test/server/fake_original_dst.h"
#include "test/server/loopback_peers.h"

namespace Skiff::Server {
namespace {

using namespace std::chrono_literals;
using Network::Address::Instance;
using Network::Address::InstanceConstSharedPtr;

// Connects to `listen` as if iptables had redirected a connection for `original` (nullopt: not
// redirected) there.
std::unique_ptr<Client> redirected(const Instance& listen,
                                   std::optional<InstanceConstSharedPtr> original) {
  return std::make_unique<Client>(listen.port(), listen.ip(), [&](uint16_t client_port) {
    if (original.has_value()) {
      FakeOriginalDst::set(client_port, *original);
    }
  });
}

bool haveIpv6Loopback() {
  int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_storage a;
  socklen_t len;
  toSockaddr("::1", 0, a, len);
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0;
  if (fd >= 0) {
    ::close(fd);
  }
  return ok;
}

struct ListenerOptions {
  bool bind_to_port{true};
  bool use_original_dst{false};
  bool original_dst_filter{false};
  // Extra filter chains matched on destination port: {port, cluster}.
  std::vector<std::pair<uint32_t, std::string>> port_chains;
};

class ConnectionHandlerTest : public testing::Test {
 protected:
  void SetUp() override {
    worker_ = std::make_unique<WorkerImpl>(0);
    cluster_manager_ = std::make_unique<Upstream::ClusterManager>(
        stats_, std::vector<Event::Dispatcher*>{&worker_->dispatcher()}, main_);
    context_.reset(new Extensions::NetworkFilters::FactoryContext{stats_, *cluster_manager_});
    worker_->start();
  }

  void TearDown() override {
    worker_->stop();
    FakeOriginalDst::clear();
  }

  void runUntilApplied(const std::function<void(std::function<void()>)>& start) {
    Server::runUntilApplied(main_, start);
  }

  void addCluster(envoy::config::cluster::v3::Cluster proto) {
    runUntilApplied([&](auto done) {
      ASSERT_TRUE(cluster_manager_->addOrUpdateCluster(proto, [done] { done(); }).ok());
    });
  }

  void addStaticCluster(const std::string& name, uint16_t port) {
    envoy::config::cluster::v3::Cluster c;
    c.set_name(name);
    auto* socket = c.mutable_load_assignment()
                       ->add_endpoints()
                       ->add_lb_endpoints()
                       ->mutable_endpoint()
                       ->mutable_address()
                       ->mutable_socket_address();
    socket->set_address("127.0.0.1");
    socket->set_port_value(port);
    addCluster(c);
  }

  Network::NetworkFilterFactoryCb tcpProxyTo(const std::string& cluster) {
    envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy proto;
    proto.set_stat_prefix(cluster);
    proto.set_cluster(cluster);
    google::protobuf::Any any;
    any.PackFrom(proto);
    auto cb = Extensions::NetworkFilters::TcpProxy::TcpProxyConfigFactory().createFilterFactory(
        any, *context_);
    EXPECT_TRUE(cb.ok()) << cb.status();
    return *cb;
  }

  // Builds listener `name` at `address` (bound, unless bind_to_port is false) proxying to
  // `cluster`, and hands it to the worker. Returns the address actually bound.
  InstanceConstSharedPtr addListener(const std::string& name, InstanceConstSharedPtr address,
                                     const std::string& cluster, ListenerOptions options = {}) {
    auto config = std::make_shared<ListenerConfig>();
    config->name = name;
    config->tag = next_tag_++;
    config->bind_to_port = options.bind_to_port;
    config->use_original_dst = options.use_original_dst;
    if (options.original_dst_filter || options.use_original_dst) {
      config->listener_filters.push_back(
          Extensions::ListenerFilters::OriginalDst::createOriginalDstFilter(
              &FakeOriginalDst::lookup));
    }
    int fd = -1;
    if (options.bind_to_port) {
      auto socket = Network::createListenSocket(*address, /*reuse_port=*/true, 128);
      EXPECT_TRUE(socket.ok()) << socket.status();
      fd = (*socket)->fd();
      address = Network::localAddress(fd);
      sockets_.push_back(std::move(*socket));
    }
    config->address = address;
    for (const auto& [port, port_cluster] : options.port_chains) {
      FilterChainConfig chain;
      chain.destination_port = port;
      chain.filter_factories.push_back(tcpProxyTo(port_cluster));
      config->filter_chains.push_back(std::move(chain));
    }
    FilterChainConfig chain;
    chain.filter_factories.push_back(tcpProxyTo(cluster));
    config->filter_chains.push_back(std::move(chain));
    config->stats = &statsFor(name);
    ListenerConfigConstSharedPtr shared = std::move(config);
    // The worker runs the completion on its own thread; main must be told through its queue.
    runUntilApplied([&](auto done) {
      worker_->addOrUpdateListener(shared, fd, [this, done] { main_.post(done); });
    });
    return address;
  }

  void removeListener(const std::string& name) {
    runUntilApplied(
        [&](auto done) { worker_->removeListener(name, 0ms, [this, done] { main_.post(done); }); });
  }

  ListenerStats& statsFor(const std::string& name) {
    auto& entry = listener_stats_[name];
    if (entry == nullptr) {
      entry = createListenerStats(stats_, name);
    }
    return *entry;
  }

  uint64_t accepted(const std::string& listener) {
    return stats_.counter(absl::StrCat("listener.", listener, ".downstream_cx_total")).value();
  }

  Stats::StoreImpl stats_;
  Event::DispatcherImpl main_{"main"};
  std::unique_ptr<WorkerImpl> worker_;
  std::unique_ptr<Upstream::ClusterManager> cluster_manager_;
  std::unique_ptr<Extensions::NetworkFilters::FactoryContext> context_;
  std::map<std::string, std::unique_ptr<ListenerStats>> listener_stats_;
  std::vector<Network::IoHandlePtr> sockets_;
  uint64_t next_tag_{1};
};

TEST_F(ConnectionHandlerTest, HandsOffToTheListenerOfTheOriginalDestination) {
  NamedBackend a("a"), b("b");
  addStaticCluster("a", a.port());
  addStaticCluster("b", b.port());
  auto outbound = addListener("outbound", addr("127.0.0.1", 0), "a", {.use_original_dst = true});
  addListener("svc", addr("10.1.2.3", 80), "b", {.bind_to_port = false});

  auto to_svc = redirected(*outbound, addr("10.1.2.3", 80));
  EXPECT_EQ(to_svc->readLine(), "b");
  to_svc->send("through svc\n");
  EXPECT_EQ(to_svc->readLine(), "through svc");
  // Counted on the listener that served it only, as in Envoy.
  EXPECT_EQ(accepted("svc"), 1u);
  EXPECT_EQ(accepted("outbound"), 0u);

  // No listener for that destination: the capture listener serves it with its own chain.
  auto elsewhere = redirected(*outbound, addr("10.1.2.3", 81));
  EXPECT_EQ(elsewhere->readLine(), "a");
  // Not redirected at all (no conntrack entry): the same.
  auto direct = redirected(*outbound, std::nullopt);
  EXPECT_EQ(direct->readLine(), "a");
  EXPECT_EQ(accepted("outbound"), 2u);
  EXPECT_EQ(accepted("svc"), 1u);
}

TEST_F(ConnectionHandlerTest, ExactAddressBeforeWildcardOfTheSameFamily) {
  NamedBackend a("a"), b("b"), c("c");
  addStaticCluster("a", a.port());
  addStaticCluster("b", b.port());
  addStaticCluster("c", c.port());
  auto outbound = addListener("outbound", addr("127.0.0.1", 0), "a", {.use_original_dst = true});
  addListener("exact", addr("10.1.2.3", 80), "b", {.bind_to_port = false});
  addListener("any_80", addr("0.0.0.0", 80), "c", {.bind_to_port = false});

  EXPECT_EQ(redirected(*outbound, addr("10.1.2.3", 80))->readLine(), "b");
  EXPECT_EQ(redirected(*outbound, addr("10.1.2.4", 80))->readLine(), "c");
  EXPECT_EQ(redirected(*outbound, addr("10.1.2.3", 8080))->readLine(), "a");
  // An IPv6 destination never matches the IPv4 wildcard.
  EXPECT_EQ(redirected(*outbound, addr("fd00::3", 80))->readLine(), "a");
}

TEST_F(ConnectionHandlerTest, WithoutUseOriginalDstTheRestoredAddressPicksTheFilterChain) {
  NamedBackend a("a"), b("b");
  addStaticCluster("a", a.port());
  addStaticCluster("b", b.port());
  // Istio's virtualInbound shape: no hand-off, filter chains matched on the original port.
  auto inbound = addListener("inbound", addr("127.0.0.1", 0), "a",
                             {.original_dst_filter = true, .port_chains = {{9080, "b"}}});
  addListener("would_match", addr("10.1.2.3", 9080), "a", {.bind_to_port = false});

  EXPECT_EQ(redirected(*inbound, addr("10.1.2.3", 9080))->readLine(), "b");
  EXPECT_EQ(redirected(*inbound, addr("10.1.2.3", 9090))->readLine(), "a");
  EXPECT_EQ(accepted("inbound"), 2u);
  EXPECT_EQ(accepted("would_match"), 0u);
}

TEST_F(ConnectionHandlerTest, TargetUpdatesApplyToTheNextHandOffAndOpenOnesKeepTheirConfig) {
  NamedBackend a("a"), b("b"), c("c");
  addStaticCluster("a", a.port());
  addStaticCluster("b", b.port());
  addStaticCluster("c", c.port());
  auto outbound = addListener("outbound", addr("127.0.0.1", 0), "c", {.use_original_dst = true});
  addListener("svc", addr("10.1.2.3", 80), "b", {.bind_to_port = false});
  auto first = redirected(*outbound, addr("10.1.2.3", 80));
  EXPECT_EQ(first->readLine(), "b");

  // Same listener, new config: the worker's index still points at it, now with the new chain.
  addListener("svc", addr("10.1.2.3", 80), "a", {.bind_to_port = false});
  EXPECT_EQ(redirected(*outbound, addr("10.1.2.3", 80))->readLine(), "a");
  first->send("old config\n");
  EXPECT_EQ(first->readLine(), "old config");

  // Moved to another address: the old one falls through to the capture listener.
  addListener("svc", addr("10.1.2.9", 80), "b", {.bind_to_port = false});
  EXPECT_EQ(redirected(*outbound, addr("10.1.2.3", 80))->readLine(), "c");
  EXPECT_EQ(redirected(*outbound, addr("10.1.2.9", 80))->readLine(), "b");

  // Removed: nothing is handed to it any more.
  removeListener("svc");
  EXPECT_EQ(redirected(*outbound, addr("10.1.2.9", 80))->readLine(), "c");
  EXPECT_EQ(accepted("svc"), 3u);
}

TEST_F(ConnectionHandlerTest, ABoundListenerIsAHandOffTargetToo) {
  NamedBackend a("a"), b("b");
  addStaticCluster("a", a.port());
  addStaticCluster("b", b.port());
  auto outbound = addListener("outbound", addr("127.0.0.1", 0), "a", {.use_original_dst = true});
  auto bound = addListener("bound", addr("127.0.0.1", 0), "b");
  // Reached directly...
  EXPECT_EQ(Client(bound->port()).readLine(), "b");
  // ...and by hand-off, without another accept.
  EXPECT_EQ(redirected(*outbound, bound)->readLine(), "b");
  EXPECT_EQ(accepted("bound"), 2u);
}

TEST_F(ConnectionHandlerTest, Ipv6HandOff) {
  if (!haveIpv6Loopback()) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  NamedBackend a("a"), b("b"), c("c");
  addStaticCluster("a", a.port());
  addStaticCluster("b", b.port());
  addStaticCluster("c", c.port());
  auto outbound = addListener("outbound6", addr("::1", 0), "a", {.use_original_dst = true});
  addListener("svc6", addr("fd00::1", 80), "b", {.bind_to_port = false});
  addListener("any6", addr("::", 81), "c", {.bind_to_port = false});
  addListener("any4", addr("0.0.0.0", 82), "c", {.bind_to_port = false});

  EXPECT_EQ(redirected(*outbound, addr("fd00::1", 80))->readLine(), "b");
  EXPECT_EQ(redirected(*outbound, addr("fd00::2", 81))->readLine(), "c");
  EXPECT_EQ(redirected(*outbound, addr("fd00::2", 80))->readLine(), "a");
  EXPECT_EQ(redirected(*outbound, addr("fd00::2", 82))->readLine(), "a");
}

// The passthrough: an ORIGINAL_DST cluster connects to the restored destination.
TEST_F(ConnectionHandlerTest, OriginalDstClusterConnectsToTheRestoredDestination) {
  NamedBackend b("b");
  envoy::config::cluster::v3::Cluster passthrough;
  passthrough.set_name("passthrough");
  passthrough.set_type(envoy::config::cluster::v3::Cluster::ORIGINAL_DST);
  passthrough.set_lb_policy(envoy::config::cluster::v3::Cluster::CLUSTER_PROVIDED);
  addCluster(passthrough);
  auto outbound =
      addListener("outbound", addr("127.0.0.1", 0), "passthrough", {.use_original_dst = true});

  auto client = redirected(*outbound, addr("127.0.0.1", b.port()));
  EXPECT_EQ(client->readLine(), "b");
  client->send("passed through\n");
  EXPECT_EQ(client->readLine(), "passed through");

  // Not redirected: the destination would be skiff itself, so there is no host.
  auto direct = redirected(*outbound, std::nullopt);
  EXPECT_TRUE(direct->closedByPeer());
  EXPECT_EQ(stats_.counter("cluster.passthrough.upstream_cx_none_healthy").value(), 1u);
  EXPECT_EQ(stats_.counter("cluster.passthrough.upstream_cx_total").value(), 1u);
}

// Istio's inbound passthrough binds 127.0.0.6 so its connection to the app is not captured again.
TEST_F(ConnectionHandlerTest, UpstreamBindConfigSetsTheSourceAddress) {
  NamedBackend app("app");
  envoy::config::cluster::v3::Cluster passthrough;
  passthrough.set_name("inbound_passthrough");
  passthrough.set_type(envoy::config::cluster::v3::Cluster::ORIGINAL_DST);
  passthrough.set_lb_policy(envoy::config::cluster::v3::Cluster::CLUSTER_PROVIDED);
  passthrough.mutable_upstream_bind_config()->mutable_source_address()->set_address("127.0.0.6");
  addCluster(passthrough);
  auto inbound = addListener("inbound", addr("127.0.0.1", 0), "inbound_passthrough",
                             {.original_dst_filter = true});

  auto client = redirected(*inbound, addr("127.0.0.1", app.port()));
  EXPECT_EQ(client->readLine(), "app");
  EXPECT_EQ(app.lastPeer(), "127.0.0.6");

  if (haveIpv6Loopback()) {
    // A source of the other family cannot be used: the connect fails rather than going out
    // unbound (which capture rules would redirect again).
    NamedBackend app6("app6", "::1");
    auto v6 = redirected(*inbound, addr("::1", app6.port()));
    EXPECT_TRUE(v6->closedByPeer());
    EXPECT_EQ(stats_.counter("cluster.inbound_passthrough.upstream_cx_connect_fail").value(), 1u);
  }
}

}  // namespace
}  // namespace Skiff::Server
