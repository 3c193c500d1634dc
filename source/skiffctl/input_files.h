#pragma once

// The files a `-f` argument names, as kubectl reads them: a file, "-" for stdin, or a directory
// (its *.yaml, *.yml and *.json files, sorted, hidden ones skipped; not recursive).
//
// Thread: any.

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace Skiff::Ctl {

struct InputFile {
  std::string name;  // as given, or DIR/FILE; "stdin" for "-"
  std::string content;
};

absl::StatusOr<std::vector<InputFile>> readInputFiles(const std::vector<std::string>& paths);

// What POST /apply and DELETE /resources take: one file as it is (named by `source`), several as
// {"documents": [{"source": NAME, "content": TEXT}, ...]} so each keeps its name in errors.
struct ResourcesRequest {
  std::string body;
  std::string content_type;
  std::string source;  // empty for several files
};
ResourcesRequest resourcesRequest(const std::vector<InputFile>& files);

}  // namespace Skiff::Ctl
