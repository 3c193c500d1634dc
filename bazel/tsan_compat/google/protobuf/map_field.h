// Wraps protobuf's map_field.h for ThreadSanitizer builds (--config=tsan; see //bazel:tsan).
//
// protobuf 3.21's MapFieldBase gains two members (seq1_, seq2_) when __SANITIZE_THREAD__ is
// defined, which gcc does under -fsanitize=thread. Debian's libprotobuf is built without TSan, so
// a TSan-built skiff and the library disagree on the layout of every map field (72 vs 80 bytes):
// code inlined in skiff reads and writes past or short of what libprotobuf allocated, and config
// tests crashed inside protobuf's Map code. Hiding the macro while map_field.h is first read gives
// skiff the library's layout. Only that header reads __SANITIZE_THREAD__ (protobuf's own
// PROTOBUF_TSAN from port_def.inc is used nowhere in 3.21's headers); libstdc++ reads it once in
// c++config.h, which is included first so that _GLIBCXX_TSAN stays on.
#ifndef SKIFF_BAZEL_TSAN_COMPAT_GOOGLE_PROTOBUF_MAP_FIELD_H_
#define SKIFF_BAZEL_TSAN_COMPAT_GOOGLE_PROTOBUF_MAP_FIELD_H_

#include <cstddef>

#pragma push_macro("__SANITIZE_THREAD__")
#undef __SANITIZE_THREAD__
#include_next <google/protobuf/map_field.h>
#pragma pop_macro("__SANITIZE_THREAD__")

#endif  // SKIFF_BAZEL_TSAN_COMPAT_GOOGLE_PROTOBUF_MAP_FIELD_H_
