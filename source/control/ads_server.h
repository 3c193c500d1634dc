#pragma once

// The xDS services of skiff-control, served from the SnapshotCache:
// - AggregatedDiscoveryService: StreamAggregatedResources (SotW) and DeltaAggregatedResources,
//   any mix of types on one stream;
// - ListenerDiscoveryService (StreamListeners, DeltaListeners), ClusterDiscoveryService
//   (StreamClusters, DeltaClusters), EndpointDiscoveryService (StreamEndpoints, DeltaEndpoints)
//   and RouteDiscoveryService (StreamRoutes, DeltaRoutes): one type per stream, same protocol
//   logic. Their requests may leave type_url empty (it is implied); a request naming another
//   type ends the stream with INVALID_ARGUMENT saying which type the service serves.
//
// Why the gRPC callback API: each stream is a small reactor object driven by gRPC's own threads,
// so 1,000 connected sidecars cost 1,000 reactors (a few KB each: per-type state plus shared
// pointers into the snapshot) and no threads. The sync API would need a blocked thread per stream
// (8 MB of reserved stack and a scheduler entry each) and a second thread per stream to push
// snapshot changes while the first is blocked in Read().
//
// Threads: gRPC calls the reactors on its callback threads (reads and writes of one stream may
// complete concurrently); snapshot changes arrive on the thread that changed the cache (the main
// thread in skiff-control). Each stream serializes all of these with its own mutex, and calls
// StartWrite/Finish with it held: gRPC runs application reactions on its executor, never inline
// from StartWrite/Finish, so this cannot deadlock, and it keeps "decide to write" and "write"
// atomic with respect to Finish.
//
// Protocol rules implemented (see the per-stream state in ads_server.cc):
// - Every ADS request needs type_url (else the stream ends with INVALID_ARGUMENT "type URL is
//   required for ADS"); the first request of any stream needs node (INVALID_ARGUMENT otherwise).
// - SotW: per type a fresh nonce on every response; requests whose response_nonce is not the last
//   nonce sent for that type are ignored; NACK = error_detail set; a response is sent only when the
//   set of resources to send (names + per-resource versions) differs from the last one sent, so a
//   NACKed version is never resent: the next change is. Listener and Cluster responses carry every
//   subscribed resource; ClusterLoadAssignment (and routes) only the requested names. Empty
//   resource_names on a type never subscribed by name = wildcard; "*" = wildcard.
// - Versions on the wire are content hashes of what the response carries, so a reconnecting client
//   whose first request already names the current version gets no response for that type.
// - On a snapshot change each stream pushes Cluster, then ClusterLoadAssignment, then Listener,
//   then RouteConfiguration. If listeners or routes change and clusters are removed, the removed
//   clusters are kept in a first Cluster response and dropped by a second one after the listeners
//   and routes (make-before-break): a client never holds a listener or route whose cluster it
//   lacks. This ordering holds within one stream, so across types only on ADS: per-type streams
//   are independent of each other.
// - Unknown type URLs get one empty response (version "", no resources).
// - Delta: "*" / legacy empty first request = wildcard; subscribe/unsubscribe; every subscribed
//   name is answered (resource or removed_resources); initial_resource_versions suppresses resends
//   of matching versions. A snapshot change goes out as: Cluster and ClusterLoadAssignment
//   upserts, then Listener (upserts and removals in one response), then RouteConfiguration (the
//   same), then Cluster removals, then ClusterLoadAssignment removals. So every added resource
//   arrives after what it refers to, and every removed one after what referred to it (a listener
//   before its route, a route before its cluster, a cluster before its endpoints).

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "source/common/common/thread.h"
#include "source/common/stats/stats.h"
#include "source/control/grpc_server.h"
#include "source/control/snapshot_cache.h"

namespace Skiff::Control {

struct AdsStats {
  explicit AdsStats(Stats::Store& store);

  Stats::Counter& streams_total;
  Stats::Gauge& streams_active;
  Stats::Counter& requests;
  Stats::Counter& responses;
  Stats::Counter& acks;
  Stats::Counter& nacks;
  Stats::Counter& stale_nonces;
  Stats::Counter& protocol_errors;
};

// What a stream shows on /nodes and what closeAllStreams() needs. Internal to ads_server.cc.
class AdsStream {
 public:
  virtual ~AdsStream() = default;
  // JSON object for /nodes. Any thread.
  virtual std::string statusJson() const = 0;
  // Ends the stream with `status` (after the write in flight, if any). Any thread.
  virtual void close(const grpc::Status& status) = 0;
};
using AdsStreamSharedPtr = std::shared_ptr<AdsStream>;

class PerTypeServices;  // ads_server.cc

/**
 * The AggregatedDiscoveryService implementation, which also owns the per-type services (LDS,
 * CDS, EDS, RDS) sharing its streams, stats and /nodes. Register services() with a
 * grpc::ServerBuilder (or use startGrpcServer()). Thread-safe; must outlive the grpc::Server it is
 * registered with.
 */
class AdsServer final
    : public envoy::service::discovery::v3::AggregatedDiscoveryService::CallbackService {
 public:
  AdsServer(SnapshotCache& cache, Stats::Store& store);
  ~AdsServer() override;

  // This service and the four per-type ones.
  std::vector<grpc::Service*> services();

  grpc::ServerBidiReactor<envoy::service::discovery::v3::DiscoveryRequest,
                          envoy::service::discovery::v3::DiscoveryResponse>*
  StreamAggregatedResources(grpc::CallbackServerContext* context) override;

  grpc::ServerBidiReactor<envoy::service::discovery::v3::DeltaDiscoveryRequest,
                          envoy::service::discovery::v3::DeltaDiscoveryResponse>*
  DeltaAggregatedResources(grpc::CallbackServerContext* context) override;

  // Ends every open stream with UNAVAILABLE so sidecars reconnect (to a restarted control plane).
  // Call before grpc::Server::Shutdown() so shutdown doesn't wait for the deadline. Any thread.
  void closeAllStreams();

  // {"nodes": [...]}: every open stream, oldest first. Any thread.
  std::string nodesJson() const;
  size_t streamCount() const;

  // Internal: used by the services and the streams. `service` names the service in logs and on
  // /nodes ("ads", "lds", ...); `type_url` is the one type a per-type stream serves ("" for ADS).
  grpc::ServerBidiReactor<envoy::service::discovery::v3::DiscoveryRequest,
                          envoy::service::discovery::v3::DiscoveryResponse>*
  openSotwStream(grpc::CallbackServerContext* context, absl::string_view service,
                 absl::string_view type_url);
  grpc::ServerBidiReactor<envoy::service::discovery::v3::DeltaDiscoveryRequest,
                          envoy::service::discovery::v3::DeltaDiscoveryResponse>*
  openDeltaStream(grpc::CallbackServerContext* context, absl::string_view service,
                  absl::string_view type_url);
  SnapshotCache& cache() { return cache_; }
  AdsStats& stats() { return stats_; }
  std::string nextNonce() { return std::to_string(next_nonce_.fetch_add(1) + 1); }
  uint64_t registerStream(AdsStreamSharedPtr stream);
  void unregisterStream(uint64_t id);

 private:
  SnapshotCache& cache_;
  AdsStats stats_;
  std::atomic<uint64_t> next_nonce_{0};
  mutable Thread::MutexBasicLockable mutex_;
  std::map<uint64_t, AdsStreamSharedPtr> streams_ ABSL_GUARDED_BY(mutex_);
  uint64_t next_stream_id_ ABSL_GUARDED_BY(mutex_) = 1;
  std::unique_ptr<PerTypeServices> per_type_;
};

// Starts a gRPC server (see grpc_server.h) serving every service of `server`.
absl::StatusOr<std::unique_ptr<grpc::Server>> startGrpcServer(const GrpcServerOptions& options,
                                                              AdsServer& server, int& bound_port);
// The same, plaintext on `address`.
absl::StatusOr<std::unique_ptr<grpc::Server>> startGrpcServer(const std::string& address,
                                                              AdsServer& server, int& bound_port);

}  // namespace Skiff::Control
