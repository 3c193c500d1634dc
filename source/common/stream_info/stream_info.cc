#include "source/common/stream_info/stream_info.h"

#include "source/common/event/event_time.h"

namespace Skiff::StreamInfo {
namespace {

struct FlagName {
  ResponseFlag flag;
  absl::string_view name;
};

// In bit order, which is the order Envoy prints them in.
constexpr FlagName kFlagNames[] = {
    {FailedLocalHealthCheck, "LH"},
    {NoHealthyUpstream, "UH"},
    {UpstreamRequestTimeout, "UT"},
    {LocalReset, "LR"},
    {UpstreamRemoteReset, "UR"},
    {UpstreamConnectionFailure, "UF"},
    {UpstreamConnectionTermination, "UC"},
    {UpstreamOverflow, "UO"},
    {NoRouteFound, "NR"},
    {DelayInjected, "DI"},
    {FaultInjected, "FI"},
    {RateLimited, "RL"},
    {UnauthorizedExternalService, "UAEX"},
    {RateLimitServiceError, "RLSE"},
    {DownstreamConnectionTermination, "DC"},
    {UpstreamRetryLimitExceeded, "URX"},
    {StreamIdleTimeout, "SI"},
    {InvalidEnvoyRequestHeaders, "IH"},
    {DownstreamProtocolError, "DPE"},
    {UpstreamMaxStreamDurationReached, "UMSDR"},
    {ResponseFromCacheFilter, "RFCF"},
    {NoFilterConfigFound, "NFCF"},
    {DurationTimeout, "DT"},
    {UpstreamProtocolError, "UPE"},
    {NoClusterFound, "NC"},
    {OverloadManager, "OM"},
    {DnsResolutionFailed, "DF"},
    {DropOverLoad, "DO"},
    {DownstreamRemoteReset, "DR"},
};
static_assert(sizeof(kFlagNames) / sizeof(kFlagNames[0]) == 29, "a flag has no short string");

}  // namespace

absl::string_view responseFlagShortString(ResponseFlag flag) {
  for (const FlagName& entry : kFlagNames) {
    if (entry.flag == flag) {
      return entry.name;
    }
  }
  return "";
}

void appendResponseFlags(uint64_t flags, std::string& out) {
  if (flags == 0) {
    out += '-';
    return;
  }
  bool first = true;
  for (const FlagName& entry : kFlagNames) {
    if ((flags & entry.flag) != 0) {
      if (!first) {
        out += ',';
      }
      out.append(entry.name.data(), entry.name.size());
      first = false;
    }
  }
}

absl::string_view protocolString(Protocol protocol) {
  switch (protocol) {
    case Protocol::Http10:
      return "HTTP/1.0";
    case Protocol::Http11:
      return "HTTP/1.1";
    case Protocol::Http2:
      return "HTTP/2";
    case Protocol::Http3:
      return "HTTP/3";
  }
  return "";
}

StreamInfo StreamInfo::startNow() {
  StreamInfo info;
  info.start_time = std::chrono::system_clock::now();
  info.start_time_monotonic = Event::EventTime::now();
  return info;
}

}  // namespace Skiff::StreamInfo
