#pragma once

// Envoy's command operators (%START_TIME%, %REQ(:path)%, %RESPONSE_CODE%, ...) for access logs and
// header values. A format is parsed once, at configuration time, into a list of pieces; formatting
// a request walks that list and appends to a caller-owned string, so the hot path does no parsing
// and, with a reused output buffer, no allocation.
//
// Thread: parse on any thread; a parsed format is immutable and may be shared by every worker.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "source/common/http/header_map.h"
#include "source/common/stream_info/stream_info.h"

namespace Skiff::Formatter {

// Envoy's default access log format, byte for byte.
inline constexpr absl::string_view kDefaultAccessLogFormat =
    "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
    "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "
    "\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n";

/**
 * What a format is evaluated against. Null members are simply missing: a header-value format
 * evaluated before the response exists has no response headers, and every operator that needs
 * them yields "missing".
 */
struct Context {
  const Http::RequestHeaderMap* request_headers = nullptr;
  const Http::ResponseHeaderMap* response_headers = nullptr;
  const StreamInfo::StreamInfo* stream_info = nullptr;
};

/**
 * One parsed format string: literal text and command operators.
 *
 * Operators supported (anything else is a parse error naming it):
 *   START_TIME, START_TIME(<strftime>) with %s, %f and %1f..%9f; REQ(X?Y), RESP(X?Y) (":method",
 *   ":path", ":authority"/"host", ":scheme" and ":status" read the request line and status);
 *   RESPONSE_CODE, RESPONSE_CODE_DETAILS, RESPONSE_FLAGS, BYTES_RECEIVED, BYTES_SENT, DURATION,
 *   REQUEST_DURATION, RESPONSE_DURATION, RESPONSE_TX_DURATION, PROTOCOL, ROUTE_NAME,
 *   UPSTREAM_HOST, UPSTREAM_CLUSTER, UPSTREAM_TRANSPORT_FAILURE_REASON,
 *   UPSTREAM_REQUEST_ATTEMPT_COUNT, {UPSTREAM_LOCAL,UPSTREAM_REMOTE,DOWNSTREAM_REMOTE,
 *   DOWNSTREAM_DIRECT_REMOTE,DOWNSTREAM_LOCAL}_ADDRESS with _WITHOUT_PORT and _PORT forms,
 *   CONNECTION_ID, HOSTNAME, ENVIRONMENT(X).
 * Every operator takes ":N" to truncate its value to N bytes. "%%" is a literal '%'; any other
 * '%' must start an operator.
 */
class FormatString {
 public:
  struct Options {
    // A missing value prints as "" instead of "-" (SubstitutionFormatString.omit_empty_values;
    // always on for header values, where a missing value means "do not add the header").
    bool omit_empty_values = false;
  };

  // Errors say what is wrong and where, e.g. `unsupported command operator %FOO% at position 4`.
  static absl::StatusOr<FormatString> parse(absl::string_view format, Options options);

  FormatString(FormatString&&) noexcept;
  FormatString& operator=(FormatString&&) noexcept;
  ~FormatString();

  // Appends the formatted text to `out`.
  void format(const Context& context, std::string& out) const;
  std::string format(const Context& context) const;

  // True when the format has no operators (its text is literalText()).
  bool isLiteral() const;
  // The unescaped text of a literal format.
  const std::string& literalText() const { return literal_; }

  // --- For the JSON formatter. ---
  // True when the format is exactly one operator and nothing else: JSON renders its value typed.
  bool isSingleOperator() const;
  // For a single-operator format: appends the value and returns true, or returns false when the
  // value is missing. `numeric` says whether the value is a JSON number.
  bool formatSingle(const Context& context, std::string& out, bool& numeric) const;

  struct Piece;

 private:
  FormatString();

  std::vector<Piece> pieces_;
  std::string literal_;
  Options options_;
};

/**
 * A whole access log line (text or JSON).
 */
class Formatter {
 public:
  virtual ~Formatter() = default;
  // Appends one formatted line to `out`.
  virtual void format(const Context& context, std::string& out) const = 0;
};

using FormatterConstSharedPtr = std::shared_ptr<const Formatter>;

// A text format; the text is used as is (Envoy adds no newline; kDefaultAccessLogFormat has one).
absl::StatusOr<FormatterConstSharedPtr> createTextFormatter(absl::string_view format,
                                                            bool omit_empty_values);

}  // namespace Skiff::Formatter
