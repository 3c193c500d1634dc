#pragma once

// A test xDS client for skiff-control's gRPC services: one stream per TestStream, written from
// the test thread, read by a thread that queues what arrives; plus request builders. Real gRPC,
// no mocks.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "grpcpp/grpcpp.h"
#include "source/control/snapshot_cache.h"

namespace Skiff::Control::Test {

using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;
using namespace std::chrono_literals;

inline const std::string kCds(TypeUrl::kCluster);
inline const std::string kEds(TypeUrl::kEndpoint);
inline const std::string kLds(TypeUrl::kListener);
inline const std::string kRds(TypeUrl::kRoute);

// One client stream: writes from the test thread, a reader thread queues what arrives.
template <class Request, class Response>
class TestStream {
 public:
  using Opener = std::function<std::unique_ptr<grpc::ClientReaderWriter<Request, Response>>(
      grpc::ClientContext*)>;

  explicit TestStream(const Opener& open) {
    stream_ = open(&context_);
    reader_ = std::thread([this] {
      Response response;
      while (stream_->Read(&response)) {
        std::lock_guard<std::mutex> lock(mutex_);
        responses_.push_back(response);
        cv_.notify_all();
      }
      std::lock_guard<std::mutex> lock(mutex_);
      ended_ = true;
      cv_.notify_all();
    });
  }

  ~TestStream() {
    context_.TryCancel();
    reader_.join();
    if (!finished_) {
      stream_->Finish();
    }
  }

  bool send(const Request& request) { return stream_->Write(request); }

  // The next response, or nullopt if none arrives within `timeout`.
  std::optional<Response> next(std::chrono::milliseconds timeout = 5000ms) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, timeout, [this] { return !responses_.empty() || ended_; });
    if (responses_.empty()) {
      return std::nullopt;
    }
    Response response = std::move(responses_.front());
    responses_.pop_front();
    return response;
  }

  // True when nothing arrives within `quiet`.
  bool quiet(std::chrono::milliseconds quiet = 300ms) { return !next(quiet).has_value(); }

  // Waits for the server to end the stream and returns its status.
  grpc::Status status() {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait_for(lock, 5s, [this] { return ended_; });
      if (!ended_) {
        return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "stream still open");
      }
    }
    reader_.join();
    reader_ = std::thread([] {});
    finished_ = true;
    return stream_->Finish();
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<Request, Response>> stream_;
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Response> responses_;
  bool ended_ = false;
  bool finished_ = false;
};

using SotwStream = TestStream<DiscoveryRequest, DiscoveryResponse>;
using DeltaStream = TestStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

inline DiscoveryRequest request(const std::string& type_url, std::vector<std::string> names = {},
                                const std::string& version = "", const std::string& nonce = "",
                                const std::string& node_id = "sidecar-1") {
  DiscoveryRequest req;
  req.set_type_url(type_url);
  for (auto& name : names) {
    req.add_resource_names(name);
  }
  req.set_version_info(version);
  req.set_response_nonce(nonce);
  if (!node_id.empty()) {
    req.mutable_node()->set_id(node_id);
    req.mutable_node()->set_cluster("test");
  }
  return req;
}

inline DiscoveryRequest ack(const DiscoveryResponse& response,
                            std::vector<std::string> names = {}) {
  return request(response.type_url(), std::move(names), response.version_info(), response.nonce());
}

inline DiscoveryRequest nack(const DiscoveryResponse& response, const std::string& previous_version,
                             const std::string& message, std::vector<std::string> names = {}) {
  auto req = request(response.type_url(), std::move(names), previous_version, response.nonce());
  req.mutable_error_detail()->set_code(13);
  req.mutable_error_detail()->set_message(message);
  return req;
}

inline std::vector<std::string> names(const DiscoveryResponse& response) {
  std::vector<std::string> out;
  for (const auto& any : response.resources()) {
    if (any.type_url() == TypeUrl::kCluster) {
      envoy::config::cluster::v3::Cluster c;
      any.UnpackTo(&c);
      out.push_back(c.name());
    } else if (any.type_url() == TypeUrl::kListener) {
      envoy::config::listener::v3::Listener l;
      any.UnpackTo(&l);
      out.push_back(l.name());
    } else if (any.type_url() == TypeUrl::kEndpoint) {
      envoy::config::endpoint::v3::ClusterLoadAssignment cla;
      any.UnpackTo(&cla);
      out.push_back(cla.cluster_name());
    } else if (any.type_url() == TypeUrl::kRoute) {
      envoy::config::route::v3::RouteConfiguration route;
      any.UnpackTo(&route);
      out.push_back(route.name());
    }
  }
  return out;
}

using Names = std::vector<std::string>;

inline DeltaDiscoveryRequest deltaRequest(const std::string& type_url,
                                          std::vector<std::string> subscribe,
                                          std::vector<std::string> unsubscribe = {},
                                          const std::string& nonce = "") {
  DeltaDiscoveryRequest req;
  req.mutable_node()->set_id("sidecar-1");
  req.set_type_url(type_url);
  for (auto& name : subscribe) {
    req.add_resource_names_subscribe(name);
  }
  for (auto& name : unsubscribe) {
    req.add_resource_names_unsubscribe(name);
  }
  req.set_response_nonce(nonce);
  return req;
}

inline DeltaDiscoveryRequest deltaAck(const DeltaDiscoveryResponse& response) {
  return deltaRequest(response.type_url(), {}, {}, response.nonce());
}

inline std::map<std::string, std::string> deltaResources(const DeltaDiscoveryResponse& response) {
  std::map<std::string, std::string> out;
  for (const auto& resource : response.resources()) {
    out[resource.name()] = resource.version();
  }
  return out;
}

inline Names removed(const DeltaDiscoveryResponse& response) {
  return Names(response.removed_resources().begin(), response.removed_resources().end());
}

inline Names keys(const std::map<std::string, std::string>& map) {
  Names out;
  for (const auto& [key, value] : map) {
    out.push_back(key);
  }
  return out;
}

}  // namespace Skiff::Control::Test
