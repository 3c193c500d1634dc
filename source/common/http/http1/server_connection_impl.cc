#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "source/common/common/assert.h"
#include "source/common/http/http1/codec_impl.h"
#include "source/common/http/http1/head_util.h"

namespace Skiff::Http::Http1 {

// --- ServerConnectionImpl ---------------------------------------------------------------------

ServerConnectionImpl::ServerConnectionImpl(Network::Connection& connection,
                                           ServerConnectionCallbacks& callbacks,
                                           const Http1Settings& settings)
    : ConnectionImpl(connection, settings, HTTP_REQUEST), callbacks_(callbacks), encoder_(*this) {}

void ServerConnectionImpl::allocHeaders() {
  request_headers_ = std::make_unique<RequestHeaderMap>();
}

void ServerConnectionImpl::onUrl(const char* at, size_t length) { url_.append(at, length); }

CodecStatus ServerConnectionImpl::onHeaderField(absl::string_view name, absl::string_view value,
                                                bool& keep) {
  if (nameIs(name, "host")) {
    // Two Hosts are a classic way to make a proxy and a backend route differently.
    if (host_seen_) {
      return CodecStatus::protocolError(400, "http1.duplicate_host");
    }
    host_seen_ = true;
    request_headers_->setHost(value);
    keep = false;
  } else if (nameIs(name, "transfer-encoding")) {
    // llhttp already rejects a chunked that is not last; anything but plain chunked would be
    // forwarded re-chunked with its other codings lost, so it is refused (RFC 9112 6.1).
    if (!absl::EqualsIgnoreCase(value, "chunked")) {
      return CodecStatus::protocolError(501, "http1.unsupported_transfer_encoding");
    }
    keep = false;
  }
  return CodecStatus::ok();
}

int ServerConnectionImpl::onHeadersComplete() {
  if (parser_.http_major != 1 || parser_.http_minor > 1 ||
      (parser_.http_minor == 0 && !settings_.accept_http_10)) {
    return fail(parser_.http_major == 1 ? 426 : 400, "http1.invalid_version");
  }
  protocol_ = parser_.http_minor == 0 ? Protocol::Http10 : Protocol::Http11;
  const auto method = static_cast<llhttp_method_t>(parser_.method);
  request_headers_->setMethod(llhttp_method_name(method));
  request_head_ = method == HTTP_HEAD;
  request_connect_ = method == HTTP_CONNECT;
  request_upgrade_ = parser_.upgrade && !request_connect_;
  upgrade_ = parser_.upgrade;
  keep_alive_ = llhttp_should_keep_alive(&parser_);

  absl::string_view url = url_;
  bool host_from_target = false;
  if (request_connect_) {
    // authority-form: "CONNECT host:port".
    if (url.empty() || url.find('/') != absl::string_view::npos) {
      return fail(400, "http1.invalid_url");
    }
    request_headers_->setHost(url);
    request_headers_->setPath(url);
    host_from_target = true;
  } else if (!url.empty() && url[0] == '/') {
    request_headers_->setPath(url);
  } else if (url == "*" && method == HTTP_OPTIONS) {
    request_headers_->setPath(url);
  } else {
    // absolute-form: the target's authority replaces Host (RFC 9112 3.2.2) and the path is
    // forwarded in origin-form.
    size_t scheme_end = 0;
    if (absl::StartsWithIgnoreCase(url, "http://")) {
      scheme_end = 7;
    } else if (absl::StartsWithIgnoreCase(url, "https://")) {
      scheme_end = 8;
    } else {
      return fail(400, "http1.invalid_url");
    }
    absl::string_view rest = url.substr(scheme_end);
    const size_t path_start = rest.find_first_of("/?");
    absl::string_view authority = rest.substr(0, path_start);
    if (authority.empty() || authority.find('@') != absl::string_view::npos) {
      return fail(400, "http1.invalid_url");
    }
    request_headers_->setHost(authority);
    if (path_start == absl::string_view::npos) {
      request_headers_->setPath("/");
    } else if (rest[path_start] == '?') {
      std::string path = "/";
      path.append(rest.data() + path_start, rest.size() - path_start);
      request_headers_->setPath(path);
    } else {
      request_headers_->setPath(rest.substr(path_start));
    }
    host_from_target = true;
  }
  if (protocol_ == Protocol::Http11 && !host_seen_ && !host_from_target) {
    return fail(400, "http1.missing_host");
  }
  if (!host_from_target && host_seen_ && request_headers_->host().empty() &&
      protocol_ == Protocol::Http11) {
    return fail(400, "http1.missing_host");
  }
  return 0;
}

void ServerConnectionImpl::onMessageBeginOutside() {
  if (!stream_active_) {
    newStream();
  }
}

void ServerConnectionImpl::newStream() {
  stream_active_ = true;
  request_complete_ = false;
  response_complete_ = false;
  close_after_response_ = false;
  encoder_.reset();
  decoder_ = &callbacks_.newStream(encoder_);
}

void ServerConnectionImpl::deliver(bool message_complete, Buffer::Instance&) {
  if (!headers_complete_ || decoder_ == nullptr) {
    // No stream to give it to (the response already ended it): the rest of the request is read
    // and dropped until the connection closes.
    body_.drain(body_.length());
    return;
  }
  if (!headers_delivered_) {
    headers_delivered_ = true;
    const bool end_stream = message_complete && body_.length() == 0 && !upgrade_;
    request_complete_ = end_stream;
    decoder_->decodeHeaders(std::move(request_headers_), end_stream);
    if (end_stream || decoder_ == nullptr) {
      return;
    }
  }
  const bool end_stream = message_complete && !upgrade_;
  if (body_.length() > 0 || end_stream) {
    request_complete_ = end_stream;
    decoder_->decodeData(body_, end_stream);
    body_.drain(body_.length());
  }
}

bool ServerConnectionImpl::onMessageComplete(Buffer::Instance& rest) {
  if (upgrade_) {
    // Upgrade or CONNECT: every further byte belongs to the tunnel.
    tunnel_ = true;
    if (decoder_ != nullptr && rest.length() > 0) {
      decoder_->decodeData(rest, false);
    }
    rest.drain(rest.length());
    return false;
  }
  if (!stream_active_) {
    // The stream ended while the request was still arriving; the connection is closing.
    return false;
  }
  if (response_complete_) {
    endStream();
    return !closing_ && !connection_closed_;
  }
  // Waiting for the response: the parser stays paused; dispatch() parks what follows.
  return false;
}

bool ServerConnectionImpl::canParse() const {
  if (closing_ || connection_closed_ || tunnel_) {
    return false;
  }
  // Pipelining: a complete request whose response is not done holds the next one back.
  return !(stream_active_ && request_complete_ && !response_complete_);
}

CodecStatus ServerConnectionImpl::dispatch(Buffer::Instance& data, bool end_stream) {
  if (!failed_.isOk()) {
    data.drain(data.length());
    return failed_;
  }
  if (closing_ || connection_closed_) {
    data.drain(data.length());
    return CodecStatus::ok();
  }
  if (!tunnel_) {
    dispatching_ = true;
    const CodecStatus status = parseLoop(data);
    dispatching_ = false;
    if (!status.isOk()) {
      data.drain(data.length());
      return status;
    }
    if (closing_ || connection_closed_) {
      data.drain(data.length());
      return CodecStatus::ok();
    }
    if (data.length() > 0 && !tunnel_) {
      // A pipelined request waits in the connection's read buffer. Reading stops so it cannot
      // grow; endStream() turns reading back on and the connection hands the data in again.
      if (!read_disabled_for_pipeline_) {
        read_disabled_for_pipeline_ = true;
        connection_.readDisable(true);
      }
      if (end_stream) {
        peer_half_closed_ = true;
      }
      return CodecStatus::ok();
    }
    if (!tunnel_) {
      if (end_stream) {
        onEndOfStream();
      }
      return CodecStatus::ok();
    }
  }
  // Tunnel: raw bytes in both directions.
  if (decoder_ != nullptr && !request_complete_ && (data.length() > 0 || end_stream)) {
    request_complete_ = end_stream;
    decoder_->decodeData(data, end_stream);
    if (end_stream && response_complete_ && stream_active_) {
      endStream();
    }
  }
  data.drain(data.length());
  return CodecStatus::ok();
}

void ServerConnectionImpl::onEndOfStream() {
  peer_half_closed_ = true;
  if (closing_ || connection_closed_) {
    return;
  }
  if (!stream_active_) {
    // Idle: the client is done with the connection.
    closeConnection(Network::ConnectionCloseType::FlushWrite);
    return;
  }
  if (!request_complete_) {
    // The client went away in the middle of its request: it can never complete.
    encoder_.resetStream(StreamResetReason::RemoteReset);
    return;
  }
  // The request is complete and its response pending: answer, then close (peer_half_closed_).
}

void ServerConnectionImpl::onResponseComplete() {
  response_complete_ = true;
  if (encoder_.raw_) {
    // A tunnel ends when both directions did.
    if (request_complete_) {
      endStream();
    }
    return;
  }
  if (!request_complete_) {
    // The response ended before the request: the rest of the request would have to be read
    // and dropped; closing is simpler and what the client was told (`connection: close`).
    close_after_response_ = true;
  }
  endStream();
}

void ServerConnectionImpl::endStream() {
  if (!stream_active_) {
    return;
  }
  stream_active_ = false;
  decoder_ = nullptr;
  encoder_.ended_ = true;
  stream_callbacks_.clear();
  const bool rest_waiting = read_disabled_for_pipeline_;
  if (close_after_response_ || keep_alive_disabled_ || !keep_alive_ || tunnel_ || upgrade_ ||
      !request_complete_ || (peer_half_closed_ && !rest_waiting)) {
    closeConnection(Network::ConnectionCloseType::FlushWrite);
    return;
  }
  resetMessageState();
  url_.clear();
  host_seen_ = false;
  request_complete_ = false;
  response_complete_ = false;
  request_head_ = false;
  request_connect_ = false;
  request_upgrade_ = false;
  llhttp_resume(&parser_);
  if (read_disabled_for_pipeline_) {
    read_disabled_for_pipeline_ = false;
    connection_.readDisable(false);
  }
}

void ServerConnectionImpl::onParseError(const CodecStatus&) {
  // The caller answers with failed_.httpCode() through a stream: make sure there is one. The
  // connection closes after that answer; nothing more is parsed.
  keep_alive_ = false;
  if (!stream_active_) {
    newStream();
  }
  close_after_response_ = true;
  decoder_ = nullptr;
}

void ServerConnectionImpl::disableKeepAlive() {
  keep_alive_disabled_ = true;
  if (!stream_active_ && !message_begun_) {
    closeConnection(Network::ConnectionCloseType::FlushWrite);
  }
}

void ServerConnectionImpl::onEvent(Network::ConnectionEvent event) {
  ConnectionImpl::onEvent(event);
  if (event == Network::ConnectionEvent::Connected || !stream_active_) {
    return;
  }
  stream_active_ = false;
  decoder_ = nullptr;
  encoder_.ended_ = true;
  stream_callbacks_.runReset(event == Network::ConnectionEvent::RemoteClose
                                 ? StreamResetReason::RemoteReset
                                 : StreamResetReason::ConnectionTermination,
                             connection_.transportFailureReason());
}

void ServerConnectionImpl::ResponseEncoderImpl::reset() {
  headers_encoded_ = false;
  chunked_ = false;
  raw_ = false;
  no_body_ = false;
  ended_ = false;
}

void ServerConnectionImpl::ResponseEncoderImpl::encode1xxHeaders(const ResponseHeaderMap& headers) {
  if (ended_ || headers_encoded_ || !parent_.stream_active_) {
    return;
  }
  const uint32_t status = headers.status();
  if (status < 100 || status > 199 || status == 101) {
    return;
  }
  const absl::string_view reason = reasonPhrase(status);
  size_t size = 9 + 3 + 1 + reason.size() + 2 + 2;
  for (const HeaderMap::Field& field : headers.fields()) {
    size += fieldSize(field.name, field.value);
  }
  Buffer::OwnedImpl& out = parent_.output_;
  char* start = out.reserveContiguous(size);
  HeadWriter writer(start);
  writer.add("HTTP/1.1 ");
  writer.addStatus(status);
  writer.addChar(' ');
  writer.add(reason);
  writer.addCrlf();
  for (const HeaderMap::Field& field : headers.fields()) {
    writer.addField(field.name, field.value);
  }
  writer.addCrlf();
  ASSERT(writer.end() == start + size);
  out.commit(size);
  parent_.connection_.write(out, false);
}

void ServerConnectionImpl::ResponseEncoderImpl::encodeHeaders(const ResponseHeaderMap& headers,
                                                              bool end_stream) {
  ServerConnectionImpl& p = parent_;
  if (ended_ || headers_encoded_ || !p.stream_active_) {
    return;
  }
  headers_encoded_ = true;
  uint32_t status = headers.status();
  if (status < 100 || status > 999) {
    status = 500;
  }
  raw_ = (p.request_upgrade_ && status == 101) ||
         (p.request_connect_ && status >= 200 && status < 300);
  no_body_ = !raw_ && (p.request_head_ || status == 204 || status == 304 || status < 200);
  const HeadScan scan = scanHead(headers, false);

  bool close =
      p.close_after_response_ || p.keep_alive_disabled_ || !p.keep_alive_ || scan.connection_close;
  if (!raw_ && (!p.request_complete_ || p.request_upgrade_ || p.request_connect_)) {
    // The request is still arriving (or was a refused upgrade whose bytes may follow): this
    // response is the connection's last.
    close = true;
  }
  bool add_zero_length = false;
  if (!raw_ && !no_body_ && !scan.content_length) {
    if (end_stream) {
      add_zero_length = true;
    } else if (p.protocol_ == Protocol::Http11) {
      chunked_ = true;
    } else {
      close = true;  // HTTP/1.0: the body ends with the connection.
    }
  }
  if (raw_) {
    close = false;
  }
  p.close_after_response_ = close;
  const bool add_keep_alive = !close && !raw_ && p.protocol_ == Protocol::Http10;
  // We write the connection field ourselves when closing or keeping an HTTP/1.0 client.
  const bool skip_connection = close || add_keep_alive;

  const absl::string_view reason = reasonPhrase(status);
  size_t size = 9 + 3 + 1 + reason.size() + 2 + 2 + scan.size;
  if (!skip_connection) {
    size += scan.connection_size;
  }
  if (add_zero_length) {
    size += fieldSize("content-length", "0");
  }
  if (chunked_) {
    size += fieldSize("transfer-encoding", "chunked");
  }
  if (close) {
    size += fieldSize("connection", "close");
  } else if (add_keep_alive) {
    size += fieldSize("connection", "keep-alive");
  }

  Buffer::OwnedImpl& out = p.output_;
  char* start = out.reserveContiguous(size);
  HeadWriter writer(start);
  writer.add("HTTP/1.1 ");
  writer.addStatus(status);
  writer.addChar(' ');
  writer.add(reason);
  writer.addCrlf();
  for (const HeaderMap::Field& field : headers.fields()) {
    if (writtenAsIs(field.name, skip_connection, false)) {
      writer.addField(field.name, field.value);
    }
  }
  if (add_zero_length) {
    writer.addField("content-length", "0");
  }
  if (chunked_) {
    writer.addField("transfer-encoding", "chunked");
  }
  if (close) {
    writer.addField("connection", "close");
  } else if (add_keep_alive) {
    writer.addField("connection", "keep-alive");
  }
  writer.addCrlf();
  ASSERT(writer.end() == start + size);
  out.commit(size);
  p.connection_.write(out, false);
  if (end_stream) {
    ended_ = true;
    p.onResponseComplete();
  }
}

void ServerConnectionImpl::ResponseEncoderImpl::encodeData(Buffer::Instance& data,
                                                           bool end_stream) {
  ServerConnectionImpl& p = parent_;
  if (ended_ || !headers_encoded_ || !p.stream_active_) {
    data.drain(data.length());
    return;
  }
  if (no_body_) {
    data.drain(data.length());
  } else {
    p.encodeBody(data, end_stream, raw_, chunked_);
  }
  if (end_stream) {
    ended_ = true;
    p.onResponseComplete();
  }
}

void ServerConnectionImpl::ResponseEncoderImpl::resetStream(StreamResetReason reason) {
  ServerConnectionImpl& p = parent_;
  if (!p.stream_active_) {
    return;
  }
  p.stream_active_ = false;
  p.decoder_ = nullptr;
  ended_ = true;
  p.stream_callbacks_.runReset(reason, "");
  p.closeConnection(Network::ConnectionCloseType::NoFlush);
}

void ServerConnectionImpl::ResponseEncoderImpl::readDisable(bool disable) {
  if (!parent_.connection_closed_) {
    parent_.connection_.readDisable(disable);
  }
}

}  // namespace Skiff::Http::Http1
