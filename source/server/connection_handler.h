#pragma once

#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "source/common/event/dispatcher.h"
#include "source/common/network/connection.h"
#include "source/common/network/listener.h"
#include "source/common/overload/connection_limit.h"
#include "source/server/listener_config.h"

namespace Skiff::Server {

/**
 * A worker's listeners and the connections they accepted (Envoy's ConnectionHandlerImpl). Owned
 * by one WorkerImpl; every method except numConnections() runs on that worker's thread.
 */
class ConnectionHandlerImpl {
 public:
  explicit ConnectionHandlerImpl(Event::Dispatcher& dispatcher);
  ~ConnectionHandlerImpl();

  // Starts accepting on `listen_fd` (owned by the listener manager, which keeps it open until
  // this worker has stopped using it) with `config`. If a listener of that name exists, it
  // switches to `config` and, if the fd differs, to the new socket; connections already open keep
  // the config they were accepted with. `listen_fd` is -1 for a listener that does not bind
  // (bind_to_port: false): it only gets connections handed off by a use_original_dst listener.
  //
  // With `drain_old_connections` set, connections accepted under an earlier config of this
  // listener are closed once that much time has passed (off by default: an update never closes a
  // connection by itself).
  void addOrUpdateListener(
      ListenerConfigConstSharedPtr config, int listen_fd,
      std::optional<std::chrono::milliseconds> drain_old_connections = std::nullopt);

  // Stops accepting for `name`. Its open connections are closed after `drain_time` (zero: now).
  void removeListener(const std::string& name, std::chrono::milliseconds drain_time);

  // Stops accepting on every listener; open connections continue.
  void stopListeners();

  // Closes every connection now (shutdown).
  void closeAllConnections();

  // The global downstream connection limit (shared by all workers); null: none. Call on main
  // before the worker starts.
  void setGlobalConnectionLimit(Overload::ConnectionLimitSharedPtr limit) {
    global_connection_limit_ = std::move(limit);
  }

  // Overload action stop_accepting_connections: stops (true) or resumes (false) accepting on
  // every listener, including ones added meanwhile. New connections wait in the kernel's accept
  // queue; open ones are untouched.
  void setAcceptPaused(bool paused);

  // Any thread: connections open on this worker.
  uint64_t numConnections() const { return num_connections_.load(std::memory_order_relaxed); }

 private:
  class ActiveConnection;
  class ActiveListener;
  using ActiveConnectionList = std::list<std::unique_ptr<ActiveConnection>>;

  void closeConnections(ActiveConnectionList& connections);
  // Takes a global and a per-listener slot for a new connection of `config`'s listener; false
  // (and the overflow counted) if either limit is reached.
  bool admitConnection(const ListenerConfig& config, Overload::ConnectionLimit::Slot& global,
                       Overload::ConnectionLimit::Slot& listener);
  // Asks every connection's filters to end at their next clean point (ReadFilter::onDrainStart).
  void drainConnections(ActiveConnectionList& connections);

  // The listener a connection to `destination` is handed to: the one whose address is exactly
  // `destination`, else the one on 0.0.0.0 (IPv4) or [::] (IPv6) with its port; nullptr if none
  // (or it stopped accepting). Envoy's getBalancedHandlerByAddress.
  ActiveListener* findListenerByAddress(const Network::Address::Instance& destination) const;
  void indexAddress(ActiveListener& listener);
  void unindexAddress(ActiveListener& listener);

  Event::Dispatcher& dispatcher_;
  absl::flat_hash_map<std::string, std::unique_ptr<ActiveListener>> listeners_;
  // This worker's current listeners by address ("10.0.0.1:80", "[::]:80"): the hand-off index.
  // Changed only by listener adds, updates and removes posted to this worker, so a lookup sees
  // exactly the listener set this worker runs, without a lock.
  absl::flat_hash_map<std::string, ActiveListener*> by_address_;
  // Listeners removed while they still had connections, kept until those are gone.
  std::list<std::unique_ptr<ActiveListener>> draining_;
  std::atomic<uint64_t> num_connections_{0};
  Overload::ConnectionLimitSharedPtr global_connection_limit_;
  bool accept_paused_{false};
};

}  // namespace Skiff::Server
