#pragma once

// Small helpers for reading validated xDS config: typed_config unpacking, Duration conversion and
// the defaults skiff applies to unset fields.
//
// Thread: pure functions; any thread.

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/duration.pb.h"

namespace Skiff::Config {

// Defaults for unset fields (the same values Envoy uses). docs/config-reference.md lists them.
inline constexpr uint32_t kDefaultPerConnectionBufferLimitBytes = 1024 * 1024;
inline constexpr std::chrono::milliseconds kDefaultConnectTimeout{5000};
inline constexpr std::chrono::milliseconds kDefaultTcpProxyIdleTimeout{60 * 60 * 1000};
inline constexpr std::chrono::milliseconds kDefaultListenerFiltersTimeout{15000};
inline constexpr std::chrono::milliseconds kDefaultInitialFetchTimeout{15000};
inline constexpr uint32_t kDefaultMaxConnectAttempts = 1;

inline constexpr absl::string_view kTypeUrlPrefix = "type.googleapis.com/";

// "type.googleapis.com/<full message name>", the type URL Envoy and go-control-plane use.
template <class T>
std::string typeUrl() {
  return absl::StrCat(kTypeUrlPrefix, T::descriptor()->full_name());
}

// The message name part of a type URL (everything after the last '/').
absl::string_view typeNameFromUrl(absl::string_view type_url);

// Unpacks `any` as a T. `path` names the field in errors, e.g.
// `listeners[0].filter_chains[0].filters[0].typed_config: expected type ... but got ...`.
template <class T>
absl::StatusOr<T> parseTypedConfig(const google::protobuf::Any& any, absl::string_view path) {
  const std::string& expected = T::descriptor()->full_name();
  if (typeNameFromUrl(any.type_url()) != expected) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": expected type \"", kTypeUrlPrefix,
                                                   expected, "\" but got \"", any.type_url(),
                                                   "\""));
  }
  T message;
  if (!any.UnpackTo(&message)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": could not decode the bytes as ", expected));
  }
  return message;
}

// A Duration that protobuf considers valid (seconds within +-10000 years, nanos in range and of
// the same sign) and not negative.
bool isValidNonNegativeDuration(const google::protobuf::Duration& duration);

// Converts to milliseconds, truncating sub-millisecond parts. Fails for negative or invalid
// durations, or ones that overflow int64 milliseconds.
absl::StatusOr<std::chrono::milliseconds> durationToMilliseconds(
    const google::protobuf::Duration& duration);

// For config that already passed validation: the duration in milliseconds, or `fallback` if the
// duration is invalid.
std::chrono::milliseconds durationToMillisecondsOr(const google::protobuf::Duration& duration,
                                                   std::chrono::milliseconds fallback);

}  // namespace Skiff::Config

// `message.field()` in milliseconds if set, else `default_ms` (a std::chrono::milliseconds).
#define SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(message, field, default_ms)                \
  ((message).has_##field()                                                          \
       ? ::Skiff::Config::durationToMillisecondsOr((message).field(), (default_ms)) \
       : (default_ms))

// The value inside a google.protobuf.*Value wrapper field if set, else `default_value`.
#define SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(message, field, default_value) \
  ((message).has_##field() ? (message).field().value() : (default_value))
