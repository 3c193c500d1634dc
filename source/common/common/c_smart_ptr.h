#pragma once

#include <memory>

namespace Skiff {

/**
 * Owns a pointer to a C struct and frees it with the C library's own deleter, so no caller ever
 * pairs a *_new with a *_free by hand. Example: CSmartPtr<event_base, event_base_free>.
 */
template <class T, void (*deleter)(T*)>
class CSmartPtr : public std::unique_ptr<T, void (*)(T*)> {
 public:
  CSmartPtr() : std::unique_ptr<T, void (*)(T*)>(nullptr, deleter) {}
  explicit CSmartPtr(T* object) : std::unique_ptr<T, void (*)(T*)>(object, deleter) {}
};

}  // namespace Skiff
