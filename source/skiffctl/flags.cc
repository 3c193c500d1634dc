#include "source/skiffctl/flags.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace Skiff::Ctl {

std::string ParsedFlags::value(const std::string& name, const std::string& fallback) const {
  const auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> ParsedFlags::values(const std::string& name) const {
  const auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>() : it->second;
}

absl::StatusOr<ParsedFlags> parseFlags(const std::vector<std::string>& args,
                                       const std::vector<FlagSpec>& specs) {
  ParsedFlags parsed;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg == "-" || !absl::StartsWith(arg, "-")) {
      parsed.positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    std::string name;
    std::string value;
    bool has_value = false;
    const FlagSpec* spec = nullptr;
    if (absl::StartsWith(arg, "--")) {
      name = arg.substr(2);
      if (const size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      for (const auto& s : specs) {
        if (s.name == name) {
          spec = &s;
        }
      }
    } else if (arg.size() == 2) {
      for (const auto& s : specs) {
        if (s.short_name != 0 && s.short_name == arg[1]) {
          spec = &s;
        }
      }
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", arg));
    }
    if (!spec->takes_value) {
      if (has_value) {
        return absl::InvalidArgumentError(absl::StrCat("--", spec->name, " takes no value"));
      }
      parsed.values_[spec->name].push_back("true");
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
      }
      value = args[++i];
    }
    parsed.values_[spec->name].push_back(value);
  }
  return parsed;
}

std::string flagsUsage(const std::vector<FlagSpec>& specs) {
  std::string out;
  for (const auto& spec : specs) {
    const std::string names = absl::StrCat(
        spec.short_name != 0 ? absl::StrCat("-", std::string(1, spec.short_name), ", ") : "    ",
        "--", spec.name, spec.takes_value ? absl::StrCat(" ", spec.value_name) : "");
    absl::StrAppendFormat(&out, "  %-28s %s\n", names, spec.help);
  }
  return out;
}

}  // namespace Skiff::Ctl
