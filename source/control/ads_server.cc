#include "source/control/ads_server.h"

#include <deque>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "envoy/service/cluster/v3/cds.grpc.pb.h"
#include "envoy/service/endpoint/v3/eds.grpc.pb.h"
#include "envoy/service/listener/v3/lds.grpc.pb.h"
#include "envoy/service/route/v3/rds.grpc.pb.h"
#include "source/common/common/logger.h"
#include "source/control/json.h"

namespace Skiff::Control {

using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;

AdsStats::AdsStats(Stats::Store& store)
    : streams_total(store.counter("control_plane.ads.streams_total")),
      streams_active(store.gauge("control_plane.ads.streams_active")),
      requests(store.counter("control_plane.ads.requests")),
      responses(store.counter("control_plane.ads.responses")),
      acks(store.counter("control_plane.ads.acks")),
      nacks(store.counter("control_plane.ads.nacks")),
      stale_nonces(store.counter("control_plane.ads.stale_nonces")),
      protocol_errors(store.counter("control_plane.ads.protocol_errors")) {}

namespace {

constexpr absl::string_view kControlPlaneId = "skiff-control";

// The identity a client certificate proved (its SANs, else its CN), "" without mutual TLS.
std::string peerIdentity(const grpc::CallbackServerContext& context) {
  const auto auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    return "";
  }
  std::vector<std::string> names;
  for (const auto& name : auth->GetPeerIdentity()) {
    names.emplace_back(name.data(), name.size());
  }
  return absl::StrJoin(names, ",");
}

const ResourceMap& emptyResources() {
  static const auto* empty = new ResourceMap();
  return *empty;
}

// Types in the order a snapshot change is pushed: the known ones in dependency order, then any
// other subscribed type (which never changes: it has no resources).
template <class TypeMap>
std::vector<std::string> typesInPushOrder(const TypeMap& types) {
  std::vector<std::string> order;
  for (const auto& type_url : pushOrder()) {
    if (types.contains(type_url)) {
      order.push_back(type_url);
    }
  }
  return order;
}

/**
 * What the SotW and delta streams share: the reactor plumbing (one read and at most one write
 * outstanding, a queue of responses, Finish exactly once), the node and its group, the snapshot
 * watch and the /nodes summary. Everything below is guarded by mutex_; see ads_server.h for why
 * gRPC calls are made with it held.
 *
 * Lifetime: the object owns itself through self_ from creation until OnDone(); the cache may hold
 * another reference while a notification runs, which then finds done_ set and does nothing.
 */
template <class Request, class Response>
class StreamBase : public grpc::ServerBidiReactor<Request, Response>,
                   public AdsStream,
                   public SnapshotWatcher {
 public:
  StreamBase(AdsServer& server, grpc::CallbackServerContext& context, absl::string_view protocol,
             absl::string_view service, absl::string_view type_url)
      : server_(server),
        peer_(context.peer()),
        peer_identity_(peerIdentity(context)),
        protocol_(protocol),
        service_(service),
        fixed_type_url_(type_url),
        since_(absl::Now()) {}

  // Called once, right after construction, by the factory below.
  void start(std::shared_ptr<StreamBase> self) {
    self_ = self;
    id_ = server_.registerStream(self);
    server_.stats().streams_total.inc();
    server_.stats().streams_active.inc();
    Thread::LockGuard lock(mutex_);
    this->StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    Thread::LockGuard lock(mutex_);
    if (!ok) {
      // The client half-closed or the call was cancelled.
      finishLocked(grpc::Status::OK);
      return;
    }
    server_.stats().requests.inc();
    if (!fixed_type_url_.empty()) {
      // A per-type service: the type is implied, and no other type is served.
      if (request_.type_url().empty()) {
        request_.set_type_url(fixed_type_url_);
      } else if (request_.type_url() != fixed_type_url_) {
        protocolErrorLocked(absl::StrCat("this ", service_, " stream serves only ", fixed_type_url_,
                                         ", not ", request_.type_url(),
                                         " (use its own service or ADS)"));
        return;
      }
    }
    if (request_.type_url().empty()) {
      protocolErrorLocked("type URL is required for ADS");
      return;
    }
    if (!has_node_) {
      if (!request_.has_node()) {
        protocolErrorLocked("node is required on the first request of a stream");
        return;
      }
      has_node_ = true;
      node_ = request_.node();
      // The stream lock is held across watch(): a notification racing with it waits for the lock
      // and so is applied after the result below, never before.
      auto result = server_.cache().watch(node_, std::static_pointer_cast<SnapshotWatcher>(self_));
      watch_id_ = result.id;
      group_ = result.group;
      snapshot_ = std::move(result.snapshot);
      SKIFF_LOG(info, "%s %s stream from %s%s: node \"%s\" (cluster \"%s\") in group \"%s\"",
                service_, protocol_, peer_,
                peer_identity_.empty() ? "" : absl::StrCat(" (", peer_identity_, ")"), node_.id(),
                node_.cluster(), group_);
    }
    onRequestLocked(request_);
    if (!closing_) {
      this->StartRead(&request_);
    }
  }

  void OnWriteDone(bool ok) override {
    Thread::LockGuard lock(mutex_);
    in_flight_.reset();
    // A Finish that waited for this write goes out now, whether or not the write succeeded:
    // checking `ok` first would leave a cancelled stream unfinished (OnDone never called, the
    // stream leaked and server shutdown blocked).
    if (pending_finish_.has_value()) {
      finished_ = true;
      this->Finish(*pending_finish_);
      pending_finish_.reset();
      return;
    }
    if (!ok) {
      finishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
      return;
    }
    writeNextLocked();
  }

  void OnDone() override {
    auto self = std::move(self_);  // Released last, at the end of this function.
    uint64_t watch_id;
    {
      Thread::LockGuard lock(mutex_);
      done_ = true;
      watch_id = watch_id_;
    }
    if (watch_id != 0) {
      server_.cache().cancelWatch(watch_id);
    }
    server_.unregisterStream(id_);
    server_.stats().streams_active.dec();
    SKIFF_LOG(debug, "%s %s stream from %s (node \"%s\") ended", service_, protocol_, peer_,
              node_.id());
  }

  void onSnapshot(const std::string& group, SnapshotConstSharedPtr snapshot) override {
    Thread::LockGuard lock(mutex_);
    if (done_ || closing_) {
      return;
    }
    if (group != group_) {
      SKIFF_LOG(info, "node \"%s\" moves from group \"%s\" to \"%s\"", node_.id(), group_, group);
    }
    group_ = group;
    if (snapshot == nullptr) {
      // The group went away; keep the sidecar on what it has until a group matches it again.
      snapshot_ = nullptr;
      return;
    }
    snapshot_ = std::move(snapshot);
    pushSnapshotLocked();
  }

  void close(const grpc::Status& status) override {
    Thread::LockGuard lock(mutex_);
    if (!done_) {
      finishLocked(status);
    }
  }

  std::string statusJson() const override {
    Thread::LockGuard lock(mutex_);
    std::string out = "{";
    absl::StrAppend(
        &out, "\"node_id\":", Json::quote(node_.id()),
        ",\"node_cluster\":", Json::quote(node_.cluster()), ",\"group\":", Json::quote(group_),
        ",\"peer\":", Json::quote(peer_), ",\"peer_identity\":", Json::quote(peer_identity_),
        ",\"service\":", Json::quote(service_), ",\"protocol\":", Json::quote(protocol_),
        ",\"connected_since\":",
        Json::quote(absl::FormatTime(absl::RFC3339_sec, since_, absl::UTCTimeZone())),
        ",\"snapshot_version\":", Json::quote(snapshot_ == nullptr ? "" : snapshot_->version()),
        ",\"types\":{", typesJsonLocked(), "}}");
    return out;
  }

 protected:
  // A request that passed the type_url and node checks.
  virtual void onRequestLocked(const Request& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) = 0;
  // snapshot_ changed (and is not null): push what changed, in dependency order.
  virtual void pushSnapshotLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) = 0;
  // "type_url": {...}, ... for /nodes.
  virtual std::string typesJsonLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) = 0;

  const ResourceMap& resourcesLocked(absl::string_view type_url) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return snapshot_ == nullptr ? emptyResources() : snapshot_->resources(type_url);
  }

  void enqueueLocked(std::unique_ptr<Response> response) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (closing_) {
      return;
    }
    server_.stats().responses.inc();
    queue_.push_back(std::move(response));
    writeNextLocked();
  }

  void protocolErrorLocked(const std::string& message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    server_.stats().protocol_errors.inc();
    SKIFF_LOG(warn, "%s %s stream from %s (node \"%s\"): %s; closing it", service_, protocol_,
              peer_, node_.id(), message);
    finishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message));
  }

  std::string nodeIdLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return node_.id(); }

  AdsServer& server_;
  mutable Thread::MutexBasicLockable mutex_;
  SnapshotConstSharedPtr snapshot_ ABSL_GUARDED_BY(mutex_);

 private:
  void writeNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (in_flight_ != nullptr || queue_.empty() || closing_) {
      return;
    }
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
    this->StartWrite(in_flight_.get());
  }

  // Finish exactly once, and never with a write outstanding (it would race the trailers).
  void finishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (closing_) {
      return;
    }
    closing_ = true;
    queue_.clear();
    if (in_flight_ != nullptr) {
      pending_finish_ = status;
      return;
    }
    finished_ = true;
    this->Finish(status);
  }

  const std::string peer_;
  const std::string peer_identity_;  // from the client certificate (mutual TLS), else empty
  const std::string protocol_;
  const std::string service_;
  const std::string fixed_type_url_;
  const absl::Time since_;
  uint64_t id_ = 0;
  std::shared_ptr<StreamBase> self_;

  Request request_ ABSL_GUARDED_BY(mutex_);
  bool has_node_ ABSL_GUARDED_BY(mutex_) = false;
  envoy::config::core::v3::Node node_ ABSL_GUARDED_BY(mutex_);
  std::string group_ ABSL_GUARDED_BY(mutex_);
  uint64_t watch_id_ ABSL_GUARDED_BY(mutex_) = 0;
  std::deque<std::unique_ptr<Response>> queue_ ABSL_GUARDED_BY(mutex_);
  std::unique_ptr<Response> in_flight_ ABSL_GUARDED_BY(mutex_);
  bool closing_ ABSL_GUARDED_BY(mutex_) = false;  // Finish called or pending
  bool finished_ ABSL_GUARDED_BY(mutex_) = false;
  std::optional<grpc::Status> pending_finish_ ABSL_GUARDED_BY(mutex_);
  bool done_ ABSL_GUARDED_BY(mutex_) = false;
};

// ------------------------------------------------------------------------------------------------
// State of the World.

class SotwStream final : public StreamBase<DiscoveryRequest, DiscoveryResponse> {
 public:
  SotwStream(AdsServer& server, grpc::CallbackServerContext& context, absl::string_view service,
             absl::string_view type_url)
      : StreamBase(server, context, "sotw", service, type_url) {}

 private:
  struct TypeState {
    bool subscribed = false;  // a request for the type arrived
    bool ever_named = false;  // a non-empty resource_names arrived (ends the legacy wildcard)
    bool wildcard = false;
    std::set<std::string> names;  // explicit names, without "*"
    bool responded = false;
    std::string nonce;  // of the last response
    std::string version_sent;
    std::string version_acked;
    std::string last_nack;
    std::string last_nack_version;  // the version that was rejected
    // What the last response carried. For a wildcard subscription this is the snapshot's own
    // map, shared: a per-stream copy would cost every stream a map node per resource (1,000
    // sidecars x 1,000 resources = a million nodes, ~100 MB).
    std::shared_ptr<const ResourceMap> sent = emptyMap();
  };

  // A non-owning pointer to the shared empty map.
  static std::shared_ptr<const ResourceMap> emptyMap() {
    return std::shared_ptr<const ResourceMap>(std::shared_ptr<const ResourceMap>(),
                                              &emptyResources());
  }

  // What a response for `type_url` would carry now: for a wildcard subscription the snapshot's
  // own map (sharing ownership of the snapshot), else a subset.
  std::shared_ptr<const ResourceMap> desiredLocked(const std::string& type_url,
                                                   const TypeState& state) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    const ResourceMap& all = resourcesLocked(type_url);
    if (state.wildcard) {
      return snapshot_ == nullptr ? emptyMap()
                                  : std::shared_ptr<const ResourceMap>(snapshot_, &all);
    }
    auto subset = std::make_shared<ResourceMap>();
    for (const auto& name : state.names) {
      const auto it = all.find(name);
      if (it != all.end()) {
        subset->emplace(it->first, it->second);
      }
    }
    return subset;
  }

  // resourceSetVersion(resources), taken from the snapshot when `resources` is its own map
  // (computed once per snapshot instead of once per stream).
  std::string versionOfLocked(const std::string& type_url, const ResourceMap& resources) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    if (snapshot_ != nullptr && !resources.empty() &&
        &resources == &snapshot_->resources(type_url)) {
      return snapshot_->typeVersion(type_url);
    }
    return resourceSetVersion(resources);
  }

  void sendLocked(const std::string& type_url, TypeState& state,
                  std::shared_ptr<const ResourceMap> resources)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    auto response = std::make_unique<DiscoveryResponse>();
    const std::string version = isKnownType(type_url) ? versionOfLocked(type_url, *resources) : "";
    response->set_version_info(version);
    response->set_type_url(type_url);
    response->set_nonce(server_.nextNonce());
    response->mutable_control_plane()->set_identifier(std::string(kControlPlaneId));
    for (const auto& [name, resource] : *resources) {
      *response->add_resources() = resource->any;
    }
    state.responded = true;
    state.nonce = response->nonce();
    state.version_sent = version;
    state.sent = std::move(resources);
    SKIFF_LOG(debug, "node \"%s\": %s version %s (%d resources) nonce %s", nodeIdLocked(), type_url,
              version, response->resources_size(), response->nonce());
    enqueueLocked(std::move(response));
  }

  // Sends when what the client should hold differs from what it was last sent. `force` answers a
  // first request even when the answer is empty.
  void maybeRespondLocked(const std::string& type_url, bool force)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    TypeState& state = types_[type_url];
    if (!state.subscribed) {
      return;
    }
    const bool known = isKnownType(type_url);
    if (!known) {
      if (!state.responded) {
        sendLocked(type_url, state, emptyMap());
      }
      return;
    }
    if (snapshot_ == nullptr) {
      return;  // Answered when the group gets a snapshot.
    }
    auto desired = desiredLocked(type_url, state);
    if (state.responded && !force && versionOfLocked(type_url, *desired) == state.version_sent) {
      return;
    }
    sendLocked(type_url, state, std::move(desired));
  }

  void onRequestLocked(const DiscoveryRequest& request) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    const std::string& type_url = request.type_url();
    TypeState& state = types_[type_url];
    if (!state.nonce.empty() && request.response_nonce() != state.nonce) {
      // A newer response is on its way; this request answers an older one.
      server_.stats().stale_nonces.inc();
      return;
    }
    if (!state.nonce.empty()) {
      if (request.has_error_detail()) {
        server_.stats().nacks.inc();
        state.last_nack = request.error_detail().message();
        state.last_nack_version = state.version_sent;
        SKIFF_LOG(warn, "node \"%s\" rejected %s version %s: %s", nodeIdLocked(), type_url,
                  state.version_sent, state.last_nack);
      } else {
        server_.stats().acks.inc();
        state.version_acked = request.version_info();
      }
    }

    // Subscription.
    bool star = false;
    std::set<std::string> names;
    for (const auto& name : request.resource_names()) {
      if (name == "*") {
        star = true;
      } else {
        names.insert(name);
      }
    }
    if (request.resource_names().empty()) {
      state.wildcard = !state.ever_named;
    } else {
      state.wildcard = star;
      state.ever_named = true;
    }
    state.names = std::move(names);
    const bool first = !state.subscribed;
    state.subscribed = true;

    if (first && isKnownType(type_url) && snapshot_ != nullptr && !request.version_info().empty()) {
      // A reconnecting client that already holds exactly what we would send gets nothing.
      auto desired = desiredLocked(type_url, state);
      if (versionOfLocked(type_url, *desired) == request.version_info()) {
        state.responded = true;
        state.version_sent = request.version_info();
        state.version_acked = request.version_info();
        state.sent = std::move(desired);
        return;
      }
    }
    maybeRespondLocked(type_url, first);
  }

  // True when the next push changes what the client holds of `type_url` (subscribed on this
  // stream).
  bool willChangeLocked(const std::string& type_url) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    const auto it = types_.find(type_url);
    if (it == types_.end() || !it->second.subscribed) {
      return false;
    }
    return !it->second.responded ||
           versionOfLocked(type_url, *desiredLocked(type_url, it->second)) !=
               it->second.version_sent;
  }

  void pushSnapshotLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    const std::string cluster_type(TypeUrl::kCluster);
    bool drop_stale_clusters_last = false;
    auto clusters = types_.find(cluster_type);
    if (clusters != types_.end() && clusters->second.subscribed && clusters->second.responded &&
        (willChangeLocked(std::string(TypeUrl::kListener)) ||
         willChangeLocked(std::string(TypeUrl::kRoute)))) {
      // Listeners and routes still in use may refer to clusters this snapshot removes until
      // their own update arrives: keep the removed clusters until after it.
      TypeState& cds = clusters->second;
      const auto next_clusters = desiredLocked(cluster_type, cds);
      std::shared_ptr<ResourceMap> kept;  // next_clusters plus the removed ones, if any
      for (const auto& [name, resource] : *cds.sent) {
        if (!next_clusters->contains(name)) {
          if (kept == nullptr) {
            kept = std::make_shared<ResourceMap>(*next_clusters);
          }
          kept->emplace(name, resource);
        }
      }
      if (kept != nullptr) {
        drop_stale_clusters_last = true;
        if (resourceSetVersion(*kept) != cds.version_sent) {
          sendLocked(cluster_type, cds, std::move(kept));
        }
      }
    }
    for (const auto& type_url : typesInPushOrder(types_)) {
      if (type_url == cluster_type && drop_stale_clusters_last) {
        continue;
      }
      maybeRespondLocked(type_url, !types_[type_url].responded);
    }
    if (drop_stale_clusters_last) {
      maybeRespondLocked(cluster_type, false);
    }
  }

  std::string typesJsonLocked() const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    std::vector<std::string> entries;
    for (const auto& [type_url, state] : types_) {
      if (!state.subscribed) {
        continue;
      }
      entries.push_back(absl::StrCat(
          Json::quote(type_url), ":{\"version_sent\":", Json::quote(state.version_sent),
          ",\"version_acked\":", Json::quote(state.version_acked),
          ",\"last_nack\":", Json::quote(state.last_nack), ",\"last_nack_version\":",
          Json::quote(state.last_nack_version), ",\"nonce\":", Json::quote(state.nonce),
          ",\"wildcard\":", state.wildcard ? "true" : "false", ",\"resource_names\":",
          Json::quoteList(state.names), ",\"resources_sent\":", state.sent->size(), "}"));
    }
    return absl::StrJoin(entries, ",");
  }

  std::map<std::string, TypeState> types_ ABSL_GUARDED_BY(mutex_);
};

// ------------------------------------------------------------------------------------------------
// Delta (incremental).

class DeltaStream final : public StreamBase<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
 public:
  DeltaStream(AdsServer& server, grpc::CallbackServerContext& context, absl::string_view service,
              absl::string_view type_url)
      : StreamBase(server, context, "delta", service, type_url) {}

 private:
  struct TypeState {
    bool subscribed = false;
    bool wildcard = false;
    bool responded = false;
    std::set<std::string> names;  // explicit subscriptions, without "*"
    // What the client holds (as far as this stream knows): name -> per-resource version. Filled
    // from initial_resource_versions and from every response (NACKed ones too, so a rejected
    // resource is not resent until it changes).
    std::map<std::string, std::string> client_versions;
    // Subscribed names already reported as absent in removed_resources.
    std::set<std::string> reported_absent;
    std::string nonce;
    // Unanswered nonces -> system_version_info, to credit an ACK to the right version.
    std::map<std::string, std::string> outstanding;
    std::string version_sent;
    std::string version_acked;
    std::string last_nack;
  };

  enum class Part { UpsertsOnly, RemovalsOnly, Both };

  // Sends what the client lacks for `type_url`. `force` answers even with nothing to say.
  void respondLocked(const std::string& type_url, Part part, bool force)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    TypeState& state = types_[type_url];
    if (!state.subscribed) {
      return;
    }
    const bool known = isKnownType(type_url);
    if (known && snapshot_ == nullptr) {
      return;  // Answered when the group gets a snapshot.
    }
    const ResourceMap& all = resourcesLocked(type_url);
    auto response = std::make_unique<DeltaDiscoveryResponse>();
    if (part != Part::RemovalsOnly) {
      for (const auto& [name, resource] : all) {
        if (!state.wildcard && !state.names.contains(name)) {
          continue;
        }
        const auto it = state.client_versions.find(name);
        if (it != state.client_versions.end() && it->second == resource->version) {
          continue;
        }
        auto* entry = response->add_resources();
        entry->set_name(name);
        entry->set_version(resource->version);
        *entry->mutable_resource() = resource->any;
        state.client_versions[name] = resource->version;
        state.reported_absent.erase(name);
      }
    }
    if (part != Part::UpsertsOnly) {
      for (auto it = state.client_versions.begin(); it != state.client_versions.end();) {
        if (all.contains(it->first)) {
          ++it;
          continue;
        }
        response->add_removed_resources(it->first);
        if (state.names.contains(it->first)) {
          state.reported_absent.insert(it->first);
        }
        it = state.client_versions.erase(it);
      }
      for (const auto& name : state.names) {
        if (!all.contains(name) && !state.reported_absent.contains(name)) {
          response->add_removed_resources(name);
          state.reported_absent.insert(name);
        }
      }
    }
    if (response->resources_size() == 0 && response->removed_resources_size() == 0 && !force) {
      return;
    }
    const std::string version = snapshot_ == nullptr || !known ? "" : snapshot_->version();
    response->set_system_version_info(version);
    response->set_type_url(type_url);
    response->set_nonce(server_.nextNonce());
    state.responded = true;
    state.nonce = response->nonce();
    state.version_sent = version;
    state.outstanding[response->nonce()] = version;
    SKIFF_LOG(debug, "node \"%s\": delta %s: %d resources, %d removed, nonce %s", nodeIdLocked(),
              type_url, response->resources_size(), response->removed_resources_size(),
              response->nonce());
    enqueueLocked(std::move(response));
  }

  void onRequestLocked(const DeltaDiscoveryRequest& request) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    const std::string& type_url = request.type_url();
    TypeState& state = types_[type_url];
    const bool first = !state.subscribed;
    state.subscribed = true;

    if (!request.response_nonce().empty()) {
      const auto it = state.outstanding.find(request.response_nonce());
      if (it == state.outstanding.end()) {
        server_.stats().stale_nonces.inc();
      } else {
        if (request.has_error_detail()) {
          server_.stats().nacks.inc();
          state.last_nack = request.error_detail().message();
          SKIFF_LOG(warn, "node \"%s\" rejected delta %s (nonce %s): %s", nodeIdLocked(), type_url,
                    request.response_nonce(), state.last_nack);
        } else {
          server_.stats().acks.inc();
          state.version_acked = it->second;
        }
        // Responses are answered in order: this one and every older one are settled.
        state.outstanding.erase(state.outstanding.begin(), std::next(it));
      }
    }

    // Subscription changes are honoured whatever the nonce (the nonce only correlates ACKs).
    if (first) {
      for (const auto& [name, version] : request.initial_resource_versions()) {
        state.client_versions[name] = version;
      }
      if (request.resource_names_subscribe().empty() &&
          request.resource_names_unsubscribe().empty()) {
        state.wildcard = true;  // legacy wildcard
      }
    }
    for (const auto& name : request.resource_names_subscribe()) {
      if (name == "*") {
        state.wildcard = true;
        continue;
      }
      state.names.insert(name);
      state.reported_absent.erase(name);
      if (!first || !request.initial_resource_versions().contains(name)) {
        // A subscription must be answered even if the client seems to hold the resource.
        state.client_versions.erase(name);
      }
    }
    for (const auto& name : request.resource_names_unsubscribe()) {
      if (name == "*") {
        state.wildcard = false;
        continue;
      }
      state.names.erase(name);
      state.reported_absent.erase(name);
      // Still covered by the wildcard: the client must get it again (resource or removal).
      state.client_versions.erase(name);
    }
    respondLocked(type_url, Part::Both, first);
  }

  void pushSnapshotLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    const auto order = typesInPushOrder(types_);
    for (const auto& type_url : order) {
      const bool holds_back_removals =
          type_url == TypeUrl::kCluster || type_url == TypeUrl::kEndpoint;
      respondLocked(type_url, holds_back_removals ? Part::UpsertsOnly : Part::Both,
                    !types_[type_url].responded);
    }
    for (const auto& type_url : order) {
      if (type_url == TypeUrl::kCluster || type_url == TypeUrl::kEndpoint) {
        respondLocked(type_url, Part::RemovalsOnly, false);
      }
    }
  }

  std::string typesJsonLocked() const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    std::vector<std::string> entries;
    for (const auto& [type_url, state] : types_) {
      if (!state.subscribed) {
        continue;
      }
      entries.push_back(absl::StrCat(
          Json::quote(type_url), ":{\"version_sent\":", Json::quote(state.version_sent),
          ",\"version_acked\":", Json::quote(state.version_acked),
          ",\"last_nack\":", Json::quote(state.last_nack), ",\"nonce\":", Json::quote(state.nonce),
          ",\"wildcard\":", state.wildcard ? "true" : "false", ",\"resource_names\":",
          Json::quoteList(state.names), ",\"resources_held\":", state.client_versions.size(), "}"));
    }
    return absl::StrJoin(entries, ",");
  }

  std::map<std::string, TypeState> types_ ABSL_GUARDED_BY(mutex_);
};

template <class Stream>
Stream* createStream(AdsServer& server, grpc::CallbackServerContext* context,
                     absl::string_view service, absl::string_view type_url) {
  auto stream = std::make_shared<Stream>(server, *context, service, type_url);
  stream->start(stream);
  return stream.get();
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Per-type services: each opens the same streams as ADS, restricted to its one type.

class ListenerService final
    : public envoy::service::listener::v3::ListenerDiscoveryService::CallbackService {
 public:
  explicit ListenerService(AdsServer& server) : server_(server) {}
  grpc::ServerBidiReactor<DiscoveryRequest, DiscoveryResponse>* StreamListeners(
      grpc::CallbackServerContext* context) override {
    return server_.openSotwStream(context, "lds", TypeUrl::kListener);
  }
  grpc::ServerBidiReactor<DeltaDiscoveryRequest, DeltaDiscoveryResponse>* DeltaListeners(
      grpc::CallbackServerContext* context) override {
    return server_.openDeltaStream(context, "lds", TypeUrl::kListener);
  }

 private:
  AdsServer& server_;
};

class ClusterService final
    : public envoy::service::cluster::v3::ClusterDiscoveryService::CallbackService {
 public:
  explicit ClusterService(AdsServer& server) : server_(server) {}
  grpc::ServerBidiReactor<DiscoveryRequest, DiscoveryResponse>* StreamClusters(
      grpc::CallbackServerContext* context) override {
    return server_.openSotwStream(context, "cds", TypeUrl::kCluster);
  }
  grpc::ServerBidiReactor<DeltaDiscoveryRequest, DeltaDiscoveryResponse>* DeltaClusters(
      grpc::CallbackServerContext* context) override {
    return server_.openDeltaStream(context, "cds", TypeUrl::kCluster);
  }

 private:
  AdsServer& server_;
};

class EndpointService final
    : public envoy::service::endpoint::v3::EndpointDiscoveryService::CallbackService {
 public:
  explicit EndpointService(AdsServer& server) : server_(server) {}
  grpc::ServerBidiReactor<DiscoveryRequest, DiscoveryResponse>* StreamEndpoints(
      grpc::CallbackServerContext* context) override {
    return server_.openSotwStream(context, "eds", TypeUrl::kEndpoint);
  }
  grpc::ServerBidiReactor<DeltaDiscoveryRequest, DeltaDiscoveryResponse>* DeltaEndpoints(
      grpc::CallbackServerContext* context) override {
    return server_.openDeltaStream(context, "eds", TypeUrl::kEndpoint);
  }

 private:
  AdsServer& server_;
};

class RouteService final
    : public envoy::service::route::v3::RouteDiscoveryService::CallbackService {
 public:
  explicit RouteService(AdsServer& server) : server_(server) {}
  grpc::ServerBidiReactor<DiscoveryRequest, DiscoveryResponse>* StreamRoutes(
      grpc::CallbackServerContext* context) override {
    return server_.openSotwStream(context, "rds", TypeUrl::kRoute);
  }
  grpc::ServerBidiReactor<DeltaDiscoveryRequest, DeltaDiscoveryResponse>* DeltaRoutes(
      grpc::CallbackServerContext* context) override {
    return server_.openDeltaStream(context, "rds", TypeUrl::kRoute);
  }

 private:
  AdsServer& server_;
};

class PerTypeServices {
 public:
  explicit PerTypeServices(AdsServer& server)
      : listeners(server), clusters(server), endpoints(server), routes(server) {}
  ListenerService listeners;
  ClusterService clusters;
  EndpointService endpoints;
  RouteService routes;
};

AdsServer::AdsServer(SnapshotCache& cache, Stats::Store& store)
    : cache_(cache), stats_(store), per_type_(std::make_unique<PerTypeServices>(*this)) {}

AdsServer::~AdsServer() = default;

std::vector<grpc::Service*> AdsServer::services() {
  return {this, &per_type_->listeners, &per_type_->clusters, &per_type_->endpoints,
          &per_type_->routes};
}

grpc::ServerBidiReactor<DiscoveryRequest, DiscoveryResponse>* AdsServer::StreamAggregatedResources(
    grpc::CallbackServerContext* context) {
  return openSotwStream(context, "ads", "");
}

grpc::ServerBidiReactor<DeltaDiscoveryRequest, DeltaDiscoveryResponse>*
AdsServer::DeltaAggregatedResources(grpc::CallbackServerContext* context) {
  return openDeltaStream(context, "ads", "");
}

grpc::ServerBidiReactor<DiscoveryRequest, DiscoveryResponse>* AdsServer::openSotwStream(
    grpc::CallbackServerContext* context, absl::string_view service, absl::string_view type_url) {
  return createStream<SotwStream>(*this, context, service, type_url);
}

grpc::ServerBidiReactor<DeltaDiscoveryRequest, DeltaDiscoveryResponse>* AdsServer::openDeltaStream(
    grpc::CallbackServerContext* context, absl::string_view service, absl::string_view type_url) {
  return createStream<DeltaStream>(*this, context, service, type_url);
}

uint64_t AdsServer::registerStream(AdsStreamSharedPtr stream) {
  Thread::LockGuard lock(mutex_);
  const uint64_t id = next_stream_id_++;
  streams_.emplace(id, std::move(stream));
  return id;
}

void AdsServer::unregisterStream(uint64_t id) {
  AdsStreamSharedPtr stream;  // Dropped outside the lock: it may be the last reference.
  Thread::LockGuard lock(mutex_);
  auto it = streams_.find(id);
  if (it != streams_.end()) {
    stream = std::move(it->second);
    streams_.erase(it);
  }
}

void AdsServer::closeAllStreams() {
  std::vector<AdsStreamSharedPtr> streams;
  {
    Thread::LockGuard lock(mutex_);
    for (const auto& [id, stream] : streams_) {
      streams.push_back(stream);
    }
  }
  for (const auto& stream : streams) {
    stream->close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "skiff-control is shutting down"));
  }
}

std::string AdsServer::nodesJson() const {
  std::vector<AdsStreamSharedPtr> streams;
  {
    Thread::LockGuard lock(mutex_);
    for (const auto& [id, stream] : streams_) {
      streams.push_back(stream);
    }
  }
  std::vector<std::string> entries;
  for (const auto& stream : streams) {
    entries.push_back(stream->statusJson());
  }
  return absl::StrCat("{\"nodes\":[", absl::StrJoin(entries, ","), "]}");
}

size_t AdsServer::streamCount() const {
  Thread::LockGuard lock(mutex_);
  return streams_.size();
}

absl::StatusOr<std::unique_ptr<grpc::Server>> startGrpcServer(const GrpcServerOptions& options,
                                                              AdsServer& server, int& bound_port) {
  return startGrpcServer(options, server.services(), bound_port);
}

absl::StatusOr<std::unique_ptr<grpc::Server>> startGrpcServer(const std::string& address,
                                                              AdsServer& server, int& bound_port) {
  GrpcServerOptions options;
  options.address = address;
  return startGrpcServer(options, server, bound_port);
}

}  // namespace Skiff::Control
