// ads_stub: a scriptable SotW ADS management server, for tools/bench/control_isolation.
//
// Serves one sidecar (the newest stream wins) with:
//   clusters   `backend` (STATIC, 127.0.0.1:--backend-port), `churn` (STATIC, variant k) and
//              E filler clusters c000000.. (STATIC, one endpoint each on 127.0.0.2);
//   listeners  `http` (HTTP connection manager, inline route to `backend`, --http-port) and
//              `churn` (tcp_proxy to `backend`, --churn-port, idle_timeout 600+k s).
// Every push is a full state-of-the-world response with version = nonce = a counter. Driven over
// stdin/stdout by the benchmark script; times are CLOCK_MONOTONIC nanoseconds:
//
//   stdin   CDS <E>            filler clusters := E; push CDS
//   stdin   BURST <n> lds|cds  n pushes back to back, each a new `churn` variant
//   stdin   STALL <secs>       the stream neither reads nor writes for secs (a stuck server:
//                              the sidecar's requests back up in HTTP/2 flow control)
//   stdin   QUIT
//   stdout  STREAM <ns>                  a stream opened (after its first request)
//   stdout  SENT <L|C> <nonce> <bytes> <start_ns> <end_ns>   a response was written
//   stdout  ACK <L|C> <nonce> <ns> / NACK <L|C> <nonce> <ns> <message>
//   stdout  DONE <command>               a command's pushes were all written
//
// Threads: gRPC's sync server runs the stream handler (the writer: it drains a queue of pushes)
// plus one reader thread per stream; stdin is read by the main thread. One mutex guards it all.

#include <time.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::listener::v3::Listener;
using envoy::service::discovery::v3::AggregatedDiscoveryService;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;

constexpr char kClusterType[] = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
constexpr char kListenerType[] = "type.googleapis.com/envoy.config.listener.v3.Listener";

int64_t monotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::mutex out_mutex;
void emit(const std::string& line) {
  std::lock_guard<std::mutex> lock(out_mutex);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

char letter(const std::string& type_url) { return type_url == kListenerType ? 'L' : 'C'; }

void setEndpoint(Cluster& cluster, const std::string& address, int port) {
  auto* la = cluster.mutable_load_assignment();
  la->set_cluster_name(cluster.name());
  auto* sa = la->add_endpoints()
                 ->add_lb_endpoints()
                 ->mutable_endpoint()
                 ->mutable_address()
                 ->mutable_socket_address();
  sa->set_address(address);
  sa->set_port_value(port);
}

Cluster staticCluster(const std::string& name, const std::string& address, int port) {
  Cluster c;
  c.set_name(name);
  c.set_type(Cluster::STATIC);
  c.mutable_connect_timeout()->set_seconds(1);
  setEndpoint(c, address, port);
  return c;
}

void setAddress(Listener& l, int port) {
  auto* sa = l.mutable_address()->mutable_socket_address();
  sa->set_address("127.0.0.1");
  sa->set_port_value(port);
}

struct Config {
  int backend_port = 0;
  int http_port = 0;
  int churn_port = 0;
};

// What the server currently serves; the serialized pieces that never change are built once.
class State {
 public:
  explicit State(const Config& config) : config_(config) {
    Listener http;
    http.set_name("http");
    setAddress(http, config.http_port);
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager hcm;
    hcm.set_stat_prefix("http");
    auto* vh = hcm.mutable_route_config()->add_virtual_hosts();
    hcm.mutable_route_config()->set_name("local");
    vh->set_name("all");
    vh->add_domains("*");
    auto* route = vh->add_routes();
    route->mutable_match()->set_prefix("/");
    route->mutable_route()->set_cluster("backend");
    auto* router = hcm.add_http_filters();
    router->set_name("envoy.filters.http.router");
    router->mutable_typed_config()->PackFrom(
        envoy::extensions::filters::http::router::v3::Router::default_instance());
    auto* filter = http.add_filter_chains()->add_filters();
    filter->set_name("envoy.filters.network.http_connection_manager");
    filter->mutable_typed_config()->PackFrom(hcm);
    http_listener_.PackFrom(http);
    backend_cluster_.PackFrom(staticCluster("backend", "127.0.0.1", config.backend_port));
  }

  void setFillers(int n) {
    fillers_.clear();
    fillers_.reserve(n);
    for (int i = 0; i < n; ++i) {
      char name[16];
      std::snprintf(name, sizeof(name), "c%06d", i);
      fillers_.emplace_back();
      fillers_.back().PackFrom(staticCluster(name, "127.0.0.2", 10000 + i % 50000));
    }
  }

  // A full response for `type_url` with `churn` at variant `k`.
  DiscoveryResponse response(const std::string& type_url, int k, uint64_t nonce) const {
    DiscoveryResponse r;
    r.set_type_url(type_url);
    r.set_version_info(absl::StrCat(nonce));
    r.set_nonce(absl::StrCat(nonce));
    if (type_url == kListenerType) {
      *r.add_resources() = http_listener_;
      Listener churn;
      churn.set_name("churn");
      setAddress(churn, config_.churn_port);
      envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy tcp;
      tcp.set_stat_prefix("churn");
      tcp.set_cluster("backend");
      tcp.mutable_idle_timeout()->set_seconds(600 + k);
      auto* filter = churn.add_filter_chains()->add_filters();
      filter->set_name("envoy.filters.network.tcp_proxy");
      filter->mutable_typed_config()->PackFrom(tcp);
      r.add_resources()->PackFrom(churn);
    } else {
      *r.add_resources() = backend_cluster_;
      Cluster churn = staticCluster("churn", "127.0.0.1", config_.backend_port);
      churn.mutable_connect_timeout()->set_seconds(1 + k);
      r.add_resources()->PackFrom(churn);
      for (const auto& filler : fillers_) {
        *r.add_resources() = filler;
      }
    }
    return r;
  }

 private:
  const Config config_;
  google::protobuf::Any http_listener_;
  google::protobuf::Any backend_cluster_;
  std::vector<google::protobuf::Any> fillers_;
};

struct Push {
  std::string type_url;
  std::string done;  // Non-empty on a command's last push: "DONE <done>" once written.
};

class Service final : public AggregatedDiscoveryService::Service {
 public:
  explicit Service(const Config& config) : state_(config) {}

  // Main thread (stdin).
  void enqueue(std::vector<Push> pushes) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& p : pushes) {
      queue_.push_back(std::move(p));
    }
    cv_.notify_all();
  }
  void setFillers(int n) {
    std::lock_guard<std::mutex> lock(mutex_);
    state_.setFillers(n);
  }
  void stall(double secs) {
    std::lock_guard<std::mutex> lock(mutex_);
    stalled_until_ = monotonicNs() + static_cast<int64_t>(secs * 1e9);
    cv_.notify_all();
  }

  grpc::Status StreamAggregatedResources(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<DiscoveryResponse, DiscoveryRequest>* stream) override {
    uint64_t id;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      id = ++stream_id_;
      queue_.clear();
      cv_.notify_all();
    }
    bool first = true;
    std::thread reader([&] {
      DiscoveryRequest request;
      while (true) {
        waitStall();
        if (!stream->Read(&request)) {
          break;
        }
        const int64_t now = monotonicNs();
        if (first) {
          first = false;
          emit(absl::StrCat("STREAM ", now));
        }
        const std::string& type = request.type_url();
        if (type != kListenerType && type != kClusterType) {
          continue;
        }
        if (request.response_nonce().empty()) {
          // A subscription: answer with what is current.
          enqueue({Push{type, ""}});
        } else if (request.has_error_detail()) {
          emit(absl::StrCat("NACK ", std::string(1, letter(type)), " ", request.response_nonce(),
                            " ", now, " ", request.error_detail().message().substr(0, 200)));
        } else {
          emit(absl::StrCat("ACK ", std::string(1, letter(type)), " ", request.response_nonce(),
                            " ", now));
        }
      }
      std::lock_guard<std::mutex> lock(mutex_);
      reader_done_ = id;
      cv_.notify_all();
    });
    // Writer: drain the queue until the stream ends or a newer one replaces it.
    while (true) {
      Push push;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] {
          return reader_done_ == id || stream_id_ != id ||
                 (!queue_.empty() && monotonicNs() >= stalled_until_);
        });
        if (reader_done_ == id || stream_id_ != id) {
          break;
        }
        if (monotonicNs() < stalled_until_) {
          continue;
        }
        push = std::move(queue_.front());
        queue_.pop_front();
      }
      DiscoveryResponse response;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        const int k = push.type_url == kListenerType ? ++lds_variant_ : ++cds_variant_;
        response = state_.response(push.type_url, k, ++nonce_);
      }
      const int64_t start = monotonicNs();
      const size_t bytes = response.ByteSizeLong();
      if (!stream->Write(response)) {
        break;
      }
      emit(absl::StrCat("SENT ", std::string(1, letter(push.type_url)), " ", response.nonce(), " ",
                        bytes, " ", start, " ", monotonicNs()));
      if (!push.done.empty()) {
        emit("DONE " + push.done);
      }
    }
    context->TryCancel();
    reader.join();
    return grpc::Status::OK;
  }

 private:
  // Stall: the reader sleeps (in steps, so a lifted stall is noticed).
  void waitStall() {
    while (true) {
      int64_t until;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        until = stalled_until_;
      }
      const int64_t now = monotonicNs();
      if (now >= until) {
        return;
      }
      std::this_thread::sleep_for(
          std::chrono::nanoseconds(std::min<int64_t>(until - now, 10000000)));
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  State state_;
  std::deque<Push> queue_;
  uint64_t stream_id_ = 0;
  uint64_t reader_done_ = 0;
  uint64_t nonce_ = 0;
  int lds_variant_ = 0;
  int cds_variant_ = 0;
  int64_t stalled_until_ = 0;
};

// Wakes the writer when a stall ends (it waits on the condition variable, not a clock).
void stallTimer(Service& service, double secs) {
  std::thread([&service, secs] {
    std::this_thread::sleep_for(std::chrono::duration<double>(secs + 0.001));
    service.enqueue({});
  }).detach();
}

int usage() {
  std::fprintf(stderr, "usage: ads_stub --port P --backend-port B --http-port H --churn-port C\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    int value = 0;
    if (!absl::SimpleAtoi(argv[i + 1], &value)) {
      return usage();
    }
    if (flag == "--port") {
      port = value;
    } else if (flag == "--backend-port") {
      config.backend_port = value;
    } else if (flag == "--http-port") {
      config.http_port = value;
    } else if (flag == "--churn-port") {
      config.churn_port = value;
    } else {
      return usage();
    }
  }
  if (port == 0 || config.backend_port == 0 || config.http_port == 0 || config.churn_port == 0) {
    return usage();
  }
  Service service(config);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  builder.SetMaxSendMessageSize(-1);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    std::fprintf(stderr, "ads_stub: cannot listen on port %d\n", port);
    return 1;
  }
  emit("LISTENING");

  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.empty()) {
      continue;
    }
    int n = 0;
    double secs = 0;
    if (words[0] == "CDS" && words.size() == 2 && absl::SimpleAtoi(words[1], &n)) {
      service.setFillers(n);
      service.enqueue({Push{kClusterType, line}});
    } else if (words[0] == "BURST" && words.size() == 3 && absl::SimpleAtoi(words[1], &n) &&
               n > 0 && (words[2] == "lds" || words[2] == "cds")) {
      std::vector<Push> pushes(n, Push{words[2] == "lds" ? kListenerType : kClusterType, ""});
      pushes.back().done = line;
      service.enqueue(std::move(pushes));
    } else if (words[0] == "STALL" && words.size() == 2 && absl::SimpleAtod(words[1], &secs)) {
      service.stall(secs);
      stallTimer(service, secs);
      emit("DONE " + line);
    } else if (words[0] == "QUIT") {
      break;
    } else {
      emit("FAILED bad command: " + line);
    }
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}
