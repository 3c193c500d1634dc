#include "source/common/upstream/health_checker.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "source/common/common/logger.h"
#include "source/common/config/utility.h"
#include "source/common/upstream/health_checker_impl.h"

namespace Skiff::Upstream {

HealthCheckStats generateHealthCheckStats(Stats::Store& store, const std::string& cluster_name) {
  const std::string p = absl::StrCat("cluster.", cluster_name, ".health_check.");
  return HealthCheckStats{
      store.counter(p + "attempt"), store.counter(p + "success"),
      store.counter(p + "failure"), store.counter(p + "network_failure"),
      store.gauge(p + "healthy"),
  };
}

absl::StatusOr<std::string> decodeHealthCheckPayload(
    const envoy::config::core::v3::HealthCheck::Payload& payload) {
  if (payload.payload_case() == envoy::config::core::v3::HealthCheck::Payload::kBinary) {
    return payload.binary();
  }
  const std::string& text = payload.text();
  if (text.empty() || text.size() % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload text \"", text, "\" is not an even number of hex digits"));
  }
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat("payload text \"", text, "\" is not hex"));
    }
  }
  return absl::HexStringToBytes(text);
}

bool matchesAllBlocks(absl::string_view data, const std::vector<std::string>& blocks) {
  size_t from = 0;
  for (const std::string& block : blocks) {
    const size_t at = data.find(block, from);
    if (at == absl::string_view::npos) {
      return false;
    }
    from = at + block.size();
  }
  return true;
}

absl::StatusOr<HealthCheckConfig> HealthCheckConfig::fromProto(
    const envoy::config::core::v3::HealthCheck& proto, const std::string& cluster_name,
    std::chrono::milliseconds connect_timeout) {
  HealthCheckConfig c;
  c.timeout = SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, timeout, c.timeout);
  c.interval = SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, interval, c.interval);
  c.initial_jitter = SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, initial_jitter, c.initial_jitter);
  c.interval_jitter = SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, interval_jitter, c.interval_jitter);
  c.interval_jitter_percent = proto.interval_jitter_percent();
  c.no_traffic_interval =
      SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, no_traffic_interval, c.no_traffic_interval);
  c.no_traffic_healthy_interval =
      SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, no_traffic_healthy_interval, c.no_traffic_interval);
  c.unhealthy_interval = SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, unhealthy_interval, c.interval);
  c.unhealthy_edge_interval =
      SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, unhealthy_edge_interval, c.unhealthy_interval);
  c.healthy_edge_interval =
      SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(proto, healthy_edge_interval, c.interval);
  c.unhealthy_threshold =
      std::max<uint32_t>(1, SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(proto, unhealthy_threshold, 1));
  c.healthy_threshold =
      std::max<uint32_t>(1, SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(proto, healthy_threshold, 1));
  c.reuse_connection = SKIFF_PROTOBUF_GET_WRAPPED_OR_DEFAULT(proto, reuse_connection, true);
  c.connect_timeout = connect_timeout;
  if (proto.has_http_health_check()) {
    const auto& http = proto.http_health_check();
    c.type = Type::Http;
    c.path = http.path();
    c.host = http.host().empty() ? cluster_name : http.host();
    for (const auto& option : http.request_headers_to_add()) {
      auto entry =
          std::make_pair(absl::AsciiStrToLower(option.header().key()), option.header().value());
      // APPEND_IF_EXISTS_OR_ADD (the default) adds; the deprecated `append: false` and the
      // overwrite actions replace.
      const bool overwrite =
          (option.has_append() && !option.append().value()) ||
          option.append_action() ==
              envoy::config::core::v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD;
      (overwrite ? c.headers_to_set : c.headers_to_add).push_back(std::move(entry));
    }
    for (const auto& name : http.request_headers_to_remove()) {
      c.headers_to_remove.push_back(absl::AsciiStrToLower(name));
    }
    for (const auto& range : http.expected_statuses()) {
      c.expected_statuses.emplace_back(range.start(), range.end());
    }
    if (c.expected_statuses.empty()) {
      c.expected_statuses.emplace_back(200, 201);  // Envoy: 200 only.
    }
    for (const auto& range : http.retriable_statuses()) {
      c.retriable_statuses.emplace_back(range.start(), range.end());
    }
  } else {
    const auto& tcp = proto.tcp_health_check();
    c.type = Type::Tcp;
    if (tcp.has_send()) {
      auto send = decodeHealthCheckPayload(tcp.send());
      if (!send.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("tcp_health_check.send: ", send.status().message()));
      }
      c.send = std::move(*send);
    }
    for (const auto& payload : tcp.receive()) {
      auto block = decodeHealthCheckPayload(payload);
      if (!block.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("tcp_health_check.receive: ", block.status().message()));
      }
      c.receive.push_back(std::move(*block));
    }
  }
  return c;
}

namespace {
bool inRanges(const std::vector<std::pair<int64_t, int64_t>>& ranges, uint64_t status) {
  const auto value = static_cast<int64_t>(status);
  return std::any_of(ranges.begin(), ranges.end(),
                     [value](const auto& r) { return value >= r.first && value < r.second; });
}
}  // namespace

bool HealthCheckConfig::expected(uint64_t status) const {
  return inRanges(expected_statuses, status);
}

bool HealthCheckConfig::retriable(uint64_t status) const {
  return inRanges(retriable_statuses, status);
}

absl::StatusOr<HealthCheckerPtr> createHealthChecker(
    Event::Dispatcher& main, const envoy::config::core::v3::HealthCheck& proto,
    const std::string& cluster_name, std::chrono::milliseconds connect_timeout,
    HealthCheckStats stats, HealthChecker::Callbacks callbacks, const Network::BindOptions& bind) {
  auto config = HealthCheckConfig::fromProto(proto, cluster_name, connect_timeout);
  if (!config.ok()) {
    return config.status();
  }
  config->bind = bind;
  return std::make_unique<HealthCheckerImpl>(main, std::move(*config), stats, std::move(callbacks));
}

HealthCheckerImpl::HealthCheckerImpl(Event::Dispatcher& dispatcher, HealthCheckConfig config,
                                     HealthCheckStats stats, Callbacks callbacks)
    : dispatcher_(dispatcher),
      config_(std::move(config)),
      stats_(stats),
      callbacks_(std::move(callbacks)),
      random_(std::random_device{}()) {}

HealthCheckerImpl::~HealthCheckerImpl() { stop(); }

void HealthCheckerImpl::stop() {
  stopped_ = true;
  for (auto& [key, session] : sessions_) {
    if (session->healthy()) {
      stats_.healthy.dec();
    }
  }
  sessions_.clear();
}

std::unique_ptr<HealthCheckerImpl::Session> HealthCheckerImpl::createSession(
    HealthCheckTarget target) {
  return config_.type == HealthCheckConfig::Type::Http ? createHttpSession(*this, std::move(target))
                                                       : createTcpSession(*this, std::move(target));
}

void HealthCheckerImpl::setHosts(std::vector<HealthCheckTarget> targets) {
  if (stopped_) {
    return;
  }
  absl::flat_hash_map<const HostHealth*, std::unique_ptr<Session>> next;
  next.reserve(targets.size());
  std::vector<Session*> started;
  bool changed = false;
  for (auto& target : targets) {
    const HostHealth* key = target.health.get();
    auto it = sessions_.find(key);
    if (it != sessions_.end()) {
      it->second->setTarget(std::move(target));
      next.emplace(key, std::move(it->second));
      sessions_.erase(it);
      continue;
    }
    if (!target.health->active_hc_known) {
      // Never checked: not trusted until its first check passes.
      changed |=
          target.health->setFlags(HealthFlag::kFailedActiveHc | HealthFlag::kPendingActiveHc);
    }
    auto session = createSession(std::move(target));
    if (session->healthy()) {
      stats_.healthy.inc();
    }
    started.push_back(session.get());
    next.emplace(key, std::move(session));
  }
  for (auto& [key, session] : sessions_) {
    if (session->healthy()) {
      stats_.healthy.dec();
    }
  }
  sessions_ = std::move(next);  // Removed hosts' sessions (and connections) go here.
  for (Session* session : started) {
    session->start();
  }
  if (changed && callbacks_.on_change) {
    callbacks_.on_change();
  }
}

std::chrono::milliseconds HealthCheckerImpl::withJitter(std::chrono::milliseconds base) {
  uint64_t ms = base.count();
  const uint64_t percent_range = config_.interval_jitter_percent * ms / 100;
  if (percent_range > 0) {
    ms += random_() % percent_range;
  }
  if (config_.interval_jitter.count() > 0) {
    ms += random_() % config_.interval_jitter.count();
  }
  return std::chrono::milliseconds(ms);
}

std::chrono::milliseconds HealthCheckerImpl::initialDelay() {
  if (config_.initial_jitter.count() <= 0) {
    return std::chrono::milliseconds(0);
  }
  return std::chrono::milliseconds(random_() % config_.initial_jitter.count());
}

std::chrono::milliseconds HealthCheckerImpl::nextInterval(bool host_healthy,
                                                          Transition transition) {
  std::chrono::milliseconds base;
  if (callbacks_.has_traffic && !callbacks_.has_traffic()) {
    // A cluster nobody used yet: check rarely, just enough to be current when traffic starts.
    base = host_healthy ? config_.no_traffic_healthy_interval : config_.no_traffic_interval;
  } else if (!host_healthy) {
    base = transition == Transition::Changed ? config_.unhealthy_edge_interval
                                             : config_.unhealthy_interval;
  } else {
    base = transition == Transition::Changed ? config_.healthy_edge_interval : config_.interval;
  }
  return withJitter(base);
}

HealthCheckerImpl::Session::Session(HealthCheckerImpl& parent, HealthCheckTarget target)
    : parent_(parent), target_(std::move(target)) {
  // A checker replacing another (new config) keeps what the old one learned.
  first_check_ = !target_.health->active_hc_known;
  interval_timer_ = parent_.dispatcher().createTimer([this] { onIntervalTimer(); });
  timeout_timer_ = parent_.dispatcher().createTimer([this] { onTimeoutTimer(); });
}

HealthCheckerImpl::Session::~Session() = default;

bool HealthCheckerImpl::Session::healthy() const {
  return !(target_.health->flags() & HealthFlag::kFailedActiveHc);
}

void HealthCheckerImpl::Session::start() { interval_timer_->enableTimer(parent_.initialDelay()); }

void HealthCheckerImpl::Session::onIntervalTimer() {
  parent_.stats().attempt.inc();
  checking_ = true;
  timeout_timer_->enableTimer(parent_.config().timeout);
  startCheck();
}

void HealthCheckerImpl::Session::onTimeoutTimer() {
  if (!checking_) {
    return;
  }
  abortCheck();
  handleFailure(/*network=*/true);
}

void HealthCheckerImpl::Session::handleSuccess() {
  if (!checking_) {
    return;
  }
  num_unhealthy_ = 0;
  Transition transition = Transition::Unchanged;
  HostHealth& health = *target_.health;
  if (health.flags() & HealthFlag::kFailedActiveHc) {
    // The very first result is trusted at once (faster start-up, as in Envoy).
    if (first_check_ || ++num_healthy_ >= parent_.config().healthy_threshold) {
      health.clearFlags(HealthFlag::kFailedActiveHc | HealthFlag::kPendingActiveHc);
      parent_.stats().healthy.inc();
      num_healthy_ = 0;
      transition = Transition::Changed;
      SKIFF_LOG(info, "health check: %s is healthy", target_.address->asString());
    } else {
      transition = Transition::ChangePending;
    }
  }
  parent_.stats().success.inc();
  // Copy what the callbacks need: they may change the session set (not today, but cheaply safe).
  const HostHealthSharedPtr host = target_.health;
  finish(transition);
  if (transition == Transition::Changed && parent_.callbacks().on_change) {
    parent_.callbacks().on_change();
  }
  if (parent_.callbacks().on_success) {
    parent_.callbacks().on_success(host);
  }
}

void HealthCheckerImpl::Session::handleFailure(bool network, bool retriable) {
  if (!checking_) {
    return;
  }
  num_healthy_ = 0;
  Transition transition = Transition::Unchanged;
  bool pending_cleared = false;
  HostHealth& health = *target_.health;
  if (!(health.flags() & HealthFlag::kFailedActiveHc)) {
    // A definite "no" from the service counts at once; network trouble needs the threshold.
    if ((!network && !retriable) || ++num_unhealthy_ >= parent_.config().unhealthy_threshold) {
      health.setFlags(HealthFlag::kFailedActiveHc);
      parent_.stats().healthy.dec();
      num_unhealthy_ = 0;
      transition = Transition::Changed;
      SKIFF_LOG(info, "health check: %s is unhealthy", target_.address->asString());
    } else {
      transition = Transition::ChangePending;
    }
  } else if (health.flags() & HealthFlag::kPendingActiveHc) {
    health.clearFlags(HealthFlag::kPendingActiveHc);  // Checked now, and failing.
    // Workers must look again: with ignore_new_hosts_until_first_hc the host now counts.
    pending_cleared = true;
  }
  parent_.stats().failure.inc();
  if (network) {
    parent_.stats().network_failure.inc();
  }
  finish(transition);
  if ((transition == Transition::Changed || pending_cleared) && parent_.callbacks().on_change) {
    parent_.callbacks().on_change();
  }
}

void HealthCheckerImpl::Session::finish(Transition transition) {
  checking_ = false;
  first_check_ = false;
  target_.health->active_hc_known = true;
  timeout_timer_->disableTimer();
  interval_timer_->enableTimer(parent_.nextInterval(healthy(), transition));
}

}  // namespace Skiff::Upstream
