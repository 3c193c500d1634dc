#include "source/skiffctl/input_files.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "source/common/common/json.h"
#include "source/skiffctl/control_plane_client.h"

namespace Skiff::Ctl {

namespace fs = std::filesystem;

absl::StatusOr<std::vector<InputFile>> readInputFiles(const std::vector<std::string>& paths) {
  std::vector<InputFile> files;
  for (const auto& path : paths) {
    std::error_code ec;
    if (path != "-" && fs::is_directory(path, ec)) {
      std::vector<std::string> names;
      for (const auto& entry : fs::directory_iterator(path, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name[0] == '.' || !fs::is_regular_file(entry.path(), ec)) {
          continue;
        }
        if (absl::EndsWith(name, ".yaml") || absl::EndsWith(name, ".yml") ||
            absl::EndsWith(name, ".json")) {
          names.push_back(name);
        }
      }
      if (ec) {
        return absl::NotFoundError(absl::StrCat(path, ": ", ec.message()));
      }
      std::sort(names.begin(), names.end());
      if (names.empty()) {
        return absl::NotFoundError(absl::StrCat(path, ": no .yaml, .yml or .json files"));
      }
      for (const auto& name : names) {
        const std::string file = absl::StrCat(absl::StripSuffix(path, "/"), "/", name);
        auto content = readInput(file);
        if (!content.ok()) {
          return content.status();
        }
        files.push_back({file, std::move(*content)});
      }
      continue;
    }
    auto content = readInput(path);
    if (!content.ok()) {
      return content.status();
    }
    files.push_back({path == "-" ? "stdin" : path, std::move(*content)});
  }
  return files;
}

ResourcesRequest resourcesRequest(const std::vector<InputFile>& files) {
  const auto type_of = [](const std::string& name) {
    return absl::EndsWith(name, ".json") ? "application/json" : "application/yaml";
  };
  if (files.size() == 1) {
    return {files[0].content,
            absl::EndsWith(files[0].name, ".json") || files[0].name == "stdin"
                ? ""  // stdin: let the server tell YAML from JSON
                : type_of(files[0].name),
            files[0].name};
  }
  std::string body = "{\"documents\":[";
  for (size_t i = 0; i < files.size(); ++i) {
    absl::StrAppend(&body, i == 0 ? "" : ",", "{\"source\":", Json::quote(files[i].name),
                    ",\"content\":", Json::quote(files[i].content), "}");
  }
  absl::StrAppend(&body, "]}");
  return {std::move(body), "application/json", ""};
}

}  // namespace Skiff::Ctl
