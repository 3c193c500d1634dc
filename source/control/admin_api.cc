#include "source/control/admin_api.h"

#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "source/common/common/logger.h"
#include "source/common/config/resource_set.h"
#include "source/control/json.h"

namespace Skiff::Control {

using Http::Admin::Method;
using Http::Admin::Request;
using Http::Admin::Response;

namespace {

// The kinds users name (kubectl-style singular/plural, xDS short names) and their type URLs.
struct Kind {
  absl::string_view singular;
  absl::string_view plural;
  absl::string_view short_name;
  absl::string_view type_url;
};

const Kind kKinds[] = {
    {"listener", "listeners", "lds", TypeUrl::kListener},
    {"cluster", "clusters", "cds", TypeUrl::kCluster},
    {"endpoints", "endpoints", "eds", TypeUrl::kEndpoint},
    {"route", "routes", "rds", TypeUrl::kRoute},
};

const Kind* kindByName(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (const Kind& kind : kKinds) {
    if (lower == kind.singular || lower == kind.plural || lower == kind.short_name ||
        name == kind.type_url || (lower == "endpoint" && kind.type_url == TypeUrl::kEndpoint) ||
        (lower == "cla" && kind.type_url == TypeUrl::kEndpoint)) {
      return &kind;
    }
  }
  return nullptr;
}

// The user-facing kind of a type URL ("listener"), or the type URL itself for unknown types.
std::string kindOf(absl::string_view type_url) {
  for (const Kind& kind : kKinds) {
    if (kind.type_url == type_url) {
      return std::string(kind.singular);
    }
  }
  return std::string(type_url);
}

std::string param(const Request& request, absl::string_view name, absl::string_view fallback) {
  const auto it = request.query.find(name);
  return it == request.query.end() ? std::string(fallback) : it->second;
}

bool flag(const Request& request, absl::string_view name) {
  const auto it = request.query.find(name);
  return it != request.query.end() &&
         (it->second.empty() || it->second == "true" || it->second == "1" || it->second == "yes");
}

// {"error": summary, "errors": [line, ...]}: the validation errors one per entry.
Response errorsResponse(int code, absl::string_view summary, absl::string_view lines) {
  std::vector<std::string> entries = absl::StrSplit(lines, '\n', absl::SkipEmpty());
  return Response{code, "application/json",
                  absl::StrCat("{\"error\":", Json::quote(summary),
                               ",\"errors\":", Json::quoteList(entries), "}\n")};
}

// A source name as given by a client, made safe to print.
std::string cleanSourceName(absl::string_view name) {
  std::string out;
  for (const char c : name.substr(0, 4096)) {  // PATH_MAX
    out += absl::ascii_iscntrl(static_cast<unsigned char>(c)) ? '?' : c;
  }
  return out.empty() ? "request" : out;
}

Config::ConfigFormat formatOf(const Request& request) {
  const auto it = request.headers.find("content-type");
  if (it != request.headers.end()) {
    if (absl::StrContains(it->second, "json")) {
      return Config::ConfigFormat::Json;
    }
    if (absl::StrContains(it->second, "yaml")) {
      return Config::ConfigFormat::Yaml;
    }
  }
  return Config::ConfigFormat::Auto;
}

// Parses the body of /apply or DELETE /resources: one document, or the {"documents": [...]}
// envelope (several files, each keeping its own name for error locations).
absl::Status parseBody(const Request& request, std::vector<Config::SourcedResource>& out) {
  absl::string_view body = absl::StripLeadingAsciiWhitespace(request.body);
  if (absl::StartsWith(body, "{") && absl::StrContains(body, "\"documents\"")) {
    google::protobuf::Struct envelope;
    const auto status = google::protobuf::util::JsonStringToMessage(std::string(body), &envelope);
    if (status.ok() && envelope.fields().contains("documents")) {
      const auto& documents = envelope.fields().at("documents");
      if (!documents.has_list_value()) {
        return absl::InvalidArgumentError("\"documents\" must be a list");
      }
      std::vector<std::string> errors;
      int index = 0;
      for (const auto& document : documents.list_value().values()) {
        const auto& fields = document.struct_value().fields();
        const auto source = fields.find("source");
        const auto content = fields.find("content");
        if (content == fields.end() || !content->second.has_string_value()) {
          errors.push_back(
              absl::StrCat("documents[", index, "]: \"content\" (a string) is missing"));
          continue;
        }
        const std::string name =
            cleanSourceName(source == fields.end() ? absl::StrCat("documents[", index, "]")
                                                   : source->second.string_value());
        const auto parsed = Config::parseResourcesDocument(content->second.string_value(),
                                                           Config::formatFromPath(name), name, out);
        if (!parsed.ok()) {
          errors.emplace_back(parsed.message());
        }
        ++index;
      }
      if (!errors.empty()) {
        return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
      }
      return absl::OkStatus();
    }
  }
  return Config::parseResourcesDocument(request.body, formatOf(request),
                                        cleanSourceName(param(request, "source", "request")), out);
}

// The key a resource is applied under. A resource without a usable name gets a key no other
// resource can have, so it reaches validation, which says what is wrong with it.
Config::ResourceKey keyOf(const Config::SourcedResource& resource) {
  std::string name = Config::resourceName(resource.any);
  if (name.empty()) {
    name = absl::StrCat(std::string(1, '\0'), resource.where);
  }
  return {resource.any.type_url(), std::move(name)};
}

std::string resultJson(const Config::ResourceKey& key, absl::string_view action,
                       absl::string_view detail_name = "", absl::string_view detail = "") {
  std::string out =
      absl::StrCat("{\"kind\":", Json::quote(kindOf(key.first)),
                   ",\"name\":", Json::quote(key.second), ",\"action\":", Json::quote(action));
  if (!detail.empty()) {
    absl::StrAppend(&out, ",", Json::quote(detail_name), ":", Json::quote(detail));
  }
  return out + "}";
}

class ResourceApi {
 public:
  ResourceApi(ConfigDirSource& config, SnapshotCache& cache, AdminCredentials& credentials)
      : config_(config), cache_(cache), credentials_(credentials) {}

  Response apply(const Request& request) {
    if (auto refused = credentials_.checkMutationsEnabled(); refused.has_value()) {
      return *refused;
    }
    const std::string group = param(request, "group", SnapshotCache::kDefaultGroup);
    if (!isValidGroupName(group)) {
      return jsonError(400, absl::StrCat("invalid group name \"", group, "\""));
    }
    std::vector<Config::SourcedResource> resources;
    if (auto status = parseBody(request, resources); !status.ok()) {
      return errorsResponse(400, "the request does not parse", status.message());
    }
    if (resources.empty()) {
      return jsonError(400, "the request holds no resources (expected a `resources:` list)");
    }

    AppliedResources next = config_.applied(group);
    const ResourceOrigins* origins = config_.origins(group);
    std::vector<std::string> errors;
    std::set<Config::ResourceKey> seen;
    std::vector<std::string> results;
    for (auto& resource : resources) {
      Config::ResourceKey key = keyOf(resource);
      if (!seen.insert(key).second) {
        errors.push_back(absl::StrCat(resource.where, ": ", kindOf(key.first), " \"", key.second,
                                      "\" appears twice in the request"));
        continue;
      }
      const auto existing = next.find(key);
      if (existing != next.end()) {
        const bool same = existing->second.any.value() == resource.any.value();
        results.push_back(resultJson(key, same ? "unchanged" : "configured"));
      } else if (origins != nullptr && origins->contains(key)) {
        results.push_back(resultJson(key, "configured", "overrides", origins->at(key)));
      } else {
        results.push_back(resultJson(key, "created"));
      }
      next.insert_or_assign(std::move(key), std::move(resource));
    }
    if (!errors.empty()) {
      return errorsResponse(400, "the request is invalid; nothing was applied",
                            absl::StrJoin(errors, "\n"));
    }
    auto version = config_.setApplied(group, std::move(next));
    if (!version.ok()) {
      return errorsResponse(
          400,
          absl::StrCat("group \"", group, "\" with this change is invalid; nothing was applied"),
          version.status().message());
    }
    SKIFF_LOG(info, "admin: applied %d resources to group \"%s\" (version %s)", results.size(),
              group, *version);
    return Response{
        200, "application/json",
        absl::StrCat("{\"group\":", Json::quote(group), ",\"version\":", Json::quote(*version),
                     ",\"results\":[", absl::StrJoin(results, ","), "]}\n")};
  }

  Response remove(const Request& request) {
    if (auto refused = credentials_.checkMutationsEnabled(); refused.has_value()) {
      return *refused;
    }
    const std::string group = param(request, "group", SnapshotCache::kDefaultGroup);
    if (!isValidGroupName(group)) {
      return jsonError(400, absl::StrCat("invalid group name \"", group, "\""));
    }
    std::vector<Config::ResourceKey> keys;
    const std::string kind_name = param(request, "kind", param(request, "type", ""));
    const std::string name = param(request, "name", "");
    if (!kind_name.empty() || !name.empty()) {
      const Kind* kind = kindByName(kind_name);
      if (kind == nullptr || name.empty()) {
        return jsonError(400,
                         "give kind (listener, cluster, endpoints, route) and name, or a body "
                         "listing the resources to delete");
      }
      keys.emplace_back(std::string(kind->type_url), name);
    } else {
      std::vector<Config::SourcedResource> resources;
      if (auto status = parseBody(request, resources); !status.ok()) {
        return errorsResponse(400, "the request does not parse", status.message());
      }
      for (const auto& resource : resources) {
        keys.push_back(keyOf(resource));
      }
      if (keys.empty()) {
        return jsonError(400, "nothing to delete: give kind and name, or a body with resources");
      }
    }

    AppliedResources next = config_.applied(group);
    const bool ignore_not_found = flag(request, "ignore_not_found");
    std::vector<std::string> missing;
    std::vector<Config::ResourceKey> deleted;
    for (const auto& key : keys) {
      if (next.erase(key) > 0) {
        deleted.push_back(key);
        continue;
      }
      if (ignore_not_found) {
        continue;
      }
      const ResourceOrigins* origins = config_.origins(group);
      const auto origin =
          origins == nullptr ? ResourceOrigins::const_iterator() : origins->find(key);
      if (origins != nullptr && origin != origins->end()) {
        missing.push_back(absl::StrCat(kindOf(key.first), " \"", key.second, "\" in group \"",
                                       group, "\" comes from ", origin->second,
                                       "; only applied resources can be deleted: edit or remove "
                                       "the file"));
      } else {
        missing.push_back(absl::StrCat(kindOf(key.first), " \"", key.second,
                                       "\" is not applied in group \"", group, "\""));
      }
    }
    if (!missing.empty()) {
      return errorsResponse(404, "not found; nothing was deleted", absl::StrJoin(missing, "\n"));
    }
    std::string version;
    if (!deleted.empty()) {
      auto result = config_.setApplied(group, std::move(next));
      if (!result.ok()) {
        return errorsResponse(400,
                              absl::StrCat("group \"", group,
                                           "\" without these resources is invalid; nothing was "
                                           "deleted"),
                              result.status().message());
      }
      version = *result;
    } else if (const auto snapshot = cache_.getSnapshot(group); snapshot != nullptr) {
      version = snapshot->version();
    }
    std::vector<std::string> results;
    const ResourceOrigins* origins = config_.origins(group);
    for (const auto& key : deleted) {
      const auto restored =
          origins == nullptr ? ResourceOrigins::const_iterator() : origins->find(key);
      results.push_back(origins != nullptr && restored != origins->end()
                            ? resultJson(key, "deleted", "restores", restored->second)
                            : resultJson(key, "deleted"));
    }
    SKIFF_LOG(info, "admin: deleted %d applied resources from group \"%s\"", deleted.size(), group);
    return Response{
        200, "application/json",
        absl::StrCat("{\"group\":", Json::quote(group), ",\"version\":", Json::quote(version),
                     ",\"results\":[", absl::StrJoin(results, ","), "]}\n")};
  }

  Response list(const Kind& kind, const Request& request) {
    std::vector<std::string> groups;
    if (const auto it = request.query.find("group"); it != request.query.end()) {
      groups.push_back(it->second);
    } else {
      groups = cache_.groups();
    }
    const std::string only = param(request, "name", "");
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;  // the field names of the config files
    std::vector<std::string> items;
    for (const auto& group : groups) {
      const SnapshotConstSharedPtr snapshot = cache_.getSnapshot(group);
      if (snapshot == nullptr) {
        continue;
      }
      const ResourceOrigins* origins = config_.origins(group);
      const AppliedResources& applied = config_.applied(group);
      for (const auto& [name, resource] : snapshot->resources(kind.type_url)) {
        if (!only.empty() && name != only) {
          continue;
        }
        const Config::ResourceKey key(std::string(kind.type_url), name);
        std::string json;
        if (!google::protobuf::util::MessageToJsonString(resource->any, &json, options).ok()) {
          json = "null";
        }
        const auto origin =
            origins == nullptr ? ResourceOrigins::const_iterator() : origins->find(key);
        items.push_back(absl::StrCat(
            "{\"group\":", Json::quote(group), ",\"name\":", Json::quote(name),
            ",\"version\":", Json::quote(resource->version), ",\"source\":",
            Json::quote(origins != nullptr && origin != origins->end() ? origin->second : ""),
            ",\"applied\":", applied.contains(key) ? "true" : "false", ",\"resource\":", json,
            "}"));
      }
    }
    if (!only.empty() && items.empty()) {
      return jsonError(
          404,
          absl::StrCat(kind.singular, " \"", only, "\" not found",
                       groups.size() == 1 ? absl::StrCat(" in group \"", groups[0], "\"") : ""));
    }
    return Response{200, "application/json",
                    absl::StrCat("{\"kind\":", Json::quote(kind.singular), ",\"items\":[",
                                 absl::StrJoin(items, ","), "]}\n")};
  }

 private:
  ConfigDirSource& config_;
  SnapshotCache& cache_;
  AdminCredentials& credentials_;
};

}  // namespace

bool isValidGroupName(absl::string_view group) {
  if (group.empty() || group.size() > 253 || group[0] == '.') {
    return false;
  }
  for (const char c : group) {
    if (c == '/' || absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

void registerResourceApi(Http::Admin::AdminServer& admin, ConfigDirSource& config,
                         SnapshotCache& cache, AdminCredentials& credentials) {
  auto api = std::make_shared<ResourceApi>(config, cache, credentials);
  admin.addHandler("/apply",
                   "create or replace resources in a group's applied layer "
                   "(?group=G&source=NAME; body: a resources document)",
                   Method::Post, [api](const Request& request) { return api->apply(request); });
  admin.addHandler("/resources",
                   "delete applied resources (?group=G&kind=K&name=N, or a body listing them)",
                   Method::Delete, [api](const Request& request) { return api->remove(request); });
  for (const Kind& kind : kKinds) {
    admin.addHandler(absl::StrCat("/", kind.plural),
                     absl::StrCat("JSON: the ", kind.plural,
                                  " each group serves, with version and source "
                                  "(?group=G&name=N)"),
                     Method::Get,
                     [api, &kind](const Request& request) { return api->list(kind, request); });
  }
}

}  // namespace Skiff::Control
