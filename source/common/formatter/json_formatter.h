#pragma once

// Access log lines as JSON objects, from a google.protobuf.Struct whose string values are format
// strings (SubstitutionFormatString.json_format). Output is one compact object per line with keys
// sorted, as Envoy writes it.
//
// Typed (json_format, typed_json_format): a value that is exactly one operator renders as a
// number for numeric operators (%RESPONSE_CODE%, %DURATION%, %BYTES_SENT%, ...), as a string
// otherwise, and as null when missing; any other string renders as a string with "-" for missing
// operators. Numbers, booleans and null in the Struct are copied as they are; nested objects and
// lists nest. Untyped (FileAccessLog's deprecated json_format): every value is a string.
// omit_empty_values drops keys whose value is null and prints missing operators inside strings as
// "".
//
// Thread: build on any thread; immutable afterwards, shared by every worker.

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"
#include "source/common/formatter/substitution_formatter.h"

namespace Skiff::Formatter {

struct JsonFormatOptions {
  bool typed = true;
  bool omit_empty_values = false;
};

// Errors name the key path, e.g. `json_format.upstream.host: unsupported command operator ...`.
absl::StatusOr<FormatterConstSharedPtr> createJsonFormatter(const google::protobuf::Struct& format,
                                                            JsonFormatOptions options);

}  // namespace Skiff::Formatter
