#pragma once

// The runtime values skiff reads, from the static layers of Envoy's bootstrap `layered_runtime`.
// skiff has no runtime service (no disk, admin or RTDS layers); what it takes from the runtime
// are Envoy's connection-limit keys, so a bootstrap that sets them works unchanged:
//
//   envoy.resource_limits.listener.<listener name>.connection_limit   per-listener limit
//   overload.global_downstream_max_connections                        global limit (Envoy's older
//                                                                      form of the downstream
//                                                                      connections monitor)
//
// Nested objects in a static layer are flattened with '.', as Envoy does
// ({envoy: {resource_limits: {listener: {ingress: {connection_limit: 100}}}}} is the same key),
// and later layers override earlier ones. Other keys are kept and ignored.
//
// Thread: immutable after create(); any thread.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "google/protobuf/struct.pb.h"

namespace Skiff::Config {

inline constexpr absl::string_view kGlobalDownstreamMaxConnectionsKey =
    "overload.global_downstream_max_connections";

// "envoy.resource_limits.listener.<name>.connection_limit".
std::string listenerConnectionLimitKey(absl::string_view listener_name);

class RuntimeSnapshot {
 public:
  RuntimeSnapshot() = default;

  // Flattens the layers. Errors name the field: a layer without a name or without static_layer,
  // a list value (Envoy rejects those too), or a connection-limit key whose value is not a
  // non-negative integer.
  static absl::StatusOr<RuntimeSnapshot> create(
      const envoy::config::bootstrap::v3::LayeredRuntime& runtime,
      absl::string_view path = "layered_runtime");

  // The value of `key` as a non-negative integer (a number without fraction, or a string of
  // digits); nullopt if unset or not such a value.
  std::optional<uint64_t> getInteger(absl::string_view key) const;

  // Listener `name`'s connection limit, if the runtime sets one.
  std::optional<uint64_t> listenerConnectionLimit(absl::string_view name) const {
    return getInteger(listenerConnectionLimitKey(name));
  }

  size_t size() const { return values_.size(); }

 private:
  absl::flat_hash_map<std::string, google::protobuf::Value> values_;
};

}  // namespace Skiff::Config
