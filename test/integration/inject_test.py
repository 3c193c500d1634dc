"""Sidecar injection end to end, with real processes:

  * `skiffctl inject` on a manifest holding every supported kind: each pod template gets skiff,
    untouched documents come back byte for byte, a second run changes nothing, flags, errors;
  * the injected containers work: skiff runs with exactly the injected arguments (the kubelet's
    $(VAR) expansion done here), gets its config from skiff-control as `<pod>.<namespace>` in the
    group named by the app label, and skiff-ready (the probe script) sees it ready; skiff-init
    accepts the injected arguments (--dry-run);
  * skiff-control's admission webhook over real HTTPS (certificate from tools/k8s/webhook-cert,
    the openssl CLI): AdmissionReview v1 in, and the JSON Patch it answers, applied here, gives
    the very pod skiffctl inject writes; opt-outs, re-injection, malformed reviews, certificate
    rotation.

Run: python3 test/integration/inject_test.py [name-substring] (under Bazel:
bazel test //test/integration:inject_test). Needs python3-yaml and openssl.
"""

import base64
import copy
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import (LOOPBACK, Control, SkiffTestCase, connect, echo_handler, free_port,  # noqa: E402
                     recv_exactly, tcp_proxy_listener, static_cluster, write_yaml_atomic,
                     xds_resources)

SERVICE_HOST = "skiff-control.skiff-system.svc"


def runfile(*parts):
    base = os.environ.get("TEST_SRCDIR")
    if base:
        root = os.path.join(base, os.environ.get("TEST_WORKSPACE", "skiff"))
    else:
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
        if parts[0] == "source":
            root = os.path.join(root, "bazel-bin")
    path = os.path.join(root, *parts)
    if not os.path.exists(path):
        raise harness.HarnessError("%s not found (build it first)" % path)
    return path


SKIFFCTL = ("source", "skiffctl", "skiffctl")
SAMPLE = ("test", "integration", "testdata", "inject_sample.yaml")


def split_documents(text):
    """Each document's text, its "---" line included (as skiffctl splits a stream)."""
    docs, current = [], []
    for line in text.splitlines(keepends=True):
        if re.match(r"---(\s|$)", line) and current:
            docs.append("".join(current))
            current = []
        current.append(line)
    if current:
        docs.append("".join(current))
    return docs


def pod_spec_of(obj):
    """The pod template (metadata + spec) of a workload, or the Pod itself."""
    kind = obj["kind"]
    if kind == "Pod":
        return obj
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]
    return obj["spec"]["template"]


def containers_named(pod, name):
    spec = pod["spec"]
    return [c for c in spec.get("initContainers", []) + spec.get("containers", [])
            if c["name"] == name]


def expand(value, env):
    """The kubelet's $(VAR) expansion of container args."""
    return re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), value)


def unescape_token(token):
    return token.replace("~1", "/").replace("~0", "~")


def apply_json_patch(document, patch):
    """RFC 6902 add/remove/replace, as the API server applies a webhook's patch."""
    doc = copy.deepcopy(document)
    for op in patch:
        path = op["path"]
        if path == "":
            assert op["op"] == "replace", op
            doc = copy.deepcopy(op["value"])
            continue
        tokens = [unescape_token(t) for t in path[1:].split("/")]
        parent = doc
        for token in tokens[:-1]:
            parent = parent[int(token)] if isinstance(parent, list) else parent[token]
        last = tokens[-1]
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if op["op"] == "add":
                assert index <= len(parent), op
                parent.insert(index, copy.deepcopy(op["value"]))
            elif op["op"] == "remove":
                del parent[index]
            elif op["op"] == "replace":
                parent[index] = copy.deepcopy(op["value"])
            else:
                raise AssertionError("unexpected op %r" % op)
        else:
            if op["op"] == "remove":
                del parent[last]
            elif op["op"] in ("add", "replace"):
                if op["op"] == "replace":
                    assert last in parent, op
                parent[last] = copy.deepcopy(op["value"])
            else:
                raise AssertionError("unexpected op %r" % op)
    return doc


class InjectTestCase(SkiffTestCase):

    def skiffctl(self, args, stdin=None, expect_rc=0):
        proc = subprocess.run([runfile(*SKIFFCTL)] + list(args), input=stdin,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        if expect_rc is not None:
            self.assertEqual(proc.returncode, expect_rc, "skiffctl %s: rc %d, stderr:\n%s" % (
                " ".join(args), proc.returncode, proc.stderr.decode("utf-8", "replace")))
        return proc

    def inject_text(self, text, *flags):
        return self.skiffctl(["inject", "-f", "-"] + list(flags),
                             stdin=text.encode()).stdout.decode()


class SkiffctlInjectTest(InjectTestCase):

    def setUp(self):
        super().setUp()
        with open(runfile(*SAMPLE)) as f:
            self.sample = f.read()

    def test_every_kind_injected_the_rest_byte_for_byte(self):
        out = self.skiffctl(["inject", "-f", runfile(*SAMPLE)]).stdout.decode()
        before, after = split_documents(self.sample), split_documents(out)
        self.assertEqual(len(before), len(after))
        injected_kinds = []
        for original, result in zip(before, after):
            obj = yaml.safe_load(original)
            name = "%s %s" % (obj["kind"], obj.get("metadata", {}).get("name", ""))
            pods = ([pod_spec_of(i) for i in obj["items"] if i["kind"] == "Deployment"]
                    if obj["kind"] == "List" else
                    [pod_spec_of(obj)] if obj["kind"] in (
                        "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job",
                        "CronJob") else [])
            labels = pods[0].get("metadata", {}).get("labels", {}) if pods else {}
            if not pods or labels.get("skiff.io/inject") == "false":
                self.assertEqual(result, original, "%s must be copied byte for byte" % name)
                continue
            injected_kinds.append(obj["kind"])
            new = yaml.safe_load(result)
            new_pods = ([pod_spec_of(i) for i in new["items"] if i["kind"] == "Deployment"]
                        if new["kind"] == "List" else [pod_spec_of(new)])
            for pod in new_pods:
                self.assertEqual(len(containers_named(pod, "skiff")), 1, name)
                self.assertEqual(len(containers_named(pod, "skiff-init")), 1, name)
                status = json.loads(pod["metadata"]["annotations"]["skiff.io/status"])
                self.assertEqual(status["initContainers"], ["skiff-init", "skiff"])
            # Leading comments and the separator line survive even in a rewritten document.
            self.assertEqual(original.split("apiVersion")[0], result.split("apiVersion")[0])
        self.assertEqual(injected_kinds, ["Pod", "Deployment", "StatefulSet", "DaemonSet",
                                          "ReplicaSet", "Job", "CronJob", "List"])

        # The app's values keep their types and quoting needs.
        web = yaml.safe_load(after[2])
        pod = web["spec"]["template"]
        env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
        self.assertEqual(env, {"FLAG": "true", "MODE": "0755"})
        self.assertEqual(pod["metadata"]["labels"]["version"], "2.0")
        self.assertEqual(pod["metadata"]["annotations"]["team"], "payments/core")
        self.assertEqual([c["name"] for c in pod["spec"]["initContainers"]],
                         ["skiff-init", "skiff", "migrate"])
        skiff = containers_named(pod, "skiff")[0]
        self.assertIn("--drain-time-s=40", skiff["args"])  # 45 s grace minus 5
        self.assertIn('cluster: "web"', skiff["args"][1])

    def test_idempotent_stdin_and_output_file(self):
        once = self.skiffctl(["inject", "-f", runfile(*SAMPLE)]).stdout
        self.assertEqual(self.inject_text(once.decode()).encode(), once)
        self.assertEqual(self.skiffctl(["inject", "-f", "-"], stdin=self.sample.encode()).stdout,
                         once)
        out_file = os.path.join(self.outdir, "out.yaml")
        proc = self.skiffctl(["inject", "-f", runfile(*SAMPLE), "-o", out_file])
        self.assertEqual(proc.stdout, b"")
        with open(out_file, "rb") as f:
            self.assertEqual(f.read(), once)

    def test_flags(self):
        pod_yaml = split_documents(self.sample)[1]
        pod = yaml.safe_load(self.inject_text(
            pod_yaml, "--native-sidecar=false", "--control-plane", "cp.example:18000",
            "--image", "reg.example/skiff:9", "--init-image=reg.example/skiff-init:9",
            "--exclude-outbound-cidrs", "10.0.0.0/8", "--exclude-outbound-ports", "5432"))
        self.assertEqual([c["name"] for c in pod["spec"]["containers"]], ["skiff", "app"])
        self.assertEqual([c["name"] for c in pod["spec"]["initContainers"]], ["skiff-init"])
        skiff = pod["spec"]["containers"][0]
        self.assertEqual(skiff["image"], "reg.example/skiff:9")
        self.assertIn('target_uri: "cp.example:18000"', skiff["args"][1])
        self.assertEqual(skiff["lifecycle"]["preStop"]["exec"]["command"], ["sleep", "5"])
        init = pod["spec"]["initContainers"][0]
        self.assertEqual(init["image"], "reg.example/skiff-init:9")
        self.assertEqual(init["args"][-4:], ["--exclude-outbound-ports", "5432",
                                             "--exclude-outbound-cidrs", "10.0.0.0/8"])
        self.assertEqual(pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"],
                         "app")

        pod = yaml.safe_load(self.inject_text(pod_yaml, "--no-capture"))
        self.assertEqual([c["name"] for c in pod["spec"]["initContainers"]], ["skiff"])
        self.assertNotIn("volumes", pod["spec"])

        old = yaml.safe_load(self.inject_text(pod_yaml, "--kubernetes-version", "1.28"))
        self.assertEqual([c["name"] for c in old["spec"]["containers"]], ["skiff", "app"])

    def test_errors(self):
        broken = self.sample.replace("replicas: 2\n", "replicas: [2\n", 1)
        path = os.path.join(self.outdir, "broken.yaml")
        with open(path, "w") as f:
            f.write(broken)
        proc = self.skiffctl(["inject", "-f", path], expect_rc=1)
        err = proc.stderr.decode()
        self.assertRegex(err, r"document 3 \(%s:\d+:\d+: " % re.escape(path), err)
        self.assertEqual(proc.stdout, b"")

        proc = self.skiffctl(["inject", "-f", "-"], expect_rc=1, stdin=b"kind: Pod\napiVersion: "
                             b"v1\nspec: {containers: 7}\n")
        self.assertIn("document 1 (Pod ): spec.containers: must be a sequence",
                      proc.stderr.decode())
        self.assertIn("No such file", self.skiffctl(
            ["inject", "-f", os.path.join(self.outdir, "missing.yaml")],
            expect_rc=1).stderr.decode())
        for args in (["inject"], ["inject", "-f", "-", "--bogus"],
                     ["inject", "-f", "-", "--native-sidecar=maybe"],
                     ["inject", "-f", "-", "--control-plane", "nohostport"],
                     ["inject", "-f", "-", "--exclude-inbound-ports", "99999"]):
            self.skiffctl(args, stdin=b"", expect_rc=2)
        self.assertIn(b"inject", self.skiffctl(["help"]).stdout)
        self.assertIn(b"--native-sidecar", self.skiffctl(["inject", "--help"]).stdout)


class InjectedContainersTest(InjectTestCase):
    """What the injected containers run works with the real programs."""

    def injected_pod(self, *flags):
        pod_yaml = split_documents(open(runfile(*SAMPLE)).read())[1]  # Pod "single" in "shop"
        return yaml.safe_load(self.inject_text(pod_yaml, *flags))

    def test_skiff_runs_with_the_injected_args(self):
        backend = self.server(echo_handler, name="backend")
        listener_port = free_port()
        config_dir = os.path.join(self.outdir, "config")
        os.makedirs(os.path.join(config_dir, "single"))
        # The app label "single" is node.cluster, so this group is the pod's.
        write_yaml_atomic(os.path.join(config_dir, "single", "all.yaml"), xds_resources(
            listeners=[tcp_proxy_listener("app", listener_port, "backend")],
            clusters=[static_cluster("backend", [backend.port])]))
        os.makedirs(os.path.join(config_dir, "default"))
        control = self.start_control(config_dir)

        pod = self.injected_pod("--control-plane", "%s:%d" % (LOOPBACK, control.xds_port))
        skiff = containers_named(pod, "skiff")[0]
        # The kubelet's part: the env from the downward API, expanded into the args.
        self.assertEqual([e["name"] for e in skiff["env"]],
                         ["POD_NAME", "POD_NAMESPACE", "INSTANCE_IP"])
        env = {"POD_NAME": "single", "POD_NAMESPACE": "shop", "INSTANCE_IP": "10.1.2.3"}
        args = [expand(a, env) for a in skiff["args"]]
        # The pod's admin port is 15000; here it must not collide with anything else.
        admin_port = free_port()
        self.assertEqual(args[0], "--config-yaml")
        self.assertIn("port_value: 15000}", args[1])
        args[1] = args[1].replace("port_value: 15000}", "port_value: %d}" % admin_port)

        rc, out, err = self.run_skiff(["--mode", "validate"] + args, name="validate")
        self.assertEqual(rc, 0, err)
        proxy = harness.Skiff({"admin": {"address": harness.socket_address(admin_port)}},
                              self.outdir, name="injected", extra_args=args)
        self.skiffs.append(proxy)
        proxy.start(wait_ready=True, timeout=30)

        node = control.node("single.shop")
        self.assertIsNotNone(node, control.get_json("/nodes"))
        self.assertEqual(node.get("group"), "single", node)
        with connect(listener_port) as s:
            s.sendall(b"through the injected sidecar")
            self.assertEqual(recv_exactly(s, 28), b"through the injected sidecar")
        status, _, body = proxy.get("/server_info")
        self.assertIn(b"10.1.2.3", body)  # node.metadata from INSTANCE_IP

        # The probes' and the postStart hook's command, against this skiff.
        probe = skiff["readinessProbe"]["exec"]["command"]
        self.assertEqual(probe[0], "/usr/local/bin/skiff-ready")
        script = runfile("deploy", "images", "skiff", "skiff-ready")
        probe_args = [a if a != "15000" else str(admin_port) for a in probe[1:]]
        self.assertEqual(subprocess.run([script] + probe_args, timeout=30).returncode, 0)
        proxy.stop()
        started = time.monotonic()
        self.assertEqual(subprocess.run([script] + probe_args, stderr=subprocess.PIPE,
                                        timeout=30).returncode, 1)
        self.assertLess(time.monotonic() - started, 10)

    def test_skiff_ready_waits(self):
        script = runfile("deploy", "images", "skiff", "skiff-ready")
        admin_port = free_port()
        backend = self.server(echo_handler)
        config, _ = harness.simple_proxy_config([backend.port])
        config["admin"] = {"address": harness.socket_address(admin_port)}
        waiter = subprocess.Popen([script, "--port", str(admin_port), "--wait", "60"],
                                  stderr=subprocess.PIPE)
        time.sleep(1.0)
        self.assertIsNone(waiter.poll(), "skiff-ready must wait while nothing listens")
        self.start_skiff(config)
        self.assertEqual(waiter.wait(timeout=60), 0)
        self.assertEqual(subprocess.run([script, "--port", "x"], stderr=subprocess.PIPE,
                                        timeout=10).returncode, 2)

    def test_skiff_init_accepts_the_injected_args(self):
        pod = self.injected_pod("--exclude-inbound-ports", "9090", "--exclude-outbound-ports",
                                "5432", "--exclude-outbound-cidrs", "169.254.169.254/32")
        init = containers_named(pod, "skiff-init")[0]
        # --dry-run prints the rules instead of applying them; the backend is pinned so nothing
        # is probed.
        proc = subprocess.run([runfile("source", "init", "skiff-init")] + init["args"] +
                              ["--dry-run", "--iptables-mode", "nft", "--ipv6", "on"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        rules = proc.stdout.decode()
        self.assertIn("--to-ports 15001", rules)
        self.assertIn("--to-ports 15006", rules)
        self.assertIn("--uid-owner 1337", rules)
        for excluded in ("15000", "9090", "5432", "169.254.169.254/32"):
            self.assertIn(excluded, rules)


class WebhookControl(Control):
    """skiff-control with its admission webhook on."""

    def __init__(self, config_dir, outdir, tls_dir, webhook_port, extra=(), **kwargs):
        super().__init__(config_dir, outdir, **kwargs)
        self.tls_dir = tls_dir
        self.webhook_port = webhook_port
        self.extra = list(extra)

    def args(self):
        return super().args() + [
            "--webhook-address", "%s:%d" % (LOOPBACK, self.webhook_port),
            "--webhook-cert", os.path.join(self.tls_dir, "tls.crt"),
            "--webhook-key", os.path.join(self.tls_dir, "tls.key")] + self.extra


class WebhookTest(InjectTestCase):

    def make_cert(self, name):
        directory = os.path.join(self.outdir, name)
        proc = subprocess.run([runfile("tools", "k8s", "webhook-cert"), directory],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        return directory

    def start_webhook(self, extra=(), name="control"):
        config_dir = os.path.join(self.outdir, "config")
        os.makedirs(os.path.join(config_dir, "default"), exist_ok=True)
        control = WebhookControl(config_dir, self.outdir, self.tls, free_port(), extra=extra,
                                 name=name)
        self.controls.append(control)
        return control.start()

    def setUp(self):
        super().setUp()
        self.tls = self.make_cert("tls")
        self.control = self.start_webhook()
        with open(runfile(*SAMPLE)) as f:
            self.sample = f.read()

    def request(self, method, path, body=b"", content_type="application/json", control=None,
                ca=None, port=None, client_cert=None):
        """An HTTPS request verified against the CA, for the Service's DNS name (as the API
        server checks it); `client_cert` a (cert, key) pair to present."""
        context = ssl.create_default_context(cafile=ca or os.path.join(self.tls, "ca.crt"))
        if client_cert:
            context.load_cert_chain(*client_cert)
        port = port or (control or self.control).webhook_port
        with socket.create_connection((LOOPBACK, port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=SERVICE_HOST) as sock:
                head = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % SERVICE_HOST,
                        "Content-Length: %d" % len(body), "Connection: close"]
                if content_type:
                    head.append("Content-Type: %s" % content_type)
                sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
                response = http.client.HTTPResponse(sock)
                response.begin()
                return response.status, response.read()

    def review(self, pod, operation="CREATE", uid="7f0b2c1e-0000-4000-8000-000000000001",
               control=None):
        body = json.dumps({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": uid,
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
                "requestResource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": "shop", "operation": operation,
                "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
                "object": pod, "oldObject": None, "dryRun": False,
                "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}}})
        status, data = self.request("POST", "/inject", body.encode(), control=control)
        self.assertEqual(status, 200, data)
        reply = json.loads(data)
        self.assertEqual((reply["apiVersion"], reply["kind"]),
                         ("admission.k8s.io/v1", "AdmissionReview"))
        response = reply["response"]
        self.assertEqual(response["uid"], uid)
        self.assertIs(response["allowed"], True)
        if "patch" not in response:
            self.assertNotIn("patchType", response)
            return None
        self.assertEqual(response["patchType"], "JSONPatch")
        return json.loads(base64.b64decode(response["patch"]))

    def deployment_pod(self):
        """A pod as the ReplicaSet controller creates it from the sample's Deployment "web"."""
        deployment = yaml.safe_load(split_documents(self.sample)[2])
        template = copy.deepcopy(deployment["spec"]["template"])
        metadata = template["metadata"]
        metadata["labels"]["pod-template-hash"] = "5d9c7b8f4"
        metadata.update({"generateName": "web-5d9c7b8f4-", "namespace": "shop",
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": "web-5d9c7b8f4", "controller": True,
                                              "blockOwnerDeletion": True, "uid": "u"}]})
        return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
                "spec": template["spec"]}

    def test_patch_gives_what_skiffctl_inject_writes(self):
        for flags, webhook_flags in (([], []),
                                     (["--native-sidecar=false", "--no-capture"],
                                      ["--inject-native-sidecar=false", "--inject-no-capture"])):
            control = self.control if not flags else self.start_webhook(webhook_flags,
                                                                        name="ordinary")
            # A Pod manifest: the patched pod equals skiffctl inject's output of it.
            pod = yaml.safe_load(split_documents(self.sample)[1])
            patched = apply_json_patch(pod, self.review(pod, control=control))
            expected = yaml.safe_load(self.inject_text(split_documents(self.sample)[1], *flags))
            self.assertEqual(patched, expected, flags)

            # A pod the ReplicaSet controller creates: its spec and annotations are those of
            # the injected Deployment's template.
            pod = self.deployment_pod()
            patched = apply_json_patch(pod, self.review(pod, control=control))
            injected = yaml.safe_load(self.inject_text(split_documents(self.sample)[2], *flags))
            template = injected["spec"]["template"]
            self.assertEqual(patched["spec"], template["spec"], flags)
            self.assertEqual(patched["metadata"]["annotations"],
                             template["metadata"]["annotations"], flags)
        stats = self.control.stats()
        self.assertEqual(stats.get("control_plane.webhook.injected"), 2)

    def test_no_patch_for_opted_out_and_injected_pods(self):
        pod = yaml.safe_load(split_documents(self.sample)[1])
        annotated = copy.deepcopy(pod)
        annotated["metadata"]["annotations"] = {"skiff.io/inject": "false"}
        self.assertIsNone(self.review(annotated))
        labelled = copy.deepcopy(pod)
        labelled["metadata"]["labels"]["skiff.io/inject"] = "false"
        self.assertIsNone(self.review(labelled))
        # Already injected (by skiffctl, or by an earlier call): a second call changes nothing.
        injected = yaml.safe_load(self.inject_text(split_documents(self.sample)[1]))
        self.assertIsNone(self.review(injected))
        patched = apply_json_patch(pod, self.review(pod))
        self.assertIsNone(self.review(patched))
        # Updates are not injected.
        self.assertIsNone(self.review(pod, operation="UPDATE"))
        host = copy.deepcopy(pod)
        host["spec"]["hostNetwork"] = True
        self.assertIsNone(self.review(host))

    def test_bad_requests(self):
        status, body = self.request("POST", "/inject", b"{not json")
        self.assertEqual(status, 400)
        self.assertIn(b"invalid JSON", body)
        status, body = self.request("POST", "/inject", json.dumps(
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
             "request": {"operation": "CREATE"}}).encode())
        self.assertEqual((status, body), (400, b"request.uid: missing\n"))
        status, body = self.request("POST", "/inject", json.dumps(
            {"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview"}).encode())
        self.assertEqual(status, 400)
        self.assertIn(b"admission.k8s.io/v1", body)
        self.assertEqual(self.request("POST", "/inject", b"{}", content_type="text/plain")[0], 415)
        self.assertEqual(self.request("GET", "/inject")[0], 405)
        self.assertEqual(self.request("POST", "/other", b"{}")[0], 404)
        self.assertEqual(self.request("POST", "/inject/", b"[]")[0], 400)
        self.assertEqual(self.control.stats().get("control_plane.webhook.rejected"), 7)
        # Plain HTTP gets no answer (the handshake fails), and the server keeps serving.
        with socket.create_connection((LOOPBACK, self.control.webhook_port), timeout=10) as s:
            s.sendall(b"POST /inject HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            s.settimeout(10)
            try:
                data = s.recv(100)
            except OSError:
                data = b""
            self.assertFalse(data.startswith(b"HTTP/"), data)
        self.assertIsNone(self.review({"metadata": {"name": "p", "labels": {
            "skiff.io/inject": "false"}}, "spec": {"containers": [{"name": "a"}]}}))

    def test_wrong_certificate_setup_fails_at_start(self):
        other = self.make_cert("other")
        mismatched = os.path.join(self.outdir, "mismatched")
        os.makedirs(mismatched)
        shutil.copy(os.path.join(self.tls, "tls.crt"), mismatched)
        shutil.copy(os.path.join(other, "tls.key"), mismatched)
        control = WebhookControl(os.path.join(self.outdir, "config"), self.outdir, mismatched,
                                 free_port(), name="mismatched")
        self.controls.append(control)
        with self.assertRaises(harness.HarnessError):
            control.start(timeout=10)
        self.assertIn("cannot start: webhook key", control.stderr_text())
        self.assertIn("key values mismatch", control.stderr_text())

    def test_client_certificate_required_with_client_ca(self):
        control = self.start_webhook(
            ["--webhook-client-ca", os.path.join(self.tls, "ca.crt")], name="mtls")
        api_server = (os.path.join(self.tls, "client.crt"), os.path.join(self.tls, "client.key"))
        status, _ = self.request("POST", "/inject", b"[]", control=control,
                                 client_cert=api_server)
        self.assertEqual(status, 400)  # through the handshake: the review itself is bad
        # No certificate, or one another CA signed: the handshake fails, nothing is reviewed.
        other = self.make_cert("other-client")
        for cert in (None, (os.path.join(other, "client.crt"), os.path.join(other, "client.key"))):
            with self.assertRaises((ssl.SSLError, ConnectionError)):
                self.request("POST", "/inject", b"[]", control=control, client_cert=cert)
        self.assertEqual(control.stats().get("control_plane.webhook.rejected"), 1)
        self.assertEqual(control.stats().get("control_plane.webhook.requests"), 1)
        # Without the flag, no certificate is asked for (the default above).
        self.assertEqual(self.request("POST", "/inject", b"[]")[0], 400)

    def test_rotated_certificate_is_picked_up(self):
        pod = yaml.safe_load(split_documents(self.sample)[1])
        self.assertIsNotNone(self.review(pod))
        new = self.make_cert("rotated")
        # As a Secret volume update does: new files appear, then replace the old ones at once.
        for name in ("tls.key", "tls.crt"):
            shutil.copy(os.path.join(new, name), os.path.join(self.tls, name + ".new"))
        for name in ("tls.key", "tls.crt"):
            os.rename(os.path.join(self.tls, name + ".new"), os.path.join(self.tls, name))
        status, _ = self.request("POST", "/inject", b"[]", ca=os.path.join(new, "ca.crt"))
        self.assertEqual(status, 400)
        with self.assertRaises(ssl.SSLError):
            self.request("POST", "/inject", b"[]")  # the old CA no longer verifies it
        self.assertEqual(self.control.stats().get("control_plane.webhook.tls_reloads"), 1)


if __name__ == "__main__":
    harness.main()
