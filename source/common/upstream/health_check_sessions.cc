// The protocol halves of the health checker: an HTTP/1.1 GET through the client codec, and a TCP
// connect with optional send/receive payloads. Main thread only.

#include <memory>
#include <string>

#include "source/common/buffer/buffer_impl.h"
#include "source/common/common/logger.h"
#include "source/common/http/http1/codec_impl.h"
#include "source/common/network/connection_impl.h"
#include "source/common/network/filter.h"
#include "source/common/upstream/health_checker_impl.h"

namespace Skiff::Upstream {
namespace {

// Hands bytes read from a check connection to a callback.
class ForwardingReadFilter : public Network::ReadFilter {
 public:
  using OnData = std::function<void(Buffer::Instance&, bool)>;
  explicit ForwardingReadFilter(OnData on_data) : on_data_(std::move(on_data)) {}
  void initializeReadFilterCallbacks(Network::ReadFilterCallbacks&) override {}
  Network::FilterStatus onNewConnection() override { return Network::FilterStatus::Continue; }
  Network::FilterStatus onData(Buffer::Instance& data, bool end_stream) override {
    on_data_(data, end_stream);
    return Network::FilterStatus::StopIteration;
  }

 private:
  OnData on_data_;
};

// A check connection (and, for HTTP, its codec), handed to deferredDelete once closed so that it
// outlives the callback it closed in.
struct CheckClient : public Event::DeferredDeletable {
  Network::ClientConnectionPtr connection;
  std::unique_ptr<Http::Http1::ClientConnectionImpl> codec;  // Destroyed before the connection.
  bool closed{false};
};

/**
 * HTTP/1.1: GET `path` with Host (health_check_config.hostname, http_health_check.host, or the
 * cluster name), user-agent Envoy/HC and the configured headers. The response status decides:
 * expected -> success; retriable -> a failure that counts toward unhealthy_threshold; anything
 * else -> unhealthy at once. The connection is kept for the next check when reuse_connection
 * (default) and the response allows it.
 */
class HttpSession : public HealthCheckerImpl::Session,
                    public Network::ConnectionCallbacks,
                    public Http::ClientConnectionCallbacks,
                    public Http::ResponseDecoder,
                    public Http::StreamCallbacks {
 public:
  using Session::Session;
  ~HttpSession() override { dropClient(); }

  // Session
  void startCheck() override {
    status_ = 0;
    if (client_ != nullptr && !client_->closed && connected_ && client_->codec->idle()) {
      sendRequest();
      return;
    }
    dropClient();
    const HealthCheckConfig& config = parent_.config();
    client_ = std::make_unique<CheckClient>();
    client_->connection = Network::createClientConnection(parent_.dispatcher(), target_.address,
                                                          config.connect_timeout, config.bind);
    client_->connection->enableHalfClose(true);
    client_->codec = std::make_unique<Http::Http1::ClientConnectionImpl>(
        *client_->connection, *this, Http::Http1Settings{});
    client_->connection->addConnectionCallbacks(*this);
    client_->connection->addReadFilter(std::make_shared<ForwardingReadFilter>(
        [this](Buffer::Instance& data, bool end_stream) { onData(data, end_stream); }));
    connected_ = false;
    client_->connection->connect();
  }
  void abortCheck() override { dropClient(); }

  // Network::ConnectionCallbacks
  void onEvent(Network::ConnectionEvent event) override {
    if (event == Network::ConnectionEvent::Connected) {
      connected_ = true;
      if (checking()) {
        sendRequest();
      }
      return;
    }
    client_->closed = true;
    parent_.dispatcher().deferredDelete(std::move(client_));
    if (checking()) {
      handleFailure(/*network=*/true);
    }
  }

  // Http::ClientConnectionCallbacks
  void onStreamComplete(bool reusable) override {
    if ((!reusable || !parent_.config().reuse_connection) && client_ != nullptr &&
        !client_->closed) {
      client_->connection->close(Network::ConnectionCloseType::NoFlush);
    }
  }

  // Http::ResponseDecoder
  void decode1xxHeaders(Http::ResponseHeaderMapPtr&&) override {}
  void decodeHeaders(Http::ResponseHeaderMapPtr&& headers, bool end_stream) override {
    status_ = headers->status();
    if (end_stream) {
      onResponseComplete();
    }
  }
  void decodeData(Buffer::Instance& data, bool end_stream) override {
    data.drain(data.length());
    if (end_stream) {
      onResponseComplete();
    }
  }

  // Http::StreamCallbacks
  void onResetStream(Http::StreamResetReason, absl::string_view) override {
    if (checking()) {
      handleFailure(/*network=*/true);
    }
  }
  void onAboveWriteBufferHighWatermark() override {}
  void onBelowWriteBufferLowWatermark() override {}

 private:
  void onData(Buffer::Instance& data, bool end_stream) {
    const Http::CodecStatus status = client_->codec->dispatch(data, end_stream);
    // On an error the codec has reset the stream and closed the connection.
    if (status.isOk() && end_stream && client_ != nullptr && !client_->closed) {
      client_->connection->close(Network::ConnectionCloseType::NoFlush);
    }
  }

  void sendRequest() {
    const HealthCheckConfig& config = parent_.config();
    request_ = Http::RequestHeaderMap();
    request_.setMethod("GET");
    request_.setPath(config.path);
    request_.setHost(target_.hostname.empty() ? config.host : target_.hostname);
    request_.addLowerCase("user-agent", "Envoy/HC");
    for (const auto& [name, value] : config.headers_to_add) {
      request_.add(name, value);
    }
    for (const auto& [name, value] : config.headers_to_set) {
      request_.set(name, value);
    }
    for (const auto& name : config.headers_to_remove) {
      request_.remove(name);
    }
    Http::RequestEncoder& encoder = client_->codec->newStream(*this);
    encoder.getStream().addCallbacks(*this);
    const Http::CodecStatus status = encoder.encodeHeaders(request_, true);
    if (!status.isOk()) {
      // Not expressible as a request (a bad path or host): the check can never pass.
      SKIFF_LOG(warn, "health check: request to %s not sent: %s", target_.address->asString(),
                status.details());
      encoder.getStream().removeCallbacks(*this);
      dropClient();
      handleFailure(/*network=*/false);
    }
  }

  void onResponseComplete() {
    const HealthCheckConfig& config = parent_.config();
    if (config.expected(status_)) {
      handleSuccess();
    } else {
      handleFailure(/*network=*/false, config.retriable(status_));
    }
  }

  // Closes the connection without hearing about it.
  void dropClient() {
    if (client_ == nullptr) {
      return;
    }
    client_->codec.reset();
    if (!client_->closed) {
      client_->connection->removeConnectionCallbacks(*this);
      client_->connection->close(Network::ConnectionCloseType::NoFlush);
      client_->closed = true;
    }
    parent_.dispatcher().deferredDelete(std::move(client_));
  }

  std::unique_ptr<CheckClient> client_;
  Http::RequestHeaderMap request_;
  uint64_t status_{0};
  bool connected_{false};
};

/**
 * TCP: connect; write `send` (if any); success once every `receive` block arrived in order (or
 * at once when there are none: a connect-only check). A close before that is a network failure.
 */
class TcpSession : public HealthCheckerImpl::Session, public Network::ConnectionCallbacks {
 public:
  using Session::Session;
  ~TcpSession() override { dropClient(); }

  void startCheck() override {
    received_.clear();
    if (client_ != nullptr && !client_->closed && connected_) {
      sendPayload();
      return;
    }
    dropClient();
    client_ = std::make_unique<CheckClient>();
    client_->connection =
        Network::createClientConnection(parent_.dispatcher(), target_.address,
                                        parent_.config().connect_timeout, parent_.config().bind);
    client_->connection->addConnectionCallbacks(*this);
    client_->connection->addReadFilter(std::make_shared<ForwardingReadFilter>(
        [this](Buffer::Instance& data, bool) { onData(data); }));
    connected_ = false;
    client_->connection->connect();
  }
  void abortCheck() override { dropClient(); }

  void onEvent(Network::ConnectionEvent event) override {
    if (event == Network::ConnectionEvent::Connected) {
      connected_ = true;
      if (checking()) {
        sendPayload();
      }
      return;
    }
    client_->closed = true;
    parent_.dispatcher().deferredDelete(std::move(client_));
    if (checking()) {
      handleFailure(/*network=*/true);
    }
  }

 private:
  void sendPayload() {
    const HealthCheckConfig& config = parent_.config();
    if (!config.send.empty()) {
      Buffer::OwnedImpl data(config.send);
      client_->connection->write(data, false);
    }
    if (config.receive.empty()) {
      succeed();
    }
  }

  void onData(Buffer::Instance& data) {
    if (!checking()) {
      data.drain(data.length());  // Stray bytes between checks.
      return;
    }
    received_ += data.toString();
    data.drain(data.length());
    if (matchesAllBlocks(received_, parent_.config().receive)) {
      succeed();
    }
  }

  void succeed() {
    received_.clear();
    if (!parent_.config().reuse_connection) {
      dropClient();
    }
    handleSuccess();
  }

  void dropClient() {
    if (client_ == nullptr) {
      return;
    }
    if (!client_->closed) {
      client_->connection->removeConnectionCallbacks(*this);
      client_->connection->close(Network::ConnectionCloseType::NoFlush);
      client_->closed = true;
    }
    parent_.dispatcher().deferredDelete(std::move(client_));
  }

  std::unique_ptr<CheckClient> client_;
  std::string received_;
  bool connected_{false};
};

}  // namespace

std::unique_ptr<HealthCheckerImpl::Session> createHttpSession(HealthCheckerImpl& parent,
                                                              HealthCheckTarget target) {
  return std::make_unique<HttpSession>(parent, std::move(target));
}

std::unique_ptr<HealthCheckerImpl::Session> createTcpSession(HealthCheckerImpl& parent,
                                                             HealthCheckTarget target) {
  return std::make_unique<TcpSession>(parent, std::move(target));
}

}  // namespace Skiff::Upstream
