// skiffctl: the command-line tool for skiff users. `skiffctl help` lists the subcommands.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "source/skiffctl/apply_command.h"
#include "source/skiffctl/command.h"
#include "source/skiffctl/get_command.h"
#include "source/skiffctl/inject_command.h"
#include "source/skiffctl/validate_command.h"
#include "source/skiffctl/version_command.h"

namespace Skiff::Ctl {
namespace {

// One row per subcommand, in the order `skiffctl help` shows them.
const Command kCommands[] = {
    applyCommand(),  deleteCommand(),   getCommand(),
    injectCommand(), validateCommand(), versionCommand(),
};

void printUsage(FILE* out) {
  std::fprintf(out, "usage: skiffctl <command> [arguments]\n\ncommands:\n");
  for (const Command& command : kCommands) {
    std::fprintf(out, "  %-10s %s\n", command.name, command.summary);
  }
  std::fprintf(out, "\n`skiffctl <command> --help` describes a command's arguments.\n");
}

}  // namespace
}  // namespace Skiff::Ctl

int main(int argc, char** argv) {
  using namespace Skiff::Ctl;
  if (argc < 2 || std::strcmp(argv[1], "help") == 0 || std::strcmp(argv[1], "--help") == 0 ||
      std::strcmp(argv[1], "-h") == 0) {
    printUsage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const Command& command : kCommands) {
    if (std::strcmp(argv[1], command.name) == 0) {
      return command.run(std::vector<std::string>(argv + 2, argv + argc));
    }
  }
  std::fprintf(stderr, "skiffctl: unknown command '%s'\n\n", argv[1]);
  printUsage(stderr);
  return 2;
}
