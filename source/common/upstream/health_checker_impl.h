#pragma once

// The HealthChecker implementation (see health_checker.h): one Session per host, holding its
// timers, its consecutive success/failure counts and (in the HTTP and TCP subclasses) its
// connection. Main thread only.

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "source/common/event/dispatcher.h"
#include "source/common/network/connection_impl.h"
#include "source/common/upstream/health_checker.h"

namespace Skiff::Upstream {

// A validated HealthCheck with Envoy's defaults filled in.
struct HealthCheckConfig {
  std::chrono::milliseconds timeout{1000};
  std::chrono::milliseconds interval{5000};
  std::chrono::milliseconds initial_jitter{0};
  std::chrono::milliseconds interval_jitter{0};
  uint32_t interval_jitter_percent{0};
  std::chrono::milliseconds no_traffic_interval{60000};
  std::chrono::milliseconds no_traffic_healthy_interval{60000};
  std::chrono::milliseconds unhealthy_interval{5000};
  std::chrono::milliseconds unhealthy_edge_interval{5000};
  std::chrono::milliseconds healthy_edge_interval{5000};
  uint32_t unhealthy_threshold{1};
  uint32_t healthy_threshold{1};
  bool reuse_connection{true};
  std::chrono::milliseconds connect_timeout{5000};
  Network::BindOptions bind;  // The cluster's upstream_bind_config: checks use it too.

  enum class Type { Http, Tcp } type{Type::Tcp};
  // HTTP
  std::string path;
  std::string host;  // Host header; the cluster name when the config leaves it empty.
  std::vector<std::pair<std::string, std::string>> headers_to_add;  // Appended.
  std::vector<std::pair<std::string, std::string>> headers_to_set;  // Replace (append false).
  std::vector<std::string> headers_to_remove;
  std::vector<std::pair<int64_t, int64_t>> expected_statuses;  // [start, end)
  std::vector<std::pair<int64_t, int64_t>> retriable_statuses;
  // TCP
  std::string send;
  std::vector<std::string> receive;

  static absl::StatusOr<HealthCheckConfig> fromProto(
      const envoy::config::core::v3::HealthCheck& proto, const std::string& cluster_name,
      std::chrono::milliseconds connect_timeout);
  bool expected(uint64_t status) const;
  bool retriable(uint64_t status) const;
};

class HealthCheckerImpl : public HealthChecker {
 public:
  // The check's outcome for the host's state.
  enum class Transition { Unchanged, Changed, ChangePending };

  /**
   * One host's checks. Subclasses run the protocol: startCheck() begins a check and must end it
   * with handleSuccess() or handleFailure() (or let the timeout fire, which calls abortCheck()
   * and counts a network failure).
   */
  class Session {
   public:
    Session(HealthCheckerImpl& parent, HealthCheckTarget target);
    virtual ~Session();

    void start();
    const HealthCheckTarget& target() const { return target_; }
    void setTarget(HealthCheckTarget target) { target_ = std::move(target); }
    bool healthy() const;

   protected:
    virtual void startCheck() = 0;
    // The timeout fired or the checker stops: drop the connection (no callbacks into the base).
    virtual void abortCheck() = 0;

    // At most one of these per check; later calls for the same check are ignored.
    void handleSuccess();
    void handleFailure(bool network, bool retriable = false);
    bool checking() const { return checking_; }

    HealthCheckerImpl& parent_;
    HealthCheckTarget target_;

   private:
    void onIntervalTimer();
    void onTimeoutTimer();
    void finish(Transition transition);

    Event::TimerPtr interval_timer_;
    Event::TimerPtr timeout_timer_;
    uint32_t num_healthy_{0};
    uint32_t num_unhealthy_{0};
    bool first_check_{true};
    bool checking_{false};
  };

  HealthCheckerImpl(Event::Dispatcher& dispatcher, HealthCheckConfig config, HealthCheckStats stats,
                    Callbacks callbacks);
  ~HealthCheckerImpl() override;

  // HealthChecker
  void setHosts(std::vector<HealthCheckTarget> targets) override;
  void stop() override;

  Event::Dispatcher& dispatcher() { return dispatcher_; }
  const HealthCheckConfig& config() const { return config_; }
  HealthCheckStats& stats() { return stats_; }
  const Callbacks& callbacks() const { return callbacks_; }
  // The wait before a host's next check (with jitter); exposed for the jitter tests.
  std::chrono::milliseconds nextInterval(bool host_healthy, Transition transition);
  std::chrono::milliseconds initialDelay();

 private:
  std::unique_ptr<Session> createSession(HealthCheckTarget target);
  std::chrono::milliseconds withJitter(std::chrono::milliseconds base);

  Event::Dispatcher& dispatcher_;
  const HealthCheckConfig config_;
  HealthCheckStats stats_;
  const Callbacks callbacks_;
  absl::flat_hash_map<const HostHealth*, std::unique_ptr<Session>> sessions_;
  std::mt19937_64 random_;
  bool stopped_{false};
};

// The protocol halves (health_check_sessions.cc).
std::unique_ptr<HealthCheckerImpl::Session> createHttpSession(HealthCheckerImpl& parent,
                                                              HealthCheckTarget target);
std::unique_ptr<HealthCheckerImpl::Session> createTcpSession(HealthCheckerImpl& parent,
                                                             HealthCheckTarget target);

}  // namespace Skiff::Upstream
