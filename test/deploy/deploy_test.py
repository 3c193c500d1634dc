"""deploy/ stays usable: the Kustomize layout renders (with kubectl; skipped, saying so, where
kubectl is missing) into what the docs promise, the example's injected manifest is exactly what
skiffctl inject makes of its source, and the config directory in the ConfigMap is valid for
skiff-control.

Run: python3 test/deploy/deploy_test.py (under Bazel: bazel test //test/deploy:deploy_test).
Needs python3-yaml.
"""

import os
import shutil
import subprocess
import sys

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import harness  # noqa: E402
from images_test import repo_root, runfiles_root  # noqa: E402

RECOMMENDED = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/part-of",
               "app.kubernetes.io/managed-by")
ANCHOR = "deploy/base/kustomization.yaml"
REGENERATE = ("skiffctl inject -f deploy/examples/web/web.yaml "
              "-o deploy/examples/web/web.injected.yaml")


def find_binary(*parts):
    path = os.path.join(runfiles_root(), *parts)
    if not os.access(path, os.X_OK):
        raise harness.HarnessError("%s not built" % path)
    return path


def find_kubectl():
    for path in (shutil.which("kubectl"), "/usr/local/bin/kubectl", "/usr/bin/kubectl"):
        if path and os.access(path, os.X_OK):
            return path
    return None


class DeployTest(harness.SkiffTestCase):

    def kustomize(self, directory):
        kubectl = find_kubectl()
        if kubectl is None:
            self.skipTest("kubectl not found: `kubectl kustomize` cannot be checked here")
        # From the source tree itself: Kustomize refuses files reached through symlinks that
        # leave the kustomization's directory, which Bazel's runfiles are.
        env = dict(os.environ, HOME=self.outdir, KUBECONFIG=os.path.join(self.outdir, "none"))
        proc = subprocess.run([kubectl, "kustomize", os.path.join(repo_root(ANCHOR), directory)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                              timeout=120)
        self.assertEqual(proc.returncode, 0, "kubectl kustomize %s failed:\n%s" % (
            directory, proc.stderr.decode("utf-8", "replace")))
        objects = [o for o in yaml.safe_load_all(proc.stdout) if o]
        return {(o["kind"], o["metadata"]["name"]): o for o in objects}

    def assertRecommendedLabels(self, objects):
        for (kind, name), obj in objects.items():
            labels = obj["metadata"].get("labels", {})
            for label in RECOMMENDED:
                self.assertIn(label, labels, "%s %s lacks %s" % (kind, name, label))

    def test_base_renders(self):
        objects = self.kustomize("deploy/base")
        self.assertEqual(sorted(objects), sorted([
            ("Namespace", "skiff-system"), ("ServiceAccount", "skiff-control"),
            ("ConfigMap", "skiff-control-config-default"), ("Service", "skiff-control"),
            ("Deployment", "skiff-control"), ("PodDisruptionBudget", "skiff-control"),
            ("MutatingWebhookConfiguration", "skiff-sidecar-injector")]))
        self.assertRecommendedLabels(objects)
        for (kind, _), obj in objects.items():
            if kind not in ("Namespace", "MutatingWebhookConfiguration"):
                self.assertEqual(obj["metadata"]["namespace"], "skiff-system", kind)

        ports = {p["port"]: p["targetPort"] for p in
                 objects[("Service", "skiff-control")]["spec"]["ports"]}
        self.assertEqual(ports, {18000: "xds", 18001: "admin", 443: "webhook"})
        deployment = objects[("Deployment", "skiff-control")]
        pod = deployment["spec"]["template"]
        container = pod["spec"]["containers"][0]
        self.assertEqual({p["name"]: p["containerPort"] for p in container["ports"]},
                         {"xds": 18000, "admin": 18001, "webhook": 15017})
        self.assertIn("--webhook-address=0.0.0.0:15017", container["args"])
        self.assertEqual(pod["metadata"]["labels"]["skiff.io/inject"], "false")
        self.assertTrue(container["securityContext"]["readOnlyRootFilesystem"])
        self.assertEqual(container["securityContext"]["capabilities"]["drop"], ["ALL"])
        self.assertTrue(pod["spec"]["securityContext"]["runAsNonRoot"])
        self.assertIn("app.kubernetes.io/version", deployment["metadata"]["labels"])
        self.assertEqual(container["image"], "skiff-control:0.1.0")
        # The ConfigMap is the config directory's files, as they are.
        data = objects[("ConfigMap", "skiff-control-config-default")]["data"]
        for name in ("clusters.yaml", "listeners.yaml"):
            with open(os.path.join(runfiles_root(), "deploy", "base", "config", "default",
                                   name)) as f:
                self.assertEqual(data[name], f.read())

        webhook = objects[("MutatingWebhookConfiguration", "skiff-sidecar-injector")]["webhooks"]
        self.assertEqual(len(webhook), 1)
        webhook = webhook[0]
        self.assertEqual(webhook["clientConfig"]["service"], {
            "name": "skiff-control", "namespace": "skiff-system", "path": "/inject", "port": 443})
        self.assertEqual(webhook["admissionReviewVersions"], ["v1"])
        self.assertEqual(webhook["sideEffects"], "None")
        self.assertEqual(webhook["failurePolicy"], "Fail")
        self.assertEqual(webhook["reinvocationPolicy"], "Never")
        self.assertEqual(webhook["timeoutSeconds"], 10)
        self.assertEqual(webhook["namespaceSelector"],
                         {"matchLabels": {"skiff-injection": "enabled"}})
        self.assertEqual(webhook["objectSelector"], {"matchExpressions": [
            {"key": "skiff.io/inject", "operator": "NotIn", "values": ["false"]}]})
        self.assertEqual(webhook["rules"][0]["resources"], ["pods"])
        self.assertEqual(webhook["rules"][0]["operations"], ["CREATE"])
        # skiff-control's own namespace never opts in.
        self.assertNotEqual(objects[("Namespace", "skiff-system")]["metadata"]["labels"].get(
            "skiff-injection"), "enabled")

    def test_example_renders_with_sidecars(self):
        objects = self.kustomize("deploy/examples/web")
        self.assertIn(("MutatingWebhookConfiguration", "skiff-sidecar-injector"), objects)
        self.assertRecommendedLabels(objects)
        for name in ("web", "client"):
            pod = objects[("Deployment", name)]["spec"]["template"]
            init = {c["name"]: c for c in pod["spec"]["initContainers"]}
            self.assertEqual(list(init), ["skiff-init", "skiff"], name)
            self.assertEqual(init["skiff"]["restartPolicy"], "Always")
            self.assertEqual(init["skiff"]["image"], "skiff:0.1.0")
            self.assertEqual(init["skiff-init"]["image"], "skiff-init:0.1.0")
            self.assertIn("skiff.io/status", pod["metadata"]["annotations"])
            # node.cluster is the app's name, so a config group of that name would apply.
            self.assertIn('cluster: "%s"' % name, init["skiff"]["args"][1])

    def test_example_is_what_skiffctl_inject_writes(self):
        source = os.path.join(runfiles_root(), "deploy", "examples", "web", "web.yaml")
        committed = os.path.join(runfiles_root(), "deploy", "examples", "web",
                                 "web.injected.yaml")
        proc = subprocess.run([find_binary("source", "skiffctl", "skiffctl"), "inject", "-f",
                               source], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        with open(committed, "rb") as f:
            expected = f.read()
        if proc.stdout != expected:
            with open(os.path.join(self.outdir, "web.injected.yaml"), "wb") as f:
                f.write(proc.stdout)
        self.assertTrue(proc.stdout == expected,
                        "deploy/examples/web/web.injected.yaml is stale: run `%s`" % REGENERATE)

    def test_config_directory_is_valid(self):
        config = os.path.join(self.outdir, "config")
        shutil.copytree(os.path.join(runfiles_root(), "deploy", "base", "config"), config)
        control = self.start_control(config)
        groups = {g["name"]: g for g in control.get_json("/config")["groups"]}
        self.assertEqual(list(groups), ["default"])
        self.assertEqual(groups["default"]["last_error"], "")
        self.assertEqual(groups["default"]["resources"], 4)


if __name__ == "__main__":
    harness.main()
