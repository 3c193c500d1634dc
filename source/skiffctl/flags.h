#pragma once

// Command-line flags of one skiffctl subcommand: `--name VALUE`, `--name=VALUE`, `-n VALUE`,
// boolean flags, repeatable flags; anything else is a positional argument. Pure; any thread.

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace Skiff::Ctl {

struct FlagSpec {
  std::string name;     // long name without dashes: "group"
  char short_name = 0;  // 'g' for -g; 0 for none
  bool takes_value = true;
  std::string value_name;  // "G" in the usage text
  std::string help;
};

class ParsedFlags {
 public:
  bool has(const std::string& name) const { return values_.contains(name); }
  // The last value given, or `fallback`.
  std::string value(const std::string& name, const std::string& fallback = "") const;
  // Every value given, in order.
  std::vector<std::string> values(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  friend absl::StatusOr<ParsedFlags> parseFlags(const std::vector<std::string>& args,
                                                const std::vector<FlagSpec>& specs);
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

// Fails on an unknown flag or a missing value, naming it. "--" ends the flags; "-" alone is a
// positional argument (or a value: `-f -` is stdin).
absl::StatusOr<ParsedFlags> parseFlags(const std::vector<std::string>& args,
                                       const std::vector<FlagSpec>& specs);

// "  -g, --group G        help" lines for a usage text.
std::string flagsUsage(const std::vector<FlagSpec>& specs);

}  // namespace Skiff::Ctl
