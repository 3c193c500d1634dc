#pragma once

// Recycled storage for objects made and destroyed once per request on a worker (streams, header
// maps): a class derives from PerThreadPooled<Self> and its `new`/`delete` take blocks from and
// return them to a small free list of the calling thread, instead of going to malloc each time.
// Thread-safe without locks: each thread has its own list. A block freed on another thread than
// the one that allocated it joins that thread's list, which is fine (it is plain memory).

#include <cstddef>
#include <new>

#include "source/common/common/sanitizers.h"

namespace Skiff {

template <class T, size_t kMaxCached = 64>
class PerThreadPooled {
 public:
  static void* operator new(size_t size) {
#ifndef SKIFF_ADDRESS_SANITIZER
    // A subclass of T has a different size: it goes to the heap as usual.
    if (size == sizeof(T)) {
      FreeList& list = freeList();
      if (list.head != nullptr) {
        Block* block = list.head;
        list.head = block->next;
        --list.count;
        return block;
      }
    }
#endif
    return ::operator new(size);
  }

  static void operator delete(void* p, size_t size) {
#ifndef SKIFF_ADDRESS_SANITIZER
    if (size == sizeof(T)) {
      FreeList& list = freeList();
      if (list.count < kMaxCached) {
        auto* block = static_cast<Block*>(p);
        block->next = list.head;
        list.head = block;
        ++list.count;
        return;
      }
    }
#endif
    ::operator delete(p);
  }

 private:
  struct Block {
    Block* next;
  };
  struct FreeList {
    ~FreeList() {
      while (head != nullptr) {
        Block* next = head->next;
        ::operator delete(head);
        head = next;
      }
      // Objects destroyed later in the thread's exit go straight to the heap.
      count = kMaxCached;
    }
    Block* head = nullptr;
    size_t count = 0;
  };

  static FreeList& freeList() {
    static thread_local FreeList list;
    return list;
  }
};

}  // namespace Skiff
