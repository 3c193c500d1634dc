#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "source/common/common/assert.h"
#include "source/common/event/dispatcher.h"

namespace Skiff::ThreadLocal {

// Index of the calling worker thread (0..N-1), or -1 on main and any other thread. Set once by
// each worker at the start of its thread routine.
int currentWorkerIndex();
void setCurrentWorkerIndex(int index);

/**
 * One T per worker, read by that worker without locks (Envoy's TLS slot, reduced to what skiff
 * needs). Created and updated only on the main thread; each worker reads its own copy with get().
 * Updates travel as posts to the workers' dispatchers, so a worker sees a change between two of
 * its own callbacks, never in the middle of one.
 */
template <class T>
class Slot {
 public:
  using UpdateCb = std::function<void(T&)>;

  // `workers` lists each worker's dispatcher by worker index; `main` runs completions.
  Slot(std::vector<Event::Dispatcher*> workers, Event::Dispatcher& main,
       std::function<std::unique_ptr<T>()> initial)
      : workers_(std::move(workers)), main_(main), state_(std::make_shared<State>()) {
    for (size_t i = 0; i < workers_.size(); ++i) {
      state_->per_worker.push_back(initial());
    }
  }

  // Worker thread only: this worker's T.
  T& get() {
    int index = currentWorkerIndex();
    RELEASE_ASSERT(index >= 0 && static_cast<size_t>(index) < state_->per_worker.size(),
                   "ThreadLocal::Slot::get() called off a worker thread");
    return *state_->per_worker[index];
  }

  // Main thread: runs `update` on every worker, each on its own thread, then `complete` on main
  // once all of them have run it. Safe if the slot is destroyed first (the state is shared).
  void runOnAllWorkers(UpdateCb update, std::function<void()> complete) {
    if (workers_.empty()) {
      if (complete) {
        complete();
      }
      return;
    }
    auto remaining = std::make_shared<std::atomic<size_t>>(workers_.size());
    auto shared_update = std::make_shared<UpdateCb>(std::move(update));
    for (size_t i = 0; i < workers_.size(); ++i) {
      workers_[i]->post([state = state_, i, shared_update, remaining, complete, &main = main_] {
        (*shared_update)(*state->per_worker[i]);
        if (remaining->fetch_sub(1) == 1 && complete) {
          main.post([complete] { complete(); });
        }
      });
    }
  }

  size_t size() const { return workers_.size(); }

 private:
  struct State {
    std::vector<std::unique_ptr<T>> per_worker;
  };
  const std::vector<Event::Dispatcher*> workers_;
  Event::Dispatcher& main_;
  std::shared_ptr<State> state_;
};

}  // namespace Skiff::ThreadLocal
