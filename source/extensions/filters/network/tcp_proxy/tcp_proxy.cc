#include "source/extensions/filters/network/tcp_proxy/tcp_proxy.h"

#include <list>
#include <random>

#include "source/common/common/logger.h"
#include "source/common/network/connection_impl.h"

namespace Skiff::Extensions::NetworkFilters::TcpProxy {

const std::string& TcpProxyConfig::pickCluster() const {
  if (weighted_clusters.empty()) {
    return cluster;
  }
  // Per-worker generator: no lock, and workers do not share a sequence.
  thread_local std::mt19937_64 random{std::random_device{}()};
  uint64_t point = std::uniform_int_distribution<uint64_t>(0, total_weight - 1)(random);
  for (const auto& entry : weighted_clusters) {
    if (point < entry.weight) {
      return entry.name;
    }
    point -= entry.weight;
  }
  return weighted_clusters.back().name;
}
namespace {

// How long an upstream connection may take to flush what the downstream sent before it closed.
constexpr std::chrono::seconds kUpstreamFlushTimeout{30};

/**
 * Keeps an upstream connection alive after its downstream went away, until everything the
 * downstream sent has been written upstream (Envoy's "upstream flush"). Lives in a per-worker
 * list so a worker that shuts down still frees it.
 */
class UpstreamDrainer : public Network::ConnectionCallbacks, public Event::DeferredDeletable {
 public:
  using List = std::list<std::unique_ptr<UpstreamDrainer>>;

  static List& list() {
    thread_local List drainers;
    return drainers;
  }

  static void start(Network::ClientConnectionPtr&& connection, TcpProxyStats& stats) {
    auto& drainers = list();
    drainers.push_back(
        std::unique_ptr<UpstreamDrainer>(new UpstreamDrainer(std::move(connection), stats)));
    drainers.back()->self_ = std::prev(drainers.end());
  }

  ~UpstreamDrainer() override {
    if (connection_->state() != Network::Connection::State::Closed) {
      connection_->removeConnectionCallbacks(*this);
      connection_->close(Network::ConnectionCloseType::NoFlush);
    }
    stats_.upstream_flush_active.dec();
  }

  void onEvent(Network::ConnectionEvent event) override {
    if (event == Network::ConnectionEvent::Connected) {
      return;
    }
    timer_.reset();
    // Hand ourselves to the dispatcher: we are inside the connection's callback.
    Event::Dispatcher& dispatcher = connection_->dispatcher();
    std::unique_ptr<UpstreamDrainer> me = std::move(*self_);
    list().erase(self_);
    dispatcher.deferredDelete(std::move(me));
  }

 private:
  UpstreamDrainer(Network::ClientConnectionPtr&& connection, TcpProxyStats& stats)
      : connection_(std::move(connection)), stats_(stats) {
    stats_.upstream_flush_total.inc();
    stats_.upstream_flush_active.inc();
    connection_->addConnectionCallbacks(*this);
    timer_ = connection_->dispatcher().createTimer(
        [this] { connection_->close(Network::ConnectionCloseType::NoFlush); });
    timer_->enableTimer(kUpstreamFlushTimeout);
  }

  Network::ClientConnectionPtr connection_;
  TcpProxyStats& stats_;
  Event::TimerPtr timer_;
  List::iterator self_;
};

}  // namespace

Filter::Filter(TcpProxyConfigConstSharedPtr config) : config_(std::move(config)) {}

Filter::~Filter() {
  // The downstream always reports its close before it is destroyed, which releases the upstream;
  // this is only a backstop and must not touch the (dying) downstream.
  if (upstream_ != nullptr) {
    upstream_->removeConnectionCallbacks(*upstream_callbacks_);
    upstream_->close(Network::ConnectionCloseType::NoFlush);
    cluster_info_->stats->upstream_cx_active.dec();
  }
}

void Filter::initializeReadFilterCallbacks(Network::ReadFilterCallbacks& callbacks) {
  read_callbacks_ = &callbacks;
  Network::Connection& downstream = callbacks.connection();
  downstream.addConnectionCallbacks(*this);
  // A FIN from either side is forwarded as a FIN, not turned into a close of both directions.
  downstream.enableHalfClose(true);
}

Network::FilterStatus Filter::onNewConnection() {
  config_->stats->downstream_cx_total.inc();
  Network::Connection& downstream = read_callbacks_->connection();
  // Hold downstream bytes in the kernel until there is somewhere to send them.
  downstream.readDisable(true);
  if (config_->idle_timeout.count() > 0) {
    idle_timer_ = downstream.dispatcher().createTimer([this] { onIdleTimeout(); });
    resetIdleTimer();
  }
  cluster_name_ = &config_->pickCluster();
  connectUpstream();
  return Network::FilterStatus::StopIteration;
}

bool Filter::connectUpstream() {
  Network::Connection& downstream = read_callbacks_->connection();
  // Look the cluster up on every attempt: a config update may have replaced this worker's
  // ThreadLocalCluster since the previous one.
  cluster_ = config_->cluster_manager->threadLocal().get(*cluster_name_);
  if (cluster_ == nullptr) {
    config_->stats->downstream_cx_no_route.inc();
    SKIFF_LOG(debug, "[C%d] tcp_proxy: no cluster '%s'", downstream.id(), *cluster_name_);
    downstream.close(Network::ConnectionCloseType::NoFlush);
    return false;
  }
  // The upstream keeps the cluster config it was opened with, whatever updates follow.
  cluster_info_ = cluster_->info();
  const Upstream::Host* host = cluster_->chooseHost(this);
  if (host == nullptr) {
    cluster_info_->stats->upstream_cx_none_healthy.inc();
    downstream.close(Network::ConnectionCloseType::NoFlush);
    return false;
  }
  ++connect_attempts_;
  upstream_host_ = *host;
  connect_start_ = std::chrono::steady_clock::now();
  upstream_ =
      Network::createClientConnection(downstream.dispatcher(), host->address,
                                      cluster_info_->connect_timeout, cluster_info_->upstream_bind);
  upstream_callbacks_ = std::make_shared<UpstreamCallbacks>(*this);
  upstream_->addConnectionCallbacks(*upstream_callbacks_);
  upstream_->addReadFilter(upstream_callbacks_);
  upstream_->enableHalfClose(true);
  upstream_->setBufferLimits(cluster_info_->per_connection_buffer_limit_bytes);
  cluster_info_->stats->upstream_cx_total.inc();
  cluster_info_->stats->upstream_cx_active.inc();
  upstream_->connect();
  return true;
}

Network::FilterStatus Filter::onData(Buffer::Instance& data, bool end_stream) {
  config_->stats->downstream_cx_rx_bytes_total.add(data.length());
  resetIdleTimer();
  if (upstream_ != nullptr) {
    cluster_info_->stats->upstream_cx_tx_bytes_total.add(data.length());
    upstream_->write(data, end_stream);
  } else {
    data.drain(data.length());
  }
  return Network::FilterStatus::StopIteration;
}

void Filter::onUpstreamData(Buffer::Instance& data, bool end_stream) {
  config_->stats->downstream_cx_tx_bytes_total.add(data.length());
  cluster_info_->stats->upstream_cx_rx_bytes_total.add(data.length());
  resetIdleTimer();
  read_callbacks_->connection().write(data, end_stream);
}

Network::FilterStatus Filter::UpstreamCallbacks::onData(Buffer::Instance& data, bool end_stream) {
  parent_.onUpstreamData(data, end_stream);
  return Network::FilterStatus::StopIteration;
}

void Filter::onUpstreamEvent(Network::ConnectionEvent event) {
  Network::Connection& downstream = read_callbacks_->connection();
  if (event == Network::ConnectionEvent::Connected) {
    upstream_connected_ = true;
    Upstream::reportOutlierResult(*cluster_info_, &upstream_host_,
                                  Upstream::OutlierResult::LocalOriginConnectSuccessFinal);
    connected_at_ = std::chrono::steady_clock::now();
    cluster_info_->stats->upstream_cx_connect_ms.recordValue(
        std::chrono::duration_cast<std::chrono::milliseconds>(connected_at_ - connect_start_)
            .count());
    downstream.readDisable(false);
    return;
  }

  // The upstream connection is closed.
  const bool timed_out = upstream_->connectTimedOut();
  const std::string reason = upstream_->transportFailureReason();
  cluster_info_->stats->upstream_cx_active.dec();
  cluster_info_->stats->upstream_cx_destroy.inc();
  downstream.dispatcher().deferredDelete(std::move(upstream_));
  if (!upstream_connected_) {
    Upstream::reportOutlierResult(*cluster_info_, &upstream_host_,
                                  timed_out ? Upstream::OutlierResult::LocalOriginTimeout
                                            : Upstream::OutlierResult::LocalOriginConnectFailed);
    if (timed_out) {
      cluster_info_->stats->upstream_cx_connect_timeout.inc();
    } else {
      cluster_info_->stats->upstream_cx_connect_fail.inc();
    }
    SKIFF_LOG(debug, "[C%d] tcp_proxy: upstream connect to cluster '%s' failed: %s",
              downstream.id(), cluster_info_->name, reason);
    if (!downstream_closed_ && connect_attempts_ < config_->max_connect_attempts &&
        connectUpstream()) {
      return;
    }
    downstream.close(Network::ConnectionCloseType::NoFlush);
    return;
  }
  cluster_info_->stats->upstream_cx_length_ms.recordValue(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                            connected_at_)
          .count());
  // Whatever the upstream sent is already in the downstream's write buffer: deliver it, then
  // close.
  downstream.close(Network::ConnectionCloseType::FlushWrite);
}

void Filter::onEvent(Network::ConnectionEvent event) {
  if (event == Network::ConnectionEvent::Connected) {
    return;
  }
  downstream_closed_ = true;
  idle_timer_.reset();
  if (upstream_ != nullptr) {
    releaseUpstream(event == Network::ConnectionEvent::RemoteClose);
  }
}

void Filter::releaseUpstream(bool flush) {
  upstream_->removeConnectionCallbacks(*upstream_callbacks_);
  if (upstream_connected_) {
    cluster_info_->stats->upstream_cx_length_ms.recordValue(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                              connected_at_)
            .count());
  }
  cluster_info_->stats->upstream_cx_active.dec();
  cluster_info_->stats->upstream_cx_destroy.inc();
  if (flush && upstream_connected_ && upstream_->state() == Network::Connection::State::Open) {
    // The downstream went away; what it sent before going must still reach the upstream.
    upstream_->close(Network::ConnectionCloseType::FlushWrite);
    if (upstream_->state() != Network::Connection::State::Closed) {
      UpstreamDrainer::start(std::move(upstream_), *config_->stats);
      return;
    }
  } else {
    upstream_->close(Network::ConnectionCloseType::NoFlush);
  }
  read_callbacks_->connection().dispatcher().deferredDelete(std::move(upstream_));
}

void Filter::onAboveWriteBufferHighWatermark() {
  // The downstream cannot take data as fast as the upstream sends it.
  if (upstream_ != nullptr) {
    upstream_->readDisable(true);
  }
}

void Filter::onBelowWriteBufferLowWatermark() {
  if (upstream_ != nullptr) {
    upstream_->readDisable(false);
  }
}

void Filter::UpstreamCallbacks::onAboveWriteBufferHighWatermark() {
  // The upstream cannot take data as fast as the downstream sends it.
  parent_.config_->stats->downstream_flow_control_paused_reading_total.inc();
  parent_.read_callbacks_->connection().readDisable(true);
}

void Filter::UpstreamCallbacks::onBelowWriteBufferLowWatermark() {
  parent_.config_->stats->downstream_flow_control_resumed_reading_total.inc();
  parent_.read_callbacks_->connection().readDisable(false);
}

void Filter::resetIdleTimer() {
  if (idle_timer_ != nullptr) {
    idle_timer_->enableTimer(config_->idle_timeout);
  }
}

void Filter::onIdleTimeout() {
  config_->stats->idle_timeout.inc();
  SKIFF_LOG(debug, "[C%d] tcp_proxy: idle timeout", read_callbacks_->connection().id());
  read_callbacks_->connection().close(Network::ConnectionCloseType::NoFlush);
}

}  // namespace Skiff::Extensions::NetworkFilters::TcpProxy
