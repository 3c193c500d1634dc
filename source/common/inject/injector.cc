#include "source/common/inject/injector.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "source/common/common/json.h"
#include "source/common/common/version.h"
#include "source/common/inject/yaml_writer.h"

namespace Skiff::Inject {
namespace {

// Small builders so the container specs below read like the YAML they produce.
YAML::Node str(absl::string_view value) { return stringNode(value); }
YAML::Node num(int64_t value) { return intNode(value); }

YAML::Node strList(std::initializer_list<std::string> items) {
  YAML::Node list(YAML::NodeType::Sequence);
  for (const std::string& item : items) {
    list.push_back(str(item));
  }
  return list;
}

YAML::Node fieldRefEnv(absl::string_view name, absl::string_view field_path) {
  YAML::Node env;
  env["name"] = str(name);
  env["valueFrom"]["fieldRef"]["fieldPath"] = str(field_path);
  return env;
}

// The string value of metadata.<section>[key], or nullopt when absent or not a scalar.
absl::optional<std::string> metadataValue(const YAML::Node& pod, const char* section,
                                          absl::string_view key) {
  const YAML::Node map = lookup(lookup(pod, "metadata"), section);
  if (!map.IsMap()) {
    return absl::nullopt;
  }
  const YAML::Node value = lookup(map, key);
  if (!value.IsScalar()) {
    return absl::nullopt;
  }
  return value.Scalar();
}

bool hasContainerNamed(const YAML::Node& list, absl::string_view name) {
  if (!list.IsSequence()) {
    return false;
  }
  for (const YAML::Node& container : list) {
    if (container.IsMap() && lookup(container, "name").IsScalar() &&
        lookup(container, "name").Scalar() == name) {
      return true;
    }
  }
  return false;
}

// A map child of `parent`, created when absent or null. Nullopt when it exists as something else.
absl::optional<YAML::Node> childMap(YAML::Node parent, const char* key) {
  const YAML::Node& const_parent = parent;
  const YAML::Node existing = const_parent[key];
  if (existing.IsDefined() && !existing.IsNull() && !existing.IsMap()) {
    return absl::nullopt;
  }
  if (!existing.IsDefined() || existing.IsNull()) {
    parent[key] = YAML::Node(YAML::NodeType::Map);
  }
  return parent[key];
}

// node.cluster: the app's name as Kubernetes' recommended labels (then the older `app` label)
// give it, else the workload's name. skiff-control serves the config group of that name.
std::string clusterName(const YAML::Node& pod, absl::string_view workload_name) {
  for (const char* label : {"app.kubernetes.io/name", "app"}) {
    if (auto value = metadataValue(pod, "labels", label); value && !value->empty()) {
      return *value;
    }
  }
  return workload_name.empty() ? std::string("default") : std::string(workload_name);
}

absl::optional<int> kubernetesMinor(absl::string_view version) {
  absl::ConsumePrefix(&version, "v");
  std::vector<absl::string_view> parts = absl::StrSplit(version, '.');
  int major = 0;
  int minor = 0;
  if (parts.size() < 2 || !absl::SimpleAtoi(parts[0], &major) || major != 1) {
    return absl::nullopt;
  }
  // "1.28+" (some managed clusters) reads as 1.28.
  absl::string_view minor_text = parts[1];
  absl::ConsumeSuffix(&minor_text, "+");
  if (!absl::SimpleAtoi(minor_text, &minor) || minor < 0) {
    return absl::nullopt;
  }
  return minor;
}

bool useNativeSidecar(const YAML::Node& pod, const Options& options) {
  if (auto value = metadataValue(pod, "annotations", kNativeSidecarAnnotation)) {
    if (*value == "true") {
      return true;
    }
    if (*value == "false") {
      return false;
    }
  }
  switch (options.native_sidecar) {
    case NativeSidecarMode::Enabled:
      return true;
    case NativeSidecarMode::Disabled:
      return false;
    case NativeSidecarMode::Auto:
      break;
  }
  const absl::optional<int> minor = kubernetesMinor(options.kubernetes_version);
  return !minor || *minor >= kNativeSidecarMinMinor;
}

std::string joinPorts(const std::vector<uint16_t>& ports) { return absl::StrJoin(ports, ","); }

std::string proxyImage(const Options& options) {
  return options.proxy_image.empty() ? absl::StrCat("skiff:", kVersion) : options.proxy_image;
}

std::string initImage(const Options& options) {
  return options.init_image.empty() ? absl::StrCat("skiff-init:", kVersion) : options.init_image;
}

// The bootstrap skiff gets inline. The kubelet expands $(VAR) in args from the container's env,
// so no file has to be written (the root filesystem is read-only) and no entry script is needed.
std::string bootstrapYaml(absl::string_view cluster, const Options& options) {
  return absl::StrCat(
      "node:\n"
      "  id: \"$(POD_NAME).$(POD_NAMESPACE)\"\n"
      "  cluster: ",
      Json::quote(cluster),
      "\n"
      "  metadata: {NAMESPACE: \"$(POD_NAMESPACE)\", POD_NAME: \"$(POD_NAME)\", "
      "INSTANCE_IPS: \"$(INSTANCE_IP)\"}\n"
      "admin:\n"
      "  address: {socket_address: {address: 127.0.0.1, port_value: ",
      options.admin_port,
      "}}\n"
      "dynamic_resources:\n"
      "  ads_config:\n"
      "    api_type: GRPC\n"
      "    transport_api_version: V3\n"
      "    grpc_services:\n"
      "    - google_grpc: {target_uri: ",
      Json::quote(options.control_plane),
      ", stat_prefix: ads}\n"
      "  lds_config: {ads: {}, resource_api_version: V3}\n"
      "  cds_config: {ads: {}, resource_api_version: V3}\n");
}

YAML::Node readyExec(const Options& options, int wait_seconds) {
  YAML::Node exec;
  if (wait_seconds > 0) {
    exec["command"] = strList({kReadyCommand, "--port", absl::StrCat(options.admin_port), "--wait",
                               absl::StrCat(wait_seconds)});
  } else {
    exec["command"] = strList({kReadyCommand, "--port", absl::StrCat(options.admin_port)});
  }
  return exec;
}

YAML::Node proxyContainer(const YAML::Node& pod, absl::string_view workload_name, bool native,
                          const Options& options) {
  // Kubernetes' default grace period; skiff's drain must end before the kubelet's SIGKILL.
  int64_t grace = 30;
  const YAML::Node grace_node = lookup(lookup(pod, "spec"), "terminationGracePeriodSeconds");
  if (grace_node.IsScalar()) {
    (void)absl::SimpleAtoi(grace_node.Scalar(), &grace);
  }
  const int64_t drain = std::max<int64_t>(1, grace - options.prestop_sleep_seconds);

  YAML::Node c;
  c["name"] = str(kProxyName);
  c["image"] = str(proxyImage(options));
  if (native) {
    // A native sidecar: started before the app containers (after its startupProbe passes), kept
    // running for the pod's life, stopped after the app containers have exited.
    c["restartPolicy"] = str("Always");
  }
  c["args"] = strList({"--config-yaml", bootstrapYaml(clusterName(pod, workload_name), options),
                       absl::StrCat("--concurrency=", options.concurrency),
                       absl::StrCat("--drain-time-s=", drain)});
  YAML::Node env(YAML::NodeType::Sequence);
  env.push_back(fieldRefEnv("POD_NAME", "metadata.name"));
  env.push_back(fieldRefEnv("POD_NAMESPACE", "metadata.namespace"));
  env.push_back(fieldRefEnv("INSTANCE_IP", "status.podIP"));
  c["env"] = env;
  c["resources"]["requests"]["cpu"] = str("100m");
  c["resources"]["requests"]["memory"] = str("64Mi");
  c["resources"]["limits"]["memory"] = str("256Mi");

  // The admin server stays on loopback (it can shut skiff down), which the kubelet cannot reach:
  // the probes exec skiff-ready, which asks 127.0.0.1:<admin>/ready from inside the container.
  if (native) {
    // Gates the app containers' start on skiff having its first listeners and clusters.
    YAML::Node startup;
    startup["exec"] = readyExec(options, 0);
    startup["periodSeconds"] = num(1);
    startup["timeoutSeconds"] = num(3);
    startup["failureThreshold"] = num(120);
    c["startupProbe"] = startup;
  }
  YAML::Node readiness;
  readiness["exec"] = readyExec(options, 0);
  readiness["periodSeconds"] = num(5);
  readiness["timeoutSeconds"] = num(3);
  readiness["failureThreshold"] = num(3);
  c["readinessProbe"] = readiness;
  if (!native) {
    // kubelet starts containers in order and waits for each postStart hook: the app (after skiff)
    // starts once skiff is ready. preStop delays skiff's SIGTERM so it keeps serving while the app
    // shuts down; then SIGTERM drains it for --drain-time-s.
    c["lifecycle"]["postStart"]["exec"] = readyExec(options, 120);
    c["lifecycle"]["preStop"]["exec"]["command"] =
        strList({"sleep", absl::StrCat(options.prestop_sleep_seconds)});
  }

  YAML::Node security;
  security["runAsUser"] = num(options.proxy_uid);
  security["runAsGroup"] = num(options.proxy_uid);
  security["runAsNonRoot"] = boolNode(true);
  security["readOnlyRootFilesystem"] = boolNode(true);
  security["allowPrivilegeEscalation"] = boolNode(false);
  security["privileged"] = boolNode(false);
  security["capabilities"]["drop"] = strList({"ALL"});
  security["seccompProfile"]["type"] = str("RuntimeDefault");
  c["securityContext"] = security;
  return c;
}

YAML::Node initContainer(const Options& options) {
  YAML::Node c;
  c["name"] = str(kInitName);
  c["image"] = str(initImage(options));
  // skiff-init's flags (source/init/skiff-init.sh). --proxy-ports: skiff's own ports on the pod,
  // never captured inbound.
  YAML::Node args =
      strList({"--outbound-port", absl::StrCat(options.outbound_port), "--inbound-port",
               absl::StrCat(options.inbound_port), "--proxy-uid", absl::StrCat(options.proxy_uid),
               "--proxy-ports", absl::StrCat(options.admin_port)});
  if (!options.exclude_inbound_ports.empty()) {
    args.push_back(str("--exclude-inbound-ports"));
    args.push_back(str(joinPorts(options.exclude_inbound_ports)));
  }
  if (!options.exclude_outbound_ports.empty()) {
    args.push_back(str("--exclude-outbound-ports"));
    args.push_back(str(joinPorts(options.exclude_outbound_ports)));
  }
  if (!options.exclude_outbound_cidrs.empty()) {
    args.push_back(str("--exclude-outbound-cidrs"));
    args.push_back(str(absl::StrJoin(options.exclude_outbound_cidrs, ",")));
  }
  c["args"] = args;
  c["resources"]["requests"]["cpu"] = str("10m");
  c["resources"]["requests"]["memory"] = str("16Mi");
  c["resources"]["limits"]["cpu"] = str("100m");
  c["resources"]["limits"]["memory"] = str("64Mi");
  // iptables needs root with NET_ADMIN and NET_RAW in the pod's network namespace; nothing else.
  // It runs to completion before any other container starts.
  YAML::Node security;
  security["runAsUser"] = num(0);
  security["runAsGroup"] = num(0);
  security["runAsNonRoot"] = boolNode(false);
  security["readOnlyRootFilesystem"] = boolNode(true);
  security["allowPrivilegeEscalation"] = boolNode(false);
  security["privileged"] = boolNode(false);
  security["capabilities"]["add"] = strList({"NET_ADMIN", "NET_RAW"});
  security["capabilities"]["drop"] = strList({"ALL"});
  security["seccompProfile"]["type"] = str("RuntimeDefault");
  c["securityContext"] = security;
  // iptables-legacy takes its lock in /run (read-only otherwise).
  YAML::Node mount;
  mount["name"] = str(kInitVolume);
  mount["mountPath"] = str("/run");
  c["volumeMounts"].push_back(mount);
  return c;
}

std::string statusJson(const std::vector<std::string>& init_containers,
                       const std::vector<std::string>& containers,
                       const std::vector<std::string>& volumes) {
  const auto list = [](const std::vector<std::string>& items) {
    return absl::StrCat("[",
                        absl::StrJoin(items, ",",
                                      [](std::string* out, const std::string& item) {
                                        out->append(Json::quote(item));
                                      }),
                        "]");
  };
  return absl::StrCat("{\"version\":", Json::quote(kVersion),
                      ",\"initContainers\":", list(init_containers),
                      ",\"containers\":", list(containers), ",\"volumes\":", list(volumes), "}");
}

absl::Status checkSequence(const YAML::Node& spec, const char* key) {
  const YAML::Node value = lookup(spec, key);
  if (value.IsDefined() && !value.IsNull() && !value.IsSequence()) {
    return absl::InvalidArgumentError(absl::StrCat("spec.", key, ": must be a sequence"));
  }
  return absl::OkStatus();
}

// Why `pod` must not be injected, or nullopt.
absl::optional<PodResult> notInjectable(const YAML::Node& pod) {
  // The label decides when both are set: it is what the webhook's objectSelector matched.
  absl::optional<std::string> inject = metadataValue(pod, "labels", kInjectKey);
  if (!inject) {
    inject = metadataValue(pod, "annotations", kInjectKey);
  }
  if (inject && absl::AsciiStrToLower(*inject) == "false") {
    return PodResult{Outcome::Skipped, absl::StrCat(kInjectKey, " is \"false\""), false};
  }
  if (metadataValue(pod, "annotations", kStatusAnnotation)) {
    return PodResult{Outcome::AlreadyInjected,
                     absl::StrCat("already injected (", kStatusAnnotation, ")"), false};
  }
  const YAML::Node spec = lookup(pod, "spec");
  for (const char* list : {"containers", "initContainers"}) {
    for (const char* name : {kProxyName, kInitName}) {
      if (hasContainerNamed(lookup(spec, list), name)) {
        return PodResult{Outcome::AlreadyInjected,
                         absl::StrCat("already has a container named ", name), false};
      }
    }
  }
  const YAML::Node host_network = lookup(spec, "hostNetwork");
  if (host_network.IsScalar() && scalarType(host_network) == ScalarType::Bool &&
      nodesEqual(host_network, boolNode(true))) {
    return PodResult{Outcome::Skipped,
                     "hostNetwork pod (capture would change the node's network namespace)", false};
  }
  return absl::nullopt;
}

}  // namespace

absl::StatusOr<NativeSidecarMode> parseNativeSidecarMode(absl::string_view text) {
  if (text == "auto") {
    return NativeSidecarMode::Auto;
  }
  if (text == "true") {
    return NativeSidecarMode::Enabled;
  }
  if (text == "false") {
    return NativeSidecarMode::Disabled;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("native sidecar mode \"", text, "\": expected auto, true or false"));
}

absl::Status validateOptions(const Options& options) {
  if (options.control_plane.empty() || !absl::StrContains(options.control_plane, ':')) {
    return absl::InvalidArgumentError(
        absl::StrCat("control plane \"", options.control_plane, "\": expected host:port"));
  }
  // The kubelet would expand $(...) in the control plane address like the pod variables.
  if (absl::StrContains(options.control_plane, '$') ||
      absl::StrContains(options.control_plane, '"')) {
    return absl::InvalidArgumentError(
        absl::StrCat("control plane \"", options.control_plane, "\": bad character"));
  }
  if (!options.kubernetes_version.empty() && !kubernetesMinor(options.kubernetes_version)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Kubernetes version \"", options.kubernetes_version, "\": expected 1.<minor>, e.g. 1.29"));
  }
  for (uint16_t port : {options.outbound_port, options.inbound_port, options.admin_port}) {
    if (port == 0) {
      return absl::InvalidArgumentError("ports must be 1-65535");
    }
  }
  if (options.proxy_uid <= 0) {
    return absl::InvalidArgumentError("the proxy uid must not be root");
  }
  if (options.concurrency < 1 || options.prestop_sleep_seconds < 0) {
    return absl::InvalidArgumentError("concurrency must be >= 1 and the preStop sleep >= 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<PodResult> injectPod(YAML::Node pod, absl::string_view workload_name,
                                    const Options& options) {
  if (!pod.IsMap()) {
    return absl::InvalidArgumentError("a pod (template) must be a map");
  }
  const YAML::Node& const_pod = pod;
  const YAML::Node metadata = lookup(pod, "metadata");
  if (metadata.IsDefined() && !metadata.IsNull() && !metadata.IsMap()) {
    return absl::InvalidArgumentError("metadata: must be a map");
  }
  for (const char* section : {"labels", "annotations"}) {
    const YAML::Node value = lookup(metadata, section);
    if (metadata.IsMap() && value.IsDefined() && !value.IsNull() && !value.IsMap()) {
      return absl::InvalidArgumentError(absl::StrCat("metadata.", section, ": must be a map"));
    }
  }
  const YAML::Node spec = lookup(pod, "spec");
  if (!spec.IsMap()) {
    return absl::InvalidArgumentError("spec: must be a map");
  }
  for (const char* list : {"containers", "initContainers", "volumes"}) {
    if (auto status = checkSequence(spec, list); !status.ok()) {
      return status;
    }
  }
  const YAML::Node containers = lookup(spec, "containers");
  if (!containers.IsSequence() || containers.size() == 0 || !containers[0].IsMap() ||
      !lookup(containers[0], "name").IsScalar()) {
    return absl::InvalidArgumentError("spec.containers: needs at least one named container");
  }
  if (auto skip = notInjectable(pod)) {
    return *skip;
  }

  const bool native = useNativeSidecar(pod, options);
  const std::string first_app_container = lookup(containers[0], "name").Scalar();
  YAML::Node proxy = proxyContainer(pod, workload_name, native, options);
  std::vector<std::string> added_init;
  std::vector<std::string> added_containers;
  std::vector<std::string> added_volumes;

  YAML::Node new_init(YAML::NodeType::Sequence);
  YAML::Node new_containers(YAML::NodeType::Sequence);
  const YAML::Node old_init = lookup(spec, "initContainers");
  if (native) {
    // skiff-init, then skiff, then the app's own init containers: those run with the capture in
    // place and skiff already serving, so their traffic works like the app's.
    if (options.capture) {
      new_init.push_back(initContainer(options));
      added_init.push_back(kInitName);
    }
    new_init.push_back(proxy);
    added_init.push_back(kProxyName);
    if (old_init.IsSequence()) {
      for (const YAML::Node& c : old_init) {
        new_init.push_back(c);
      }
    }
  } else {
    // skiff-init last: the app's init containers run before the capture exists (no proxy runs
    // yet to take their traffic). skiff goes first in containers, as its postStart hook then
    // holds the app's start until skiff is ready.
    if (old_init.IsSequence()) {
      for (const YAML::Node& c : old_init) {
        new_init.push_back(c);
      }
    }
    if (options.capture) {
      new_init.push_back(initContainer(options));
      added_init.push_back(kInitName);
    }
    new_containers.push_back(proxy);
    added_containers.push_back(kProxyName);
  }
  for (const YAML::Node& c : containers) {
    new_containers.push_back(c);
  }

  // Everything is built: now change the pod.
  YAML::Node pod_spec = pod["spec"];
  if (new_init.size() > 0) {
    pod_spec["initContainers"] = new_init;
  }
  pod_spec["containers"] = new_containers;
  if (options.capture) {
    YAML::Node volume;
    volume["name"] = str(kInitVolume);
    volume["emptyDir"] = YAML::Node(YAML::NodeType::Map);
    const YAML::Node volumes = lookup(spec, "volumes");
    if (!volumes.IsSequence()) {
      pod_spec["volumes"] = YAML::Node(YAML::NodeType::Sequence);
    }
    pod_spec["volumes"].push_back(volume);
    added_volumes.push_back(kInitVolume);
  }
  absl::optional<YAML::Node> annotations;
  if (auto meta = childMap(pod, "metadata")) {
    annotations = childMap(*meta, "annotations");
  }
  if (!annotations) {
    return absl::InternalError("metadata.annotations: cannot be created");
  }
  if (!native && lookup(*annotations, "kubectl.kubernetes.io/default-container").IsNull()) {
    // skiff is the first container now; keep `kubectl logs/exec` pointed at the app.
    (*annotations)["kubectl.kubernetes.io/default-container"] = str(first_app_container);
  }
  (*annotations)[kStatusAnnotation] = str(statusJson(added_init, added_containers, added_volumes));
  return PodResult{Outcome::Injected, "", native};
}

std::string workloadNameForPod(const YAML::Node& pod) {
  const YAML::Node metadata = lookup(pod, "metadata");
  if (!metadata.IsMap()) {
    return "";
  }
  std::string hash;
  if (auto value = metadataValue(pod, "labels", "pod-template-hash")) {
    hash = *value;
  }
  const auto without_hash = [&hash](std::string name) {
    if (!hash.empty() && absl::EndsWith(name, absl::StrCat("-", hash))) {
      name.resize(name.size() - hash.size() - 1);
    }
    return name;
  };
  const YAML::Node owners = lookup(metadata, "ownerReferences");
  if (owners.IsSequence()) {
    for (const YAML::Node& owner : owners) {
      if (owner.IsMap() && lookup(owner, "controller").IsScalar() &&
          nodesEqual(lookup(owner, "controller"), boolNode(true)) &&
          lookup(owner, "name").IsScalar()) {
        return without_hash(lookup(owner, "name").Scalar());
      }
    }
  }
  const YAML::Node generate_name = lookup(metadata, "generateName");
  if (generate_name.IsScalar() && !generate_name.Scalar().empty()) {
    std::string name = generate_name.Scalar();
    if (absl::EndsWith(name, "-")) {
      name.pop_back();
    }
    return without_hash(name);
  }
  const YAML::Node name = lookup(metadata, "name");
  return name.IsScalar() ? name.Scalar() : "";
}

}  // namespace Skiff::Inject
