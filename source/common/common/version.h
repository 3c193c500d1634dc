#pragma once

namespace Skiff {

// The release every binary (skiff, skiff-control, skiffctl) reports.
inline constexpr char kVersion[] = "0.1.0";

}  // namespace Skiff
