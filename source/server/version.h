#pragma once

namespace Skiff::Server {

inline constexpr char kVersion[] = "0.1.0";

}  // namespace Skiff::Server
