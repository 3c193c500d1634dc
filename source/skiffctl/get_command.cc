#include "source/skiffctl/get_command.h"

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "source/skiffctl/control_plane_client.h"
#include "source/skiffctl/output.h"

namespace Skiff::Ctl {

namespace {

using google::protobuf::Value;

constexpr absl::string_view kListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener";
constexpr absl::string_view kClusterType = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
constexpr absl::string_view kEndpointType =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
constexpr absl::string_view kRouteType =
    "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

enum class Kind { Listeners, Clusters, Endpoints, Routes, Nodes };

bool parseKind(const std::string& text, Kind& kind) {
  const std::string k = absl::AsciiStrToLower(text);
  if (k == "listeners" || k == "listener" || k == "lds") {
    kind = Kind::Listeners;
  } else if (k == "clusters" || k == "cluster" || k == "cds") {
    kind = Kind::Clusters;
  } else if (k == "endpoints" || k == "endpoint" || k == "eds" || k == "cla") {
    kind = Kind::Endpoints;
  } else if (k == "routes" || k == "route" || k == "rds") {
    kind = Kind::Routes;
  } else if (k == "nodes" || k == "node" || k == "sidecars") {
    kind = Kind::Nodes;
  } else {
    return false;
  }
  return true;
}

const char* pathOf(Kind kind) {
  switch (kind) {
    case Kind::Listeners:
      return "/listeners";
    case Kind::Clusters:
      return "/clusters";
    case Kind::Endpoints:
      return "/endpoints";
    case Kind::Routes:
      return "/routes";
    case Kind::Nodes:
      return "/nodes";
  }
  return "/";
}

std::string shortVersion(const std::string& version) { return version.substr(0, 8); }

// Where a resource comes from, short: the file's name and line, or "applied: SOURCE".
std::string sourceColumn(const Value& item) {
  const std::string source = text(item, {"source"});
  if (lookup(item, {"applied"}) != nullptr && lookup(item, {"applied"})->bool_value()) {
    return absl::StrCat("applied (", source, ")");
  }
  const size_t slash = source.rfind('/');
  return slash == std::string::npos ? source : source.substr(slash + 1);
}

std::string listenerTargets(const Value& resource) {
  std::vector<std::string> targets;
  if (const Value* api = lookup(resource, {"api_listener", "api_listener"}); api != nullptr) {
    // A gRPC client's API listener: an HTTP connection manager, no filter chains.
    if (const std::string route = text(*api, {"rds", "route_config_name"}); !route.empty()) {
      return absl::StrCat("route ", route);
    }
    return lookup(*api, {"route_config"}) != nullptr ? "inline routes" : "";
  }
  const Value* chains = lookup(resource, {"filter_chains"});
  if (chains == nullptr) {
    return "";
  }
  for (const auto& chain : chains->list_value().values()) {
    const Value* filters = lookup(chain, {"filters"});
    if (filters == nullptr) {
      continue;
    }
    for (const auto& filter : filters->list_value().values()) {
      if (const std::string cluster = text(filter, {"typed_config", "cluster"}); !cluster.empty()) {
        targets.push_back(cluster);
      } else if (const std::string route =
                     text(filter, {"typed_config", "rds", "route_config_name"});
                 !route.empty()) {
        targets.push_back(absl::StrCat("route ", route));
      } else if (lookup(filter, {"typed_config", "route_config"}) != nullptr) {
        targets.push_back("inline routes");
      } else {
        targets.push_back(text(filter, {"name"}));
      }
    }
  }
  return absl::StrJoin(targets, ",");
}

std::vector<std::string> endpointAddresses(const Value& assignment) {
  std::vector<std::string> out;
  const Value* localities = lookup(assignment, {"endpoints"});
  if (localities == nullptr) {
    return out;
  }
  for (const auto& locality : localities->list_value().values()) {
    const Value* endpoints = lookup(locality, {"lb_endpoints"});
    if (endpoints == nullptr) {
      continue;
    }
    for (const auto& endpoint : endpoints->list_value().values()) {
      const Value* socket = lookup(endpoint, {"endpoint", "address", "socket_address"});
      if (socket != nullptr) {
        out.push_back(absl::StrCat(text(*socket, {"address"}), ":", text(*socket, {"port_value"})));
      }
    }
  }
  return out;
}

std::string joinShort(const std::vector<std::string>& items, size_t shown = 3) {
  if (items.size() <= shown) {
    return absl::StrJoin(items, ",");
  }
  return absl::StrCat(absl::StrJoin(items.begin(), items.begin() + shown, ","), " +",
                      items.size() - shown, " more");
}

// istioctl proxy-status' words for one type on one node.
std::string syncState(const Value& node, absl::string_view type_url) {
  const Value* type = lookup(node, {"types", type_url});
  if (type == nullptr) {
    return "-";
  }
  const std::string sent = text(*type, {"version_sent"});
  const std::string acked = text(*type, {"version_acked"});
  if (sent.empty() && acked.empty()) {
    return "NOT SENT";
  }
  if (!text(*type, {"last_nack"}).empty() &&
      (text(*type, {"last_nack_version"}) == sent || acked != sent)) {
    return "NACKED";
  }
  return sent == acked ? "SYNCED" : "STALE";
}

std::string resourceTable(Kind kind, const std::vector<const Value*>& items, bool show_group) {
  std::vector<std::string> header;
  if (show_group) {
    header.push_back("GROUP");
  }
  switch (kind) {
    case Kind::Listeners:
      header.insert(header.end(), {"NAME", "ADDRESS", "TARGET", "SOURCE", "VERSION"});
      break;
    case Kind::Clusters:
      header.insert(header.end(), {"NAME", "TYPE", "ENDPOINTS", "SOURCE", "VERSION"});
      break;
    case Kind::Endpoints:
      header.insert(header.end(), {"NAME", "ENDPOINTS", "SOURCE", "VERSION"});
      break;
    default:
      header.insert(header.end(), {"NAME", "VIRTUAL HOSTS", "SOURCE", "VERSION"});
      break;
  }
  std::vector<std::vector<std::string>> rows;
  for (const Value* item : items) {
    const Value* resource = lookup(*item, {"resource"});
    static const Value empty;
    const Value& r = resource == nullptr ? empty : *resource;
    std::vector<std::string> row;
    if (show_group) {
      row.push_back(text(*item, {"group"}));
    }
    row.push_back(text(*item, {"name"}));
    switch (kind) {
      case Kind::Listeners:
        row.push_back(absl::StrCat(text(r, {"address", "socket_address", "address"}), ":",
                                   text(r, {"address", "socket_address", "port_value"})));
        row.push_back(listenerTargets(r));
        break;
      case Kind::Clusters: {
        std::string type = text(r, {"type"});
        if (type.empty()) {
          type = "STATIC";  // proto3 JSON leaves out the default
        }
        row.push_back(type);
        const Value* assignment = lookup(r, {"load_assignment"});
        row.push_back(type == "EDS"           ? "(EDS)"
                      : assignment == nullptr ? "0"
                                              : joinShort(endpointAddresses(*assignment)));
        break;
      }
      case Kind::Endpoints: {
        auto addresses = endpointAddresses(r);
        row.push_back(addresses.empty() ? "<none>" : joinShort(addresses));
        break;
      }
      default: {
        const Value* hosts = lookup(r, {"virtual_hosts"});
        row.push_back(hosts == nullptr ? "0" : absl::StrCat(hosts->list_value().values_size()));
        break;
      }
    }
    row.push_back(sourceColumn(*item));
    row.push_back(shortVersion(text(*item, {"version"})));
    rows.push_back(std::move(row));
  }
  return renderTable(header, rows);
}

std::string nodeTable(const std::vector<const Value*>& nodes) {
  std::vector<std::vector<std::string>> rows;
  for (const Value* node : nodes) {
    std::string nack;
    if (const Value* types = lookup(*node, {"types"}); types != nullptr) {
      for (const auto& [type_url, state] : types->struct_value().fields()) {
        if (const std::string message = text(state, {"last_nack"}); !message.empty()) {
          nack = message.size() > 60 ? absl::StrCat(message.substr(0, 57), "...") : message;
        }
      }
    }
    rows.push_back({text(*node, {"node_id"}), text(*node, {"group"}),
                    text(*node, {"protocol"}) == "delta" ? "delta" : "sotw",
                    syncState(*node, kClusterType), syncState(*node, kListenerType),
                    syncState(*node, kEndpointType), syncState(*node, kRouteType),
                    text(*node, {"peer"}), ageSince(text(*node, {"connected_since"})),
                    nack.empty() ? "-" : nack});
  }
  return renderTable(
      {"NODE", "GROUP", "XDS", "CDS", "LDS", "EDS", "RDS", "PEER", "CONNECTED", "LAST NACK"}, rows);
}

int usageError(const std::string& message, const std::string& usage) {
  std::fprintf(stderr, "skiffctl: %s\n\n%s", message.c_str(), usage.c_str());
  return 2;
}

int runGet(const std::vector<std::string>& args) {
  std::vector<FlagSpec> specs = {
      {"group", 'g', true, "G", "only this node group (default: every group)"},
      {"all-groups", 'A', false, "", "every group (the default)"},
      {"output", 'o', true, "FORMAT", "table (default), json or yaml"},
      {"help", 'h', false, "", "this text"},
  };
  for (auto& spec : controlPlaneFlags()) {
    specs.push_back(std::move(spec));
  }
  const std::string usage = absl::StrCat(
      "usage: skiffctl get listeners|clusters|endpoints|routes|nodes [NAME] [--group G] "
      "[-o table|json|yaml]\n\n"
      "Shows what skiff-control serves: each group's resources with the file (or apply) they\n"
      "come from, or the connected sidecars (nodes) with the sync state per type\n"
      "(SYNCED: ACKed what was sent; STALE: not ACKed yet; NACKED: rejected, see LAST NACK).\n"
      "-o yaml prints resources as a `resources:` document `skiffctl apply -f` takes back.\n\n",
      flagsUsage(specs));
  auto flags = parseFlags(args, specs);
  if (!flags.ok()) {
    return usageError(std::string(flags.status().message()), usage);
  }
  if (flags->has("help")) {
    std::printf("%s", usage.c_str());
    return 0;
  }
  const auto& positional = flags->positional();
  Kind kind;
  if (positional.empty() || positional.size() > 2 || !parseKind(positional[0], kind)) {
    return usageError(positional.empty() ? "what to get? listeners, clusters, endpoints, routes "
                                           "or nodes"
                                         : absl::StrCat("cannot get \"", positional[0], "\""),
                      usage);
  }
  const std::string name = positional.size() == 2 ? positional[1] : "";
  const std::string format = flags->value("output", "table");
  if (format != "table" && format != "json" && format != "yaml" && format != "wide") {
    return usageError(absl::StrCat("-o ", format, ": use table, json or yaml"), usage);
  }
  if (flags->has("group") && flags->has("all-groups")) {
    return usageError("--group and --all-groups exclude each other", usage);
  }
  auto client = ControlPlaneClient::create(*flags);
  if (!client.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(client.status().message()).c_str());
    return 1;
  }
  std::map<std::string, std::string> query;
  const std::string group = flags->value("group");
  if (kind != Kind::Nodes) {
    if (!group.empty()) {
      query["group"] = group;
    }
    if (!name.empty()) {
      query["name"] = name;
    }
  }
  auto body = client->call("GET", pathOf(kind), query);
  if (!body.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(body.status().message()).c_str());
    return 1;
  }
  auto json = parseJson(*body);
  if (!json.ok()) {
    std::fprintf(stderr, "error: skiff-control answered with %s\n",
                 std::string(json.status().message()).c_str());
    return 1;
  }

  // The items to show; /nodes is filtered here (by group and node id).
  std::vector<const Value*> items;
  const Value* list = lookup(*json, {kind == Kind::Nodes ? "nodes" : "items"});
  if (list != nullptr) {
    for (const auto& item : list->list_value().values()) {
      if (kind == Kind::Nodes && ((!group.empty() && text(item, {"group"}) != group) ||
                                  (!name.empty() && text(item, {"node_id"}) != name))) {
        continue;
      }
      items.push_back(&item);
    }
  }
  if (kind == Kind::Nodes && !name.empty() && items.empty()) {
    std::fprintf(stderr, "error: no connected node \"%s\"%s\n", name.c_str(),
                 group.empty() ? "" : absl::StrCat(" in group \"", group, "\"").c_str());
    return 1;
  }

  if (format == "json" || format == "yaml") {
    Value out;
    if (kind == Kind::Nodes) {
      auto* nodes = (*out.mutable_struct_value()->mutable_fields())["nodes"].mutable_list_value();
      for (const Value* item : items) {
        *nodes->add_values() = *item;
      }
    } else if (format == "json") {
      out = *json;
    }
    if (format == "json") {
      std::printf("%s", toPrettyJson(out).c_str());
      return 0;
    }
    if (kind == Kind::Nodes) {
      std::printf("%s", toYaml(out).c_str());
      return 0;
    }
    // Resources as a document apply takes back, each with where it comes from as a comment.
    std::string yaml = items.empty() ? "resources: []\n" : "resources:\n";
    for (const Value* item : items) {
      const Value* resource = lookup(*item, {"resource"});
      if (resource == nullptr) {
        continue;
      }
      absl::StrAppend(
          &yaml, "# group ", text(*item, {"group"}), ", ",
          lookup(*item, {"applied"}) != nullptr && lookup(*item, {"applied"})->bool_value()
              ? "applied from "
              : "from ",
          text(*item, {"source"}), ", version ", text(*item, {"version"}), "\n");
      Value wrapper;
      *wrapper.mutable_list_value()->add_values() = *resource;
      absl::StrAppend(&yaml, toYaml(wrapper));
    }
    std::printf("%s", yaml.c_str());
    return 0;
  }

  if (items.empty()) {
    std::fprintf(stderr, "No %s found%s.\n", pathOf(kind) + 1,
                 group.empty() ? "" : absl::StrCat(" in group \"", group, "\"").c_str());
    return 0;
  }
  const std::string table =
      kind == Kind::Nodes ? nodeTable(items) : resourceTable(kind, items, group.empty());
  std::printf("%s", table.c_str());
  return 0;
}

}  // namespace

Command getCommand() {
  return {"get", "show what skiff-control serves: listeners, clusters, endpoints, routes, nodes",
          &runGet};
}

}  // namespace Skiff::Ctl
