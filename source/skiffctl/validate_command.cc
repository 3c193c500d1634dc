#include "source/skiffctl/validate_command.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "source/common/config/bootstrap.h"
#include "source/common/config/resource_set.h"
#include "source/skiffctl/flags.h"
#include "source/skiffctl/input_files.h"

namespace Skiff::Ctl {

namespace {

enum class FileKind { Resources, Bootstrap };

// A document with a top-level `resources:` key is a resources file; anything else is taken for a
// bootstrap. (JSON is YAML, so one parser tells both.) yaml-cpp throws: caught here.
FileKind guessKind(const std::string& content) {
  try {
    const YAML::Node root = YAML::Load(content);
    if (root.IsMap() && root["resources"]) {
      return FileKind::Resources;
    }
  } catch (const YAML::Exception&) {
    // Unparseable: the resources parser reports the syntax error with its line.
    return FileKind::Resources;
  }
  return FileKind::Bootstrap;
}

int runValidate(const std::vector<std::string>& args) {
  const std::vector<FlagSpec> specs = {
      {"filename", 'f', true, "FILE", "file, directory or - (repeatable)"},
      {"kind", 0, true, "KIND",
       "resources or bootstrap (default: by content: a top-level `resources:` list or not)"},
      {"help", 'h', false, "", "this text"},
  };
  const std::string usage = absl::StrCat(
      "usage: skiffctl validate -f FILE|DIR [-f ...] [--kind resources|bootstrap]\n\n"
      "Checks skiff-control resources files, or skiff bootstraps, without a running server.\n"
      "Resources files given together (or a directory: one skiff-control group) are validated\n"
      "as one set: names unique, references resolved among them, every field checked.\n\n",
      flagsUsage(specs));
  auto flags = parseFlags(args, specs);
  if (!flags.ok()) {
    std::fprintf(stderr, "skiffctl: %s\n\n%s", std::string(flags.status().message()).c_str(),
                 usage.c_str());
    return 2;
  }
  if (flags->has("help")) {
    std::printf("%s", usage.c_str());
    return 0;
  }
  if (!flags->has("filename") || !flags->positional().empty()) {
    std::fprintf(stderr, "skiffctl: %s\n\n%s",
                 flags->positional().empty()
                     ? "-f FILE is required"
                     : absl::StrCat("unexpected argument ", flags->positional()[0]).c_str(),
                 usage.c_str());
    return 2;
  }
  const std::string forced = flags->value("kind");
  if (!forced.empty() && forced != "resources" && forced != "bootstrap") {
    std::fprintf(stderr, "skiffctl: --kind %s: use resources or bootstrap\n", forced.c_str());
    return 2;
  }
  auto files = readInputFiles(flags->values("filename"));
  if (!files.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(files.status().message()).c_str());
    return 1;
  }

  std::vector<std::string> errors;
  std::vector<Config::SourcedResource> resources;
  size_t resource_files = 0;
  for (const auto& file : *files) {
    const FileKind kind = forced == "bootstrap"   ? FileKind::Bootstrap
                          : forced == "resources" ? FileKind::Resources
                                                  : guessKind(file.content);
    const auto format = Config::formatFromPath(file.name);
    if (kind == FileKind::Bootstrap) {
      auto bootstrap = Config::loadBootstrapFromString(file.content, format, file.name);
      if (!bootstrap.ok()) {
        errors.emplace_back(bootstrap.status().message());
      } else {
        std::printf("%s: valid skiff bootstrap (%d listeners, %d clusters)\n", file.name.c_str(),
                    bootstrap->static_resources().listeners_size(),
                    bootstrap->static_resources().clusters_size());
      }
      continue;
    }
    ++resource_files;
    if (auto status = Config::parseResourcesDocument(file.content, format, file.name, resources);
        !status.ok()) {
      errors.emplace_back(status.message());
    }
  }
  if (resource_files > 0) {
    auto set = Config::validateResourceSet(resources);
    if (!set.ok()) {
      errors.emplace_back(set.status().message());
    } else if (errors.empty()) {
      for (const auto& warning : set->warnings) {
        std::fprintf(stderr, "warning: %s\n", warning.c_str());
      }
      std::printf("valid: %zu listeners, %zu clusters, %zu endpoints, %zu routes in %zu file%s\n",
                  set->listeners.size(), set->clusters.size(), set->assignments.size(),
                  set->routes.size(), resource_files, resource_files == 1 ? "" : "s");
    }
  }
  if (!errors.empty()) {
    std::fprintf(stderr, "%s\n", absl::StrJoin(errors, "\n").c_str());
    return 1;
  }
  return 0;
}

}  // namespace

Command validateCommand() {
  return {"validate", "check resources files or a skiff bootstrap offline (-f FILE)", &runValidate};
}

}  // namespace Skiff::Ctl
