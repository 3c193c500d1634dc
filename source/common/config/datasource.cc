#include "source/common/config/datasource.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace Skiff::Config {

using envoy::config::core::v3::DataSource;

absl::StatusOr<std::string> readDataSource(const DataSource& source, size_t max_size,
                                           absl::string_view path) {
  std::string data;
  switch (source.specifier_case()) {
    case DataSource::kInlineString:
      data = source.inline_string();
      break;
    case DataSource::kInlineBytes:
      data = source.inline_bytes();
      break;
    case DataSource::kFilename: {
      if (source.filename().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(path, ".filename: must not be empty"));
      }
      std::ifstream file(source.filename(), std::ios::binary);
      if (!file) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ".filename: cannot read \"", source.filename(), "\": ", std::strerror(errno)));
      }
      std::ostringstream content;
      content << file.rdbuf();
      if (file.bad()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ".filename: error reading \"", source.filename(), "\""));
      }
      data = content.str();
      break;
    }
    case DataSource::kEnvironmentVariable: {
      const char* value = std::getenv(source.environment_variable().c_str());
      if (value == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ".environment_variable: \"", source.environment_variable(), "\" is not set"));
      }
      data = value;
      break;
    }
    case DataSource::SPECIFIER_NOT_SET:
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": must set inline_string, inline_bytes, filename or environment_variable"));
  }
  if (data.size() > max_size) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", data.size(), " bytes is more than the limit of ", max_size));
  }
  return data;
}

}  // namespace Skiff::Config
