#include "source/common/inject/injector.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "source/common/common/version.h"
#include "source/common/inject/yaml_writer.h"

namespace Skiff::Inject {
namespace {

constexpr char kPod[] = R"(
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  labels: {app: web}
spec:
  initContainers:
  - {name: migrate, image: migrate:1}
  containers:
  - name: app
    image: nginx:1.25
  volumes:
  - {name: data, emptyDir: {}}
)";

YAML::Node load(const std::string& text) { return YAML::Load(text); }

PodResult inject(YAML::Node pod, const Options& options = {},
                 absl::string_view workload = "workload") {
  auto result = injectPod(pod, workload, options);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : PodResult{};
}

std::vector<std::string> names(const YAML::Node& list) {
  std::vector<std::string> out;
  for (const YAML::Node& item : list) {
    out.push_back(item["name"].Scalar());
  }
  return out;
}

YAML::Node container(const YAML::Node& list, const std::string& name) {
  for (const YAML::Node& item : list) {
    if (item["name"].Scalar() == name) {
      return item;
    }
  }
  ADD_FAILURE() << "no container " << name;
  return YAML::Node();
}

std::string bootstrapOf(const YAML::Node& proxy) { return proxy["args"][1].Scalar(); }

TEST(InjectorTest, NativeSidecarByDefault) {
  YAML::Node pod = load(kPod);
  const PodResult result = inject(pod);
  EXPECT_EQ(result.outcome, Outcome::Injected);
  EXPECT_TRUE(result.native_sidecar);
  const YAML::Node spec = pod["spec"];
  // skiff-init, skiff, then the app's own init containers; app containers unchanged.
  EXPECT_EQ(names(spec["initContainers"]),
            (std::vector<std::string>{"skiff-init", "skiff", "migrate"}));
  EXPECT_EQ(names(spec["containers"]), (std::vector<std::string>{"app"}));
  EXPECT_EQ(names(spec["volumes"]), (std::vector<std::string>{"data", "skiff-init-run"}));

  const YAML::Node proxy = container(spec["initContainers"], "skiff");
  EXPECT_EQ(proxy["restartPolicy"].Scalar(), "Always");
  EXPECT_EQ(proxy["image"].Scalar(), absl::StrCat("skiff:", kVersion));
  EXPECT_TRUE(proxy["startupProbe"].IsDefined());
  EXPECT_FALSE(proxy["lifecycle"].IsDefined());
  EXPECT_EQ(toJson(proxy["readinessProbe"]["exec"]["command"]),
            R"(["/usr/local/bin/skiff-ready","--port","15000"])");
  EXPECT_EQ(toJson(proxy["securityContext"]),
            R"({"runAsUser":1337,"runAsGroup":1337,"runAsNonRoot":true,)"
            R"("readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false,"privileged":false,)"
            R"("capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}})");
  EXPECT_EQ(toJson(proxy["resources"]["requests"]), R"({"cpu":"100m","memory":"64Mi"})");
  EXPECT_EQ(
      toJson(proxy["env"]),
      R"([{"name":"POD_NAME","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}},)"
      R"({"name":"POD_NAMESPACE","valueFrom":{"fieldRef":{"fieldPath":"metadata.namespace"}}},)"
      R"({"name":"INSTANCE_IP","valueFrom":{"fieldRef":{"fieldPath":"status.podIP"}}}])");
  // 30 s default grace period minus the 5 s margin.
  EXPECT_EQ(proxy["args"][3].Scalar(), "--drain-time-s=25");

  const YAML::Node init = container(spec["initContainers"], "skiff-init");
  EXPECT_EQ(toJson(init["args"]),
            R"(["--outbound-port","15001","--inbound-port","15006","--proxy-uid","1337",)"
            R"("--proxy-ports","15000"])");
  EXPECT_EQ(toJson(init["securityContext"]["capabilities"]),
            R"({"add":["NET_ADMIN","NET_RAW"],"drop":["ALL"]})");

  EXPECT_EQ(pod["metadata"]["annotations"]["skiff.io/status"].Scalar(),
            absl::StrCat(R"({"version":")", kVersion,
                         R"(","initContainers":["skiff-init","skiff"],"containers":[],)"
                         R"("volumes":["skiff-init-run"]})"));
  // Native: kubectl's default container is still the app (containers[0]); no annotation needed.
  EXPECT_FALSE(pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"]);
}

TEST(InjectorTest, BootstrapFromPodIdentity) {
  YAML::Node pod = load(kPod);
  Options options;
  options.control_plane = "control.mesh.svc:18000";
  options.admin_port = 15900;
  inject(pod, options);
  const YAML::Node proxy = container(pod["spec"]["initContainers"], "skiff");
  EXPECT_EQ(proxy["args"][0].Scalar(), "--config-yaml");
  const YAML::Node bootstrap = load(bootstrapOf(proxy));
  EXPECT_EQ(bootstrap["node"]["id"].Scalar(), "$(POD_NAME).$(POD_NAMESPACE)");
  EXPECT_EQ(bootstrap["node"]["cluster"].Scalar(), "web");  // the app label
  EXPECT_EQ(bootstrap["node"]["metadata"]["INSTANCE_IPS"].Scalar(), "$(INSTANCE_IP)");
  EXPECT_EQ(bootstrap["admin"]["address"]["socket_address"]["port_value"].Scalar(), "15900");
  EXPECT_EQ(
      bootstrap["dynamic_resources"]["ads_config"]["grpc_services"][0]["google_grpc"]["target_uri"]
          .Scalar(),
      "control.mesh.svc:18000");
  EXPECT_TRUE(bootstrap["dynamic_resources"]["lds_config"]["ads"].IsMap());
  EXPECT_TRUE(bootstrap["dynamic_resources"]["cds_config"]["ads"].IsMap());
}

TEST(InjectorTest, ClusterNameFromLabelsThenWorkload) {
  const auto cluster = [](const std::string& labels, absl::string_view workload) {
    YAML::Node pod =
        load(absl::StrCat("metadata: {labels: ", labels, "}\nspec: {containers: [{name: a}]}"));
    inject(pod, {}, workload);
    return load(bootstrapOf(container(pod["spec"]["initContainers"], "skiff")))["node"]["cluster"]
        .Scalar();
  };
  EXPECT_EQ(cluster("{app.kubernetes.io/name: shop, app: web}", "w"), "shop");
  EXPECT_EQ(cluster("{app: web}", "w"), "web");
  EXPECT_EQ(cluster("{}", "payments"), "payments");
  EXPECT_EQ(cluster("{}", ""), "default");
}

TEST(InjectorTest, OrdinaryContainerWhenAsked) {
  YAML::Node pod = load(kPod);
  pod["spec"]["terminationGracePeriodSeconds"] = intNode(60);
  Options options;
  options.native_sidecar = NativeSidecarMode::Disabled;
  const PodResult result = inject(pod, options);
  EXPECT_FALSE(result.native_sidecar);
  const YAML::Node spec = pod["spec"];
  // The app's init containers run before the capture; skiff is the first container.
  EXPECT_EQ(names(spec["initContainers"]), (std::vector<std::string>{"migrate", "skiff-init"}));
  EXPECT_EQ(names(spec["containers"]), (std::vector<std::string>{"skiff", "app"}));
  const YAML::Node proxy = container(spec["containers"], "skiff");
  EXPECT_FALSE(proxy["restartPolicy"].IsDefined());
  EXPECT_FALSE(proxy["startupProbe"].IsDefined());
  EXPECT_EQ(toJson(proxy["lifecycle"]),
            R"({"postStart":{"exec":{"command":["/usr/local/bin/skiff-ready","--port","15000",)"
            R"("--wait","120"]}},"preStop":{"exec":{"command":["sleep","5"]}}})");
  EXPECT_EQ(proxy["args"][3].Scalar(), "--drain-time-s=55");
  EXPECT_EQ(pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"].Scalar(),
            "app");
  EXPECT_TRUE(absl::StrContains(pod["metadata"]["annotations"]["skiff.io/status"].Scalar(),
                                R"("initContainers":["skiff-init"],"containers":["skiff"])"));
}

TEST(InjectorTest, AutoModeRule) {
  const auto native = [](const std::string& version, const std::string& annotation) {
    YAML::Node pod = load(kPod);
    if (!annotation.empty()) {
      pod["metadata"]["annotations"]["skiff.io/native-sidecar"] = stringNode(annotation);
    }
    Options options;
    options.kubernetes_version = version;
    return inject(pod, options).native_sidecar;
  };
  EXPECT_TRUE(native("", ""));  // unknown: a supported release
  EXPECT_TRUE(native("1.29", ""));
  EXPECT_TRUE(native("v1.33.1", ""));
  EXPECT_FALSE(native("1.28", ""));
  EXPECT_FALSE(native("v1.27.3+k3s1", ""));
  EXPECT_TRUE(native("1.28", "true"));  // the pod's annotation wins
  EXPECT_FALSE(native("", "false"));

  Options forced;
  forced.native_sidecar = NativeSidecarMode::Enabled;
  forced.kubernetes_version = "1.27";
  YAML::Node pod = load(kPod);
  EXPECT_TRUE(inject(pod, forced).native_sidecar);

  EXPECT_FALSE(parseNativeSidecarMode("yes").ok());
  EXPECT_EQ(*parseNativeSidecarMode("false"), NativeSidecarMode::Disabled);
  Options bad;
  bad.kubernetes_version = "2.0";
  EXPECT_FALSE(validateOptions(bad).ok());
}

TEST(InjectorTest, NoCapture) {
  YAML::Node pod = load(kPod);
  Options options;
  options.capture = false;
  inject(pod, options);
  EXPECT_EQ(names(pod["spec"]["initContainers"]), (std::vector<std::string>{"skiff", "migrate"}));
  EXPECT_EQ(names(pod["spec"]["volumes"]), (std::vector<std::string>{"data"}));
  EXPECT_TRUE(absl::StrContains(pod["metadata"]["annotations"]["skiff.io/status"].Scalar(),
                                R"("initContainers":["skiff"],"containers":[],"volumes":[])"));

  // Nothing to add to: no initContainers or volumes keys appear.
  YAML::Node bare = load("spec: {containers: [{name: a}]}");
  options.native_sidecar = NativeSidecarMode::Disabled;
  inject(bare, options);
  EXPECT_FALSE(bare["spec"]["initContainers"].IsDefined());
  EXPECT_FALSE(bare["spec"]["volumes"].IsDefined());
}

TEST(InjectorTest, CaptureExclusions) {
  YAML::Node pod = load(kPod);
  Options options;
  options.exclude_inbound_ports = {9090, 9091};
  options.exclude_outbound_ports = {5432, 6379};
  options.exclude_outbound_cidrs = {"10.0.0.0/8", "fd00::/8"};
  inject(pod, options);
  EXPECT_EQ(toJson(container(pod["spec"]["initContainers"], "skiff-init")["args"]),
            R"(["--outbound-port","15001","--inbound-port","15006","--proxy-uid","1337",)"
            R"("--proxy-ports","15000","--exclude-inbound-ports","9090,9091",)"
            R"("--exclude-outbound-ports","5432,6379",)"
            R"("--exclude-outbound-cidrs","10.0.0.0/8,fd00::/8"])");
}

TEST(InjectorTest, Idempotent) {
  YAML::Node pod = load(kPod);
  inject(pod);
  const YAML::Node once = YAML::Clone(pod);
  const PodResult again = inject(pod);
  EXPECT_EQ(again.outcome, Outcome::AlreadyInjected);
  EXPECT_TRUE(nodesEqual(pod, once));

  // Also with the status annotation lost but the containers there (or a hand-made skiff).
  YAML::Node manual = load("spec: {containers: [{name: app}, {name: skiff}]}");
  const YAML::Node before = YAML::Clone(manual);
  EXPECT_EQ(inject(manual).outcome, Outcome::AlreadyInjected);
  EXPECT_TRUE(nodesEqual(manual, before));
}

TEST(InjectorTest, OptOut) {
  const auto outcome = [](const std::string& metadata) {
    YAML::Node pod =
        load(absl::StrCat("metadata: ", metadata, "\nspec: {containers: [{name: a}]}"));
    const YAML::Node before = YAML::Clone(pod);
    const PodResult result = inject(pod);
    if (result.outcome != Outcome::Injected) {
      EXPECT_TRUE(nodesEqual(pod, before)) << metadata;
    }
    return result.outcome;
  };
  EXPECT_EQ(outcome("{labels: {skiff.io/inject: 'false'}}"), Outcome::Skipped);
  EXPECT_EQ(outcome("{annotations: {skiff.io/inject: 'false'}}"), Outcome::Skipped);
  // The label decides when both are there (it is what the webhook's objectSelector saw).
  EXPECT_EQ(outcome("{labels: {skiff.io/inject: 'true'}, annotations: {skiff.io/inject: 'false'}}"),
            Outcome::Injected);
  EXPECT_EQ(outcome("{annotations: {skiff.io/inject: 'true'}}"), Outcome::Injected);

  YAML::Node host = load("spec: {hostNetwork: true, containers: [{name: a}]}");
  EXPECT_EQ(inject(host).outcome, Outcome::Skipped);
  YAML::Node not_host = load("spec: {hostNetwork: false, containers: [{name: a}]}");
  EXPECT_EQ(inject(not_host).outcome, Outcome::Injected);
}

TEST(InjectorTest, ErrorsLeaveThePodAlone) {
  for (const char* text : {"spec: {containers: []}", "spec: {containers: 3}", "spec: 1",
                           "metadata: [1]\nspec: {containers: [{name: a}]}",
                           "metadata: {annotations: [x]}\nspec: {containers: [{name: a}]}",
                           "spec: {containers: [{name: a}], initContainers: {x: 1}}", "[1]"}) {
    YAML::Node pod = load(text);
    const YAML::Node before = YAML::Clone(pod);
    auto result = injectPod(pod, "w", Options{});
    EXPECT_FALSE(result.ok()) << text;
    EXPECT_TRUE(nodesEqual(pod, before)) << text;
  }
  auto result = injectPod(load("spec: {containers: {a: 1}}"), "w", Options{});
  EXPECT_EQ(result.status().message(), "spec.containers: must be a sequence");
}

TEST(InjectorTest, WorkloadNameForPod) {
  EXPECT_EQ(workloadNameForPod(load("metadata: {name: web-0}")), "web-0");
  EXPECT_EQ(workloadNameForPod(load("metadata: {generateName: batch-}")), "batch");
  EXPECT_EQ(workloadNameForPod(
                load("metadata: {generateName: web-7d9c6b-, labels: {pod-template-hash: 7d9c6b}}")),
            "web");
  EXPECT_EQ(workloadNameForPod(load(R"(
metadata:
  generateName: web-7d9c6b-
  labels: {pod-template-hash: 7d9c6b}
  ownerReferences:
  - {kind: Other, name: nope}
  - {kind: ReplicaSet, name: web-7d9c6b, controller: true}
)")),
            "web");
  EXPECT_EQ(workloadNameForPod(load(R"(
metadata:
  name: db-0
  ownerReferences: [{kind: StatefulSet, name: db, controller: true}]
)")),
            "db");
  EXPECT_EQ(workloadNameForPod(load("spec: {}")), "");
}

}  // namespace
}  // namespace Skiff::Inject
