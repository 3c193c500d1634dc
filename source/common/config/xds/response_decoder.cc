#include "source/common/config/xds/response_decoder.h"

#include <functional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace Skiff::Config::Xds {
namespace {

using envoy::service::discovery::v3::DeltaDiscoveryResponse;
using envoy::service::discovery::v3::DiscoveryResponse;

constexpr char kResourceWrapperType[] = "type.googleapis.com/envoy.service.discovery.v3.Resource";

std::string shortType(const std::string& type_url) {
  return type_url.substr(type_url.rfind('.') + 1);
}

// Gathers a response's resources: a name seen twice is an error, a resource whose version
// equals the one held is unchanged and left out.
struct Collector {
  Collector(const std::string& type_url, const HeldResources& held) : held(held) {
    out.update.type_url = type_url;
  }

  void add(DecodedResource resource) {
    if (seen.count(resource.name)) {
      out.errors.push_back(absl::StrCat(shortType(out.update.type_url), " '", resource.name,
                                        "': duplicate name in one response"));
      return;
    }
    seen.insert(resource.name);
    auto known = held.known.find(resource.name);
    if (known != held.known.end() && known->second == resource.version) {
      return;  // Unchanged: nothing to rebuild.
    }
    out.update.upserts.push_back(std::move(resource));
  }

  const HeldResources& held;
  DecodedResponse out;
  absl::flat_hash_set<std::string> seen;
};

}  // namespace

std::string contentVersion(const google::protobuf::Any& any) {
  return absl::StrCat(std::hash<std::string>{}(any.value()));
}

bool readResourceName(const std::string& bytes, std::string& name) {
  using google::protobuf::internal::WireFormatLite;
  constexpr uint32_t kNameTag =
      WireFormatLite::MakeTag(1, WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  while (uint32_t tag = in.ReadTag()) {
    const bool ok = tag == kNameTag ? WireFormatLite::ReadString(&in, &name)
                                    : WireFormatLite::SkipField(&in, tag);
    if (!ok) {
      return false;
    }
  }
  // ReadTag() returns 0 at the end and for a malformed tag; only the end leaves nothing unread.
  return in.CurrentPosition() == static_cast<int>(bytes.size());
}

absl::Status decodeResource(const std::string& type_url, google::protobuf::Any&& any,
                            DecodedResource& out) {
  if (any.type_url() != type_url) {
    return absl::InvalidArgumentError(absl::StrCat("resource of type '", any.type_url(),
                                                   "' in a response of type '", type_url, "'"));
  }
  if (type_url != kListenerType && type_url != kClusterType && type_url != kEndpointType &&
      type_url != kRouteType) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported type '", type_url, "'"));
  }
  if (!readResourceName(any.value(), out.name)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot decode a ", shortType(type_url)));
  }
  if (out.name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("a ", shortType(type_url), " without a name"));
  }
  out.resource = std::move(any);
  return absl::OkStatus();
}

DecodedResponse decodeSotwResponse(DiscoveryResponse& r, const std::string& type_url,
                                   const HeldResources& held) {
  Collector c(type_url, held);
  ConfigUpdate& update = c.out.update;
  std::vector<std::string>& errors = c.out.errors;

  update.version = r.version_info();
  c.out.nonce = r.nonce();
  for (int i = 0; i < r.resources_size(); ++i) {
    google::protobuf::Any any = std::move(*r.mutable_resources(i));
    if (any.type_url() == kResourceWrapperType) {
      envoy::service::discovery::v3::Resource wrapper;
      if (!any.UnpackTo(&wrapper) || !wrapper.has_resource()) {
        continue;  // A TTL heartbeat carries no resource; skiff does not advertise TTLs.
      }
      any = std::move(*wrapper.mutable_resource());
    }
    const std::string version = contentVersion(any);
    auto unchanged = held.known_by_version.find(version);
    if (unchanged != held.known_by_version.end() && any.type_url() == type_url) {
      // Same bytes as a resource we hold: same name, nothing to decode or rebuild.
      if (c.seen.count(unchanged->second)) {
        errors.push_back(absl::StrCat(shortType(type_url), " '", unchanged->second,
                                      "': duplicate name in one response"));
      }
      c.seen.insert(unchanged->second);
      continue;
    }
    DecodedResource resource;
    if (auto status = decodeResource(type_url, std::move(any), resource); !status.ok()) {
      errors.push_back(absl::StrCat("resources[", i, "]: ", status.message()));
      continue;
    }
    resource.version = version;
    c.add(std::move(resource));
  }
  // SotW listeners and clusters are the complete set: whatever is missing is removed.
  // Endpoints and routes are not: an absent one just was not sent this time.
  if (type_url != kEndpointType && type_url != kRouteType) {
    for (const auto& [name, version] : held.known) {
      if (!c.seen.count(name)) {
        update.removes.push_back(name);
      }
    }
  }
  return std::move(c.out);
}

DecodedResponse decodeDeltaResponse(DeltaDiscoveryResponse& r, const std::string& type_url,
                                    const HeldResources& held) {
  Collector c(type_url, held);
  ConfigUpdate& update = c.out.update;
  std::vector<std::string>& errors = c.out.errors;

  update.version = r.system_version_info();
  c.out.nonce = r.nonce();
  for (int i = 0; i < r.resources_size(); ++i) {
    auto& wrapper = *r.mutable_resources(i);
    if (!wrapper.has_resource()) {
      continue;  // Heartbeat.
    }
    DecodedResource resource;
    if (auto status = decodeResource(type_url, std::move(*wrapper.mutable_resource()), resource);
        !status.ok()) {
      errors.push_back(absl::StrCat("resources[", i, "]: ", status.message()));
      continue;
    }
    if (!wrapper.name().empty() && wrapper.name() != resource.name) {
      errors.push_back(absl::StrCat("resources[", i, "]: named '", wrapper.name(), "' but the ",
                                    shortType(type_url), " is '", resource.name, "'"));
      continue;
    }
    resource.version =
        wrapper.version().empty() ? contentVersion(resource.resource) : wrapper.version();
    c.add(std::move(resource));
  }
  for (const auto& name : r.removed_resources()) {
    if (held.known.count(name)) {
      update.removes.push_back(name);
    }
  }
  return std::move(c.out);
}

}  // namespace Skiff::Config::Xds
