#include "source/server/overload_manager.h"

#include <malloc.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "envoy/extensions/resource_monitors/downstream_connections/v3/downstream_connections.pb.h"
#include "envoy/extensions/resource_monitors/fixed_heap/v3/fixed_heap.pb.h"
#include "source/common/common/logger.h"
#include "source/common/config/overload_validation.h"
#include "source/common/config/utility.h"

namespace Skiff::Server {
namespace {

using envoy::extensions::resource_monitors::downstream_connections::v3::DownstreamConnectionsConfig;
using envoy::extensions::resource_monitors::fixed_heap::v3::FixedHeapConfig;

constexpr std::chrono::milliseconds kDefaultRefreshInterval{1000};

}  // namespace

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SKIFF_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SKIFF_SANITIZER_ALLOCATOR 1
#endif
#endif

#if SKIFF_SANITIZER_ALLOCATOR
// From <sanitizer/allocator_interface.h>, which gcc does not ship; both runtimes export it.
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

uint64_t heapBytesInUse() {
#if SKIFF_SANITIZER_ALLOCATOR
  // ASan and TSan replace malloc with their own allocator, whose memory glibc's mallinfo2() never
  // sees (it reported 0 bytes with a 64 MiB block live); theirs reports what the heap holds.
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
#endif
}

absl::StatusOr<double> FixedHeapMonitor::pressure() {
  return static_cast<double>(reader_()) / static_cast<double>(max_);
}

absl::StatusOr<double> DownstreamConnectionsMonitor::pressure() {
  return static_cast<double>(limit_->current()) / static_cast<double>(limit_->max());
}

absl::StatusOr<std::unique_ptr<OverloadManagerImpl>> OverloadManagerImpl::create(
    const envoy::config::overload::v3::OverloadManager& config, Event::Dispatcher& main,
    Stats::Store& stats, ActionChangeCb on_change) {
  if (auto status = Config::validateOverloadManager(config); !status.ok()) {
    return status;
  }
  const auto refresh =
      SKIFF_PROTOBUF_GET_MS_OR_DEFAULT(config, refresh_interval, kDefaultRefreshInterval);
  std::unique_ptr<OverloadManagerImpl> manager(
      new OverloadManagerImpl(main, refresh, std::move(on_change)));
  for (const auto& proto : config.resource_monitors()) {
    Monitor monitor;
    monitor.name = proto.name();
    const absl::string_view type = Config::typeNameFromUrl(proto.typed_config().type_url());
    if (type == FixedHeapConfig::descriptor()->full_name()) {
      FixedHeapConfig heap;
      proto.typed_config().UnpackTo(&heap);
      monitor.monitor = std::make_unique<FixedHeapMonitor>(heap.max_heap_size_bytes());
    } else {
      DownstreamConnectionsConfig connections;
      proto.typed_config().UnpackTo(&connections);
      manager->global_connections_ = std::make_shared<Overload::ConnectionLimit>(
          static_cast<uint64_t>(connections.max_active_downstream_connections()));
      monitor.monitor =
          std::make_unique<DownstreamConnectionsMonitor>(manager->global_connections_);
    }
    monitor.pressure_gauge = &stats.gauge(absl::StrCat("overload.", proto.name(), ".pressure"));
    monitor.failed_updates =
        &stats.counter(absl::StrCat("overload.", proto.name(), ".failed_updates"));
    manager->monitors_.push_back(std::move(monitor));
  }
  for (const auto& proto : config.actions()) {
    Action action;
    action.name = *Overload::overloadActionFromName(proto.name());
    for (const auto& trigger_proto : proto.triggers()) {
      Trigger trigger{};
      for (size_t i = 0; i < manager->monitors_.size(); ++i) {
        if (manager->monitors_[i].name == trigger_proto.name()) {
          trigger.monitor = i;
        }
      }
      trigger.scaled = trigger_proto.has_scaled();
      trigger.threshold = trigger_proto.threshold().value();
      trigger.scaling = trigger_proto.scaled().scaling_threshold();
      trigger.saturation = trigger_proto.scaled().saturation_threshold();
      action.triggers.push_back(trigger);
    }
    action.active = &stats.gauge(absl::StrCat("overload.", proto.name(), ".active"));
    action.scale_percent = &stats.gauge(absl::StrCat("overload.", proto.name(), ".scale_percent"));
    manager->actions_.push_back(std::move(action));
  }
  return manager;
}

void OverloadManagerImpl::start() {
  timer_ = main_.createTimer([this] {
    refresh();
    timer_->enableTimer(refresh_interval_);
  });
  refresh();
  timer_->enableTimer(refresh_interval_);
}

void OverloadManagerImpl::refresh() {
  for (Monitor& monitor : monitors_) {
    auto pressure = monitor.monitor->pressure();
    if (!pressure.ok()) {
      // Keep the last value: a monitor that cannot read should not flap the actions.
      monitor.failed_updates->inc();
      continue;
    }
    monitor.pressure = *pressure;
    monitor.pressure_gauge->set(static_cast<int64_t>(std::llround(*pressure * 100)));
  }
  for (Action& action : actions_) {
    double value = 0;
    for (const Trigger& trigger : action.triggers) {
      const double pressure = monitors_[trigger.monitor].pressure;
      double state;
      if (!trigger.scaled) {
        state = pressure >= trigger.threshold ? 1.0 : 0.0;
      } else if (pressure >= trigger.saturation) {
        state = 1.0;
      } else if (pressure <= trigger.scaling) {
        state = 0.0;
      } else {
        state = (pressure - trigger.scaling) / (trigger.saturation - trigger.scaling);
      }
      value = std::max(value, state);
    }
    const Overload::OverloadActionState state(value);
    if (state == action.state) {
      continue;
    }
    const bool was_saturated = action.state.isSaturated();
    action.state = state;
    action.active->set(state.isSaturated() ? 1 : 0);
    action.scale_percent->set(static_cast<int64_t>(std::llround(state.value() * 100)));
    if (state.isSaturated() != was_saturated) {
      SKIFF_LOG(warn, "overload: %s %s", Overload::overloadActionName(action.name),
                state.isSaturated() ? "active" : "no longer active");
    }
    if (on_change_) {
      on_change_(action.name, state);
    }
  }
}

Overload::OverloadActionState OverloadManagerImpl::actionState(
    Overload::OverloadActionName name) const {
  for (const Action& action : actions_) {
    if (action.name == name) {
      return action.state;
    }
  }
  return Overload::OverloadActionState::inactive();
}

void OverloadManagerImpl::setMonitorForTest(const std::string& name,
                                            std::unique_ptr<ResourceMonitor> monitor) {
  for (Monitor& entry : monitors_) {
    if (entry.name == name) {
      entry.monitor = std::move(monitor);
    }
  }
}

}  // namespace Skiff::Server
