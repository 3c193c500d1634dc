#include "source/common/formatter/substitution_formatter.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "source/common/formatter/time_format.h"

namespace Skiff::Formatter {

enum class Command : uint8_t {
  Literal,
  StartTime,
  Req,
  Resp,
  ResponseCode,
  ResponseCodeDetails,
  ResponseFlags,
  BytesReceived,
  BytesSent,
  Duration,
  RequestDuration,
  ResponseDuration,
  ResponseTxDuration,
  Protocol,
  RouteName,
  UpstreamHost,
  UpstreamCluster,
  UpstreamTransportFailureReason,
  UpstreamRequestAttemptCount,
  UpstreamLocalAddress,
  UpstreamLocalAddressWithoutPort,
  UpstreamLocalPort,
  UpstreamRemoteAddress,
  UpstreamRemoteAddressWithoutPort,
  UpstreamRemotePort,
  DownstreamRemoteAddress,
  DownstreamRemoteAddressWithoutPort,
  DownstreamRemotePort,
  DownstreamDirectRemoteAddress,
  DownstreamDirectRemoteAddressWithoutPort,
  DownstreamDirectRemotePort,
  DownstreamLocalAddress,
  DownstreamLocalAddressWithoutPort,
  DownstreamLocalPort,
  ConnectionId,
  Hostname,
  Environment,
};

// Which request-line member a REQ/RESP header name refers to.
enum class HeaderSource : uint8_t { Field, Method, Path, Host, Scheme, Status };

struct HeaderName {
  std::string name;  // lower-case
  HeaderSource source = HeaderSource::Field;
};

struct FormatString::Piece {
  Command command = Command::Literal;
  // Literal: the text. HOSTNAME / ENVIRONMENT: the value, fixed at parse time.
  std::string text;
  bool has_text = false;  // HOSTNAME / ENVIRONMENT: whether the value exists
  // REQ / RESP: the header and its alternative.
  HeaderName header;
  HeaderName alt_header;
  bool has_alt = false;
  // ":N"; 0 means no truncation.
  size_t max_length = 0;
  bool truncate = false;
  // START_TIME(<format>); null for the default format.
  std::shared_ptr<const TimeFormat> time_format;
};

namespace {

using Piece = FormatString::Piece;

struct CommandInfo {
  Command command;
  bool takes_args;  // arguments allowed
  bool needs_args;  // arguments required
};

const absl::flat_hash_map<std::string, CommandInfo>& commands() {
  static const auto* table = new absl::flat_hash_map<std::string, CommandInfo>{
      {"START_TIME", {Command::StartTime, true, false}},
      {"REQ", {Command::Req, true, true}},
      {"RESP", {Command::Resp, true, true}},
      {"RESPONSE_CODE", {Command::ResponseCode, false, false}},
      {"RESPONSE_CODE_DETAILS", {Command::ResponseCodeDetails, false, false}},
      {"RESPONSE_FLAGS", {Command::ResponseFlags, false, false}},
      {"BYTES_RECEIVED", {Command::BytesReceived, false, false}},
      {"BYTES_SENT", {Command::BytesSent, false, false}},
      {"DURATION", {Command::Duration, false, false}},
      {"REQUEST_DURATION", {Command::RequestDuration, false, false}},
      {"RESPONSE_DURATION", {Command::ResponseDuration, false, false}},
      {"RESPONSE_TX_DURATION", {Command::ResponseTxDuration, false, false}},
      {"PROTOCOL", {Command::Protocol, false, false}},
      {"ROUTE_NAME", {Command::RouteName, false, false}},
      {"UPSTREAM_HOST", {Command::UpstreamHost, false, false}},
      {"UPSTREAM_CLUSTER", {Command::UpstreamCluster, false, false}},
      {"UPSTREAM_TRANSPORT_FAILURE_REASON",
       {Command::UpstreamTransportFailureReason, false, false}},
      {"UPSTREAM_REQUEST_ATTEMPT_COUNT", {Command::UpstreamRequestAttemptCount, false, false}},
      {"UPSTREAM_LOCAL_ADDRESS", {Command::UpstreamLocalAddress, false, false}},
      {"UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT",
       {Command::UpstreamLocalAddressWithoutPort, false, false}},
      {"UPSTREAM_LOCAL_PORT", {Command::UpstreamLocalPort, false, false}},
      {"UPSTREAM_REMOTE_ADDRESS", {Command::UpstreamRemoteAddress, false, false}},
      {"UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT",
       {Command::UpstreamRemoteAddressWithoutPort, false, false}},
      {"UPSTREAM_REMOTE_PORT", {Command::UpstreamRemotePort, false, false}},
      {"DOWNSTREAM_REMOTE_ADDRESS", {Command::DownstreamRemoteAddress, false, false}},
      {"DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT",
       {Command::DownstreamRemoteAddressWithoutPort, false, false}},
      {"DOWNSTREAM_REMOTE_PORT", {Command::DownstreamRemotePort, false, false}},
      {"DOWNSTREAM_DIRECT_REMOTE_ADDRESS", {Command::DownstreamDirectRemoteAddress, false, false}},
      {"DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT",
       {Command::DownstreamDirectRemoteAddressWithoutPort, false, false}},
      {"DOWNSTREAM_DIRECT_REMOTE_PORT", {Command::DownstreamDirectRemotePort, false, false}},
      {"DOWNSTREAM_LOCAL_ADDRESS", {Command::DownstreamLocalAddress, false, false}},
      {"DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT",
       {Command::DownstreamLocalAddressWithoutPort, false, false}},
      {"DOWNSTREAM_LOCAL_PORT", {Command::DownstreamLocalPort, false, false}},
      {"CONNECTION_ID", {Command::ConnectionId, false, false}},
      {"HOSTNAME", {Command::Hostname, false, false}},
      {"ENVIRONMENT", {Command::Environment, true, true}},
  };
  return *table;
}

bool isNumeric(Command command) {
  switch (command) {
    case Command::ResponseCode:
    case Command::BytesReceived:
    case Command::BytesSent:
    case Command::Duration:
    case Command::RequestDuration:
    case Command::ResponseDuration:
    case Command::ResponseTxDuration:
    case Command::UpstreamRequestAttemptCount:
    case Command::UpstreamLocalPort:
    case Command::UpstreamRemotePort:
    case Command::DownstreamRemotePort:
    case Command::DownstreamDirectRemotePort:
    case Command::DownstreamLocalPort:
    case Command::ConnectionId:
      return true;
    default:
      return false;
  }
}

bool isCommandChar(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

absl::StatusOr<HeaderName> parseHeaderName(absl::string_view name, absl::string_view command,
                                           bool request) {
  HeaderName header;
  header.name = absl::AsciiStrToLower(name);
  if (header.name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("%", command, "(...)%: empty header name"));
  }
  for (const char c : header.name) {
    if (c <= ' ' || c == 0x7f || c == '%' || c == '(' || c == ')') {
      return absl::InvalidArgumentError(
          absl::StrCat("%", command, "(", name, ")%: invalid character in header name"));
    }
  }
  if (request) {
    if (header.name == ":method") {
      header.source = HeaderSource::Method;
    } else if (header.name == ":path") {
      header.source = HeaderSource::Path;
    } else if (header.name == ":authority" || header.name == "host") {
      header.source = HeaderSource::Host;
    } else if (header.name == ":scheme") {
      header.source = HeaderSource::Scheme;
    }
  } else if (header.name == ":status") {
    header.source = HeaderSource::Status;
  }
  return header;
}

std::string hostname() {
  char buf[256];
  if (gethostname(buf, sizeof(buf)) != 0) {
    return "";
  }
  buf[sizeof(buf) - 1] = '\0';
  return buf;
}

// Parses "%NAME(args):N%" starting at format[pos] == '%'. On success sets `end` to the index just
// past the closing '%'.
absl::StatusOr<Piece> parseCommand(absl::string_view format, size_t pos, size_t& end) {
  size_t i = pos + 1;
  const size_t name_start = i;
  while (i < format.size() && isCommandChar(format[i])) {
    ++i;
  }
  const absl::string_view name = format.substr(name_start, i - name_start);
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "'%%' at position %d does not start a command operator (write %%%% for a literal '%%')",
        pos));
  }
  absl::string_view args;
  bool has_args = false;
  if (i < format.size() && format[i] == '(') {
    const size_t close = format.find(')', i);
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%%%s(... at position %d: missing ')'", name, pos));
    }
    args = format.substr(i + 1, close - i - 1);
    has_args = true;
    i = close + 1;
  }
  Piece piece;
  if (i < format.size() && format[i] == ':') {
    const size_t digits_start = ++i;
    while (i < format.size() && absl::ascii_isdigit(static_cast<unsigned char>(format[i]))) {
      ++i;
    }
    uint64_t length = 0;
    if (i == digits_start ||
        !absl::SimpleAtoi(format.substr(digits_start, i - digits_start), &length)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%%%s%% at position %d: ':' must be followed by a length in bytes", name, pos));
    }
    piece.truncate = true;
    piece.max_length = length;
  }
  if (i >= format.size() || format[i] != '%') {
    return absl::InvalidArgumentError(absl::StrFormat(
        "command operator %%%s at position %d is not terminated by '%%'", name, pos));
  }
  end = i + 1;

  const auto it = commands().find(std::string(name));
  if (it == commands().end()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("unsupported command operator %%%s%% at position %d", name, pos));
  }
  const CommandInfo& info = it->second;
  if (has_args && !info.takes_args) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%%%s%% at position %d takes no arguments", name, pos));
  }
  if (info.needs_args && (!has_args || args.empty())) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%%%s%% at position %d needs an argument: %%%s(...)%%", name, pos, name));
  }
  piece.command = info.command;
  switch (info.command) {
    case Command::StartTime:
      if (has_args && !args.empty()) {
        piece.time_format = std::make_shared<const TimeFormat>(args);
      }
      break;
    case Command::Req:
    case Command::Resp: {
      const bool request = info.command == Command::Req;
      const size_t question = args.find('?');
      const absl::string_view main =
          question == absl::string_view::npos ? args : args.substr(0, question);
      auto header = parseHeaderName(main, name, request);
      if (!header.ok()) {
        return header.status();
      }
      piece.header = std::move(*header);
      if (question != absl::string_view::npos) {
        const absl::string_view alt = args.substr(question + 1);
        if (alt.find('?') != absl::string_view::npos) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "%%%s(%s)%% at position %d: at most one alternative header (X?Y)", name, args, pos));
        }
        auto alt_header = parseHeaderName(alt, name, request);
        if (!alt_header.ok()) {
          return alt_header.status();
        }
        piece.alt_header = std::move(*alt_header);
        piece.has_alt = true;
      }
      break;
    }
    case Command::Hostname:
      piece.text = hostname();
      piece.has_text = !piece.text.empty();
      break;
    case Command::Environment: {
      const char* value = std::getenv(std::string(args).c_str());
      piece.has_text = value != nullptr;
      piece.text = value != nullptr ? value : "";
      break;
    }
    default:
      break;
  }
  return piece;
}

// Appends the value of a header (or its request-line member); false if missing.
bool appendHeader(const Http::HeaderMap* headers, const HeaderName& header, std::string& out) {
  if (headers == nullptr) {
    return false;
  }
  if (header.source != HeaderSource::Field) {
    const std::string* member = nullptr;
    if (header.source == HeaderSource::Status) {
      const auto* response = static_cast<const Http::ResponseHeaderMap*>(headers);
      if (response->status() == 0) {
        return false;
      }
      absl::StrAppend(&out, response->status());
      return true;
    }
    const auto* request = static_cast<const Http::RequestHeaderMap*>(headers);
    switch (header.source) {
      case HeaderSource::Method:
        member = &request->method();
        break;
      case HeaderSource::Path:
        member = &request->path();
        break;
      case HeaderSource::Host:
        member = &request->host();
        break;
      case HeaderSource::Scheme:
        member = &request->scheme();
        break;
      default:
        return false;
    }
    if (member->empty()) {
      return false;
    }
    out += *member;
    return true;
  }
  const absl::string_view* value = headers->get(header.name);
  if (value == nullptr) {
    return false;
  }
  out.append(value->data(), value->size());
  return true;
}

enum class AddressPart { Full, WithoutPort, Port };

bool appendAddress(const Network::Address::InstanceConstSharedPtr& address, AddressPart part,
                   std::string& out) {
  if (address == nullptr) {
    return false;
  }
  switch (part) {
    case AddressPart::Full:
      out += address->asString();
      break;
    case AddressPart::WithoutPort:
      out += address->ip();
      break;
    case AddressPart::Port:
      absl::StrAppend(&out, address->port());
      break;
  }
  return true;
}

bool appendMillis(const absl::optional<std::chrono::nanoseconds>& duration, std::string& out) {
  if (!duration.has_value()) {
    return false;
  }
  absl::StrAppend(&out, std::chrono::duration_cast<std::chrono::milliseconds>(*duration).count());
  return true;
}

// Appends the value of one operator; false (and nothing appended) when it is missing.
bool appendValue(const Piece& piece, const Context& context, std::string& out) {
  const StreamInfo::StreamInfo* info = context.stream_info;
  switch (piece.command) {
    case Command::Literal:
      out += piece.text;
      return true;
    case Command::Req:
    case Command::Resp: {
      const Http::HeaderMap* headers =
          piece.command == Command::Req
              ? static_cast<const Http::HeaderMap*>(context.request_headers)
              : static_cast<const Http::HeaderMap*>(context.response_headers);
      return appendHeader(headers, piece.header, out) ||
             (piece.has_alt && appendHeader(headers, piece.alt_header, out));
    }
    case Command::Hostname:
    case Command::Environment:
      if (!piece.has_text) {
        return false;
      }
      out += piece.text;
      return true;
    default:
      break;
  }
  if (info == nullptr) {
    return false;
  }
  switch (piece.command) {
    case Command::StartTime:
      if (piece.time_format != nullptr) {
        piece.time_format->format(info->start_time, out);
      } else {
        appendIso8601Millis(info->start_time, out);
      }
      return true;
    case Command::ResponseCode:
      absl::StrAppend(&out, info->response_code.value_or(0));
      return true;
    case Command::ResponseCodeDetails:
      if (info->response_code_details.empty()) {
        return false;
      }
      out += info->response_code_details;
      return true;
    case Command::ResponseFlags:
      StreamInfo::appendResponseFlags(info->response_flags, out);
      return true;
    case Command::BytesReceived:
      absl::StrAppend(&out, info->bytes_received);
      return true;
    case Command::BytesSent:
      absl::StrAppend(&out, info->bytes_sent);
      return true;
    case Command::Duration:
      return appendMillis(info->request_complete, out);
    case Command::RequestDuration:
      return appendMillis(info->last_downstream_rx_byte_received, out);
    case Command::ResponseDuration:
      return appendMillis(info->first_upstream_rx_byte_received, out);
    case Command::ResponseTxDuration:
      if (!info->first_upstream_rx_byte_received.has_value() ||
          !info->last_downstream_tx_byte_sent.has_value()) {
        return false;
      }
      return appendMillis(
          *info->last_downstream_tx_byte_sent - *info->first_upstream_rx_byte_received, out);
    case Command::Protocol:
      if (!info->protocol.has_value()) {
        return false;
      }
      absl::StrAppend(&out, StreamInfo::protocolString(*info->protocol));
      return true;
    case Command::RouteName:
      if (info->route_name.empty()) {
        return false;
      }
      out.append(info->route_name.data(), info->route_name.size());
      return true;
    case Command::UpstreamHost:
      return appendAddress(info->upstream_remote_address, AddressPart::Full, out);
    case Command::UpstreamCluster:
      if (info->upstream_cluster == nullptr || info->upstream_cluster->empty()) {
        return false;
      }
      out += *info->upstream_cluster;
      return true;
    case Command::UpstreamTransportFailureReason:
      if (info->upstream_transport_failure_reason.empty()) {
        return false;
      }
      out += info->upstream_transport_failure_reason;
      return true;
    case Command::UpstreamRequestAttemptCount:
      absl::StrAppend(&out, info->upstream_request_attempt_count);
      return true;
    case Command::UpstreamLocalAddress:
      return appendAddress(info->upstream_local_address, AddressPart::Full, out);
    case Command::UpstreamLocalAddressWithoutPort:
      return appendAddress(info->upstream_local_address, AddressPart::WithoutPort, out);
    case Command::UpstreamLocalPort:
      return appendAddress(info->upstream_local_address, AddressPart::Port, out);
    case Command::UpstreamRemoteAddress:
      return appendAddress(info->upstream_remote_address, AddressPart::Full, out);
    case Command::UpstreamRemoteAddressWithoutPort:
      return appendAddress(info->upstream_remote_address, AddressPart::WithoutPort, out);
    case Command::UpstreamRemotePort:
      return appendAddress(info->upstream_remote_address, AddressPart::Port, out);
    case Command::DownstreamRemoteAddress:
      return appendAddress(info->downstream_remote_address, AddressPart::Full, out);
    case Command::DownstreamRemoteAddressWithoutPort:
      return appendAddress(info->downstream_remote_address, AddressPart::WithoutPort, out);
    case Command::DownstreamRemotePort:
      return appendAddress(info->downstream_remote_address, AddressPart::Port, out);
    case Command::DownstreamDirectRemoteAddress:
      return appendAddress(info->downstream_direct_remote_address, AddressPart::Full, out);
    case Command::DownstreamDirectRemoteAddressWithoutPort:
      return appendAddress(info->downstream_direct_remote_address, AddressPart::WithoutPort, out);
    case Command::DownstreamDirectRemotePort:
      return appendAddress(info->downstream_direct_remote_address, AddressPart::Port, out);
    case Command::DownstreamLocalAddress:
      return appendAddress(info->downstream_local_address, AddressPart::Full, out);
    case Command::DownstreamLocalAddressWithoutPort:
      return appendAddress(info->downstream_local_address, AddressPart::WithoutPort, out);
    case Command::DownstreamLocalPort:
      return appendAddress(info->downstream_local_address, AddressPart::Port, out);
    case Command::ConnectionId:
      absl::StrAppend(&out, info->connection_id);
      return true;
    default:
      return false;
  }
}

// appendValue plus ":N" truncation.
bool appendPiece(const Piece& piece, const Context& context, std::string& out) {
  const size_t start = out.size();
  if (!appendValue(piece, context, out)) {
    return false;
  }
  if (piece.truncate && out.size() - start > piece.max_length) {
    out.resize(start + piece.max_length);
  }
  return true;
}

class TextFormatter : public Formatter {
 public:
  explicit TextFormatter(FormatString format) : format_(std::move(format)) {}
  void format(const Context& context, std::string& out) const override {
    format_.format(context, out);
  }

 private:
  FormatString format_;
};

}  // namespace

FormatString::FormatString() = default;
FormatString::FormatString(FormatString&&) noexcept = default;
FormatString& FormatString::operator=(FormatString&&) noexcept = default;
FormatString::~FormatString() = default;

absl::StatusOr<FormatString> FormatString::parse(absl::string_view format, Options options) {
  FormatString result;
  result.options_ = options;
  std::string literal;
  auto flush_literal = [&]() {
    if (!literal.empty()) {
      Piece piece;
      piece.text = std::move(literal);
      result.pieces_.push_back(std::move(piece));
      literal.clear();
    }
  };
  for (size_t pos = 0; pos < format.size();) {
    const char c = format[pos];
    if (c != '%') {
      literal += c;
      ++pos;
      continue;
    }
    if (pos + 1 < format.size() && format[pos + 1] == '%') {
      literal += '%';
      pos += 2;
      continue;
    }
    size_t end = 0;
    auto piece = parseCommand(format, pos, end);
    if (!piece.ok()) {
      return piece.status();
    }
    flush_literal();
    result.pieces_.push_back(std::move(*piece));
    pos = end;
  }
  flush_literal();
  if (result.isLiteral()) {
    for (const Piece& piece : result.pieces_) {
      result.literal_ += piece.text;
    }
  }
  return result;
}

bool FormatString::isLiteral() const {
  for (const Piece& piece : pieces_) {
    if (piece.command != Command::Literal) {
      return false;
    }
  }
  return true;
}

bool FormatString::isSingleOperator() const {
  return pieces_.size() == 1 && pieces_[0].command != Command::Literal;
}

void FormatString::format(const Context& context, std::string& out) const {
  for (const Piece& piece : pieces_) {
    if (!appendPiece(piece, context, out) && !options_.omit_empty_values) {
      out += '-';
    }
  }
}

std::string FormatString::format(const Context& context) const {
  std::string out;
  format(context, out);
  return out;
}

bool FormatString::formatSingle(const Context& context, std::string& out, bool& numeric) const {
  const Piece& piece = pieces_[0];
  // A truncated number is no longer the number; render it as a string.
  numeric = isNumeric(piece.command) && !piece.truncate;
  return appendPiece(piece, context, out);
}

absl::StatusOr<FormatterConstSharedPtr> createTextFormatter(absl::string_view format,
                                                            bool omit_empty_values) {
  auto parsed = FormatString::parse(format, {.omit_empty_values = omit_empty_values});
  if (!parsed.ok()) {
    return parsed.status();
  }
  return std::make_shared<const TextFormatter>(std::move(*parsed));
}

}  // namespace Skiff::Formatter
