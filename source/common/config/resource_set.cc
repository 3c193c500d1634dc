#include "source/common/config/resource_set.h"

#include <memory>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/listener/original_dst/v3/original_dst.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "source/common/config/http_validation.h"
#include "source/common/config/validation.h"

namespace Skiff::Config {

using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using envoy::config::listener::v3::Listener;
using envoy::config::route::v3::RouteConfiguration;

namespace {

constexpr absl::string_view kListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener";
constexpr absl::string_view kClusterType = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
constexpr absl::string_view kEndpointType =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
constexpr absl::string_view kRouteType =
    "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

// Release builds link protobuf statically with --gc-sections: a type that is only ever named by
// an "@type" in a document must be referenced from code to stay in the descriptor pool.
void keepTypesLinked() {
  static const google::protobuf::Message* linked[] = {
      &Listener::default_instance(),
      &Cluster::default_instance(),
      &ClusterLoadAssignment::default_instance(),
      &RouteConfiguration::default_instance(),
      &envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy::default_instance(),
      &envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager::
          default_instance(),
      &envoy::extensions::filters::http::router::v3::Router::default_instance(),
      &envoy::extensions::filters::listener::original_dst::v3::OriginalDst::default_instance(),
  };
  (void)linked;
}

// 1-based line of each block-style item of the top-level `resources:` list, in order; empty when
// the document is JSON or uses flow style. Good enough to point at the right item in errors.
std::vector<int> resourceItemLines(absl::string_view content) {
  std::vector<int> lines;
  const std::vector<absl::string_view> text = absl::StrSplit(content, '\n');
  bool in_resources = false;
  int item_indent = -1;
  for (size_t i = 0; i < text.size(); ++i) {
    absl::string_view line = text[i];
    const size_t indent = line.find_first_not_of(' ');
    if (indent == absl::string_view::npos || line[indent] == '#') {
      continue;
    }
    if (indent == 0 && !absl::StartsWith(line, "- ") && line != "-") {
      // `resources:`, or with the key quoted.
      in_resources = false;
      for (absl::string_view key : {"resources:", "\"resources\":", "'resources':"}) {
        if (absl::StartsWith(line, key) &&
            absl::StripAsciiWhitespace(line.substr(key.size())).empty()) {
          in_resources = true;
        }
      }
      continue;
    }
    if (!in_resources || line[indent] != '-') {
      continue;
    }
    if (item_indent < 0) {
      item_indent = static_cast<int>(indent);
    }
    if (static_cast<int>(indent) == item_indent) {
      lines.push_back(static_cast<int>(i) + 1);
    }
  }
  return lines;
}

// Accumulates "where: reason" lines.
class Errors {
 public:
  void add(const std::string& where, absl::string_view reason) {
    // Validator messages may hold several lines; each gets the location.
    for (absl::string_view line : absl::StrSplit(reason, '\n', absl::SkipEmpty())) {
      lines_.push_back(absl::StrCat(where, ": ", line));
    }
  }
  void add(const std::string& where, const std::vector<std::string>& reasons) {
    for (const auto& reason : reasons) {
      add(where, reason);
    }
  }
  bool empty() const { return lines_.empty(); }
  std::string joined() const { return absl::StrJoin(lines_, "\n"); }

 private:
  std::vector<std::string> lines_;
};

// Decodes `resource` into `into` (keyed by `name_of`), reporting a missing or duplicate name.
template <class Message, class NameOf>
void decodeNamed(const SourcedResource& resource, absl::string_view kind, NameOf name_of,
                 std::map<std::string, Located<Message>>& into, Errors& errors) {
  Message message;
  if (!resource.any.UnpackTo(&message)) {
    errors.add(resource.where, absl::StrCat(kind, ": cannot decode"));
    return;
  }
  std::string name = name_of(message);
  if (name.empty()) {
    errors.add(resource.where,
               absl::StrCat(kind, " has no ",
                            kind == "cluster load assignment" ? "cluster_name" : "name"));
    return;
  }
  if (auto it = into.find(name); it != into.end()) {
    errors.add(resource.where, absl::StrCat("duplicate ", kind, " name \"", name,
                                            "\" (first defined at ", it->second.where, ")"));
    return;
  }
  into.emplace(std::move(name), Located<Message>{std::move(message), resource.where});
}

}  // namespace

absl::Status parseResourcesDocument(absl::string_view content, ConfigFormat format,
                                    absl::string_view source_name,
                                    std::vector<SourcedResource>& out) {
  keepTypesLinked();
  if (absl::StripAsciiWhitespace(content).empty()) {
    return absl::OkStatus();  // An empty file (e.g. being written) holds no resources.
  }
  // A DiscoveryResponse is exactly `resources: [Any]` (plus fields a document does not use).
  envoy::service::discovery::v3::DiscoveryResponse document;
  if (auto status = loadMessageFromString(content, format, source_name, document); !status.ok()) {
    return status;
  }
  const std::vector<int> lines = resourceItemLines(content);
  const bool lines_match = lines.size() == static_cast<size_t>(document.resources_size());
  for (int i = 0; i < document.resources_size(); ++i) {
    out.push_back({lines_match ? absl::StrCat(source_name, ":", lines[i])
                               : absl::StrCat(source_name, ": resources[", i, "]"),
                   std::move(*document.mutable_resources(i))});
  }
  return absl::OkStatus();
}

std::string resourceName(const google::protobuf::Any& any) {
  absl::string_view type = any.type_url();
  type = type.substr(type.rfind('/') + 1);  // npos + 1 == 0: the whole string
  const google::protobuf::Descriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(std::string(type));
  if (descriptor == nullptr) {
    return "";
  }
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor);
  if (prototype == nullptr) {
    return "";
  }
  std::unique_ptr<google::protobuf::Message> message(prototype->New());
  if (!message->ParseFromString(any.value())) {
    return "";
  }
  const google::protobuf::FieldDescriptor* field = descriptor->FindFieldByName("name");
  if (field == nullptr) {
    field = descriptor->FindFieldByName("cluster_name");
  }
  if (field == nullptr || field->type() != google::protobuf::FieldDescriptor::TYPE_STRING ||
      field->is_repeated()) {
    return "";
  }
  return message->GetReflection()->GetString(*message, field);
}

absl::StatusOr<ResourceSet> validateResourceSet(const std::vector<SourcedResource>& resources) {
  keepTypesLinked();
  Errors errors;
  ResourceSet set;

  // Decode every resource and check names.
  for (const auto& resource : resources) {
    const std::string& type_url = resource.any.type_url();
    if (type_url == kClusterType) {
      decodeNamed(
          resource, "cluster", [](const Cluster& c) { return c.name(); }, set.clusters, errors);
    } else if (type_url == kEndpointType) {
      decodeNamed(
          resource, "cluster load assignment",
          [](const ClusterLoadAssignment& c) { return c.cluster_name(); }, set.assignments, errors);
    } else if (type_url == kListenerType) {
      decodeNamed(
          resource, "listener", [](const Listener& l) { return l.name(); }, set.listeners, errors);
    } else if (type_url == kRouteType) {
      decodeNamed(
          resource, "route configuration", [](const RouteConfiguration& r) { return r.name(); },
          set.routes, errors);
    } else {
      errors.add(resource.where,
                 absl::StrCat("resource type ", type_url,
                              " is not supported (supported: Listener, RouteConfiguration, "
                              "Cluster, ClusterLoadAssignment)"));
    }
  }

  // Semantic checks, with references resolved inside the set.
  SetNames names;
  for (const auto& [name, entry] : set.clusters) {
    names.clusters.add(name);
  }
  for (const auto& [name, entry] : set.routes) {
    names.routes.insert(name);
  }

  std::set<std::string> eds_services;  // the ClusterLoadAssignment names EDS clusters use
  for (const auto& [name, entry] : set.clusters) {
    const std::string resource = absl::StrFormat("cluster \"%s\"", name);
    if (const auto status = validateCluster(entry.resource, resource); !status.ok()) {
      errors.add(entry.where, status.message());
    }
    if (entry.resource.type() != Cluster::EDS) {
      continue;
    }
    const std::string& service = entry.resource.eds_cluster_config().service_name();
    const std::string& wanted = service.empty() ? name : service;
    eds_services.insert(wanted);
    if (!set.assignments.contains(wanted)) {
      errors.add(
          entry.where,
          absl::StrFormat("%s.%s: type EDS needs a ClusterLoadAssignment with "
                          "cluster_name \"%s\" in this group (there is none)",
                          resource, service.empty() ? "name" : "eds_cluster_config.service_name",
                          wanted));
    }
  }
  for (const auto& [name, entry] : set.assignments) {
    const auto cluster = set.clusters.find(name);
    const bool require_ip = cluster == set.clusters.end() ||
                            cluster->second.resource.type() == Cluster::STATIC ||
                            cluster->second.resource.type() == Cluster::EDS;
    const auto status = validateClusterLoadAssignment(
        entry.resource, absl::StrFormat("cluster load assignment \"%s\"", name), require_ip);
    if (!status.ok()) {
      errors.add(entry.where, status.message());
    }
    if (!eds_services.contains(name)) {
      set.warnings.push_back(absl::StrFormat(
          "%s: endpoints for \"%s\", which no EDS cluster of this set uses", entry.where, name));
    }
  }
  for (const auto& [name, entry] : set.routes) {
    std::vector<std::string> route_errors;
    validateRouteConfigurationInSet(
        entry.resource, names, absl::StrFormat("route configuration \"%s\"", name), route_errors);
    errors.add(entry.where, route_errors);
  }
  std::map<std::string, std::string> addresses;  // "ip:port" -> listener name
  for (const auto& [name, entry] : set.listeners) {
    const std::string resource = absl::StrFormat("listener \"%s\"", name);
    std::vector<std::string> listener_errors;
    validateListenerInSet(entry.resource, names, resource, listener_errors);
    errors.add(entry.where, listener_errors);
    if (!entry.resource.has_address()) {
      continue;  // an API listener (gRPC clients ignore its address)
    }
    const auto& socket = entry.resource.address().socket_address();
    const std::string address = absl::StrCat(socket.address(), ":", socket.port_value());
    if (auto [it, inserted] = addresses.emplace(address, name); !inserted) {
      errors.add(entry.where, absl::StrFormat("%s.address: %s is already used by listener \"%s\"",
                                              resource, address, it->second));
    }
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(errors.joined());
  }
  return set;
}

}  // namespace Skiff::Config
