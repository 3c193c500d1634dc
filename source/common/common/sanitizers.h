#pragma once

// SKIFF_ADDRESS_SANITIZER is defined (as 1) in AddressSanitizer builds, with gcc or clang. Code
// that recycles memory itself (free lists of buffer slices, per-thread pools) turns that off
// there, so every object gets fresh memory and a use after free is still caught.
#if defined(__SANITIZE_ADDRESS__)
#define SKIFF_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SKIFF_ADDRESS_SANITIZER 1
#endif
#endif
