#include "source/common/http/http1/codec_impl.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "source/common/common/assert.h"

namespace Skiff::Http::Http1 {
namespace {

constexpr absl::string_view kCrlf = "\r\n";
constexpr absl::string_view kLastChunk = "0\r\n\r\n";

bool isToken(absl::string_view s, absl::string_view token) {
  return absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(s), token);
}

// Whether a comma-separated field value lists `token` (case-insensitive).
bool headerHasToken(absl::string_view value, absl::string_view token) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    if (isToken(value.substr(0, comma), token)) {
      return true;
    }
    if (comma == absl::string_view::npos) {
      break;
    }
    value.remove_prefix(comma + 1);
  }
  return false;
}

struct ReasonPhrase {
  uint32_t code;
  absl::string_view phrase;
};

// Most frequent first: the common answers are found at once.
constexpr ReasonPhrase kReasonPhrases[] = {
    {200, "OK"},
    {204, "No Content"},
    {404, "Not Found"},
    {304, "Not Modified"},
    {302, "Found"},
    {301, "Moved Permanently"},
    {500, "Internal Server Error"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {400, "Bad Request"},
    {100, "Continue"},
    {101, "Switching Protocols"},
    {102, "Processing"},
    {103, "Early Hints"},
    {201, "Created"},
    {202, "Accepted"},
    {203, "Non-Authoritative Information"},
    {205, "Reset Content"},
    {206, "Partial Content"},
    {300, "Multiple Choices"},
    {303, "See Other"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Payload Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {421, "Misdirected Request"},
    {422, "Unprocessable Entity"},
    {425, "Too Early"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {501, "Not Implemented"},
    {505, "HTTP Version Not Supported"},
};

absl::string_view reasonPhrase(uint32_t code) {
  for (const ReasonPhrase& entry : kReasonPhrases) {
    if (entry.code == code) {
      return entry.phrase;
    }
  }
  return "";
}

// Serializes a message head into memory reserved once: the size is computed first, then every
// piece is copied in place. No allocation, no formatting library.
class HeadWriter {
 public:
  explicit HeadWriter(char* out) : out_(out) {}
  void add(absl::string_view s) {
    memcpy(out_, s.data(), s.size());
    out_ += s.size();
  }
  void addChar(char c) { *out_++ = c; }
  void addCrlf() {
    out_[0] = '\r';
    out_[1] = '\n';
    out_ += 2;
  }
  void addField(absl::string_view name, absl::string_view value) {
    add(name);
    out_[0] = ':';
    out_[1] = ' ';
    out_ += 2;
    add(value);
    addCrlf();
  }
  void addStatus(uint32_t status) {
    addChar(static_cast<char>('0' + status / 100));
    addChar(static_cast<char>('0' + status / 10 % 10));
    addChar(static_cast<char>('0' + status % 10));
  }
  char* end() const { return out_; }

 private:
  char* out_;
};

// Whether a (lower-case) field name is `literal`. The size test first, and a fixed-size compare
// the compiler turns into a few loads: name checks run for every field of every message.
template <size_t N>
inline bool nameIs(const std::string& name, const char (&literal)[N]) {
  return name.size() == N - 1 && memcmp(name.data(), literal, N - 1) == 0;
}

// Lower-cases a header name in place, eight bytes at a time. Names are tokens (llhttp checked:
// ASCII only), so a byte is an upper-case letter exactly when adding 0x80 - 'A' sets its top
// bit and adding 0x80 - 'Z' - 1 does not; those bytes get 0x20 added.
inline void lowerCaseToken(char* p, size_t length) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    uint64_t word;
    memcpy(&word, p + i, 8);
    const uint64_t at_least_a = word + kOnes * (0x80 - 'A');
    const uint64_t above_z = word + kOnes * (0x80 - 'Z' - 1);
    word |= ((at_least_a & ~above_z) & (kOnes * 0x80)) >> 2;
    memcpy(p + i, &word, 8);
  }
  for (; i < length; ++i) {
    if (p[i] >= 'A' && p[i] <= 'Z') {
      p[i] = static_cast<char>(p[i] + ('a' - 'A'));
    }
  }
}

// What encoding needs to know about a header map, found in one pass: the size of the fields
// written as they are, and the framing and connection fields.
struct HeadScan {
  size_t size = 0;             // Fields other than host, transfer-encoding and connection.
  size_t connection_size = 0;  // The connection fields.
  bool content_length = false;
  bool upgrade = false;
  bool connection_close = false;
  bool connection_upgrade = false;
};

// `request`: host() is written from the map's member, so a host field is left out.
HeadScan scanHead(const HeaderMap& headers, bool request) {
  HeadScan scan;
  for (const HeaderMap::Field& field : headers.fields()) {
    const size_t bytes = field.name.size() + field.value.size() + 4;
    switch (field.name.size()) {
      case 4:
        if (request && nameIs(field.name, "host")) {
          continue;
        }
        break;
      case 7:
        if (nameIs(field.name, "upgrade")) {
          scan.upgrade = true;
        }
        break;
      case 10:
        if (nameIs(field.name, "connection")) {
          scan.connection_size += bytes;
          scan.connection_close |= headerHasToken(field.value, "close");
          scan.connection_upgrade |= headerHasToken(field.value, "upgrade");
          continue;
        }
        break;
      case 14:
        scan.content_length |= nameIs(field.name, "content-length");
        break;
      case 17:
        if (nameIs(field.name, "transfer-encoding")) {
          continue;
        }
        break;
      default:
        break;
    }
    scan.size += bytes;
  }
  return scan;
}

// Whether a field is written as it is (not host, transfer-encoding, or a connection field the
// codec replaces).
inline bool writtenAsIs(const std::string& name, bool skip_connection, bool request) {
  switch (name.size()) {
    case 4:
      return !(request && nameIs(name, "host"));
    case 10:
      return !(skip_connection && nameIs(name, "connection"));
    case 17:
      return !nameIs(name, "transfer-encoding");
    default:
      return true;
  }
}

// The gaps scanned for obs-fold are a few bytes (": ", "\r\n"): a plain loop beats a call.
inline bool hasLineFeed(const char* begin, const char* end) {
  for (const char* p = begin; p < end; ++p) {
    if (*p == '\n') {
      return true;
    }
  }
  return false;
}

constexpr size_t fieldSize(absl::string_view name, absl::string_view value) {
  return name.size() + value.size() + 4;
}

// Appends "<hex length>\r\n".
void addChunkHeader(Buffer::Instance& out, uint64_t length) {
  char buf[20];
  char* p = buf + sizeof(buf);
  *--p = '\n';
  *--p = '\r';
  do {
    *--p = "0123456789abcdef"[length & 0xf];
    length >>= 4;
  } while (length != 0);
  out.add(p, buf + sizeof(buf) - p);
}

// Request-line pieces must not contain anything that would end or split the line.
bool validRequestLinePart(absl::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return false;
    }
  }
  return true;
}

bool validFieldValue(absl::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return false;
    }
  }
  return true;
}

}  // namespace

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

void ConnectionImpl::resetMessageState() {
  message_begun_ = false;
  headers_complete_ = false;
  headers_delivered_ = false;
  message_complete_ = false;
  keep_alive_ = false;
  upgrade_ = false;
  header_bytes_ = 0;
  header_count_ = 0;
  open_field_ = nullptr;
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

HeaderMap::Field& ConnectionImpl::openField() {
  if (open_field_ == nullptr) {
    // Valid until the next field is added (the map may grow then).
    open_field_ = &headers().addEmptyField();
  }
  return *open_field_;
}

int ConnectionImpl::onHeaderFieldData(const char* at, size_t length) {
  std::string& name = openField().name;
  const size_t old = name.size();
  name.append(at, length);
  lowerCaseToken(name.data() + old, length);
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
  openField().value.append(at, length);
  fold_gap_start_ = at + length;
  return 0;
}

int ConnectionImpl::onHeaderValueComplete() {
  fold_gap_active_ = false;
  fold_gap_lf_ = false;
  fold_gap_start_ = nullptr;
  HeaderMap::Field& field = openField();
  open_field_ = nullptr;
  if (field.name.empty()) {
    return fail(400, "http1.invalid_header_name");
  }
  if (++header_count_ > settings_.max_headers_count) {
    return fail(431, "http1.too_many_headers");
  }
  // llhttp strips leading whitespace; trailing whitespace is not part of the value either.
  std::string& value = field.value;
  if (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
    size_t end = value.size() - 1;
    while (end > 0 && (value[end - 1] == ' ' || value[end - 1] == '\t')) {
      --end;
    }
    value.resize(end);
  }
  // Only host (4) and transfer-encoding (17) need a closer look: skip the call for the rest.
  bool keep = true;
  if (field.name.size() == 4 || field.name.size() == 17) {
    CodecStatus status = onHeaderField(field.name, value, keep);
    if (!status.isOk()) {
      callback_status_ = status;
      return -1;
    }
  }
  if (keep) {
    headers().finishLastField();
  } else {
    headers().removeLastField();
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

// --- ServerConnectionImpl ---------------------------------------------------------------------

ServerConnectionImpl::ServerConnectionImpl(Network::Connection& connection,
                                           ServerConnectionCallbacks& callbacks,
                                           const Http1Settings& settings)
    : ConnectionImpl(connection, settings, HTTP_REQUEST), callbacks_(callbacks), encoder_(*this) {}

void ServerConnectionImpl::allocHeaders() {
  request_headers_ = std::make_unique<RequestHeaderMap>();
}

void ServerConnectionImpl::onUrl(const char* at, size_t length) { url_.append(at, length); }

CodecStatus ServerConnectionImpl::onHeaderField(std::string& name, std::string& value, bool& keep) {
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
  } else if (raw_) {
    p.connection_.write(data, end_stream);
  } else if (chunked_) {
    Buffer::OwnedImpl& out = p.output_;
    if (data.length() > 0) {
      addChunkHeader(out, data.length());
      out.move(data);
      out.add(kCrlf);
    }
    if (end_stream) {
      out.add(kLastChunk);
    }
    if (out.length() > 0) {
      p.connection_.write(out, false);
    }
  } else if (data.length() > 0) {
    p.connection_.write(data, false);
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

// --- ClientConnectionImpl ---------------------------------------------------------------------

ClientConnectionImpl::ClientConnectionImpl(Network::Connection& connection,
                                           ClientConnectionCallbacks& callbacks,
                                           const Http1Settings& settings)
    : ConnectionImpl(connection, settings, HTTP_RESPONSE), callbacks_(callbacks), encoder_(*this) {}

void ClientConnectionImpl::allocHeaders() {
  response_headers_ = std::make_unique<ResponseHeaderMap>();
}

CodecStatus ClientConnectionImpl::onHeaderField(std::string& name, std::string& value, bool& keep) {
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
  if (raw_) {
    p.connection_.write(data, end_stream);
  } else if (chunked_) {
    Buffer::OwnedImpl& out = p.output_;
    if (data.length() > 0) {
      addChunkHeader(out, data.length());
      out.move(data);
      out.add(kCrlf);
    }
    if (end_stream) {
      out.add(kLastChunk);
    }
    if (out.length() > 0) {
      p.connection_.write(out, false);
    }
  } else if (data.length() > 0) {
    p.connection_.write(data, false);
  }
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
