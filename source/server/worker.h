#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "source/common/common/cpu_set.h"
#include "source/common/event/dispatcher_impl.h"
#include "source/common/overload/connection_limit.h"
#include "source/common/overload/overload_state.h"
#include "source/server/connection_handler.h"
#include "source/server/listener_config.h"

namespace Skiff::Server {

/**
 * One worker thread: a DispatcherImpl (its own event_base) and the ConnectionHandlerImpl holding
 * the listeners and connections it owns (Envoy's WorkerImpl). Nothing on a worker takes a lock;
 * the main thread reaches it only through post().
 *
 * The public methods are called on main. Each posts work to the worker; completions run on the
 * worker thread and must post back to main if they touch main's state.
 */
class WorkerImpl {
 public:
  explicit WorkerImpl(uint32_t index);
  ~WorkerImpl();

  uint32_t index() const { return index_; }
  Event::Dispatcher& dispatcher() { return *dispatcher_; }

  // Creates the thread; its threadRoutine() runs dispatcher_->run(Block), which ends in
  // event_base_loop().
  void start();
  // Closes every connection, exits the loop and joins the thread. Idempotent.
  void stop();

  void addOrUpdateListener(
      ListenerConfigConstSharedPtr config, int listen_fd, std::function<void()> completion,
      std::optional<std::chrono::milliseconds> drain_old_connections = std::nullopt);
  void removeListener(const std::string& name, std::chrono::milliseconds drain_time,
                      std::function<void()> completion);
  void stopListeners(std::function<void()> completion);

  // Any thread.
  uint64_t numConnections() const { return handler_->numConnections(); }

  // The CPUs this worker's thread runs on (it would otherwise inherit main's, which
  // --control-plane-cpus narrows). Before start().
  void setCpus(Thread::CpuSet cpus) { cpus_ = cpus; }

  // The global downstream connection limit every worker shares. Before start().
  void setGlobalConnectionLimit(Overload::ConnectionLimitSharedPtr limit) {
    handler_->setGlobalConnectionLimit(std::move(limit));
  }

  // Posts an overload action's new state to the worker: its ThreadLocalOverloadState (what the
  // data path reads) and, for stop_accepting_connections, its listeners.
  void setOverloadActionState(Overload::OverloadActionName action,
                              Overload::OverloadActionState state);

 private:
  void threadRoutine();

  const uint32_t index_;
  std::unique_ptr<Event::DispatcherImpl> dispatcher_;
  // Created on main, then used only on the worker thread, which closes its connections when the
  // loop ends; destroyed (empty) with the worker after the thread is joined.
  std::unique_ptr<ConnectionHandlerImpl> handler_;
  // What Overload::ThreadLocalOverloadState::get() returns on this worker; worker thread only.
  Overload::ThreadLocalOverloadState overload_state_;
  std::optional<Thread::CpuSet> cpus_;  // Set on main before start(); read by the thread.
  std::thread thread_;
};

using WorkerPtr = std::unique_ptr<WorkerImpl>;

// Creates the N workers (Envoy's ProdWorkerFactory).
class WorkerFactory {
 public:
  WorkerPtr createWorker(uint32_t index) { return std::make_unique<WorkerImpl>(index); }
};

}  // namespace Skiff::Server
