#pragma once

#include "source/skiffctl/command.h"

namespace Skiff::Ctl {

// `skiffctl version`: prints the version skiffctl was built as.
Command versionCommand();

}  // namespace Skiff::Ctl
