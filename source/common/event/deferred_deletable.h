#pragma once

#include <memory>

namespace Skiff::Event {

/**
 * An object that may be handed to Dispatcher::deferredDelete(). It is destroyed on the
 * dispatcher's thread after the current loop iteration's callbacks have returned, so an object can
 * schedule its own destruction from inside one of its callbacks without unwinding into freed
 * memory.
 */
class DeferredDeletable {
 public:
  virtual ~DeferredDeletable() = default;
};

using DeferredDeletablePtr = std::unique_ptr<DeferredDeletable>;

}  // namespace Skiff::Event
