#include "source/server/worker.h"

#include <pthread.h>

#include "absl/strings/str_cat.h"
#include "source/common/common/logger.h"
#include "source/common/thread_local/thread_local.h"

namespace Skiff::Server {

WorkerImpl::WorkerImpl(uint32_t index)
    : index_(index),
      dispatcher_(std::make_unique<Event::DispatcherImpl>(absl::StrCat("worker_", index))),
      handler_(std::make_unique<ConnectionHandlerImpl>(*dispatcher_)) {}

WorkerImpl::~WorkerImpl() { stop(); }

void WorkerImpl::start() {
  thread_ = std::thread([this] { threadRoutine(); });
}

void WorkerImpl::threadRoutine() {
  Logger::setThreadName(dispatcher_->name());
  // Visible in top -H, /proc/PID/task/*/comm and debuggers.
  pthread_setname_np(pthread_self(), dispatcher_->name().substr(0, 15).c_str());
  if (cpus_.has_value()) {
    if (auto status = cpus_->applyToCallingThread(); !status.ok()) {
      SKIFF_LOG(warn, "worker %d: %s", index_, status.message());
    }
  }
  ThreadLocal::setCurrentWorkerIndex(index_);
  Overload::ThreadLocalOverloadState::setForThisThread(&overload_state_);
  SKIFF_LOG(debug, "worker %d started", index_);
  dispatcher_->run(Event::Dispatcher::RunType::Block);
  // The loop has ended: close connections here, on their own thread. The handler itself is
  // destroyed with the worker (after join), so numConnections() stays valid from main.
  handler_->stopListeners();
  handler_->closeAllConnections();
  // Let deferred deletions queued by those closes run before the thread goes.
  dispatcher_->run(Event::Dispatcher::RunType::NonBlock);
  Overload::ThreadLocalOverloadState::setForThisThread(nullptr);
  SKIFF_LOG(debug, "worker %d stopped", index_);
}

void WorkerImpl::stop() {
  if (!thread_.joinable()) {
    return;
  }
  dispatcher_->exit();
  thread_.join();
}

void WorkerImpl::addOrUpdateListener(
    ListenerConfigConstSharedPtr config, int listen_fd, std::function<void()> completion,
    std::optional<std::chrono::milliseconds> drain_old_connections) {
  dispatcher_->post(
      [this, config = std::move(config), listen_fd, completion, drain_old_connections] {
        handler_->addOrUpdateListener(config, listen_fd, drain_old_connections);
        if (completion) {
          completion();
        }
      });
}

void WorkerImpl::removeListener(const std::string& name, std::chrono::milliseconds drain_time,
                                std::function<void()> completion) {
  dispatcher_->post([this, name, drain_time, completion] {
    handler_->removeListener(name, drain_time);
    if (completion) {
      completion();
    }
  });
}

void WorkerImpl::stopListeners(std::function<void()> completion) {
  dispatcher_->post([this, completion] {
    handler_->stopListeners();
    if (completion) {
      completion();
    }
  });
}

void WorkerImpl::setOverloadActionState(Overload::OverloadActionName action,
                                        Overload::OverloadActionState state) {
  dispatcher_->post([this, action, state] {
    overload_state_.setState(action, state);
    if (action == Overload::OverloadActionName::StopAcceptingConnections) {
      handler_->setAcceptPaused(state.isSaturated());
    }
  });
}

}  // namespace Skiff::Server
