// HTTP through an ORIGINAL_DST (passthrough) cluster, as a sidecar's outbound HTTP listener
// routes it: a real worker thread, the HTTP connection manager and router, real HTTP/1.1 pools
// and backends on loopback. SO_ORIGINAL_DST needs iptables, so, as in connection_handler_test,
// the original_dst listener filter gets a fake getter keyed by the client's port
// (test/integration/capture_test.py does the real thing in network namespaces).
#include <sys/socket.h>

#include <atomic>
#include <map>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "source/common/common/thread.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/router/config_impl.h"
#include "source/common/stats/stats_impl.h"
#include "source/common/upstream/cluster_manager.h"
#include "source/common/upstream/http_conn_pool_impl.h"
#include "source/extensions/filters/listener/original_dst/original_dst.h"
#include "source/extensions/filters/network/http_connection_manager/config.h"
#include "source/extensions/filters/network/http_connection_manager/rds.h"
#include "source/server/connection_handler.h"
#include "source/server/worker.h"
#include "test/server/fake_original_dst.h"
#include "test/server/loopback_peers.h"

namespace Skiff::Server {
namespace {

using namespace std::chrono_literals;
using Network::Address::Instance;
using Network::Address::InstanceConstSharedPtr;
namespace Hcm = Extensions::NetworkFilters::HttpConnectionManager;

// An HTTP/1.1 backend that answers every request 200 with its name as the body, keeping the
// connection alive; counts the connections it accepted.
class HttpBackend {
 public:
  explicit HttpBackend(std::string name) : name_(std::move(name)) {
    sockaddr_storage a;
    socklen_t len;
    toSockaddr("127.0.0.1", 0, a, len);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(::listen(fd_, 64), 0);
    len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = portOf(a);
    thread_ = std::thread([this] { serve(); });
  }
  ~HttpBackend() {
    closeAll();  // skiff keeps its pooled connections open.
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (auto& t : connections_) {
      t.join();
    }
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  // Closes every connection (a backend restart, for keep-alive tests).
  void closeAll() {
    Thread::LockGuard lock(mutex_);
    for (int c : open_) {
      ::shutdown(c, SHUT_RDWR);
    }
  }

 private:
  void serve() {
    while (true) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) {
        return;
      }
      ++accepted_;
      {
        Thread::LockGuard lock(mutex_);
        open_.push_back(c);
      }
      connections_.emplace_back([this, c] {
        std::string in;
        char data[4096];
        ssize_t n;
        while ((n = ::recv(c, data, sizeof(data), 0)) > 0) {
          in.append(data, n);
          size_t end;
          while ((end = in.find("\r\n\r\n")) != std::string::npos) {
            in.erase(0, end + 4);  // GET requests only: no body.
            const std::string body = name_ + "\n";
            const std::string response =
                absl::StrCat("HTTP/1.1 200 OK\r\ncontent-length: ", body.size(), "\r\n\r\n", body);
            ::send(c, response.data(), response.size(), MSG_NOSIGNAL);
          }
        }
        ::close(c);
      });
    }
  }

  std::string name_;
  int fd_;
  uint16_t port_;
  std::atomic<int> accepted_{0};
  Thread::MutexBasicLockable mutex_;
  std::vector<int> open_ ABSL_GUARDED_BY(mutex_);
  std::thread thread_;
  std::vector<std::thread> connections_;
};

// A keep-alive HTTP client over one connection to `listen`, redirected for `original` (nullopt:
// not redirected). Blocking, with a 5 s receive timeout.
class HttpClient {
 public:
  HttpClient(const Instance& listen, std::optional<InstanceConstSharedPtr> original) {
    sockaddr_storage a;
    socklen_t len;
    toSockaddr(listen.ip(), 0, a, len);
    fd_ = ::socket(a.ss_family, SOCK_STREAM, 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), len), 0);
    len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    if (original.has_value()) {
      FakeOriginalDst::set(portOf(a), *original);
    }
    toSockaddr(listen.ip(), listen.port(), a, len);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&a), len), 0);
  }
  ~HttpClient() { ::close(fd_); }

  struct Response {
    int status{0};
    std::string body;
  };

  // Sends GET / and reads the response (status 0 if none came).
  Response get() {
    const std::string request = "GET / HTTP/1.1\r\nhost: svc\r\n\r\n";
    ::send(fd_, request.data(), request.size(), MSG_NOSIGNAL);
    Response response;
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) {
        return response;
      }
    }
    const std::string head = buffer_.substr(0, end + 2);
    buffer_.erase(0, end + 4);
    absl::string_view status = head;
    if (!absl::ConsumePrefix(&status, "HTTP/1.1 ") ||
        !absl::SimpleAtoi(status.substr(0, 3), &response.status)) {
      return response;
    }
    size_t length = 0;
    const size_t cl = head.find("content-length: ");
    if (cl != std::string::npos) {
      absl::SimpleAtoi(head.substr(cl + 16, head.find("\r\n", cl) - cl - 16), &length);
    }
    while (buffer_.size() < length) {
      if (!fill()) {
        break;
      }
    }
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    response.body = std::string(absl::StripSuffix(response.body, "\n"));
    return response;
  }

 private:
  bool fill() {
    char data[4096];
    const ssize_t n = ::recv(fd_, data, sizeof(data), 0);
    if (n <= 0) {
      return false;
    }
    buffer_.append(data, n);
    return true;
  }

  int fd_;
  std::string buffer_;
};

class OriginalDstHttpTest : public testing::Test {
 protected:
  void SetUp() override {
    worker_ = std::make_unique<WorkerImpl>(0);
    std::vector<Event::Dispatcher*> workers{&worker_->dispatcher()};
    cluster_manager_ = std::make_unique<Upstream::ClusterManager>(
        stats_, workers, main_,
        [](Event::Dispatcher& dispatcher, const Upstream::Host& host,
           const Upstream::ClusterInfoConstSharedPtr& cluster) -> Upstream::HttpConnPoolPtr {
          return std::make_unique<Upstream::HttpConnPoolImpl>(dispatcher, cluster, host);
        });
    routes_ = std::make_unique<Hcm::RouteConfigProviderManagerImpl>(
        workers, main_,
        [](const envoy::config::route::v3::RouteConfiguration& config,
           bool) -> absl::StatusOr<Router::RouteTableConstSharedPtr> {
          return Router::RouteTable::create(config, Router::RouteTableOptions{});
        });
    context_.reset(
        new Extensions::NetworkFilters::FactoryContext{stats_, *cluster_manager_, routes_.get()});
    worker_->start();
  }

  void TearDown() override {
    worker_->stop();
    FakeOriginalDst::clear();
  }

  void runUntilApplied(const std::function<void(std::function<void()>)>& start) {
    Server::runUntilApplied(main_, start);
  }

  void addPassthroughCluster(std::chrono::milliseconds cleanup_interval = 0ms) {
    envoy::config::cluster::v3::Cluster c;
    c.set_name("passthrough");
    c.set_type(envoy::config::cluster::v3::Cluster::ORIGINAL_DST);
    c.set_lb_policy(envoy::config::cluster::v3::Cluster::CLUSTER_PROVIDED);
    if (cleanup_interval.count() > 0) {
      c.mutable_cleanup_interval()->set_nanos(cleanup_interval.count() * 1000000);
    }
    runUntilApplied([&](auto done) {
      ASSERT_TRUE(cluster_manager_->addOrUpdateCluster(c, [done] { done(); }).ok());
    });
  }

  // An HTTP connection manager routing everything to the passthrough cluster.
  Network::NetworkFilterFactoryCb httpToPassthrough() {
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager hcm;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(R"(
      stat_prefix: "outbound"
      route_config {
        name: "allow_any"
        virtual_hosts {
          name: "allow_any"
          domains: "*"
          routes { match { prefix: "/" } route { cluster: "passthrough" } }
        }
      }
      http_filters { name: "envoy.filters.http.router" }
    )",
                                                              &hcm));
    google::protobuf::Any any;
    any.PackFrom(hcm);
    auto cb = Hcm::HttpConnectionManagerConfigFactory().createFilterFactory(any, *context_);
    EXPECT_TRUE(cb.ok()) << cb.status();
    return *cb;
  }

  // Istio's outbound capture listener with an HTTP filter chain; returns its bound address.
  InstanceConstSharedPtr addOutboundListener() {
    auto config = std::make_shared<ListenerConfig>();
    config->name = "outbound";
    config->tag = 1;
    config->listener_filters.push_back(
        Extensions::ListenerFilters::OriginalDst::createOriginalDstFilter(
            &FakeOriginalDst::lookup));
    auto socket = Network::createListenSocket(*addr("127.0.0.1", 0), /*reuse_port=*/true, 128);
    EXPECT_TRUE(socket.ok()) << socket.status();
    const int fd = (*socket)->fd();
    config->address = Network::localAddress(fd);
    sockets_.push_back(std::move(*socket));
    FilterChainConfig chain;
    chain.filter_factories.push_back(httpToPassthrough());
    config->filter_chains.push_back(std::move(chain));
    listener_stats_ = createListenerStats(stats_, "outbound");
    config->stats = listener_stats_.get();
    InstanceConstSharedPtr address = config->address;
    ListenerConfigConstSharedPtr shared = std::move(config);
    runUntilApplied([&](auto done) {
      worker_->addOrUpdateListener(shared, fd, [this, done] { main_.post(done); });
    });
    return address;
  }

  uint64_t counter(const std::string& name) { return stats_.counter(name).value(); }

  Stats::StoreImpl stats_;
  Event::DispatcherImpl main_{"main"};
  std::unique_ptr<WorkerImpl> worker_;
  std::unique_ptr<Upstream::ClusterManager> cluster_manager_;
  std::unique_ptr<Hcm::RouteConfigProviderManagerImpl> routes_;
  std::unique_ptr<Extensions::NetworkFilters::FactoryContext> context_;
  std::unique_ptr<ListenerStats> listener_stats_;
  std::vector<Network::IoHandlePtr> sockets_;
};

TEST_F(OriginalDstHttpTest, RequestsGoToEachConnectionsOriginalDestination) {
  HttpBackend a("a");
  HttpBackend b("b");
  addPassthroughCluster();
  auto outbound = addOutboundListener();

  HttpClient to_a(*outbound, addr("127.0.0.1", a.port()));
  HttpClient to_b(*outbound, addr("127.0.0.1", b.port()));
  for (int i = 0; i < 3; ++i) {
    auto ra = to_a.get();
    EXPECT_EQ(ra.status, 200);
    EXPECT_EQ(ra.body, "a");
    auto rb = to_b.get();
    EXPECT_EQ(rb.status, 200);
    EXPECT_EQ(rb.body, "b");
  }
  // Keep-alive per destination: one upstream connection each, reused by every request.
  EXPECT_EQ(a.accepted(), 1);
  EXPECT_EQ(b.accepted(), 1);
  EXPECT_EQ(counter("cluster.passthrough.upstream_rq_total"), 6u);
  EXPECT_EQ(counter("cluster.passthrough.upstream_cx_total"), 2u);

  // Another downstream connection to the same destination reuses the pooled connection.
  HttpClient again(*outbound, addr("127.0.0.1", a.port()));
  EXPECT_EQ(again.get().body, "a");
  EXPECT_EQ(a.accepted(), 1);
}

TEST_F(OriginalDstHttpTest, NotRedirectedIsNoHealthyUpstream) {
  addPassthroughCluster();
  auto outbound = addOutboundListener();
  // The destination would be skiff itself: no host, a 503 instead of a loop.
  HttpClient direct(*outbound, std::nullopt);
  auto response = direct.get();
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body, "no healthy upstream");
  EXPECT_EQ(counter("cluster.passthrough.upstream_cx_none_healthy"), 1u);
  EXPECT_EQ(counter("cluster.passthrough.upstream_cx_total"), 0u);
}

// cleanup_interval: a destination nobody used for an interval loses its pool, and so its idle
// keep-alive connection; the next request to it opens a new one.
TEST_F(OriginalDstHttpTest, UnusedDestinationsPoolsAreCleanedUp) {
  HttpBackend a("a");
  addPassthroughCluster(/*cleanup_interval=*/100ms);
  auto outbound = addOutboundListener();
  HttpClient client(*outbound, addr("127.0.0.1", a.port()));
  EXPECT_EQ(client.get().body, "a");
  EXPECT_EQ(counter("cluster.passthrough.upstream_cx_total"), 1u);
  // Poll (generous deadline): the pool goes within two intervals, closing its connection.
  for (int i = 0; i < 200 && stats_.gauge("cluster.passthrough.upstream_cx_active").value() != 0;
       ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(stats_.gauge("cluster.passthrough.upstream_cx_active").value(), 0u);
  EXPECT_EQ(client.get().body, "a");
  EXPECT_EQ(counter("cluster.passthrough.upstream_cx_total"), 2u);
  EXPECT_EQ(a.accepted(), 2);
}

}  // namespace
}  // namespace Skiff::Server
