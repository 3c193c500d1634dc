#include "source/common/http/http1/codec_impl.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "source/common/common/assert.h"
#include "source/common/http/http1/head_util.h"

namespace Skiff::Http::Http1 {

// --- StreamCallbackList ---------------------------------------------------------------------

void StreamCallbackList::remove(StreamCallbacks& callbacks) {
  std::replace(list_.begin(), list_.end(), &callbacks, static_cast<StreamCallbacks*>(nullptr));
}

void StreamCallbackList::runReset(StreamResetReason reason,
                                  absl::string_view transport_failure_reason) {
  for (size_t i = 0; i < list_.size(); ++i) {
    if (list_[i] != nullptr) {
      StreamCallbacks* callbacks = list_[i];
      list_[i] = nullptr;  // Once at most.
      callbacks->onResetStream(reason, transport_failure_reason);
    }
  }
  list_.clear();
}

void StreamCallbackList::runAboveHighWatermark() {
  for (size_t i = 0; i < list_.size(); ++i) {
    if (list_[i] != nullptr) {
      list_[i]->onAboveWriteBufferHighWatermark();
    }
  }
}

void StreamCallbackList::runBelowLowWatermark() {
  for (size_t i = 0; i < list_.size(); ++i) {
    if (list_[i] != nullptr) {
      list_[i]->onBelowWriteBufferLowWatermark();
    }
  }
}

// --- ConnectionImpl: the shared parser --------------------------------------------------------

const llhttp_settings_t ConnectionImpl::kSettings = [] {
  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  settings.on_message_begin = onMessageBeginCb;
  settings.on_url = onUrlCb;
  settings.on_header_field = onHeaderFieldCb;
  settings.on_header_value = onHeaderValueCb;
  settings.on_header_value_complete = onHeaderValueCompleteCb;
  settings.on_headers_complete = onHeadersCompleteCb;
  settings.on_body = onBodyCb;
  settings.on_message_complete = onMessageCompleteCb;
  return settings;
}();

ConnectionImpl::ConnectionImpl(Network::Connection& connection, const Http1Settings& settings,
                               llhttp_type_t type)
    : connection_(connection), settings_(settings) {
  llhttp_init(&parser_, type, &kSettings);
  parser_.data = this;
  connection_closed_ = connection_.state() == Network::Connection::State::Closed;
  if (!connection_closed_) {
    connection_.addConnectionCallbacks(*this);
  }
}

ConnectionImpl::~ConnectionImpl() {
  // A closed connection has raised its last event; it may already be half destroyed (the codec
  // can be owned by one of the connection's read filters), so it is not touched then.
  if (!connection_closed_) {
    connection_.removeConnectionCallbacks(*this);
  }
}

void ConnectionImpl::onEvent(Network::ConnectionEvent event) {
  if (event != Network::ConnectionEvent::Connected) {
    connection_closed_ = true;
  }
}

void ConnectionImpl::onAboveWriteBufferHighWatermark() {
  if (stream_active_) {
    stream_callbacks_.runAboveHighWatermark();
  }
}

void ConnectionImpl::onBelowWriteBufferLowWatermark() {
  if (stream_active_) {
    stream_callbacks_.runBelowLowWatermark();
  }
}

void ConnectionImpl::encodeBody(Buffer::Instance& data, bool end_stream, bool raw, bool chunked) {
  if (raw) {
    connection_.write(data, end_stream);
  } else if (chunked) {
    if (data.length() > 0) {
      addChunkHeader(output_, data.length());
      output_.move(data);
      output_.add(kCrlf);
    }
    if (end_stream) {
      output_.add(kLastChunk);
    }
    if (output_.length() > 0) {
      connection_.write(output_, false);
    }
  } else if (data.length() > 0) {
    connection_.write(data, false);
  }
}

void ConnectionImpl::resetMessageState() {
  message_begun_ = false;
  headers_complete_ = false;
  headers_delivered_ = false;
  message_complete_ = false;
  keep_alive_ = false;
  upgrade_ = false;
  header_bytes_ = 0;
  header_count_ = 0;
  field_open_ = false;
  name_span_ = {};
  value_span_ = {};
  body_.drain(body_.length());
  fold_gap_active_ = false;
  fold_gap_lf_ = false;
  fold_gap_start_ = nullptr;
  callback_status_ = CodecStatus::ok();
}

int ConnectionImpl::fail(uint16_t http_code, const char* details) {
  if (parser_.type == HTTP_RESPONSE) {
    http_code = 502;  // A broken response is the upstream's fault: a bad gateway for the client.
  }
  if (callback_status_.isOk()) {
    callback_status_ = CodecStatus::protocolError(http_code, details);
  }
  return -1;
}

int ConnectionImpl::onMessageBeginCb(llhttp_t* parser) {
  auto* self = static_cast<ConnectionImpl*>(parser->data);
  self->message_begun_ = true;
  self->allocHeaders();
  self->header_map_ = &self->headers();
  return 0;
}

int ConnectionImpl::onUrlCb(llhttp_t* parser, const char* at, size_t length) {
  static_cast<ConnectionImpl*>(parser->data)->onUrl(at, length);
  return 0;
}

int ConnectionImpl::onHeaderFieldCb(llhttp_t* parser, const char* at, size_t length) {
  auto* self = static_cast<ConnectionImpl*>(parser->data);
  // Fields after the header section are trailers: not kept (codec.h), not limited beyond what
  // llhttp itself checks.
  return self->headers_complete_ ? 0 : self->onHeaderFieldData(at, length);
}

int ConnectionImpl::onHeaderValueCb(llhttp_t* parser, const char* at, size_t length) {
  auto* self = static_cast<ConnectionImpl*>(parser->data);
  return self->headers_complete_ ? 0 : self->onHeaderValueData(at, length);
}

int ConnectionImpl::onHeaderValueCompleteCb(llhttp_t* parser) {
  auto* self = static_cast<ConnectionImpl*>(parser->data);
  return self->headers_complete_ ? 0 : self->onHeaderValueComplete();
}

int ConnectionImpl::onHeadersCompleteCb(llhttp_t* parser) {
  auto* self = static_cast<ConnectionImpl*>(parser->data);
  self->headers_complete_ = true;
  return self->onHeadersComplete();
}

int ConnectionImpl::onBodyCb(llhttp_t* parser, const char* at, size_t length) {
  auto* self = static_cast<ConnectionImpl*>(parser->data);
  self->body_spans_.push_back(
      {static_cast<uint64_t>(at - self->slice_begin_), static_cast<uint64_t>(length)});
  return 0;
}

int ConnectionImpl::onMessageCompleteCb(llhttp_t* parser) {
  auto* self = static_cast<ConnectionImpl*>(parser->data);
  self->message_complete_ = true;
  self->keep_alive_ = llhttp_should_keep_alive(parser);
  self->upgrade_ = self->upgrade_ || parser->upgrade;
  // Stop at every message end: the subclass decides whether the next one may be parsed.
  return HPE_PAUSED;
}

void ConnectionImpl::spillField() {
  if (field_open_) {
    return;
  }
  header_map_->addEmptyField();
  field_open_ = true;
  if (name_span_.size() > 0) {
    copyLowerCaseToken(header_map_->extendLastName(name_span_.size()), name_span_.data(),
                       name_span_.size());
  }
  if (value_span_.size() > 0) {
    memcpy(header_map_->extendLastValue(value_span_.size()), value_span_.data(),
           value_span_.size());
  }
  name_span_ = {};
  value_span_ = {};
}

int ConnectionImpl::onHeaderFieldData(const char* at, size_t length) {
  if (!field_open_ && name_span_.empty()) {
    name_span_ = absl::string_view(at, length);
  } else {
    spillField();
    copyLowerCaseToken(header_map_->extendLastName(length), at, length);
  }
  fold_gap_active_ = true;
  fold_gap_lf_ = false;
  fold_gap_start_ = at + length;
  return 0;
}

int ConnectionImpl::onHeaderValueData(const char* at, size_t length) {
  if (length == 0) {
    // llhttp reports an empty value as an empty span placed after the line end: nothing to
    // add, and its position says nothing about folding.
    return 0;
  }
  // llhttp accepts obs-fold (a line starting with a space continues the previous value) and
  // reports the continuation as another span of the same value. A line feed between the name
  // and a value span, or between two spans, is exactly that fold: rejected (RFC 9112 5.2).
  const char* gap = fold_gap_start_ != nullptr ? fold_gap_start_ : slice_begin_;
  if (fold_gap_lf_ || hasLineFeed(gap, at)) {
    return fail(400, "http1.obs_fold");
  }
  if (!field_open_ && value_span_.empty()) {
    value_span_ = absl::string_view(at, length);
  } else {
    spillField();
    memcpy(header_map_->extendLastValue(length), at, length);
  }
  fold_gap_start_ = at + length;
  return 0;
}

namespace {

// llhttp strips leading whitespace; trailing whitespace is not part of the value either.
void trimTrailingWhitespace(absl::string_view& value) {
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
    value.remove_suffix(1);
  }
}

}  // namespace

int ConnectionImpl::onHeaderValueComplete() {
  fold_gap_active_ = false;
  fold_gap_lf_ = false;
  fold_gap_start_ = nullptr;
  if (!field_open_) {
    // The common case: the whole field arrived in this slice; copy it into the map once.
    if (name_span_.empty()) {
      return fail(400, "http1.invalid_header_name");
    }
    trimTrailingWhitespace(value_span_);
    HeaderMap::Field& field = header_map_->addField(name_span_.size(), value_span_.size());
    copyLowerCaseToken(const_cast<char*>(field.name.data()), name_span_.data(), name_span_.size());
    if (!value_span_.empty()) {
      memcpy(const_cast<char*>(field.value.data()), value_span_.data(), value_span_.size());
    }
    name_span_ = {};
    value_span_ = {};
  } else {
    field_open_ = false;
    trimTrailingWhitespace(header_map_->lastField().value);
  }
  const HeaderMap::Field& field = header_map_->lastField();
  if (field.name.empty()) {
    return fail(400, "http1.invalid_header_name");
  }
  if (++header_count_ > settings_.max_headers_count) {
    return fail(431, "http1.too_many_headers");
  }
  // Only host (4) and transfer-encoding (17) need a closer look: skip the call for the rest.
  bool keep = true;
  if (field.name.size() == 4 || field.name.size() == 17) {
    CodecStatus status = onHeaderField(field.name, field.value, keep);
    if (!status.isOk()) {
      callback_status_ = status;
      return -1;
    }
  }
  if (keep) {
    header_map_->finishLastField();
  } else {
    header_map_->removeLastField();
  }
  return 0;
}

void ConnectionImpl::consumeSlice(Buffer::Instance& data, uint64_t consumed) {
  uint64_t cursor = 0;
  for (const BodySpan& span : body_spans_) {
    if (span.offset > cursor) {
      data.drain(span.offset - cursor);
    }
    // Relinks whole slices; copies only a partial one.
    body_.move(data, span.length);
    cursor = span.offset + span.length;
  }
  if (consumed > cursor) {
    data.drain(consumed - cursor);
  }
  body_spans_.clear();
}

CodecStatus ConnectionImpl::statusFromLlhttp(llhttp_errno_t err) const {
  const uint16_t code = parser_.type == HTTP_REQUEST ? 400 : 502;
  switch (err) {
    case HPE_INVALID_METHOD:
      return CodecStatus::protocolError(code, "http1.invalid_method");
    case HPE_INVALID_URL:
      return CodecStatus::protocolError(code, "http1.invalid_url");
    case HPE_INVALID_VERSION:
      return CodecStatus::protocolError(code, "http1.invalid_version");
    case HPE_INVALID_HEADER_TOKEN:
      return CodecStatus::protocolError(code, "http1.invalid_characters");
    case HPE_INVALID_CONTENT_LENGTH:
      return CodecStatus::protocolError(code, "http1.invalid_content_length");
    case HPE_UNEXPECTED_CONTENT_LENGTH:
      return CodecStatus::protocolError(code, "http1.content_length_conflict");
    case HPE_INVALID_CHUNK_SIZE:
      return CodecStatus::protocolError(code, "http1.invalid_chunk_size");
    case HPE_INVALID_TRANSFER_ENCODING:
      return CodecStatus::protocolError(code, "http1.invalid_transfer_encoding");
    case HPE_INVALID_STATUS:
      return CodecStatus::protocolError(code, "http1.invalid_status");
    case HPE_CLOSED_CONNECTION:
      return CodecStatus::protocolError(code, "http1.data_after_connection_close");
    case HPE_STRICT:
    case HPE_CR_EXPECTED:
    case HPE_LF_EXPECTED:
    case HPE_UNEXPECTED_SPACE:
    case HPE_INVALID_CONSTANT:
      return CodecStatus::protocolError(code, "http1.invalid_framing");
    default:
      return CodecStatus::protocolError(code, "http1.codec_error");
  }
}

CodecStatus ConnectionImpl::parseLoop(Buffer::Instance& data) {
  const uint64_t header_limit = uint64_t{settings_.max_headers_kb} * 1024;
  while (data.length() > 0 && canParse()) {
    const Buffer::RawSlice slice = data.frontSlice();
    const char* begin = static_cast<const char*>(slice.mem);
    uint64_t length = slice.len;
    const bool in_headers = !headers_complete_;
    if (in_headers) {
      // Never let llhttp see more header bytes than the limit: what is collected stays bounded.
      length = std::min<uint64_t>(length, header_limit - header_bytes_);
    }
    slice_begin_ = begin;
    fold_gap_start_ = nullptr;
    body_spans_.clear();
    const llhttp_errno_t err = llhttp_execute(&parser_, begin, length);
    const uint64_t consumed =
        err == HPE_OK ? length : static_cast<uint64_t>(llhttp_get_error_pos(&parser_) - begin);

    if (!callback_status_.isOk()) {
      return parseFailed(callback_status_);
    }
    if (err != HPE_OK && err != HPE_PAUSED && err != HPE_PAUSED_UPGRADE) {
      return parseFailed(statusFromLlhttp(err));
    }
    if (in_headers && !headers_complete_) {
      // The slice is drained below: a field cut off by its end is copied into the map now.
      if (!name_span_.empty() || !value_span_.empty()) {
        spillField();
      }
      if (fold_gap_active_) {
        // A line feed at the end of this slice may start a fold continued in the next one.
        const char* gap = fold_gap_start_ != nullptr ? fold_gap_start_ : begin;
        if (hasLineFeed(gap, begin + consumed)) {
          fold_gap_lf_ = true;
        }
      }
      header_bytes_ += consumed;
      if (header_bytes_ >= header_limit) {
        return parseFailed(CodecStatus::protocolError(parser_.type == HTTP_REQUEST ? 431 : 502,
                                                      "http1.headers_too_large"));
      }
    }
    if (err == HPE_PAUSED_UPGRADE) {
      message_complete_ = true;
    }
    consumeSlice(data, consumed);

    if (message_begun_) {
      onMessageBeginOutside();
    }
    deliver(message_complete_, data);
    if (closing_ || connection_closed_) {
      break;
    }
    if (message_complete_ && !onMessageComplete(data)) {
      break;
    }
  }
  return CodecStatus::ok();
}

CodecStatus ConnectionImpl::parseFailed(CodecStatus status) {
  failed_ = status;
  body_.drain(body_.length());
  onParseError(status);
  return status;
}

void ConnectionImpl::closeConnection(Network::ConnectionCloseType type) {
  if (closing_ || connection_closed_) {
    return;
  }
  closing_ = true;
  connection_.close(type);
}

}  // namespace Skiff::Http::Http1
