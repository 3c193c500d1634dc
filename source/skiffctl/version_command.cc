#include "source/skiffctl/version_command.h"

#include <cstdio>

#include "source/common/common/version.h"

namespace Skiff::Ctl {

Command versionCommand() {
  return {"version", "print skiffctl's version", [](const std::vector<std::string>&) {
            std::printf("skiffctl %s\n", kVersion);
            return 0;
          }};
}

}  // namespace Skiff::Ctl
