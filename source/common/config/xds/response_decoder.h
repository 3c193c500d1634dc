#pragma once

// Turning one xDS response into the changes it makes, the ADS client's first step (on the control
// thread, before any validation): each resource type-checked and named (the name read straight
// from its bytes; decoding the whole resource is validation's job, done once there); duplicates
// are errors; SotW resources whose bytes equal one already held are recognised by a
// content hash without decoding; SotW listeners and clusters missing from a response become
// removals. Pure functions, so the xDS fuzzer (test/server/xds_fuzz.cc) runs exactly this code.
//
// Thread: any.

#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "google/protobuf/any.pb.h"
#include "source/common/config/xds/ads_client.h"

namespace Skiff::Config::Xds {

// What the client holds of one type, to compare a response with.
struct HeldResources {
  const std::map<std::string, std::string>& known;  // name -> version
  // SotW: content version -> name, for resources held.
  const absl::flat_hash_map<std::string, std::string>& known_by_version;
};

struct DecodedResponse {
  // type_url, version, the new or changed resources, the removed names.
  ConfigUpdate update;
  std::string nonce;
  // Non-empty: the response is NACKed with these (each names the resource).
  std::vector<std::string> errors;
};

// Both move the resources out of `response` (a 100,000-cluster response is 10 MB: copying it
// would be the control thread's largest cost); the rest of it is left as it was.
DecodedResponse decodeSotwResponse(envoy::service::discovery::v3::DiscoveryResponse& response,
                                   const std::string& type_url, const HeldResources& held);
DecodedResponse decodeDeltaResponse(envoy::service::discovery::v3::DeltaDiscoveryResponse& response,
                                    const std::string& type_url, const HeldResources& held);

// Checks that `any` holds a `type_url` resource (Listener, Cluster, ClusterLoadAssignment,
// RouteConfiguration), reads its name and moves it into `out`.
absl::Status decodeResource(const std::string& type_url, google::protobuf::Any&& any,
                            DecodedResource& out);

// The name of a Listener, Cluster, ClusterLoadAssignment or RouteConfiguration from its wire
// bytes: field 1, a string, in all four. Reads only the top level, keeping the last occurrence
// as a parser would; false if the top level is not well-formed. Bytes it accepts may still fail
// a full decode (nested fields, UTF-8), which validation reports.
bool readResourceName(const std::string& bytes, std::string& name);

// A stable version for a SotW resource: a hash of its bytes as received. The same config sent
// again hashes the same, so an unchanged listener is not rebuilt.
std::string contentVersion(const google::protobuf::Any& any);

}  // namespace Skiff::Config::Xds
