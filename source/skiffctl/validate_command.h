#pragma once

#include "source/skiffctl/command.h"

namespace Skiff::Ctl {

// `skiffctl validate -f FILE|DIR ...`: checks resources files (all given together, as one
// skiff-control group) or skiff bootstraps offline, with the same validation skiff-control and
// skiff apply; prints every error with file, line, resource, field and reason; exit 1 on error.
Command validateCommand();

}  // namespace Skiff::Ctl
