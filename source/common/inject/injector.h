#pragma once

// The sidecar injector: turns a pod (or a workload's pod template) into the same pod with skiff
// added. One implementation for both entry points, so `skiffctl inject` and skiff-control's
// admission webhook produce the same pod.
//
// What an injected pod gets (docs/kubernetes.md explains each choice):
//   - `skiff`, the proxy: a native sidecar (an init container with `restartPolicy: Always`) or an
//     ordinary first container. Its bootstrap is passed inline (`--config-yaml`) and built from
//     the pod's identity through the downward API: node id `$(POD_NAME).$(POD_NAMESPACE)`,
//     node.cluster from the app labels or the workload name, ADS to the control plane. Runs as
//     uid 1337, read-only root filesystem, no capabilities; readiness on the admin `/ready`.
//   - `skiff-init`: the init container that installs the iptables capture (the only container with
//     NET_ADMIN/NET_RAW); left out when capture is off.
//   - the `skiff.io/status` annotation recording what was added, which makes injection
//     idempotent: a pod that has it (or already has a container named skiff/skiff-init) is left
//     alone.
// Pods opt out with `skiff.io/inject: "false"` as a label or an annotation (the label wins: it is
// what the webhook's objectSelector sees); hostNetwork pods are never injected (the capture rules
// would land in the node's network namespace).
//
// Thread: pure functions; any thread.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "yaml-cpp/yaml.h"

namespace Skiff::Inject {

inline constexpr char kStatusAnnotation[] = "skiff.io/status";
inline constexpr char kInjectKey[] = "skiff.io/inject";
inline constexpr char kNativeSidecarAnnotation[] = "skiff.io/native-sidecar";
inline constexpr char kProxyName[] = "skiff";
inline constexpr char kInitName[] = "skiff-init";
inline constexpr char kInitVolume[] = "skiff-init-run";
// The script in the skiff image that exec probes and hooks run (GET /ready on the loopback admin).
inline constexpr char kReadyCommand[] = "/usr/local/bin/skiff-ready";

enum class NativeSidecarMode {
  // Native unless the Kubernetes version is known to be older than 1.29 (below). A pod's
  // `skiff.io/native-sidecar: "true"|"false"` annotation overrides in every mode.
  Auto,
  Enabled,
  Disabled,
};

// "auto", "true", "false".
absl::StatusOr<NativeSidecarMode> parseNativeSidecarMode(absl::string_view text);

// Native sidecars need the SidecarContainers feature: beta and on by default since Kubernetes
// 1.29, GA in 1.33. `auto` with no version given assumes a supported release (>= 1.29).
inline constexpr int kNativeSidecarMinMinor = 29;

struct Options {
  // host:port of skiff-control's xDS (gRPC) port as pods reach it.
  std::string control_plane = "skiff-control.skiff-system.svc:18000";
  NativeSidecarMode native_sidecar = NativeSidecarMode::Auto;
  // "1.28": the cluster's Kubernetes version, for `auto`. Empty: unknown.
  std::string kubernetes_version;
  bool capture = true;
  std::string proxy_image;  // default "skiff:<version>"
  std::string init_image;   // default "skiff-init:<version>"
  uint16_t outbound_port = 15001;
  uint16_t inbound_port = 15006;
  uint16_t admin_port = 15000;
  int64_t proxy_uid = 1337;
  int concurrency = 2;
  // Traffic skiff-init leaves alone, besides skiff's own (its uid and admin port).
  std::vector<uint16_t> exclude_inbound_ports;
  std::vector<uint16_t> exclude_outbound_ports;
  std::vector<std::string> exclude_outbound_cidrs;
  // Ordinary-container mode: the preStop sleep that keeps skiff serving while the app shuts down.
  int prestop_sleep_seconds = 5;
};

// Checks values the pod spec would otherwise carry broken (ports, images, the version's form).
absl::Status validateOptions(const Options& options);

enum class Outcome { Injected, AlreadyInjected, Skipped };

struct PodResult {
  Outcome outcome = Outcome::Skipped;
  std::string reason;  // why not injected; empty when injected
  bool native_sidecar = false;
};

// Injects into `pod`, a map holding `metadata` and `spec` (a Pod, or a workload's pod template),
// in place. `workload_name` is node.cluster's last fallback (after the labels
// app.kubernetes.io/name and app). Errors name the field (`spec.containers: must be a sequence`)
// and leave `pod` unchanged.
absl::StatusOr<PodResult> injectPod(YAML::Node pod, absl::string_view workload_name,
                                    const Options& options);

// The workload a Pod belongs to, as the webhook sees it (no name yet, generateName set): the
// controller owner's name without the ReplicaSet's pod-template-hash ("web-7d9c6b" -> "web"),
// else generateName without its trailing '-' (same hash rule), else metadata.name.
std::string workloadNameForPod(const YAML::Node& pod);

}  // namespace Skiff::Inject
