#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "envoy/config/core/v3/base.pb.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "google/protobuf/any.pb.h"
#include "source/common/common/thread.h"
#include "source/common/event/dispatcher.h"
#include "source/common/stats/stats.h"

namespace Skiff::Config::Xds {

inline constexpr char kListenerType[] = "type.googleapis.com/envoy.config.listener.v3.Listener";
inline constexpr char kClusterType[] = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
inline constexpr char kEndpointType[] =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
inline constexpr char kRouteType[] = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

// One resource of an update, decoded from its Any and named.
struct DecodedResource {
  std::string name;
  std::string version;  // Delta: the server's; SotW: a hash of the resource's bytes.
  google::protobuf::Any resource;
};

/**
 * One response for one type, turned into changes: resources to add or replace, names to remove.
 * State-of-the-world responses and delta responses both arrive in this form; for SotW, names
 * absent from a Listener or Cluster response are listed in `removes`, and resources whose bytes
 * did not change are left out of `upserts`.
 */
struct ConfigUpdate {
  std::string type_url;
  std::string version;
  std::vector<DecodedResource> upserts;
  std::vector<std::string> removes;
};

// Reports whether an update was applied. May be called from any thread, exactly once.
using UpdateDoneCb = std::function<void(absl::Status)>;

/**
 * What the ADS client hands updates to. Called on the control thread.
 */
class SubscriptionCallbacks {
 public:
  virtual ~SubscriptionCallbacks() = default;
  // Applies `update`, then calls `done`: OK is ACKed, an error is NACKed with its message.
  // Updates of one type arrive one at a time: the next waits for `done` of the previous.
  virtual void onConfigUpdate(ConfigUpdate update, UpdateDoneCb done) = 0;
  // The stream to the management server came up (true) or broke (false).
  virtual void onStreamStatus(bool connected) = 0;
};

struct AdsClientOptions {
  std::string target;  // gRPC target, e.g. "127.0.0.1:18000".
  bool delta{false};   // DELTA_GRPC (incremental) instead of state of the world.
  envoy::config::core::v3::Node node;
  // Types subscribed with a wildcard from the start, in the order of the first requests
  // (clusters before listeners, so the server's first answers come in dependency order).
  std::vector<std::string> wildcard_types;
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  // Largest response accepted, in bytes; -1: no limit. gRPC's own default is 4 MiB, which a
  // state-of-the-world CDS response passes at ~40,000 clusters; over it the stream fails, the
  // client reconnects, the server resends the same response, and config stops moving for good.
  // The management server is trusted configuration (as in Envoy, which sets no limit by default).
  int max_receive_message_bytes{-1};
};

/**
 * The sidecar's end of one Aggregated Discovery Service stream (state of the world or delta),
 * following the client rules of the xDS protocol: type_url on every request, node on every
 * request, per-type version and nonce, ACK with the new version only after the update was applied,
 * NACK with the last good version and the reason, reconnection with exponential backoff and jitter
 * that resubscribes with the last accepted versions (SotW) or initial_resource_versions (delta).
 *
 * Threading: lives on the control thread and is only called there. A reader thread per stream
 * blocks in Read() and posts each response to the control dispatcher; writes happen on the
 * control thread (gRPC allows one reader and one writer at a time).
 */
class AdsClient {
 public:
  AdsClient(Event::Dispatcher& dispatcher, AdsClientOptions options,
            SubscriptionCallbacks& callbacks, Stats::Store& stats);
  ~AdsClient();

  // Opens the stream (and keeps reopening it). Control thread.
  void start();
  // Cancels the stream and joins the reader; no callbacks run afterwards. Control thread.
  void shutdown();

  // Sets the explicit names for a non-wildcard type (EDS: the clusters' service names) and tells
  // the server if they changed. An empty list unsubscribes. Control thread.
  void updateResourceNames(const std::string& type_url, std::vector<std::string> names);

  bool connected() const { return stream_up_; }

  // One applied (or rejected) response: how long from its arrival on the control thread until
  // every worker had applied it (the moment the ACK can go out).
  struct UpdateRecord {
    std::string type_url;
    std::string version;
    bool accepted;
    size_t changed;
    size_t removed;
    std::chrono::microseconds apply_time;
    std::chrono::system_clock::time_point at;
  };
  // Any thread: the most recent updates, oldest first.
  std::vector<UpdateRecord> recentUpdates() const;

 private:
  using SotwStream = grpc::ClientReaderWriter<envoy::service::discovery::v3::DiscoveryRequest,
                                              envoy::service::discovery::v3::DiscoveryResponse>;
  using DeltaStream =
      grpc::ClientReaderWriter<envoy::service::discovery::v3::DeltaDiscoveryRequest,
                               envoy::service::discovery::v3::DeltaDiscoveryResponse>;

  // A response waiting to be applied, in either protocol's shape.
  struct PendingResponse {
    uint64_t stream_id;
    std::chrono::steady_clock::time_point received;
    std::unique_ptr<envoy::service::discovery::v3::DiscoveryResponse> sotw;
    std::unique_ptr<envoy::service::discovery::v3::DeltaDiscoveryResponse> delta;
  };

  struct TypeState {
    bool wildcard{false};
    std::vector<std::string> names;            // Explicit names (non-wildcard types).
    std::string accepted_version;              // SotW version_info of the last applied response.
    std::string nonce;                         // Latest nonce received on the current stream.
    std::map<std::string, std::string> known;  // name -> version of every resource held.
    // SotW: content version -> name, so an unchanged resource is recognised from its bytes
    // without decoding it (a response with 10,000 listeners and one change decodes one).
    absl::flat_hash_map<std::string, std::string> known_by_version;
    bool requested{false};  // A first request went out on the current stream.
    bool applying{false};
    std::deque<PendingResponse> queue;
    Stats::Counter* update_attempt;
    Stats::Counter* update_success;
    Stats::Counter* update_rejected;
    Stats::Gauge* version;  // A hash of the accepted version, as Envoy's `version` stat.
    Stats::Histogram* update_duration;
  };

  TypeState& typeState(const std::string& type_url);
  void connect();
  void onResponse(PendingResponse response);
  void onStreamClosed(uint64_t stream_id);
  void scheduleReconnect();
  void processNext(const std::string& type_url);
  // The names and versions of an update in flight, shared by its completion.
  struct AppliedSet {
    std::vector<std::pair<std::string, std::string>> upserts;  // name, version
    std::vector<std::string> removes;
  };
  void finishUpdate(const std::string& type_url, uint64_t stream_id, std::string version,
                    std::string nonce, std::shared_ptr<const AppliedSet> applied,
                    absl::Status status, std::chrono::steady_clock::time_point received);
  // Both return false when the stream refused the write (it is broken; the reader will see it).
  void newChannel();
  bool sendRequest(const std::string& type_url, const std::string& error);
  bool sendInitialRequest(const std::string& type_url);
  void markStreamUp();
  void closeStream();

  Event::Dispatcher& dispatcher_;
  const AdsClientOptions options_;
  SubscriptionCallbacks& callbacks_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<envoy::service::discovery::v3::AggregatedDiscoveryService::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<SotwStream> stream_;
  std::unique_ptr<DeltaStream> delta_stream_;
  std::thread reader_;
  uint64_t stream_id_{0};
  std::chrono::steady_clock::time_point stream_started_;
  bool stream_up_{false};
  bool shut_down_{false};
  std::map<std::string, TypeState> types_;
  std::vector<std::string> type_order_;  // Order of first requests on each stream.
  Event::TimerPtr retry_timer_;
  std::chrono::milliseconds backoff_;
  std::mt19937_64 random_;
  Stats::Gauge& connected_state_;
  Stats::Store& stats_;
  mutable Thread::MutexBasicLockable records_lock_;
  std::deque<UpdateRecord> records_ ABSL_GUARDED_BY(records_lock_);
};

}  // namespace Skiff::Config::Xds
