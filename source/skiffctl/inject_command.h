#pragma once

#include "source/skiffctl/command.h"

namespace Skiff::Ctl {

// `skiffctl inject -f app.yaml|- [options] [-o FILE]`: adds the skiff sidecar to every pod
// template of a multi-document manifest (source/common/inject), copying documents it does not
// change byte for byte.
Command injectCommand();

}  // namespace Skiff::Ctl
