#pragma once

#include <cstdlib>

#include "source/common/common/logger.h"

// RELEASE_ASSERT: an invariant whose violation means memory or thread safety is already lost; it
// aborts in every build. ASSERT: the same check, compiled only into debug and sanitizer builds.
#define RELEASE_ASSERT(COND, MSG)                                                  \
  do {                                                                             \
    if (!(COND)) {                                                                 \
      ::Skiff::Logger::write(::Skiff::Logger::Level::critical, __FILE__, __LINE__, \
                             "assert failure: " #COND ": " MSG);                   \
      ::abort();                                                                   \
    }                                                                              \
  } while (false)

#ifdef NDEBUG
#define ASSERT(COND) \
  do {               \
  } while (false)
#else
#define ASSERT(COND) RELEASE_ASSERT(COND, "")
#endif
