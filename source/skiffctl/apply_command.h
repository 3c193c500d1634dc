#pragma once

#include "source/skiffctl/command.h"

namespace Skiff::Ctl {

// `skiffctl apply -f FILE [--group G]`: creates or replaces resources in a group's applied layer
// on skiff-control (POST /apply); prints what changed per resource, kubectl-style.
Command applyCommand();

// `skiffctl delete KIND NAME | -f FILE [--group G]`: deletes applied resources (DELETE /resources).
Command deleteCommand();

}  // namespace Skiff::Ctl
