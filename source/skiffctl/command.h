#pragma once

// A skiffctl subcommand. Each lives in its own file and is listed in main.cc's table. skiffctl uses
// //api and //source/common only, never //source/server or //source/control.

#include <string>
#include <vector>

namespace Skiff::Ctl {

struct Command {
  const char* name;
  const char* summary;  // One line for `skiffctl help`.
  // Runs with the arguments after the subcommand's name; returns the process exit code
  // (0 success, 1 failure reported on stderr, 2 bad usage).
  int (*run)(const std::vector<std::string>& args);
};

}  // namespace Skiff::Ctl
