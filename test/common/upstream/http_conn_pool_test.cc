// The HTTP/1.1 connection pool against real loopback backends (themselves built on the server
// codec): reuse, limits, failures, the idle-close race, timeouts. No timing asserts: every wait
// polls with a generous deadline.

#include <sys/socket.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/http/http1/codec_impl.h"
#include "source/common/network/connection_impl.h"
#include "source/common/network/listener_impl.h"
#include "source/common/stats/stats_impl.h"
#include "source/common/upstream/http_conn_pool_impl.h"

namespace Skiff::Upstream {
namespace {

using namespace std::chrono_literals;

/**
 * An HTTP/1.1 server on 127.0.0.1 for the pool to talk to. Each request is handed to `handler`
 * (default: 200 with body "ok").
 */
class Backend : public Network::ListenerCallbacks {
 public:
  class Conn;

  class Request : public Http::RequestDecoder {
   public:
    Request(Conn& conn, Http::ResponseEncoder& encoder) : conn(conn), encoder(encoder) {}
    void decodeHeaders(Http::RequestHeaderMapPtr&& h, bool end_stream) override {
      headers = std::move(h);
      if (end_stream) {
        conn.backend.onRequest(*this);
      }
    }
    void decodeData(Buffer::Instance& data, bool end_stream) override {
      body += data.toString();
      data.drain(data.length());
      if (end_stream) {
        conn.backend.onRequest(*this);
      }
    }
    void respond(uint32_t status = 200, absl::string_view text = "ok",
                 bool connection_close = false) {
      Http::ResponseHeaderMap response;
      response.setStatus(status);
      response.addLowerCase("content-length", std::to_string(text.size()));
      if (connection_close) {
        response.addLowerCase("connection", "close");
      }
      encoder.encodeHeaders(response, text.empty());
      if (!text.empty()) {
        Buffer::OwnedImpl data(text);
        encoder.encodeData(data, true);
      }
    }

    Conn& conn;
    Http::ResponseEncoder& encoder;
    Http::RequestHeaderMapPtr headers;
    std::string body;
  };

  class Conn : public Network::ReadFilter, public Http::ServerConnectionCallbacks {
   public:
    explicit Conn(Backend& backend) : backend(backend) {}
    void initializeReadFilterCallbacks(Network::ReadFilterCallbacks&) override {}
    Network::FilterStatus onNewConnection() override { return Network::FilterStatus::Continue; }
    Network::FilterStatus onData(Buffer::Instance& data, bool end_stream) override {
      codec->dispatch(data, end_stream);
      return Network::FilterStatus::StopIteration;
    }
    Http::RequestDecoder& newStream(Http::ResponseEncoder& encoder) override {
      ++requests;
      streams.push_back(std::make_unique<Request>(*this, encoder));
      return *streams.back();
    }

    Backend& backend;
    std::unique_ptr<Network::ConnectionImpl> connection;
    std::unique_ptr<Http::Http1::ServerConnectionImpl> codec;
    std::deque<std::unique_ptr<Request>> streams;
    int requests{0};
  };

  explicit Backend(Event::Dispatcher& dispatcher) : dispatcher_(dispatcher) {
    auto any = *Network::Address::Instance::parse("127.0.0.1", 0);
    socket_ = std::move(*Network::createListenSocket(*any, false, 128));
    address = Network::localAddress(socket_->fd());
    listener_ = std::make_unique<Network::ListenerImpl>(dispatcher_, socket_->fd(), *this);
  }
  ~Backend() override {
    listener_.reset();
    for (auto& conn : conns) {
      if (conn->connection->state() != Network::Connection::State::Closed) {
        conn->connection->close(Network::ConnectionCloseType::NoFlush);
      }
    }
    for (auto& conn : conns) {
      conn->codec.reset();
      conn->connection.reset();  // It holds the Conn as a read filter: break the cycle.
    }
  }

  void onAccept(Network::IoHandlePtr&& socket,
                Network::Address::InstanceConstSharedPtr remote) override {
    auto conn = std::make_shared<Conn>(*this);
    conn->connection = std::make_unique<Network::ConnectionImpl>(dispatcher_, std::move(socket),
                                                                 remote, address, true);
    conn->connection->enableHalfClose(true);
    conn->codec = std::make_unique<Http::Http1::ServerConnectionImpl>(*conn->connection, *conn,
                                                                      Http::Http1Settings{});
    conn->connection->addReadFilter(conn);
    conn->connection->initializeReadFilters();
    conns.push_back(conn);
  }

  void onRequest(Request& request) {
    ++requests;
    if (handler) {
      handler(request);
    } else {
      request.respond();
    }
  }

  // The server closes every connection it has (as a keep-alive timeout would).
  void closeAll() {
    for (auto& conn : conns) {
      if (conn->connection->state() == Network::Connection::State::Open) {
        conn->connection->close(Network::ConnectionCloseType::NoFlush);
      }
    }
  }
  size_t openConnections() const {
    size_t n = 0;
    for (const auto& conn : conns) {
      n += conn->connection->state() != Network::Connection::State::Closed;
    }
    return n;
  }

  Network::Address::InstanceConstSharedPtr address;
  std::vector<std::shared_ptr<Conn>> conns;
  std::function<void(Request&)> handler;
  int requests{0};

 private:
  Event::Dispatcher& dispatcher_;
  Network::IoHandlePtr socket_;
  std::unique_ptr<Network::ListenerImpl> listener_;
};

// What the router would be: sends a GET when the pool is ready and records the response.
class Client : public HttpConnPoolCallbacks,
               public Http::ResponseDecoder,
               public Http::StreamCallbacks {
 public:
  explicit Client(std::string path = "/", std::string method = "GET") {
    headers.setMethod(method);
    headers.setPath(path);
    headers.setHost("backend");
  }

  void onPoolFailure(PoolFailureReason reason, absl::string_view transport) override {
    failure = reason;
    failed = true;
    failure_text = std::string(transport);
  }
  void onPoolReady(Http::RequestEncoder& encoder, const Host&) override {
    ready = true;
    this->encoder = &encoder;
    encoder.getStream().addCallbacks(*this);
    EXPECT_TRUE(encoder.encodeHeaders(headers, true).isOk());
  }
  void decode1xxHeaders(Http::ResponseHeaderMapPtr&&) override {}
  void decodeHeaders(Http::ResponseHeaderMapPtr&& h, bool end_stream) override {
    status = h->status();
    complete = end_stream;
  }
  void decodeData(Buffer::Instance& data, bool end_stream) override {
    body += data.toString();
    data.drain(data.length());
    complete = end_stream;
  }
  void onResetStream(Http::StreamResetReason reason, absl::string_view) override {
    reset = true;
    reset_reason = reason;
  }
  void onAboveWriteBufferHighWatermark() override {}
  void onBelowWriteBufferLowWatermark() override {}

  bool done() const { return complete || failed || reset; }

  Http::RequestHeaderMap headers;
  Http::RequestEncoder* encoder{nullptr};
  Cancellable* handle{nullptr};
  bool ready{false};
  bool failed{false};
  bool complete{false};
  bool reset{false};
  PoolFailureReason failure{PoolFailureReason::Overflow};
  Http::StreamResetReason reset_reason{Http::StreamResetReason::LocalReset};
  std::string failure_text;
  uint32_t status{0};
  std::string body;
};

class HttpConnPoolTest : public testing::Test {
 protected:
  // A cluster pointing at `address`, with `config` applied to the Cluster proto first.
  void makePool(Network::Address::InstanceConstSharedPtr address,
                std::function<void(envoy::config::cluster::v3::Cluster&)> config = nullptr) {
    envoy::config::cluster::v3::Cluster proto;
    proto.set_name("backend");
    if (config) {
      config(proto);
    }
    auto info = *buildClusterInfo(proto);
    stats_ = generateClusterStats(store_, "backend");
    info->stats = stats_.get();
    cluster_ = info;
    host_.address = std::move(address);
    pool_ = std::make_unique<HttpConnPoolImpl>(dispatcher_, cluster_, host_);
  }

  void send(Client& client) { client.handle = pool_->newStream(client, client); }

  // Runs the loop until `done` holds (polling every 2 ms) or 10 s pass.
  bool runUntil(std::function<bool()> done) {
    bool ok = false;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    Event::TimerPtr poll;
    poll = dispatcher_.createTimer([&] {
      if (done()) {
        ok = true;
        dispatcher_.exit();
      } else if (std::chrono::steady_clock::now() > deadline) {
        dispatcher_.exit();
      } else {
        poll->enableTimer(2ms);
      }
    });
    poll->enableTimer(0ms);
    dispatcher_.run(Event::Dispatcher::RunType::Block);
    return ok;
  }

  uint64_t counter(const std::string& name) {
    return store_.counter("cluster.backend." + name).value();
  }
  int64_t gauge(const std::string& name) { return store_.gauge("cluster.backend." + name).value(); }

  void TearDown() override {
    pool_.reset();
    dispatcher_.run(Event::Dispatcher::RunType::NonBlock);  // Deferred deletions.
  }

  Event::DispatcherImpl dispatcher_{"test"};
  Stats::StoreImpl store_;
  std::unique_ptr<ClusterStats> stats_;
  ClusterInfoConstSharedPtr cluster_;
  Host host_;
  std::unique_ptr<HttpConnPoolImpl> pool_;
};

void setBreakers(envoy::config::cluster::v3::Cluster& proto, uint32_t connections, uint32_t pending,
                 uint32_t requests) {
  auto* thresholds = proto.mutable_circuit_breakers()->add_thresholds();
  thresholds->mutable_max_connections()->set_value(connections);
  thresholds->mutable_max_pending_requests()->set_value(pending);
  thresholds->mutable_max_requests()->set_value(requests);
}

TEST_F(HttpConnPoolTest, KeepAliveReusesOneConnection) {
  Backend backend(dispatcher_);
  makePool(backend.address);
  for (int i = 0; i < 5; ++i) {
    Client client("/" + std::to_string(i));
    send(client);
    ASSERT_TRUE(runUntil([&] { return client.done(); }));
    EXPECT_TRUE(client.complete);
    EXPECT_EQ(client.status, 200u);
    EXPECT_EQ(client.body, "ok");
  }
  EXPECT_EQ(backend.conns.size(), 1u);
  EXPECT_EQ(backend.requests, 5);
  EXPECT_EQ(counter("upstream_cx_total"), 1u);
  EXPECT_EQ(counter("upstream_rq_total"), 5u);
  EXPECT_EQ(counter("upstream_rq_pending_total"), 1u);  // Only the first waited for a connect.
  EXPECT_EQ(gauge("upstream_rq_active"), 0);
  EXPECT_EQ(gauge("upstream_rq_pending_active"), 0);
  EXPECT_EQ(gauge("upstream_cx_active"), 1);
  EXPECT_EQ(pool_->readyCount(), 1u);
}

TEST_F(HttpConnPoolTest, ConcurrentRequestsGetTheirOwnConnectionsThenMostRecentIsReused) {
  Backend backend(dispatcher_);
  std::vector<Backend::Request*> held;
  backend.handler = [&](Backend::Request& request) { held.push_back(&request); };
  makePool(backend.address);
  Client a("/a"), b("/b"), c("/c");
  send(a);
  send(b);
  send(c);
  ASSERT_TRUE(runUntil([&] { return held.size() == 3; }));
  EXPECT_EQ(pool_->busyCount(), 3u);
  // Answer b last: its connection becomes the most recently used.
  held[0]->respond();
  held[2]->respond();
  ASSERT_TRUE(runUntil([&] { return a.done() && c.done(); }));
  held[1]->respond();
  ASSERT_TRUE(runUntil([&] { return b.done(); }));
  EXPECT_EQ(pool_->readyCount(), 3u);
  Backend::Conn* b_conn = &held[1]->conn;
  backend.handler = nullptr;
  Client d("/d");
  send(d);
  EXPECT_EQ(d.handle, nullptr);  // An idle connection: ready at once.
  EXPECT_TRUE(d.ready);
  ASSERT_TRUE(runUntil([&] { return d.done(); }));
  EXPECT_EQ(b_conn->requests, 2);  // LIFO: b's connection carried d.
  EXPECT_EQ(counter("upstream_cx_total"), 3u);
}

TEST_F(HttpConnPoolTest, ServerClosingAnIdleConnectionIsDroppedSilently) {
  Backend backend(dispatcher_);
  makePool(backend.address);
  Client first;
  send(first);
  ASSERT_TRUE(runUntil([&] { return first.done(); }));
  ASSERT_EQ(pool_->readyCount(), 1u);
  backend.closeAll();
  ASSERT_TRUE(runUntil([&] { return pool_->readyCount() == 0; }));
  EXPECT_FALSE(pool_->hasActiveConnections());
  EXPECT_EQ(counter("upstream_cx_destroy_remote"), 1u);
  EXPECT_EQ(counter("upstream_cx_destroy_with_active_rq"), 0u);
  Client second;
  send(second);
  ASSERT_TRUE(runUntil([&] { return second.done(); }));
  EXPECT_TRUE(second.complete);
  EXPECT_EQ(backend.conns.size(), 2u);
}

// The server closes a kept-alive connection just as a request is sent on it, before any
// response: the request moves to a fresh connection and the router never notices.
TEST_F(HttpConnPoolTest, RequestRacingAnIdleCloseIsRetriedOnAFreshConnection) {
  Backend backend(dispatcher_);
  backend.handler = [&](Backend::Request& request) {
    if (request.conn.requests == 2) {
      // Second request on this connection: hang up without answering.
      request.conn.connection->close(Network::ConnectionCloseType::NoFlush);
      return;
    }
    request.respond(200, request.headers->path());
  };
  makePool(backend.address);
  Client first("/first");
  send(first);
  ASSERT_TRUE(runUntil([&] { return first.done(); }));
  Client second("/second");
  send(second);
  ASSERT_TRUE(runUntil([&] { return second.done(); }));
  EXPECT_TRUE(second.complete) << "reset: " << second.reset;
  EXPECT_FALSE(second.reset);
  EXPECT_EQ(second.body, "/second");
  EXPECT_EQ(backend.conns.size(), 2u);
  EXPECT_EQ(counter("upstream_rq_pool_retry"), 1u);
  EXPECT_EQ(gauge("upstream_rq_active"), 0);
  EXPECT_EQ(gauge("upstream_rq_pending_active"), 0);
}

// Only once, and never a request with a body already sent, nor a first request on a connection.
TEST_F(HttpConnPoolTest, CloseBeforeResponseOnAFreshConnectionIsAReset) {
  Backend backend(dispatcher_);
  backend.handler = [&](Backend::Request& request) {
    request.conn.connection->close(Network::ConnectionCloseType::NoFlush);
  };
  makePool(backend.address);
  Client client;
  send(client);
  ASSERT_TRUE(runUntil([&] { return client.done(); }));
  EXPECT_TRUE(client.reset);
  EXPECT_EQ(client.reset_reason, Http::StreamResetReason::RemoteReset);
  EXPECT_EQ(counter("upstream_rq_pool_retry"), 0u);
  EXPECT_EQ(counter("upstream_cx_destroy_with_active_rq"), 1u);
}

TEST_F(HttpConnPoolTest, NonIdempotentRequestThatReachedTheServerIsNotRetried) {
  Backend backend(dispatcher_);
  backend.handler = [&](Backend::Request& request) {
    if (request.conn.requests == 2) {
      request.conn.connection->close(Network::ConnectionCloseType::NoFlush);
      return;
    }
    request.respond();
  };
  makePool(backend.address);
  Client first;
  send(first);
  ASSERT_TRUE(runUntil([&] { return first.done(); }));
  Client post("/", "POST");
  send(post);
  ASSERT_TRUE(runUntil([&] { return post.done(); }));
  EXPECT_TRUE(post.reset);
  EXPECT_EQ(counter("upstream_rq_pool_retry"), 0u);
}

TEST_F(HttpConnPoolTest, MaxConnectionsQueuesTheRest) {
  Backend backend(dispatcher_);
  makePool(backend.address, [](auto& proto) { setBreakers(proto, 1, 10, 10); });
  Client a("/a"), b("/b"), c("/c");
  send(a);
  send(b);
  send(c);
  EXPECT_NE(b.handle, nullptr);
  EXPECT_EQ(pool_->connectingCount(), 1u);
  EXPECT_EQ(pool_->pendingCount(), 3u);
  EXPECT_GE(counter("upstream_cx_overflow"), 1u);
  ASSERT_TRUE(runUntil([&] { return a.done() && b.done() && c.done(); }));
  EXPECT_TRUE(a.complete && b.complete && c.complete);
  EXPECT_EQ(backend.conns.size(), 1u);
  EXPECT_EQ(cluster_->resource_manager->connections.count(), 1u);
  EXPECT_EQ(cluster_->resource_manager->requests.count(), 0u);
  EXPECT_EQ(cluster_->resource_manager->pending_requests.count(), 0u);
}

TEST_F(HttpConnPoolTest, MaxPendingRequestsOverflows) {
  Backend backend(dispatcher_);
  makePool(backend.address, [](auto& proto) { setBreakers(proto, 1, 2, 10); });
  Client a, b, c;
  send(a);
  send(b);
  send(c);
  EXPECT_TRUE(c.failed);
  EXPECT_EQ(c.failure, PoolFailureReason::Overflow);
  EXPECT_EQ(c.handle, nullptr);
  EXPECT_EQ(counter("upstream_rq_pending_overflow"), 1u);
  ASSERT_TRUE(runUntil([&] { return a.done() && b.done(); }));
  EXPECT_TRUE(a.complete && b.complete);
}

TEST_F(HttpConnPoolTest, MaxRequestsOverflows) {
  Backend backend(dispatcher_);
  std::vector<Backend::Request*> held;
  backend.handler = [&](Backend::Request& request) { held.push_back(&request); };
  makePool(backend.address, [](auto& proto) { setBreakers(proto, 10, 10, 1); });
  Client a;
  send(a);
  ASSERT_TRUE(runUntil([&] { return held.size() == 1; }));
  Client b;
  send(b);
  EXPECT_TRUE(b.failed);
  EXPECT_EQ(b.failure, PoolFailureReason::Overflow);
  held[0]->respond();
  ASSERT_TRUE(runUntil([&] { return a.done(); }));
  backend.handler = nullptr;
  Client c;
  send(c);
  ASSERT_TRUE(runUntil([&] { return c.done(); }));
  EXPECT_TRUE(c.complete);
}

TEST_F(HttpConnPoolTest, CancelledRequestGetsNoCallback) {
  Backend backend(dispatcher_);
  makePool(backend.address);
  Client a, b;
  send(a);
  send(b);
  ASSERT_NE(b.handle, nullptr);
  b.handle->cancel();
  EXPECT_EQ(counter("upstream_rq_cancelled"), 1u);
  ASSERT_TRUE(runUntil([&] { return a.done() && pool_->connectingCount() == 0; }));
  EXPECT_FALSE(b.ready || b.failed || b.reset);
  EXPECT_EQ(backend.requests, 1);
  // The connection made for b is kept for the next request.
  EXPECT_EQ(pool_->readyCount(), 2u);
  EXPECT_EQ(gauge("upstream_rq_pending_active"), 0);
}

TEST_F(HttpConnPoolTest, ConnectionRefusedFailsThePendingRequest) {
  // A port nobody listens on: bind one, then close it.
  Network::Address::InstanceConstSharedPtr address;
  {
    Backend gone(dispatcher_);
    address = gone.address;
  }
  makePool(address);
  Client client;
  send(client);
  ASSERT_TRUE(runUntil([&] { return client.done(); }));
  EXPECT_TRUE(client.failed);
  EXPECT_EQ(client.failure, PoolFailureReason::ConnectionFailure);
  EXPECT_NE(client.failure_text.find("refused"), std::string::npos) << client.failure_text;
  EXPECT_EQ(counter("upstream_cx_connect_fail"), 1u);
  EXPECT_EQ(counter("upstream_rq_pending_failure_eject"), 1u);
  EXPECT_EQ(gauge("upstream_cx_active"), 0);
  EXPECT_FALSE(pool_->hasActiveConnections());
}

TEST_F(HttpConnPoolTest, ConnectTimeoutFailsThePendingRequest) {
  // A listener that never accepts, with its queue full: new SYNs go unanswered.
  auto any = *Network::Address::Instance::parse("127.0.0.1", 0);
  Network::IoHandlePtr listen = std::move(*Network::createListenSocket(*any, false, 0));
  auto address = Network::localAddress(listen->fd());
  std::vector<int> fillers;
  for (int i = 0; i < 8; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fd, address->sockAddr(), address->sockAddrLen());
    fillers.push_back(fd);
  }
  makePool(address, [](auto& proto) { proto.mutable_connect_timeout()->set_nanos(200 * 1000000); });
  Client client;
  send(client);
  ASSERT_TRUE(runUntil([&] { return client.done(); }));
  EXPECT_TRUE(client.failed);
  EXPECT_EQ(client.failure, PoolFailureReason::Timeout);
  EXPECT_EQ(counter("upstream_cx_connect_timeout"), 1u);
  for (int fd : fillers) {
    close(fd);
  }
}

TEST_F(HttpConnPoolTest, IdleTimeoutClosesUnusedConnections) {
  Backend backend(dispatcher_);
  makePool(backend.address, [](auto& proto) {
    proto.mutable_common_http_protocol_options()->mutable_idle_timeout()->set_nanos(100 * 1000000);
  });
  Client client;
  send(client);
  ASSERT_TRUE(runUntil([&] { return client.done(); }));
  ASSERT_TRUE(runUntil([&] { return !pool_->hasActiveConnections(); }));
  EXPECT_EQ(counter("upstream_cx_idle_timeout"), 1u);
  EXPECT_EQ(counter("upstream_cx_destroy_local"), 1u);
}

TEST_F(HttpConnPoolTest, MaxRequestsPerConnection) {
  Backend backend(dispatcher_);
  makePool(backend.address, [](auto& proto) {
    proto.mutable_common_http_protocol_options()->mutable_max_requests_per_connection()->set_value(
        2);
  });
  for (int i = 0; i < 3; ++i) {
    Client client;
    send(client);
    ASSERT_TRUE(runUntil([&] { return client.done(); }));
    EXPECT_TRUE(client.complete);
  }
  EXPECT_EQ(backend.conns.size(), 2u);
  EXPECT_EQ(counter("upstream_cx_max_requests"), 1u);
}

TEST_F(HttpConnPoolTest, ConnectionCloseResponseIsNotReused) {
  Backend backend(dispatcher_);
  backend.handler = [](Backend::Request& request) { request.respond(200, "bye", true); };
  makePool(backend.address);
  Client a;
  send(a);
  ASSERT_TRUE(runUntil([&] { return a.done(); }));
  EXPECT_EQ(a.body, "bye");
  ASSERT_TRUE(runUntil([&] { return !pool_->hasActiveConnections(); }));
  Client b;
  send(b);
  ASSERT_TRUE(runUntil([&] { return b.done(); }));
  EXPECT_EQ(backend.conns.size(), 2u);
}

TEST_F(HttpConnPoolTest, DrainClosesIdleNowAndBusyAfterTheirStream) {
  Backend backend(dispatcher_);
  std::vector<Backend::Request*> held;
  backend.handler = [&](Backend::Request& request) {
    if (request.headers->path() == "/hold") {
      held.push_back(&request);
    } else {
      request.respond();
    }
  };
  makePool(backend.address);
  Client idle("/"), busy("/hold");
  send(idle);
  send(busy);
  ASSERT_TRUE(runUntil([&] { return idle.done() && held.size() == 1; }));
  pool_->drainConnections();
  EXPECT_EQ(pool_->readyCount(), 0u);
  EXPECT_EQ(pool_->busyCount(), 1u);
  held[0]->respond();
  ASSERT_TRUE(runUntil([&] { return busy.done() && !pool_->hasActiveConnections(); }));
  EXPECT_TRUE(busy.complete);
}

TEST_F(HttpConnPoolTest, DrainedPoolStillServesButKeepsNoIdleConnection) {
  // The server's drain: requests on draining downstream connections keep coming; each gets a
  // connection, which closes when its stream ends instead of idling in the pool (an idle one
  // would hold the drain open until the drain time runs out).
  Backend backend(dispatcher_);
  backend.handler = [](Backend::Request& request) { request.respond(); };
  makePool(backend.address);
  pool_->drainConnections();
  for (int i = 0; i < 2; ++i) {
    Client c;
    send(c);
    ASSERT_TRUE(runUntil([&] { return c.done() && !pool_->hasActiveConnections(); }));
    EXPECT_TRUE(c.complete);
    EXPECT_EQ(pool_->readyCount(), 0u);
  }
  EXPECT_EQ(backend.conns.size(), 2u);
}

TEST_F(HttpConnPoolTest, DestroyingThePoolFailsWaitingAndResetsActiveRequests) {
  Backend backend(dispatcher_);
  std::vector<Backend::Request*> held;
  backend.handler = [&](Backend::Request& request) { held.push_back(&request); };
  makePool(backend.address, [](auto& proto) { setBreakers(proto, 1, 10, 10); });
  Client active, waiting;
  send(active);
  send(waiting);
  ASSERT_TRUE(runUntil([&] { return held.size() == 1; }));
  pool_.reset();
  EXPECT_TRUE(active.reset);
  EXPECT_TRUE(waiting.failed);
  EXPECT_EQ(waiting.failure, PoolFailureReason::PoolDrained);
  EXPECT_EQ(gauge("upstream_cx_active"), 0);
  EXPECT_EQ(gauge("upstream_rq_active"), 0);
  EXPECT_EQ(gauge("upstream_rq_pending_active"), 0);
  EXPECT_EQ(cluster_->resource_manager->connections.count(), 0u);
}

TEST_F(HttpConnPoolTest, RouterResetClosesTheConnection) {
  Backend backend(dispatcher_);
  std::vector<Backend::Request*> held;
  backend.handler = [&](Backend::Request& request) { held.push_back(&request); };
  makePool(backend.address);
  Client client;
  send(client);
  ASSERT_TRUE(runUntil([&] { return held.size() == 1; }));
  client.encoder->getStream().resetStream(Http::StreamResetReason::LocalReset);
  EXPECT_TRUE(client.reset);
  EXPECT_EQ(client.reset_reason, Http::StreamResetReason::LocalReset);
  ASSERT_TRUE(runUntil([&] { return !pool_->hasActiveConnections(); }));
  EXPECT_EQ(gauge("upstream_rq_active"), 0);
}

}  // namespace
}  // namespace Skiff::Upstream
