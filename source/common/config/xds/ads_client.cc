#include "source/common/config/xds/ads_client.h"

#include <grpcpp/grpcpp.h>

#include <functional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "source/common/common/assert.h"
#include "source/common/common/logger.h"
#include "source/common/config/xds/response_decoder.h"

namespace Skiff::Config::Xds {
namespace {

using envoy::service::discovery::v3::DeltaDiscoveryRequest;
using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;

// Envoy NACKs with google.rpc.Code INTERNAL.
constexpr int kNackCode = 13;
// Long error messages are cut so a NACK never carries a huge request.
constexpr size_t kMaxErrorDetail = 4096;

std::string shortType(const std::string& type_url) {
  return type_url.substr(type_url.rfind('.') + 1);
}

std::string statPrefix(const std::string& type_url) {
  if (type_url == kListenerType) {
    return "listener_manager.lds.";
  }
  if (type_url == kClusterType) {
    return "cluster_manager.cds.";
  }
  return "cluster_manager.eds.";
}

}  // namespace

AdsClient::AdsClient(Event::Dispatcher& dispatcher, AdsClientOptions options,
                     SubscriptionCallbacks& callbacks, Stats::Store& stats)
    : dispatcher_(dispatcher),
      options_(std::move(options)),
      callbacks_(callbacks),
      backoff_(options_.initial_backoff),
      random_(std::random_device{}()),
      connected_state_(stats.gauge("control_plane.connected_state")),
      stats_(stats) {
  for (const auto& type_url : options_.wildcard_types) {
    typeState(type_url).wildcard = true;
  }
}

AdsClient::~AdsClient() { shutdown(); }

AdsClient::TypeState& AdsClient::typeState(const std::string& type_url) {
  auto it = types_.find(type_url);
  if (it != types_.end()) {
    return it->second;
  }
  TypeState& state = types_[type_url];
  const std::string prefix = statPrefix(type_url);
  state.update_attempt = &stats_.counter(prefix + "update_attempt");
  state.update_success = &stats_.counter(prefix + "update_success");
  state.update_rejected = &stats_.counter(prefix + "update_rejected");
  state.version = &stats_.gauge(prefix + "version");
  state.update_duration =
      &stats_.histogram(prefix + "update_duration", Stats::Histogram::Unit::Milliseconds);
  // First requests go out clusters, endpoints, listeners: the dependency order.
  type_order_.push_back(type_url);
  std::stable_sort(type_order_.begin(), type_order_.end(), [](const auto& a, const auto& b) {
    auto rank = [](const std::string& t) {
      return t == kClusterType ? 0 : t == kEndpointType ? 1 : t == kListenerType ? 2 : 3;
    };
    return rank(a) < rank(b);
  });
  return state;
}

void AdsClient::start() {
  ASSERT(dispatcher_.isThreadSafe());
  retry_timer_ = dispatcher_.createTimer([this] { connect(); });
  connect();
}

void AdsClient::newChannel() {
  grpc::ChannelArguments args;
  // Detect a dead management server without waiting for TCP to give up.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // A subchannel of our own, not one from gRPC's process-wide pool: see connect().
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(options_.max_receive_message_bytes);
  channel_ = grpc::CreateCustomChannel(options_.target, grpc::InsecureChannelCredentials(), args);
  stub_ = envoy::service::discovery::v3::AggregatedDiscoveryService::NewStub(channel_);
}

void AdsClient::connect() {
  if (shut_down_) {
    return;
  }
  // Every attempt dials on a fresh channel. Our own jittered backoff decides when to try; a
  // channel that failed before answers from its own reconnect backoff instead (1 s growing by
  // 1.6x up to 120 s, independent of ours): a stream opened meanwhile fails at once with the
  // last connect error even when the management server is back. A server down for 3 s was found
  // again only ~10 s after it came back (test/integration/chaos_test.py, test_1), and resetting
  // the channel's backoff before the attempt did not help (the reset is asynchronous). The old
  // stream is finished (closeStream) before this runs, so the old channel has no calls left.
  newChannel();
  ++stream_id_;
  context_ = std::make_unique<grpc::ClientContext>();
  for (auto& [type_url, state] : types_) {
    state.nonce.clear();
    state.requested = false;
  }
  const uint64_t id = stream_id_;
  SKIFF_LOG(info, "xds: opening %s ADS stream to %s", options_.delta ? "delta" : "SotW",
            options_.target);
  if (options_.delta) {
    delta_stream_ = stub_->DeltaAggregatedResources(context_.get());
    reader_ = std::thread([this, id, stream = delta_stream_.get()] {
      Logger::setThreadName("xds_reader");
      while (true) {
        auto response = std::make_unique<DeltaDiscoveryResponse>();
        if (!stream->Read(response.get())) {
          break;
        }
        dispatcher_.post([this, id, r = std::move(response)]() mutable {
          onResponse(PendingResponse{id, std::chrono::steady_clock::now(), nullptr, std::move(r)});
        });
      }
      dispatcher_.post([this, id] { onStreamClosed(id); });
    });
  } else {
    stream_ = stub_->StreamAggregatedResources(context_.get());
    reader_ = std::thread([this, id, stream = stream_.get()] {
      Logger::setThreadName("xds_reader");
      while (true) {
        auto response = std::make_unique<DiscoveryResponse>();
        if (!stream->Read(response.get())) {
          break;
        }
        dispatcher_.post([this, id, r = std::move(response)]() mutable {
          onResponse(PendingResponse{id, std::chrono::steady_clock::now(), std::move(r), nullptr});
        });
      }
      dispatcher_.post([this, id] { onStreamClosed(id); });
    });
  }
  bool written = true;
  for (const auto& type_url : type_order_) {
    written &= sendInitialRequest(type_url);
  }
  stream_started_ = std::chrono::steady_clock::now();
  // The stream counts as connected once the subscription requests went out on it (as Envoy
  // counts it once established), not at the first response: a server that already knows the
  // client holds its current config sends nothing after a reconnect.
  if (written) {
    markStreamUp();
  }
}

void AdsClient::markStreamUp() {
  if (stream_up_) {
    return;
  }
  stream_up_ = true;
  connected_state_.set(1);
  callbacks_.onStreamStatus(true);
}

bool AdsClient::sendInitialRequest(const std::string& type_url) {
  TypeState& state = typeState(type_url);
  if (!state.wildcard && state.names.empty()) {
    return true;  // Nothing to ask for yet (EDS before any EDS cluster exists).
  }
  state.requested = true;
  if (options_.delta) {
    DeltaDiscoveryRequest request;
    *request.mutable_node() = options_.node;
    request.set_type_url(type_url);
    // A wildcard subscription is an empty subscribe list on the first request (the legacy form
    // every delta server understands).
    for (const auto& name : state.names) {
      request.add_resource_names_subscribe(name);
    }
    for (const auto& [name, version] : state.known) {
      (*request.mutable_initial_resource_versions())[name] = version;
    }
    return delta_stream_ != nullptr && delta_stream_->Write(request);
  }
  return sendRequest(type_url, "");
}

bool AdsClient::sendRequest(const std::string& type_url, const std::string& error) {
  TypeState& state = typeState(type_url);
  if (options_.delta) {
    if (delta_stream_ == nullptr) {
      return false;
    }
    DeltaDiscoveryRequest request;
    *request.mutable_node() = options_.node;
    request.set_type_url(type_url);
    request.set_response_nonce(state.nonce);
    if (!error.empty()) {
      request.mutable_error_detail()->set_code(kNackCode);
      request.mutable_error_detail()->set_message(error.substr(0, kMaxErrorDetail));
    }
    return delta_stream_->Write(request);
  }
  if (stream_ == nullptr) {
    return false;
  }
  DiscoveryRequest request;
  request.set_version_info(state.accepted_version);
  *request.mutable_node() = options_.node;
  request.set_type_url(type_url);
  request.set_response_nonce(state.nonce);
  for (const auto& name : state.names) {
    request.add_resource_names(name);
  }
  if (!error.empty()) {
    request.mutable_error_detail()->set_code(kNackCode);
    request.mutable_error_detail()->set_message(error.substr(0, kMaxErrorDetail));
  }
  return stream_->Write(request);
}

void AdsClient::updateResourceNames(const std::string& type_url, std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  TypeState& state = typeState(type_url);
  if (state.wildcard || names == state.names) {
    return;
  }
  std::vector<std::string> old = std::move(state.names);
  state.names = std::move(names);
  if (stream_id_ == 0 || (stream_ == nullptr && delta_stream_ == nullptr)) {
    return;  // The next stream's first request carries them.
  }
  if (!state.requested) {
    sendInitialRequest(type_url);
    return;
  }
  if (options_.delta) {
    DeltaDiscoveryRequest request;
    *request.mutable_node() = options_.node;
    request.set_type_url(type_url);
    for (const auto& name : state.names) {
      if (!std::binary_search(old.begin(), old.end(), name)) {
        request.add_resource_names_subscribe(name);
      }
    }
    for (const auto& name : old) {
      if (!std::binary_search(state.names.begin(), state.names.end(), name)) {
        request.add_resource_names_unsubscribe(name);
        state.known.erase(name);
      }
    }
    delta_stream_->Write(request);
    return;
  }
  sendRequest(type_url, "");
}

void AdsClient::onResponse(PendingResponse response) {
  if (response.stream_id != stream_id_ || shut_down_) {
    return;
  }
  markStreamUp();
  // A message from the server proves the stream works: start backing off from scratch.
  backoff_ = options_.initial_backoff;
  const std::string& type_url =
      response.sotw != nullptr ? response.sotw->type_url() : response.delta->type_url();
  auto it = types_.find(type_url);
  if (it == types_.end() || !it->second.requested) {
    // Never asked for: a conforming server does not send these; ignore without ACK.
    SKIFF_LOG(warn, "xds: ignoring a response of unsubscribed type '%s'", type_url);
    return;
  }
  TypeState& state = it->second;
  state.nonce = response.sotw != nullptr ? response.sotw->nonce() : response.delta->nonce();
  state.queue.push_back(std::move(response));
  if (!state.applying) {
    processNext(type_url);
  }
}

void AdsClient::processNext(const std::string& type_url) {
  TypeState& state = types_.at(type_url);
  if (state.queue.empty()) {
    return;
  }
  PendingResponse response = std::move(state.queue.front());
  state.queue.pop_front();
  state.update_attempt->inc();

  const HeldResources held{state.known, state.known_by_version};
  DecodedResponse decoded = response.sotw != nullptr
                                ? decodeSotwResponse(*response.sotw, type_url, held)
                                : decodeDeltaResponse(*response.delta, type_url, held);
  ConfigUpdate update = std::move(decoded.update);
  const std::string nonce = std::move(decoded.nonce);
  const std::vector<std::string>& errors = decoded.errors;

  const uint64_t stream_id = response.stream_id;
  const auto received = response.received;
  if (!errors.empty()) {
    finishUpdate(type_url, stream_id, update.version, nonce, std::make_shared<AppliedSet>(),
                 absl::InvalidArgumentError(absl::StrJoin(errors, "; ")), received);
    return;
  }
  state.applying = true;
  // What finishUpdate needs to remember: names and versions only, shared, never the resources.
  // The completion is copied along the apply path (per listener, per worker); it must stay small.
  auto applied = std::make_shared<AppliedSet>();
  applied->upserts.reserve(update.upserts.size());
  for (const auto& resource : update.upserts) {
    applied->upserts.emplace_back(resource.name, resource.version);
  }
  applied->removes = update.removes;
  std::string version = update.version;
  callbacks_.onConfigUpdate(std::move(update), [this, type_url, stream_id, version, nonce, applied,
                                                received](absl::Status status) {
    // `done` may run on any thread; the bookkeeping belongs to the control thread. The status
    // crosses as its code and message, not as the absl::Status: an error Status shares one
    // refcounted rep between copies, and its last release is inside libabsl_status, which is not
    // TSan-built here, so a rep copied on one thread and freed on the other reads to TSan as a
    // race (xds_test under TSan, a NACKed listener update).
    dispatcher_.post([this, type_url, stream_id, version, nonce, applied, code = status.code(),
                      message = std::string(status.message()), received] {
      finishUpdate(type_url, stream_id, version, nonce, applied, absl::Status(code, message),
                   received);
    });
  });
}

void AdsClient::finishUpdate(const std::string& type_url, uint64_t stream_id, std::string version,
                             std::string nonce, std::shared_ptr<const AppliedSet> applied,
                             absl::Status status, std::chrono::steady_clock::time_point received) {
  if (shut_down_) {
    return;
  }
  TypeState& state = types_.at(type_url);
  state.applying = false;
  const auto apply_time = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - received);
  state.update_duration->recordValue(apply_time.count() / 1000);
  {
    Thread::LockGuard lock(records_lock_);
    records_.push_back(UpdateRecord{type_url, version, status.ok(), applied->upserts.size(),
                                    applied->removes.size(), apply_time,
                                    std::chrono::system_clock::now()});
    if (records_.size() > 256) {
      records_.pop_front();
    }
  }
  if (status.ok()) {
    state.update_success->inc();
    state.accepted_version = version;
    // 52 bits so the value survives a trip through a double (JSON, Prometheus).
    state.version->set(
        static_cast<int64_t>(std::hash<std::string>{}(version) & ((uint64_t{1} << 52) - 1)));
    // known_by_version is for SotW, where versions are content hashes and so unique; delta
    // versions are the server's and may repeat across resources.
    const bool sotw = !options_.delta;
    for (const auto& [name, resource_version] : applied->upserts) {
      auto old = state.known.find(name);
      if (old != state.known.end() && sotw) {
        state.known_by_version.erase(old->second);
      }
      state.known[name] = resource_version;
      if (sotw) {
        state.known_by_version[resource_version] = name;
      }
    }
    for (const auto& name : applied->removes) {
      auto old = state.known.find(name);
      if (old != state.known.end()) {
        if (sotw) {
          state.known_by_version.erase(old->second);
        }
        state.known.erase(old);
      }
    }
    SKIFF_LOG(info, "xds: applied %s version '%s' (%d changed, %d removed)", shortType(type_url),
              version, applied->upserts.size(), applied->removes.size());
  } else {
    state.update_rejected->inc();
    SKIFF_LOG(warn, "xds: rejected %s version '%s': %s", shortType(type_url), version,
              status.message());
  }
  // The ACK/NACK answers the response on the stream it came from; after a reconnect the new
  // stream's first request already carries the outcome (the accepted version).
  if (stream_id == stream_id_ && stream_up_) {
    std::string saved = state.nonce;
    state.nonce = nonce;
    sendRequest(type_url, status.ok() ? "" : std::string(status.message()));
    // Keep the newest nonce seen: a queued response's ACK must carry its own.
    state.nonce = saved;
  }
  processNext(type_url);
}

std::vector<AdsClient::UpdateRecord> AdsClient::recentUpdates() const {
  Thread::LockGuard lock(records_lock_);
  return std::vector<UpdateRecord>(records_.begin(), records_.end());
}

void AdsClient::onStreamClosed(uint64_t stream_id) {
  if (stream_id != stream_id_ || shut_down_) {
    return;
  }
  // A stream that lived a while was healthy even if the server had nothing to send: the next
  // attempt starts from the shortest backoff.
  if (std::chrono::steady_clock::now() - stream_started_ > std::chrono::seconds(30)) {
    backoff_ = options_.initial_backoff;
  }
  closeStream();
  scheduleReconnect();
}

void AdsClient::closeStream() {
  // The reader has seen the end of the stream (or the cancel) before Finish() may be called.
  if (reader_.joinable()) {
    reader_.join();
  }
  grpc::Status status;
  if (stream_ != nullptr) {
    status = stream_->Finish();
  } else if (delta_stream_ != nullptr) {
    status = delta_stream_->Finish();
  }
  stream_.reset();
  delta_stream_.reset();
  context_.reset();
  // Responses from the dead stream that were not applied yet are dropped; the server resends
  // what is current on the next stream.
  for (auto& [type_url, state] : types_) {
    state.queue.clear();
  }
  if (stream_up_ || !shut_down_) {
    SKIFF_LOG(warn, "xds: stream to %s closed: %s (%d); keeping the last good config",
              options_.target, status.error_message(), static_cast<int>(status.error_code()));
  }
  if (stream_up_) {
    stream_up_ = false;
    connected_state_.set(0);
    callbacks_.onStreamStatus(false);
  }
}

void AdsClient::scheduleReconnect() {
  // Exponential backoff with full jitter in [backoff/2, backoff].
  std::uniform_int_distribution<int64_t> jitter(backoff_.count() / 2, backoff_.count());
  std::chrono::milliseconds delay(jitter(random_));
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
  SKIFF_LOG(info, "xds: reconnecting in %d ms", delay.count());
  retry_timer_->enableTimer(delay);
}

void AdsClient::shutdown() {
  if (shut_down_) {
    return;
  }
  shut_down_ = true;
  if (retry_timer_ != nullptr) {
    retry_timer_->disableTimer();
  }
  if (context_ != nullptr) {
    context_->TryCancel();
  }
  closeStream();
}

}  // namespace Skiff::Config::Xds
