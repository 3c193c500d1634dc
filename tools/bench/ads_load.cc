// ads_load: many simulated sidecars in one process, for tools/bench/control_plane.
//
// Opens N SotW ADS streams to an xDS server, each on its own channel (its own TCP connection, as
// N real sidecars would have; --connections C spreads them over C instead) with its own node id,
// subscribes to Clusters and Listeners (wildcard) and ACKs every response. Driven over stdin/stdout
// by the benchmark script:
//
//   stdout  READY <connect_ms>              every stream has ACKed its first Cluster and Listener
//   stdin   WAIT <k>                        wait until every stream has ACKed its k-th Listener
//   stdout  ROUND <k> <first_ns> <last_ns>  CLOCK_MONOTONIC times of the first and last such ACK
//   stdin   QUIT                            cancel every stream and exit
//
// Errors and the end of any stream are reported on stderr ("FAILED ..." on stdout ends the run).
//
// Threads: gRPC's callback threads run the reactors; each stream serializes its writes with its
// own mutex. The main thread only reads stdin and waits on a condition variable.

#include <time.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace {

using envoy::service::discovery::v3::AggregatedDiscoveryService;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;

constexpr char kClusterType[] = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
constexpr char kListenerType[] = "type.googleapis.com/envoy.config.listener.v3.Listener";
constexpr int kMaxRounds = 10000;

int64_t monotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Progress of all streams: how many have ACKed their k-th Listener (k = 1: the first one), and
// when the first and the last of them did.
class Progress {
 public:
  explicit Progress(int streams) : streams_(streams), reached_(kMaxRounds + 1) {}

  void listenerAcked(int k) {
    if (k > kMaxRounds) {
      return;
    }
    const int64_t now = monotonicNs();
    std::lock_guard<std::mutex> lock(mutex_);
    Round& round = reached_[k];
    if (round.count == 0) {
      round.first_ns = now;
    }
    round.last_ns = now;
    if (++round.count == streams_) {
      cv_.notify_all();
    }
  }
  void clusterAcked() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (++clusters_ == streams_) {
      cv_.notify_all();
    }
  }
  void failed(const std::string& why) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failure_.empty()) {
      failure_ = why;
    }
    cv_.notify_all();
  }
  void streamEnded() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++ended_;
    cv_.notify_all();
  }

  // Waits for round k (and, for k == 1, the first Clusters too). False on failure or timeout.
  bool waitRound(int k, std::chrono::seconds timeout, int64_t& first, int64_t& last,
                 std::string& why) {
    std::unique_lock<std::mutex> lock(mutex_);
    const bool done = cv_.wait_for(lock, timeout, [&] {
      return !failure_.empty() ||
             (reached_[k].count == streams_ && (k != 1 || clusters_ == streams_));
    });
    if (!failure_.empty() || !done) {
      why = failure_.empty() ? absl::StrCat("timed out: ", reached_[k].count, " of ", streams_,
                                            " streams ACKed listener round ", k, ", ", clusters_,
                                            " their first clusters")
                             : failure_;
      return false;
    }
    first = reached_[k].first_ns;
    last = reached_[k].last_ns;
    return true;
  }
  bool waitEnded(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return ended_ == streams_; });
  }

 private:
  struct Round {
    int count = 0;
    int64_t first_ns = 0;
    int64_t last_ns = 0;
  };
  const int streams_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Round> reached_;
  int clusters_ = 0;
  int ended_ = 0;
  std::string failure_;
};

// One simulated sidecar.
class Sidecar final : public grpc::ClientBidiReactor<DiscoveryRequest, DiscoveryResponse> {
 public:
  Sidecar(std::shared_ptr<grpc::Channel> channel, std::string node_id, std::string node_cluster,
          Progress& progress)
      : stub_(AggregatedDiscoveryService::NewStub(std::move(channel))),
        node_id_(std::move(node_id)),
        node_cluster_(std::move(node_cluster)),
        progress_(progress) {}

  void start() {
    stub_->async()->StreamAggregatedResources(&context_, this);
    for (const char* type : {kClusterType, kListenerType}) {
      auto request = std::make_unique<DiscoveryRequest>();
      request->set_type_url(type);
      if (type == kClusterType) {
        request->mutable_node()->set_id(node_id_);
        request->mutable_node()->set_cluster(node_cluster_);
      }
      enqueue(std::move(request));
    }
    StartRead(&response_);
    StartCall();
  }

  void cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      return;  // OnDone follows with the status.
    }
    auto ack = std::make_unique<DiscoveryRequest>();
    ack->set_type_url(response_.type_url());
    ack->set_version_info(response_.version_info());
    ack->set_response_nonce(response_.nonce());
    // Counted before the next read can complete on another thread.
    const int listener_round = response_.type_url() == kListenerType ? ++listener_responses_ : 0;
    const bool first_clusters = response_.type_url() == kClusterType && ++cluster_responses_ == 1;
    StartRead(&response_);
    enqueue(std::move(ack));
    // Counted once the ACK is queued: what the benchmark measures is "the sidecar has the new
    // version and answered it", the moment a real sidecar would ACK after applying.
    if (listener_round > 0) {
      progress_.listenerAcked(listener_round);
    } else if (first_clusters) {
      progress_.clusterAcked();
    }
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.pop_front();
    if (!ok) {
      return;
    }
    if (!queue_.empty()) {
      StartWrite(queue_.front().get());
    }
  }

  void OnDone(const grpc::Status& status) override {
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      progress_.failed(absl::StrCat("stream of ", node_id_, " ended: ", status.error_code(), " ",
                                    status.error_message()));
    }
    progress_.streamEnded();
  }

 private:
  void enqueue(std::unique_ptr<DiscoveryRequest> request) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(request));
    if (queue_.size() == 1) {
      StartWrite(queue_.front().get());
    }
  }

  std::unique_ptr<AggregatedDiscoveryService::Stub> stub_;
  const std::string node_id_;
  const std::string node_cluster_;
  Progress& progress_;
  grpc::ClientContext context_;
  DiscoveryResponse response_;
  // Only the reader touches these (reads are sequential).
  int listener_responses_ = 0;
  int cluster_responses_ = 0;
  std::mutex mutex_;
  std::deque<std::unique_ptr<DiscoveryRequest>> queue_;  // front: the write in flight
};

int usage() {
  std::fprintf(stderr,
               "usage: ads_load --target HOST:PORT [--streams N] [--node-prefix P] "
               "[--node-cluster C] [--connections C (default: one per stream)]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string target;
  int streams = 1000;
  std::string prefix = "bench-sidecar-";
  std::string node_cluster = "bench";
  int connections = 0;  // 0: one per stream
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--target") {
      target = value;
    } else if (flag == "--streams") {
      if (!absl::SimpleAtoi(value, &streams) || streams < 1) {
        return usage();
      }
    } else if (flag == "--node-prefix") {
      prefix = value;
    } else if (flag == "--node-cluster") {
      node_cluster = value;
    } else if (flag == "--connections") {
      if (!absl::SimpleAtoi(value, &connections) || connections < 0) {
        return usage();
      }
    } else {
      return usage();
    }
  }
  if (target.empty()) {
    return usage();
  }

  Progress progress(streams);
  std::vector<std::unique_ptr<Sidecar>> sidecars;
  const int64_t start = monotonicNs();
  for (int i = 0; i < streams; ++i) {
    grpc::ChannelArguments args;
    // Without this, channels to one target share a subchannel (one TCP connection); every real
    // sidecar has its own connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    sidecars.push_back(std::make_unique<Sidecar>(std::move(channel), absl::StrCat(prefix, i),
                                                 node_cluster, progress));
    sidecars.back()->start();
  }
  int64_t first = 0;
  int64_t last = 0;
  std::string why;
  if (!progress.waitRound(1, std::chrono::seconds(120), first, last, why)) {
    std::printf("FAILED %s\n", why.c_str());
    std::fflush(stdout);
    for (auto& sidecar : sidecars) {
      sidecar->cancel();
    }
    progress.waitEnded(std::chrono::seconds(10));
    return 1;
  }
  std::printf("READY %.1f\n", static_cast<double>(last - start) / 1e6);
  std::fflush(stdout);

  int rc = 0;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.rfind("WAIT ", 0) == 0) {
      int k = 0;
      if (!absl::SimpleAtoi(line.substr(5), &k) || k < 1 || k > kMaxRounds) {
        std::printf("FAILED bad command %s\n", line.c_str());
      } else if (progress.waitRound(k, std::chrono::seconds(60), first, last, why)) {
        std::printf("ROUND %d %lld %lld\n", k, static_cast<long long>(first),
                    static_cast<long long>(last));
      } else {
        std::printf("FAILED %s\n", why.c_str());
        rc = 1;
      }
      std::fflush(stdout);
    } else if (line == "QUIT") {
      break;
    }
  }
  for (auto& sidecar : sidecars) {
    sidecar->cancel();
  }
  if (!progress.waitEnded(std::chrono::seconds(30))) {
    std::fprintf(stderr, "ads_load: streams did not end within 30 s\n");
    std::_Exit(rc == 0 ? 1 : rc);  // Destroying reactors still in use would crash.
  }
  return rc;
}
