#pragma once

// What one HTTP request did, as the access log and header formatters read it. The connection
// manager fills it in as the stream progresses; the router adds the upstream side.
//
// Thread: a value type owned by one stream on one worker thread; not thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "source/common/network/address.h"

namespace Skiff::StreamInfo {

using SystemTime = std::chrono::system_clock::time_point;
using MonotonicTime = std::chrono::steady_clock::time_point;

/**
 * Envoy's response flags: why a response is what it is, beyond its status code. The bit order is
 * Envoy's, and so is the order %RESPONSE_FLAGS% lists them in ("UF,URX").
 */
enum ResponseFlag : uint32_t {
  FailedLocalHealthCheck = 1u << 0,             // LH
  NoHealthyUpstream = 1u << 1,                  // UH
  UpstreamRequestTimeout = 1u << 2,             // UT
  LocalReset = 1u << 3,                         // LR
  UpstreamRemoteReset = 1u << 4,                // UR
  UpstreamConnectionFailure = 1u << 5,          // UF
  UpstreamConnectionTermination = 1u << 6,      // UC
  UpstreamOverflow = 1u << 7,                   // UO
  NoRouteFound = 1u << 8,                       // NR
  DelayInjected = 1u << 9,                      // DI
  FaultInjected = 1u << 10,                     // FI
  RateLimited = 1u << 11,                       // RL
  UnauthorizedExternalService = 1u << 12,       // UAEX
  RateLimitServiceError = 1u << 13,             // RLSE
  DownstreamConnectionTermination = 1u << 14,   // DC
  UpstreamRetryLimitExceeded = 1u << 15,        // URX
  StreamIdleTimeout = 1u << 16,                 // SI
  InvalidEnvoyRequestHeaders = 1u << 17,        // IH
  DownstreamProtocolError = 1u << 18,           // DPE
  UpstreamMaxStreamDurationReached = 1u << 19,  // UMSDR
  ResponseFromCacheFilter = 1u << 20,           // RFCF
  NoFilterConfigFound = 1u << 21,               // NFCF
  DurationTimeout = 1u << 22,                   // DT
  UpstreamProtocolError = 1u << 23,             // UPE
  NoClusterFound = 1u << 24,                    // NC
  OverloadManager = 1u << 25,                   // OM
  DnsResolutionFailed = 1u << 26,               // DF
  DropOverLoad = 1u << 27,                      // DO
  DownstreamRemoteReset = 1u << 28,             // DR
  LastFlag = DownstreamRemoteReset,
};

// The short code of one flag ("UF"), or "" for a value that is not exactly one known flag.
absl::string_view responseFlagShortString(ResponseFlag flag);

// Appends the short codes of every flag set in `flags`, comma-separated in Envoy's order; appends
// "-" when none is set.
void appendResponseFlags(uint64_t flags, std::string& out);

enum class Protocol { Http10, Http11, Http2, Http3 };

// "HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/3" (Envoy's %PROTOCOL% spelling).
absl::string_view protocolString(Protocol protocol);

/**
 * Plain data: fields are public and set directly. Durations are offsets from
 * `start_time_monotonic`; unset optionals print as "-".
 */
struct StreamInfo {
  StreamInfo() = default;
  // Starts the clock: both start times are taken now.
  static StreamInfo startNow();

  // When the first byte of the request arrived: wall clock (what %START_TIME% prints) and the
  // monotonic clock every duration below is measured from.
  SystemTime start_time{};
  MonotonicTime start_time_monotonic{};

  // The time since start, for setting the optionals below: `info.request_complete =
  // info.sinceStart(now)`.
  std::chrono::nanoseconds sinceStart(MonotonicTime now) const {
    return now - start_time_monotonic;
  }

  // Last byte of the request read from downstream (%REQUEST_DURATION%).
  absl::optional<std::chrono::nanoseconds> last_downstream_rx_byte_received;
  // First byte of the response read from upstream (%RESPONSE_DURATION%).
  absl::optional<std::chrono::nanoseconds> first_upstream_rx_byte_received;
  // Last byte of the response written downstream (%RESPONSE_TX_DURATION% ends here).
  absl::optional<std::chrono::nanoseconds> last_downstream_tx_byte_sent;
  // The stream is finished (%DURATION%): the response was sent or the stream was reset.
  absl::optional<std::chrono::nanoseconds> request_complete;

  // Body bytes (%BYTES_RECEIVED% / %BYTES_SENT%), not counting headers.
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;

  // Unset until response headers go downstream (%RESPONSE_CODE% prints 0 then, as Envoy does).
  absl::optional<uint32_t> response_code;
  // Who set the response code and why, Envoy's words: "via_upstream", "route_not_found",
  // "upstream_response_timeout", ... (%RESPONSE_CODE_DETAILS%).
  std::string response_code_details;
  // ResponseFlag bits.
  uint64_t response_flags = 0;
  void setResponseFlag(ResponseFlag flag) { response_flags |= flag; }
  bool hasResponseFlag(ResponseFlag flag) const { return (response_flags & flag) != 0; }

  absl::optional<Protocol> protocol;

  // The downstream connection: its id (%CONNECTION_ID%), the peer as the connection manager
  // reports it (after x-forwarded-for with use_remote_address), the peer of the socket, and the
  // local address the connection was accepted on.
  uint64_t connection_id = 0;
  Network::Address::InstanceConstSharedPtr downstream_remote_address;
  Network::Address::InstanceConstSharedPtr downstream_direct_remote_address;
  Network::Address::InstanceConstSharedPtr downstream_local_address;
  // downstream_local_address is the destination the client connected to before an iptables
  // redirect (original_dst listener filter or a hand-off), not skiff's own listen address: an
  // ORIGINAL_DST cluster routes there.
  bool downstream_local_address_restored = false;

  // The upstream host picked for the last attempt (%UPSTREAM_HOST%, %UPSTREAM_REMOTE_ADDRESS%)
  // and the local address of that upstream connection (%UPSTREAM_LOCAL_ADDRESS%).
  Network::Address::InstanceConstSharedPtr upstream_remote_address;
  Network::Address::InstanceConstSharedPtr upstream_local_address;
  // The upstream cluster's name (%UPSTREAM_CLUSTER%). A shared pointer so the router can alias
  // the cluster's own name without copying it:
  //   std::shared_ptr<const std::string>(cluster_info, &cluster_info->name)
  std::shared_ptr<const std::string> upstream_cluster;
  // Why the upstream connection failed, when it did (%UPSTREAM_TRANSPORT_FAILURE_REASON%).
  std::string upstream_transport_failure_reason;
  // How many upstream attempts were made, retries included (%UPSTREAM_REQUEST_ATTEMPT_COUNT%).
  uint32_t upstream_request_attempt_count = 0;

  // The matched route's name (%ROUTE_NAME%). Points into the route table; the connection manager
  // keeps the table it routed with alive for the whole stream, access logging included.
  absl::string_view route_name;
};

}  // namespace Skiff::StreamInfo
