#include "source/common/config/utility.h"

#include <limits>

namespace Skiff::Config {
namespace {

// google/protobuf/duration.proto: seconds in [-315576000000, 315576000000], |nanos| < 1e9.
constexpr int64_t kMaxDurationSeconds = 315576000000;
constexpr int32_t kNanosPerSecond = 1000000000;

}  // namespace

absl::string_view typeNameFromUrl(absl::string_view type_url) {
  const size_t slash = type_url.rfind('/');
  return slash == absl::string_view::npos ? type_url : type_url.substr(slash + 1);
}

bool isValidNonNegativeDuration(const google::protobuf::Duration& duration) {
  return duration.seconds() >= 0 && duration.seconds() <= kMaxDurationSeconds &&
         duration.nanos() >= 0 && duration.nanos() < kNanosPerSecond;
}

absl::StatusOr<std::chrono::milliseconds> durationToMilliseconds(
    const google::protobuf::Duration& duration) {
  if (!isValidNonNegativeDuration(duration)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid duration (seconds ", duration.seconds(),
                                                   ", nanos ", duration.nanos(),
                                                   "): must be >= 0"));
  }
  // kMaxDurationSeconds * 1000 fits in int64, so this cannot overflow.
  return std::chrono::milliseconds(duration.seconds() * 1000 + duration.nanos() / 1000000);
}

std::chrono::milliseconds durationToMillisecondsOr(const google::protobuf::Duration& duration,
                                                   std::chrono::milliseconds fallback) {
  auto ms = durationToMilliseconds(duration);
  return ms.ok() ? *ms : fallback;
}

}  // namespace Skiff::Config
