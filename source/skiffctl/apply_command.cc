#include "source/skiffctl/apply_command.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "source/skiffctl/control_plane_client.h"
#include "source/skiffctl/input_files.h"
#include "source/skiffctl/output.h"

namespace Skiff::Ctl {

namespace {

std::vector<FlagSpec> applyFlags() {
  std::vector<FlagSpec> specs = {
      {"filename", 'f', true, "FILE", "resources file, directory, or - for stdin (repeatable)"},
      {"group", 'g', true, "G", "node group to apply to (default \"default\")"},
      {"help", 'h', false, "", "this text"},
  };
  for (auto& spec : controlPlaneFlags()) {
    specs.push_back(std::move(spec));
  }
  return specs;
}

std::vector<FlagSpec> deleteFlags() {
  std::vector<FlagSpec> specs = {
      {"filename", 'f', true, "FILE", "delete the resources this file lists (repeatable)"},
      {"group", 'g', true, "G", "node group (default \"default\")"},
      {"ignore-not-found", 0, false, "", "succeed when a resource is not applied"},
      {"help", 'h', false, "", "this text"},
  };
  for (auto& spec : controlPlaneFlags()) {
    specs.push_back(std::move(spec));
  }
  return specs;
}

int usageError(const std::string& message, const std::string& usage) {
  std::fprintf(stderr, "skiffctl: %s\n\n%s", message.c_str(), usage.c_str());
  return 2;
}

int failure(const absl::Status& status) {
  std::fprintf(stderr, "error: %s\n", std::string(status.message()).c_str());
  return 1;
}

// Prints "kind/name action (detail)" per result, then the group's version.
void printResults(const std::string& body) {
  auto json = parseJson(body);
  if (!json.ok()) {
    std::printf("%s", body.c_str());
    return;
  }
  const google::protobuf::Value* results = lookup(*json, {"results"});
  if (results != nullptr) {
    for (const auto& result : results->list_value().values()) {
      std::string line = absl::StrCat(text(result, {"kind"}), "/", text(result, {"name"}), " ",
                                      text(result, {"action"}));
      if (const std::string overrides = text(result, {"overrides"}); !overrides.empty()) {
        absl::StrAppend(&line, " (overrides ", overrides, " until deleted)");
      }
      if (const std::string restores = text(result, {"restores"}); !restores.empty()) {
        absl::StrAppend(&line, " (", restores, " is served again)");
      }
      std::printf("%s\n", line.c_str());
    }
  }
  const std::string version = text(*json, {"version"});
  std::printf(
      "group \"%s\": %s\n", text(*json, {"group"}).c_str(),
      version.empty() ? "removed (nothing left in it)" : absl::StrCat("version ", version).c_str());
}

int runApply(const std::vector<std::string>& args) {
  const auto specs = applyFlags();
  const std::string usage = absl::StrCat(
      "usage: skiffctl apply -f FILE [-f FILE ...] [--group G] [--control-plane URL] "
      "[--token-file F]\n\n"
      "Creates or replaces resources (a `resources:` list, the shape of skiff-control's config\n"
      "files) in the group's applied layer. skiff-control validates them together with the\n"
      "group's files and publishes one new version, or changes nothing and says why. Applied\n"
      "resources override file resources of the same kind and name; they live in memory.\n\n",
      flagsUsage(specs));
  auto flags = parseFlags(args, specs);
  if (!flags.ok()) {
    return usageError(std::string(flags.status().message()), usage);
  }
  if (flags->has("help")) {
    std::printf("%s", usage.c_str());
    return 0;
  }
  if (!flags->positional().empty()) {
    return usageError(absl::StrCat("unexpected argument ", flags->positional()[0]), usage);
  }
  if (!flags->has("filename")) {
    return usageError("-f FILE is required", usage);
  }
  auto files = readInputFiles(flags->values("filename"));
  if (!files.ok()) {
    return failure(files.status());
  }
  auto client = ControlPlaneClient::create(*flags);
  if (!client.ok()) {
    return failure(client.status());
  }
  const ResourcesRequest request = resourcesRequest(*files);
  std::map<std::string, std::string> query = {{"group", flags->value("group", "default")}};
  if (!request.source.empty()) {
    query["source"] = request.source;
  }
  auto body = client->call("POST", "/apply", query, request.body, request.content_type);
  if (!body.ok()) {
    return failure(body.status());
  }
  printResults(*body);
  return 0;
}

int runDelete(const std::vector<std::string>& args) {
  const auto specs = deleteFlags();
  const std::string usage = absl::StrCat(
      "usage: skiffctl delete KIND NAME [--group G] [options]\n"
      "       skiffctl delete -f FILE [--group G] [options]\n\n"
      "Deletes resources from the group's applied layer (KIND: listener, cluster, endpoints,\n"
      "route). A file resource the applied one overrode is served again. Resources that come\n"
      "from config files cannot be deleted here: edit the files.\n\n",
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
  const bool by_file = flags->has("filename");
  if (!(by_file && positional.empty()) && !(!by_file && positional.size() == 2)) {
    return usageError("give KIND NAME, or -f FILE", usage);
  }
  auto client = ControlPlaneClient::create(*flags);
  if (!client.ok()) {
    return failure(client.status());
  }
  std::map<std::string, std::string> query = {{"group", flags->value("group", "default")}};
  if (flags->has("ignore-not-found")) {
    query["ignore_not_found"] = "true";
  }
  ResourcesRequest request;
  if (by_file) {
    auto files = readInputFiles(flags->values("filename"));
    if (!files.ok()) {
      return failure(files.status());
    }
    request = resourcesRequest(*files);
    if (!request.source.empty()) {
      query["source"] = request.source;
    }
  } else {
    query["kind"] = positional[0];
    query["name"] = positional[1];
  }
  auto body = client->call("DELETE", "/resources", query, request.body, request.content_type);
  if (!body.ok()) {
    return failure(body.status());
  }
  printResults(*body);
  return 0;
}

}  // namespace

Command applyCommand() {
  return {"apply", "create or replace resources on skiff-control (-f FILE)", &runApply};
}

Command deleteCommand() {
  return {"delete", "delete resources applied to skiff-control", &runDelete};
}

}  // namespace Skiff::Ctl
