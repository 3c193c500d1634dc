// The ADS client against a scripted management server on a real loopback gRPC stream: what the
// client sends (ACK, NACK, versions, nonces, resubscription) is checked request by request.
#include "source/common/config/xds/ads_client.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "gtest/gtest.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/stats/stats_impl.h"

namespace Skiff::Config::Xds {
namespace {

using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;
using namespace std::chrono_literals;

// A blocking queue shared by a gRPC handler thread and the test.
template <class T>
class Queue {
 public:
  void push(T value) {
    std::lock_guard<std::mutex> lock(mutex_);
    items_.push_back(std::move(value));
    cv_.notify_all();
  }
  bool pop(T& out, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!cv_.wait_for(lock, timeout, [this] { return !items_.empty(); })) {
      return false;
    }
    out = std::move(items_.front());
    items_.pop_front();
    return true;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<T> items_;
};

// A management server whose responses the test writes by hand. One stream at a time.
class ScriptedServer : public envoy::service::discovery::v3::AggregatedDiscoveryService::Service {
 public:
  // On `port` (0: any free one).
  explicit ScriptedServer(int port = 0) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~ScriptedServer() override {
    closeStream();
    server_->Shutdown(std::chrono::system_clock::now() + 1s);
  }

  grpc::Status StreamAggregatedResources(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<DiscoveryResponse, DiscoveryRequest>* stream) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      sotw_ = stream;
      context_ = context;
      ++streams_;
    }
    DiscoveryRequest request;
    while (stream->Read(&request)) {
      requests.push(request);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    sotw_ = nullptr;
    context_ = nullptr;
    return grpc::Status::OK;
  }

  grpc::Status DeltaAggregatedResources(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<DeltaDiscoveryResponse, DeltaDiscoveryRequest>* stream) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      delta_ = stream;
      context_ = context;
      ++streams_;
    }
    DeltaDiscoveryRequest request;
    while (stream->Read(&request)) {
      delta_requests.push(request);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    delta_ = nullptr;
    context_ = nullptr;
    return grpc::Status::OK;
  }

  void send(const DiscoveryResponse& response) {
    std::lock_guard<std::mutex> lock(mutex_);
    ASSERT_NE(sotw_, nullptr);
    sotw_->Write(response);
  }
  void send(const DeltaDiscoveryResponse& response) {
    std::lock_guard<std::mutex> lock(mutex_);
    ASSERT_NE(delta_, nullptr);
    delta_->Write(response);
  }
  // Ends the current stream from the server side, as a restarting management server would.
  void closeStream() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (context_ != nullptr) {
      context_->TryCancel();
    }
  }
  int streams() {
    std::lock_guard<std::mutex> lock(mutex_);
    return streams_;
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  Queue<DiscoveryRequest> requests;
  Queue<DeltaDiscoveryRequest> delta_requests;

 private:
  int port_{0};
  std::unique_ptr<grpc::Server> server_;
  std::mutex mutex_;
  grpc::ServerReaderWriter<DiscoveryResponse, DiscoveryRequest>* sotw_{nullptr};
  grpc::ServerReaderWriter<DeltaDiscoveryResponse, DeltaDiscoveryRequest>* delta_{nullptr};
  grpc::ServerContext* context_{nullptr};
  int streams_{0};
};

// Records updates; answers each with the next scripted status (OK by default).
class RecordingCallbacks : public SubscriptionCallbacks {
 public:
  void onConfigUpdate(ConfigUpdate update, UpdateDoneCb done) override {
    absl::Status status = absl::OkStatus();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!statuses_.empty()) {
        status = statuses_.front();
        statuses_.pop_front();
      }
    }
    updates.push(std::move(update));
    done(status);
  }
  void onStreamStatus(bool) override {}
  void failNext(absl::Status status) {
    std::lock_guard<std::mutex> lock(mutex_);
    statuses_.push_back(status);
  }

  Queue<ConfigUpdate> updates;

 private:
  std::mutex mutex_;
  std::deque<absl::Status> statuses_;
};

google::protobuf::Any listener(const std::string& name, int port) {
  envoy::config::listener::v3::Listener l;
  l.set_name(name);
  l.mutable_address()->mutable_socket_address()->set_address("127.0.0.1");
  l.mutable_address()->mutable_socket_address()->set_port_value(port);
  google::protobuf::Any any;
  any.PackFrom(l);
  return any;
}

google::protobuf::Any cluster(const std::string& name) {
  envoy::config::cluster::v3::Cluster c;
  c.set_name(name);
  google::protobuf::Any any;
  any.PackFrom(c);
  return any;
}

DiscoveryResponse response(const std::string& type, const std::string& version,
                           const std::string& nonce, std::vector<google::protobuf::Any> items) {
  DiscoveryResponse r;
  r.set_type_url(type);
  r.set_version_info(version);
  r.set_nonce(nonce);
  for (auto& item : items) {
    *r.add_resources() = item;
  }
  return r;
}

class AdsClientTest : public testing::Test {
 protected:
  void start(bool delta) {
    AdsClientOptions options;
    options.target = server_.target();
    options.delta = delta;
    options.node.set_id("sidecar-1");
    options.node.set_cluster("test");
    options.wildcard_types = {kListenerType, kClusterType};
    options.initial_backoff = 50ms;
    options.max_backoff = 200ms;
    client_ = std::make_unique<AdsClient>(dispatcher_, options, callbacks_, stats_);
    thread_ = std::thread([this] { dispatcher_.run(Event::Dispatcher::RunType::Block); });
    dispatcher_.post([this] { client_->start(); });
  }

  void TearDown() override {
    dispatcher_.post([this] {
      client_->shutdown();
      dispatcher_.exit();
    });
    thread_.join();
  }

  DiscoveryRequest nextRequest() {
    DiscoveryRequest request;
    EXPECT_TRUE(server_.requests.pop(request)) << "no request from the client";
    return request;
  }

  ScriptedServer server_;
  Stats::StoreImpl stats_;
  Event::DispatcherImpl dispatcher_{"control"};
  RecordingCallbacks callbacks_;
  std::unique_ptr<AdsClient> client_;
  std::thread thread_;
};

TEST_F(AdsClientTest, FirstRequestsAreClustersThenListenersWithNodeAndTypeUrl) {
  start(false);
  DiscoveryRequest first = nextRequest();
  DiscoveryRequest second = nextRequest();
  EXPECT_EQ(first.type_url(), kClusterType);
  EXPECT_EQ(second.type_url(), kListenerType);
  for (const auto& r : {first, second}) {
    EXPECT_EQ(r.node().id(), "sidecar-1");
    EXPECT_EQ(r.node().user_agent_name(), "");  // Set by the server layer, not the client.
    EXPECT_EQ(r.version_info(), "");
    EXPECT_EQ(r.response_nonce(), "");
    EXPECT_EQ(r.resource_names_size(), 0);  // Wildcard.
  }
}

TEST_F(AdsClientTest, AcksWithNewVersionAndNonceAfterApplying) {
  start(false);
  nextRequest();
  nextRequest();
  server_.send(response(kListenerType, "v1", "n1", {listener("a", 1000), listener("b", 1001)}));
  ConfigUpdate update;
  ASSERT_TRUE(callbacks_.updates.pop(update));
  EXPECT_EQ(update.type_url, kListenerType);
  EXPECT_EQ(update.version, "v1");
  ASSERT_EQ(update.upserts.size(), 2u);
  EXPECT_EQ(update.upserts[0].name, "a");
  EXPECT_TRUE(update.removes.empty());
  DiscoveryRequest ack = nextRequest();
  EXPECT_EQ(ack.type_url(), kListenerType);
  EXPECT_EQ(ack.version_info(), "v1");
  EXPECT_EQ(ack.response_nonce(), "n1");
  EXPECT_FALSE(ack.has_error_detail());
}

TEST_F(AdsClientTest, MissingFromStateOfTheWorldMeansRemovedAndUnchangedIsSkipped) {
  start(false);
  nextRequest();
  nextRequest();
  server_.send(response(kListenerType, "v1", "n1", {listener("a", 1000), listener("b", 1001)}));
  ConfigUpdate update;
  ASSERT_TRUE(callbacks_.updates.pop(update));
  nextRequest();
  server_.send(response(kListenerType, "v2", "n2", {listener("a", 1000)}));
  ASSERT_TRUE(callbacks_.updates.pop(update));
  EXPECT_EQ(update.version, "v2");
  EXPECT_TRUE(update.upserts.empty());  // "a" did not change.
  EXPECT_EQ(update.removes, std::vector<std::string>{"b"});
  EXPECT_EQ(nextRequest().version_info(), "v2");
}

TEST_F(AdsClientTest, NackKeepsTheLastGoodVersionAndSaysWhy) {
  start(false);
  nextRequest();
  nextRequest();
  server_.send(response(kListenerType, "v1", "n1", {listener("a", 1000)}));
  ConfigUpdate update;
  ASSERT_TRUE(callbacks_.updates.pop(update));
  nextRequest();
  callbacks_.failNext(absl::InvalidArgumentError("listener 'a': port in use"));
  server_.send(response(kListenerType, "v2", "n2", {listener("a", 2000)}));
  ASSERT_TRUE(callbacks_.updates.pop(update));
  DiscoveryRequest nack = nextRequest();
  EXPECT_EQ(nack.version_info(), "v1");
  EXPECT_EQ(nack.response_nonce(), "n2");
  ASSERT_TRUE(nack.has_error_detail());
  EXPECT_EQ(nack.error_detail().code(), 13);
  EXPECT_EQ(nack.error_detail().message(), "listener 'a': port in use");
  EXPECT_EQ(stats_.counter("listener_manager.lds.update_rejected").value(), 1u);
  EXPECT_EQ(stats_.counter("listener_manager.lds.update_success").value(), 1u);
  // The rejected change is not remembered: the same listener again is a change again.
  server_.send(response(kListenerType, "v3", "n3", {listener("a", 2000)}));
  ASSERT_TRUE(callbacks_.updates.pop(update));
  EXPECT_EQ(update.upserts.size(), 1u);
}

TEST_F(AdsClientTest, DuplicateNamesAndWrongTypesAreNackedWithoutApplying) {
  start(false);
  nextRequest();
  nextRequest();
  server_.send(response(kListenerType, "v1", "n1", {listener("a", 1000), listener("a", 1001)}));
  DiscoveryRequest nack = nextRequest();
  ASSERT_TRUE(nack.has_error_detail());
  EXPECT_NE(nack.error_detail().message().find("Listener 'a': duplicate name"), std::string::npos)
      << nack.error_detail().message();
  server_.send(response(kListenerType, "v2", "n2", {cluster("c")}));
  nack = nextRequest();
  ASSERT_TRUE(nack.has_error_detail());
  EXPECT_NE(nack.error_detail().message().find("resource of type"), std::string::npos);
  ConfigUpdate update;
  EXPECT_FALSE(callbacks_.updates.pop(update, 200ms));
}

// A state-of-the-world CDS response with tens of thousands of clusters passes gRPC's 4 MiB default
// limit; it must arrive on the same stream, not break it (the server would resend it forever).
TEST_F(AdsClientTest, ResponsesLargerThanGrpcsDefaultLimitAreAccepted) {
  start(false);
  nextRequest();
  nextRequest();
  std::vector<google::protobuf::Any> clusters;
  for (int i = 0; i < 60; ++i) {
    clusters.push_back(cluster(absl::StrCat("c", i, "-", std::string(100 * 1024, 'x'))));
  }
  DiscoveryResponse big = response(kClusterType, "v1", "n1", clusters);
  ASSERT_GT(big.ByteSizeLong(), 5u * 1024 * 1024);
  server_.send(big);
  ConfigUpdate update;
  ASSERT_TRUE(callbacks_.updates.pop(update));
  EXPECT_EQ(update.upserts.size(), 60u);
  DiscoveryRequest ack = nextRequest();
  EXPECT_EQ(ack.response_nonce(), "n1");
  EXPECT_FALSE(ack.has_error_detail());
  EXPECT_EQ(server_.streams(), 1);
}

TEST_F(AdsClientTest, ReconnectsAndResubscribesWithTheLastAcceptedVersion) {
  start(false);
  nextRequest();
  nextRequest();
  server_.send(response(kClusterType, "c1", "n1", {cluster("backend")}));
  ConfigUpdate update;
  ASSERT_TRUE(callbacks_.updates.pop(update));
  EXPECT_EQ(nextRequest().version_info(), "c1");
  server_.closeStream();
  DiscoveryRequest first = nextRequest();
  DiscoveryRequest second = nextRequest();
  EXPECT_EQ(server_.streams(), 2);
  EXPECT_EQ(first.type_url(), kClusterType);
  EXPECT_EQ(first.version_info(), "c1");
  EXPECT_EQ(first.response_nonce(), "");  // Nonces do not survive a stream.
  EXPECT_EQ(second.type_url(), kListenerType);
  EXPECT_EQ(second.version_info(), "");
}

// A management server that was down for seconds is found again on the client's next attempt
// after it is back (its backoff, at most 200 ms here), not when some longer backoff ends. The
// regression this guards against needs a server killed without a goodbye (gRPC's channel then
// answers attempts from its own reconnect backoff with the last connect error), which an
// in-process server cannot do: test/integration/chaos_test.py's test_1 SIGKILLs skiff-control
// and shows it (converging ~10-19 s after the restart before, ~3-4 s after, which is skiff's own
// backoff).
TEST(AdsClientReconnectTest, ServerBackAfterALongOutageIsFoundOnTheNextAttempt) {
  auto server = std::make_unique<ScriptedServer>();
  const int port = server->port();
  Stats::StoreImpl stats;
  Event::DispatcherImpl dispatcher{"control"};
  RecordingCallbacks callbacks;
  AdsClientOptions options;
  options.target = server->target();
  options.node.set_id("sidecar-1");
  options.wildcard_types = {kListenerType, kClusterType};
  options.initial_backoff = 50ms;
  options.max_backoff = 200ms;
  AdsClient client(dispatcher, options, callbacks, stats);
  std::thread thread([&] { dispatcher.run(Event::Dispatcher::RunType::Block); });
  dispatcher.post([&] { client.start(); });
  DiscoveryRequest request;
  ASSERT_TRUE(server->requests.pop(request));

  server.reset();  // Down for 5.5 s: the channel's own backoff would reach ~4 s by then.
  std::this_thread::sleep_for(5500ms);
  server = std::make_unique<ScriptedServer>(port);
  ASSERT_EQ(server->port(), port);
  const auto back = std::chrono::steady_clock::now();
  ASSERT_TRUE(server->requests.pop(request, 10s)) << "never reconnected";
  // Our backoff is at most 200 ms; the channel's would have been seconds.
  EXPECT_LT(std::chrono::steady_clock::now() - back, 2s);

  dispatcher.post([&] {
    client.shutdown();
    dispatcher.exit();
  });
  thread.join();
}

TEST_F(AdsClientTest, EndpointNamesAreRequestedExplicitly) {
  start(false);
  nextRequest();
  nextRequest();
  dispatcher_.post([this] { client_->updateResourceNames(kEndpointType, {"svc-b", "svc-a"}); });
  DiscoveryRequest request = nextRequest();
  EXPECT_EQ(request.type_url(), kEndpointType);
  ASSERT_EQ(request.resource_names_size(), 2);
  EXPECT_EQ(request.resource_names(0), "svc-a");
  EXPECT_EQ(request.resource_names(1), "svc-b");
}

TEST_F(AdsClientTest, DeltaAcksAndResubscribesWithInitialResourceVersions) {
  start(true);
  DeltaDiscoveryRequest request;
  ASSERT_TRUE(server_.delta_requests.pop(request));
  EXPECT_EQ(request.type_url(), kClusterType);
  EXPECT_EQ(request.node().id(), "sidecar-1");
  ASSERT_TRUE(server_.delta_requests.pop(request));
  EXPECT_EQ(request.type_url(), kListenerType);
  EXPECT_EQ(request.resource_names_subscribe_size(), 0);  // Wildcard.

  DeltaDiscoveryResponse r;
  r.set_type_url(kListenerType);
  r.set_nonce("d1");
  r.set_system_version_info("sys1");
  auto* resource = r.add_resources();
  resource->set_name("a");
  resource->set_version("va");
  *resource->mutable_resource() = listener("a", 1000);
  server_.send(r);
  ConfigUpdate update;
  ASSERT_TRUE(callbacks_.updates.pop(update));
  ASSERT_EQ(update.upserts.size(), 1u);
  EXPECT_EQ(update.upserts[0].version, "va");
  ASSERT_TRUE(server_.delta_requests.pop(request));
  EXPECT_EQ(request.response_nonce(), "d1");
  EXPECT_FALSE(request.has_error_detail());

  DeltaDiscoveryResponse removal;
  removal.set_type_url(kListenerType);
  removal.set_nonce("d2");
  removal.add_removed_resources("a");
  removal.add_removed_resources("never-had-it");
  server_.send(removal);
  ASSERT_TRUE(callbacks_.updates.pop(update));
  EXPECT_EQ(update.removes, std::vector<std::string>{"a"});
  ASSERT_TRUE(server_.delta_requests.pop(request));

  server_.send(r);  // "a" again, then the stream breaks.
  ASSERT_TRUE(callbacks_.updates.pop(update));
  ASSERT_TRUE(server_.delta_requests.pop(request));
  server_.closeStream();
  ASSERT_TRUE(server_.delta_requests.pop(request));
  EXPECT_EQ(request.type_url(), kClusterType);
  ASSERT_TRUE(server_.delta_requests.pop(request));
  EXPECT_EQ(request.type_url(), kListenerType);
  ASSERT_EQ(request.initial_resource_versions().size(), 1u);
  EXPECT_EQ(request.initial_resource_versions().at("a"), "va");
  EXPECT_EQ(request.response_nonce(), "");
}

}  // namespace
}  // namespace Skiff::Config::Xds
