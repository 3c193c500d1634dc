#pragma once

// Helpers shared by the router tests: protos from YAML and requests.

#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "source/common/config/message_loader.h"
#include "source/common/http/header_map.h"

namespace Skiff::Router {

template <class T>
T fromYaml(const std::string& yaml) {
  T message;
  const absl::Status status =
      Config::loadMessageFromString(yaml, Config::ConfigFormat::Yaml, "<test>", message);
  EXPECT_TRUE(status.ok()) << status << "\n" << yaml;
  return message;
}

inline Http::RequestHeaderMap request(absl::string_view host, absl::string_view path,
                                      absl::string_view method = "GET") {
  Http::RequestHeaderMap headers;
  headers.setHost(host);
  headers.setPath(path);
  headers.setMethod(method);
  return headers;
}

}  // namespace Skiff::Router
