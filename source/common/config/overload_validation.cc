#include "source/common/config/overload_validation.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "envoy/extensions/resource_monitors/downstream_connections/v3/downstream_connections.pb.h"
#include "envoy/extensions/resource_monitors/fixed_heap/v3/fixed_heap.pb.h"
#include "source/common/config/utility.h"
#include "source/common/overload/overload_state.h"

namespace Skiff::Config {
namespace {

using envoy::config::overload::v3::OverloadManager;
using envoy::config::overload::v3::Trigger;
using envoy::extensions::resource_monitors::downstream_connections::v3::DownstreamConnectionsConfig;
using envoy::extensions::resource_monitors::fixed_heap::v3::FixedHeapConfig;

bool isFraction(double value) { return std::isfinite(value) && value >= 0 && value <= 1; }

std::string supportedActions() {
  std::vector<std::string> names;
  for (size_t i = 0; i < Overload::kNumOverloadActions; ++i) {
    names.emplace_back(Overload::overloadActionName(static_cast<Overload::OverloadActionName>(i)));
  }
  return absl::StrJoin(names, ", ");
}

void checkTrigger(const Trigger& trigger, const absl::flat_hash_set<std::string>& monitors,
                  const std::string& path, std::vector<std::string>& errors) {
  if (trigger.name().empty()) {
    errors.push_back(absl::StrCat(path, ".name: must not be empty"));
  } else if (!monitors.contains(trigger.name())) {
    errors.push_back(
        absl::StrFormat("%s.name: unknown resource monitor \"%s\"", path, trigger.name()));
  }
  switch (trigger.trigger_oneof_case()) {
    case Trigger::kThreshold:
      if (!isFraction(trigger.threshold().value())) {
        errors.push_back(absl::StrFormat("%s.threshold.value: %g is not in [0, 1]", path,
                                         trigger.threshold().value()));
      }
      break;
    case Trigger::kScaled: {
      const auto& scaled = trigger.scaled();
      bool ok = true;
      if (!isFraction(scaled.scaling_threshold())) {
        errors.push_back(absl::StrFormat("%s.scaled.scaling_threshold: %g is not in [0, 1]", path,
                                         scaled.scaling_threshold()));
        ok = false;
      }
      if (!isFraction(scaled.saturation_threshold())) {
        errors.push_back(absl::StrFormat("%s.scaled.saturation_threshold: %g is not in [0, 1]",
                                         path, scaled.saturation_threshold()));
        ok = false;
      }
      if (ok && scaled.scaling_threshold() >= scaled.saturation_threshold()) {
        errors.push_back(absl::StrFormat(
            "%s.scaled.scaling_threshold: %g must be less than saturation_threshold %g", path,
            scaled.scaling_threshold(), scaled.saturation_threshold()));
      }
      break;
    }
    case Trigger::TRIGGER_ONEOF_NOT_SET:
      errors.push_back(absl::StrCat(path, ": must set threshold or scaled"));
      break;
  }
}

}  // namespace

absl::Status validateOverloadManager(const OverloadManager& config, absl::string_view path_view) {
  const std::string path(path_view);
  std::vector<std::string> errors;
  if (config.has_refresh_interval()) {
    const auto& d = config.refresh_interval();
    if (!isValidNonNegativeDuration(d) || (d.seconds() == 0 && d.nanos() < 1000000)) {
      errors.push_back(absl::StrCat(path, ".refresh_interval: must be at least 1ms"));
    }
  }
  if (config.resource_monitors_size() == 0) {
    errors.push_back(absl::StrCat(path, ".resource_monitors: at least one is required"));
  }
  absl::flat_hash_set<std::string> monitors;
  bool have_connections_monitor = false;
  for (int i = 0; i < config.resource_monitors_size(); ++i) {
    const auto& monitor = config.resource_monitors(i);
    const std::string monitor_path = absl::StrCat(path, ".resource_monitors[", i, "]");
    if (monitor.name().empty()) {
      errors.push_back(absl::StrCat(monitor_path, ".name: must not be empty"));
    } else if (!monitors.insert(monitor.name()).second) {
      errors.push_back(absl::StrFormat("%s.name: duplicate resource monitor \"%s\"", monitor_path,
                                       monitor.name()));
    }
    const std::string config_path = absl::StrCat(monitor_path, ".typed_config");
    if (!monitor.has_typed_config()) {
      errors.push_back(absl::StrCat(config_path, ": required"));
      continue;
    }
    const absl::string_view type = typeNameFromUrl(monitor.typed_config().type_url());
    if (type == FixedHeapConfig::descriptor()->full_name()) {
      auto heap = parseTypedConfig<FixedHeapConfig>(monitor.typed_config(), config_path);
      if (!heap.ok()) {
        errors.emplace_back(heap.status().message());
      } else if (heap->max_heap_size_bytes() == 0) {
        errors.push_back(absl::StrCat(config_path, ".max_heap_size_bytes: must be greater than 0"));
      }
    } else if (type == DownstreamConnectionsConfig::descriptor()->full_name()) {
      auto connections =
          parseTypedConfig<DownstreamConnectionsConfig>(monitor.typed_config(), config_path);
      if (!connections.ok()) {
        errors.emplace_back(connections.status().message());
      } else if (connections->max_active_downstream_connections() <= 0) {
        errors.push_back(
            absl::StrFormat("%s.max_active_downstream_connections: %d must be greater than 0",
                            config_path, connections->max_active_downstream_connections()));
      }
      if (have_connections_monitor) {
        errors.push_back(absl::StrCat(
            config_path, ": only one downstream connections monitor is allowed (it is global)"));
      }
      have_connections_monitor = true;
    } else {
      errors.push_back(absl::StrFormat(
          "%s: unsupported resource monitor type \"%s\"; skiff supports %s (%s) and %s (%s)",
          config_path, monitor.typed_config().type_url(),
          FixedHeapConfig::descriptor()->full_name(), kFixedHeapMonitorName,
          DownstreamConnectionsConfig::descriptor()->full_name(),
          kGlobalDownstreamMaxConnectionsMonitorName));
    }
  }
  absl::flat_hash_set<std::string> actions;
  for (int i = 0; i < config.actions_size(); ++i) {
    const auto& action = config.actions(i);
    const std::string action_path = absl::StrCat(path, ".actions[", i, "]");
    if (action.name().empty()) {
      errors.push_back(absl::StrCat(action_path, ".name: must not be empty"));
    } else if (!Overload::overloadActionFromName(action.name()).has_value()) {
      errors.push_back(
          absl::StrFormat("%s.name: unsupported overload action \"%s\" (skiff "
                          "supports %s)",
                          action_path, action.name(), supportedActions()));
    } else if (!actions.insert(action.name()).second) {
      errors.push_back(
          absl::StrFormat("%s.name: duplicate overload action \"%s\"", action_path, action.name()));
    }
    if (action.triggers_size() == 0) {
      errors.push_back(absl::StrCat(action_path, ".triggers: at least one is required"));
    }
    absl::flat_hash_set<std::string> trigger_names;
    for (int j = 0; j < action.triggers_size(); ++j) {
      const std::string trigger_path = absl::StrCat(action_path, ".triggers[", j, "]");
      checkTrigger(action.triggers(j), monitors, trigger_path, errors);
      if (!action.triggers(j).name().empty() &&
          !trigger_names.insert(action.triggers(j).name()).second) {
        errors.push_back(absl::StrFormat("%s.name: a second trigger for resource \"%s\"",
                                         trigger_path, action.triggers(j).name()));
      }
    }
    if (action.has_typed_config()) {
      errors.push_back(
          absl::StrCat(action_path, ".typed_config: ", action.name(), " takes no config"));
    }
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  }
  return absl::OkStatus();
}

}  // namespace Skiff::Config
