#pragma once

#include "source/skiffctl/command.h"

namespace Skiff::Ctl {

// `skiffctl get listeners|clusters|endpoints|routes|nodes [NAME] [--group G] [-o table|json|yaml]`:
// what skiff-control serves (and to whom), from its admin API.
Command getCommand();

}  // namespace Skiff::Ctl
