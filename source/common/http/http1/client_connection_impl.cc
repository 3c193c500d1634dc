#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "source/common/common/assert.h"
#include "source/common/http/http1/codec_impl.h"
#include "source/common/http/http1/head_util.h"

namespace Skiff::Http::Http1 {

// --- ClientConnectionImpl ---------------------------------------------------------------------

ClientConnectionImpl::ClientConnectionImpl(Network::Connection& connection,
                                           ClientConnectionCallbacks& callbacks,
                                           const Http1Settings& settings)
    : ConnectionImpl(connection, settings, HTTP_RESPONSE), callbacks_(callbacks), encoder_(*this) {}

void ClientConnectionImpl::allocHeaders() {
  response_headers_ = std::make_unique<ResponseHeaderMap>();
}

CodecStatus ClientConnectionImpl::onHeaderField(absl::string_view name, absl::string_view value,
                                                bool& keep) {
  if (nameIs(name, "transfer-encoding")) {
    if (!absl::EqualsIgnoreCase(value, "chunked")) {
      return CodecStatus::protocolError(502, "http1.unsupported_transfer_encoding");
    }
    keep = false;
  }
  return CodecStatus::ok();
}

RequestEncoder& ClientConnectionImpl::newStream(ResponseDecoder& decoder) {
  ASSERT(!stream_active_);
  stream_active_ = true;
  decoder_ = &decoder;
  request_complete_ = false;
  response_complete_ = false;
  request_head_ = false;
  request_connect_ = false;
  request_upgrade_ = false;
  request_close_ = false;
  response_1xx_ = false;
  encoder_.reset();
  return encoder_;
}

int ClientConnectionImpl::onHeadersComplete() {
  if (parser_.http_major != 1 || parser_.http_minor > 1) {
    return fail(502, "http1.invalid_version");
  }
  protocol_ = parser_.http_minor == 0 ? Protocol::Http10 : Protocol::Http11;
  const uint32_t status = parser_.status_code;
  if (status < 100 || status > 999) {
    return fail(502, "http1.invalid_status");
  }
  response_headers_->setStatus(status);
  // 1 tells llhttp there is no body whatever the headers say: llhttp itself would read a
  // Content-Length body after a 304 or a 1xx.
  if (status < 200) {
    if (status == 101) {
      if (!request_upgrade_ || !parser_.upgrade) {
        return fail(502, "http1.unexpected_101");
      }
      upgrade_ = true;
      return 1;  // With llhttp's upgrade flag set, the rest is the tunnel.
    }
    response_1xx_ = true;
    return 1;
  }
  if (request_connect_ && status < 300) {
    upgrade_ = true;
    return 2;  // No body; the rest is the tunnel.
  }
  return request_head_ || status == 204 || status == 304 ? 1 : 0;
}

void ClientConnectionImpl::deliver(bool message_complete, Buffer::Instance&) {
  if (!headers_complete_ || decoder_ == nullptr || response_1xx_) {
    return;
  }
  if (!headers_delivered_) {
    headers_delivered_ = true;
    const bool end_stream = message_complete && body_.length() == 0 && !upgrade_;
    response_complete_ = end_stream;
    decoder_->decodeHeaders(std::move(response_headers_), end_stream);
    if (end_stream || decoder_ == nullptr) {
      return;
    }
  }
  const bool end_stream = message_complete && !upgrade_;
  if (body_.length() > 0 || end_stream) {
    response_complete_ = end_stream;
    decoder_->decodeData(body_, end_stream);
    body_.drain(body_.length());
  }
}

bool ClientConnectionImpl::onMessageComplete(Buffer::Instance& rest) {
  if (!stream_active_) {
    return false;
  }
  if (response_1xx_) {
    ResponseDecoder* decoder = decoder_;
    ResponseHeaderMapPtr headers = std::move(response_headers_);
    resetMessageState();
    response_1xx_ = false;
    llhttp_resume(&parser_);
    decoder->decode1xxHeaders(std::move(headers));
    return stream_active_ && !closing_ && !connection_closed_;
  }
  if (upgrade_) {
    tunnel_ = true;
    if (decoder_ != nullptr && rest.length() > 0) {
      decoder_->decodeData(rest, false);
    }
    rest.drain(rest.length());
    return false;
  }
  // Reusable only if both sides keep the connection and nothing else came with the response.
  const bool reusable = keep_alive_ && !request_close_ && request_complete_ && rest.length() == 0;
  streamComplete(reusable);
  return false;
}

bool ClientConnectionImpl::canParse() const {
  return stream_active_ && !closing_ && !connection_closed_ && !tunnel_;
}

void ClientConnectionImpl::streamComplete(bool reusable) {
  stream_active_ = false;
  decoder_ = nullptr;
  encoder_.ended_ = true;
  stream_callbacks_.clear();
  resetMessageState();
  llhttp_resume(&parser_);
  callbacks_.onStreamComplete(reusable);
}

CodecStatus ClientConnectionImpl::dispatch(Buffer::Instance& data, bool end_stream) {
  if (!failed_.isOk()) {
    data.drain(data.length());
    return failed_;
  }
  if (closing_ || connection_closed_) {
    data.drain(data.length());
    return CodecStatus::ok();
  }
  if (tunnel_) {
    if (decoder_ != nullptr && !response_complete_ && (data.length() > 0 || end_stream)) {
      response_complete_ = end_stream;
      decoder_->decodeData(data, end_stream);
      if (end_stream && request_complete_ && stream_active_) {
        streamComplete(false);
      }
    }
    data.drain(data.length());
    return CodecStatus::ok();
  }
  if (!stream_active_) {
    if (data.length() == 0) {
      return CodecStatus::ok();
    }
    // Bytes with no request outstanding: a broken server, or the tail of a response that
    // claimed to be shorter. Nothing on this connection can be trusted any more.
    data.drain(data.length());
    failed_ = CodecStatus::prematureResponse("http1.premature_response");
    closeConnection(Network::ConnectionCloseType::NoFlush);
    return failed_;
  }
  dispatching_ = true;
  CodecStatus status = parseLoop(data);
  dispatching_ = false;
  if (!status.isOk()) {
    data.drain(data.length());
    return status;
  }
  if (data.length() > 0 && !tunnel_) {
    // Left over after a complete response (the stream was handed back as not reusable and
    // the connection is closing), or the stream was reset meanwhile.
    data.drain(data.length());
  }
  if (end_stream && stream_active_ && !tunnel_) {
    // The server closed: ends a close-delimited body, otherwise the response is cut short.
    llhttp_finish(&parser_);
    if (message_complete_) {
      Buffer::OwnedImpl empty;
      deliver(true, empty);
      keep_alive_ = false;
      if (stream_active_) {
        onMessageComplete(empty);
      }
    } else {
      resetActiveStream(StreamResetReason::RemoteReset, Network::ConnectionCloseType::NoFlush);
    }
  } else if (end_stream && tunnel_ && decoder_ != nullptr && !response_complete_) {
    response_complete_ = true;
    Buffer::OwnedImpl empty;
    decoder_->decodeData(empty, true);
    if (request_complete_ && stream_active_) {
      streamComplete(false);
    }
  }
  return CodecStatus::ok();
}

void ClientConnectionImpl::onRequestComplete() {
  request_complete_ = true;
  if (tunnel_ && response_complete_ && stream_active_) {
    streamComplete(false);
  }
}

void ClientConnectionImpl::resetActiveStream(StreamResetReason reason,
                                             Network::ConnectionCloseType close_type) {
  if (!stream_active_) {
    return;
  }
  stream_active_ = false;
  decoder_ = nullptr;
  encoder_.ended_ = true;
  stream_callbacks_.runReset(reason, connection_.transportFailureReason());
  closeConnection(close_type);
}

void ClientConnectionImpl::onParseError(const CodecStatus&) {
  resetActiveStream(StreamResetReason::ProtocolError, Network::ConnectionCloseType::NoFlush);
  closeConnection(Network::ConnectionCloseType::NoFlush);
}

void ClientConnectionImpl::onEvent(Network::ConnectionEvent event) {
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

void ClientConnectionImpl::RequestEncoderImpl::reset() {
  headers_encoded_ = false;
  chunked_ = false;
  raw_ = false;
  ended_ = false;
}

CodecStatus ClientConnectionImpl::RequestEncoderImpl::encodeHeaders(const RequestHeaderMap& headers,
                                                                    bool end_stream) {
  ClientConnectionImpl& p = parent_;
  if (ended_ || headers_encoded_ || !p.stream_active_) {
    return CodecStatus::protocolError(500, "http1.stream_not_active");
  }
  const absl::string_view method = headers.method();
  if (!validRequestLinePart(method) || !validRequestLinePart(headers.path()) ||
      headers.host().empty() || !validFieldValue(headers.host())) {
    return CodecStatus::protocolError(500, "http1.invalid_request_line");
  }
  headers_encoded_ = true;
  const HeadScan scan = scanHead(headers, true);
  p.request_head_ = method == "HEAD";
  p.request_connect_ = method == "CONNECT";
  p.request_upgrade_ = !p.request_connect_ && scan.upgrade && scan.connection_upgrade;
  p.request_close_ = scan.connection_close;
  raw_ = p.request_connect_ || p.request_upgrade_;
  bool add_zero_length = false;
  if (!raw_ && !scan.content_length) {
    if (!end_stream) {
      chunked_ = true;
    } else if (method == "POST" || method == "PUT" || method == "PATCH") {
      add_zero_length = true;
    }
  }

  size_t size = method.size() + 1 + headers.path().size() + 11 + fieldSize("host", headers.host()) +
                2 + scan.size + scan.connection_size;
  if (add_zero_length) {
    size += fieldSize("content-length", "0");
  }
  if (chunked_) {
    size += fieldSize("transfer-encoding", "chunked");
  }
  Buffer::OwnedImpl& out = p.output_;
  char* start = out.reserveContiguous(size);
  HeadWriter writer(start);
  writer.add(method);
  writer.addChar(' ');
  writer.add(headers.path());
  writer.add(" HTTP/1.1\r\n");
  writer.addField("host", headers.host());
  for (const HeaderMap::Field& field : headers.fields()) {
    if (writtenAsIs(field.name, false, true)) {
      writer.addField(field.name, field.value);
    }
  }
  if (add_zero_length) {
    writer.addField("content-length", "0");
  }
  if (chunked_) {
    writer.addField("transfer-encoding", "chunked");
  }
  writer.addCrlf();
  ASSERT(writer.end() == start + size);
  out.commit(size);
  p.connection_.write(out, false);
  if (end_stream) {
    ended_ = true;
    p.onRequestComplete();
  }
  return CodecStatus::ok();
}

void ClientConnectionImpl::RequestEncoderImpl::encodeData(Buffer::Instance& data, bool end_stream) {
  ClientConnectionImpl& p = parent_;
  if (ended_ || !headers_encoded_ || !p.stream_active_) {
    data.drain(data.length());
    return;
  }
  p.encodeBody(data, end_stream, raw_, chunked_);
  if (end_stream) {
    ended_ = true;
    p.onRequestComplete();
  }
}

void ClientConnectionImpl::RequestEncoderImpl::resetStream(StreamResetReason reason) {
  parent_.resetActiveStream(reason, Network::ConnectionCloseType::NoFlush);
}

void ClientConnectionImpl::RequestEncoderImpl::readDisable(bool disable) {
  if (!parent_.connection_closed_) {
    parent_.connection_.readDisable(disable);
  }
}

}  // namespace Skiff::Http::Http1
