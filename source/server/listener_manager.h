#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "source/common/config/runtime.h"
#include "source/common/network/io_handle.h"
#include "source/common/stats/stats.h"
#include "source/extensions/filters/network/common/factory.h"
#include "source/server/listener_config.h"
#include "source/server/worker.h"

namespace Skiff::Server {

/**
 * Owns the listeners (Envoy's ListenerManagerImpl). Lives on the main thread and is only called
 * there. For every listener it owns one SO_REUSEPORT listen socket per worker (each worker has its
 * own accept queue) and posts immutable ListenerConfigs to the workers. Listeners can be added,
 * replaced and removed while the server runs; a replacement that keeps the address keeps the
 * sockets, so nothing queued in the kernel is reset.
 */
class ListenerManagerImpl {
 public:
  ListenerManagerImpl(std::vector<WorkerImpl*> workers, Event::Dispatcher& main_dispatcher,
                      Stats::Store& stats,
                      Extensions::NetworkFilters::FactoryContext& factory_context);

  // Validates and builds `proto`, binds its sockets if the address is new, and hands it to every
  // worker. `applied` runs on main once all workers use it. A bad filter config or a bind failure
  // is returned and changes nothing.
  absl::Status addOrUpdateListener(const envoy::config::listener::v3::Listener& proto,
                                   std::function<void()> applied = nullptr);

  // Applies a whole update (from LDS) all or nothing: every new address is bound and every config
  // built first; any error is returned with nothing changed. Then each listener goes to the
  // workers and `applied` runs on main once all of them use all of it.
  absl::Status applyUpdate(const std::vector<envoy::config::listener::v3::Listener>& upserts,
                           const std::vector<std::string>& removes, const std::string& version,
                           std::chrono::milliseconds drain_time, std::function<void()> applied);

  // One change as the workers applied it, for /config_dump.
  struct UpdateRecord {
    std::string description;
    std::chrono::system_clock::time_point applied_at;
    std::vector<std::chrono::microseconds> per_worker;  // Post to applied, by worker index.
  };
  const std::deque<UpdateRecord>& recentUpdates() const { return recent_updates_; }

  // Stops accepting on `name`; its connections get `drain_time` to finish, then are closed.
  absl::Status removeListener(const std::string& name, std::chrono::milliseconds drain_time,
                              std::function<void()> applied = nullptr);

  // Opt-in: when a listener changes, close the connections accepted under its old config after
  // `drain_time` (Envoy always does; skiff by default never closes a connection on an update).
  void setDrainOnUpdate(std::optional<std::chrono::milliseconds> drain_time) {
    drain_on_update_ = drain_time;
  }

  // The runtime the per-listener connection limits come from
  // (envoy.resource_limits.listener.<name>.connection_limit). Set before adding listeners.
  void setRuntime(Config::RuntimeSnapshot runtime) { runtime_ = std::move(runtime); }

  // Starts the worker threads (Envoy's startWorkers): each runs its dispatcher until shutdown.
  void startWorkers();

  // Stops accepting on every listener (graceful shutdown). `done` runs on main.
  void stopListeners(std::function<void()> done);

  // Connections open on all workers.
  uint64_t numConnections() const;

  // The active listeners, sorted by name.
  std::vector<ListenerConfigConstSharedPtr> listeners() const;

 private:
  struct ManagedListener {
    ListenerConfigConstSharedPtr config;
    std::vector<Network::IoHandlePtr> sockets;  // One per worker.
  };

  // A listener bound and built but not yet handed to the workers.
  struct PreparedListener {
    ListenerConfigConstSharedPtr config;
    std::vector<Network::IoHandlePtr> sockets;  // New sockets, when the address is new.
    bool exists{false};
    bool same_address{false};
  };

  absl::StatusOr<PreparedListener> prepare(const envoy::config::listener::v3::Listener& proto,
                                           const std::string& version);
  void commit(PreparedListener prepared, std::function<void()> applied);
  // Error if, after applying `upserts` and `removes`, two listeners would have the same address.
  absl::Status checkDistinctAddresses(
      const std::vector<envoy::config::listener::v3::Listener>& upserts,
      const std::vector<std::string>& removes) const;
  void recordUpdate(const std::string& description,
                    const std::vector<std::chrono::microseconds>& per_worker);
  absl::StatusOr<ListenerConfigConstSharedPtr> buildConfig(
      const envoy::config::listener::v3::Listener& proto,
      const Network::Address::InstanceConstSharedPtr& address, const std::string& version);
  absl::StatusOr<std::vector<Network::IoHandlePtr>> bindSockets(
      const Network::Address::InstanceConstSharedPtr& address,
      Network::Address::InstanceConstSharedPtr& bound);
  ListenerStats& statsFor(const std::string& prefix);
  // The shared connection count of listener `name` with the runtime's limit; null if none.
  Overload::ConnectionLimitSharedPtr connectionLimitFor(const std::string& name);
  // Runs `per_worker` for each worker with a completion that calls `done` on main after the last,
  // and records how long each worker took under `description`.
  void forAllWorkers(std::string description,
                     std::function<void(WorkerImpl&, std::function<void()>)> per_worker,
                     std::function<void()> done);

  static constexpr size_t kRecentUpdates = 16;
  std::optional<std::chrono::milliseconds> drain_on_update_;
  std::vector<Event::TimerPtr> draining_timers_;
  std::deque<UpdateRecord> recent_updates_;

  std::vector<WorkerImpl*> workers_;
  Stats::Store& stats_;
  Extensions::NetworkFilters::FactoryContext& factory_context_;
  std::map<std::string, ManagedListener> listeners_;
  std::map<std::string, std::unique_ptr<ListenerStats>> listener_stats_;
  Config::RuntimeSnapshot runtime_;
  // By listener name; never removed, so a listener that comes back counts its old connections.
  std::map<std::string, Overload::ConnectionLimitSharedPtr> connection_limits_;
  uint64_t next_tag_{1};
  Event::Dispatcher& main_dispatcher_;

  Stats::Counter& listener_added_;
  Stats::Counter& listener_modified_;
  Stats::Counter& listener_removed_;
  Stats::Counter& listener_create_success_;
  Stats::Counter& listener_create_failure_;
  Stats::Gauge& total_listeners_active_;
  Stats::Gauge& total_listeners_draining_;
  Stats::Gauge& workers_started_;
};

}  // namespace Skiff::Server
