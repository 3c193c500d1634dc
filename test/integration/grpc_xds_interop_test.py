"""Interop with an xDS client the project did not write: gRPC C++'s own (Debian's libgrpc++).

A gRPC client dials `xds:///echo`; gRPC's xDS resolver reads the bootstrap file named by
GRPC_XDS_BOOTSTRAP, opens an ADS stream to skiff-control and follows listener `echo` (an API
listener whose HTTP connection manager names route configuration `echo-routes` over ADS) to the
route, the EDS cluster and its endpoints. Two test echo backends answer with their names, so the
client's output shows where each RPC went. Editing the config directory, or applying a route
configuration with skiffctl (skiff-control's admin API), moves the traffic.

    bazel test //test/integration:grpc_xds_interop_test
    SKIFF_CONTROL_BIN=... python3 test/integration/grpc_xds_interop_test.py [name-substring]
"""

import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import LOOPBACK, free_port  # noqa: E402

NODE_ID = "grpc-client-1"
ROUTER = {"name": "envoy.filters.http.router",
          "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3."
                                    "Router"}}
HCM_TYPE = ("type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
            "HttpConnectionManager")
TYPES = ["type.googleapis.com/envoy.config.listener.v3.Listener",
         "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
         "type.googleapis.com/envoy.config.cluster.v3.Cluster",
         "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"]


def find_binary(relative):
    """A test binary from the runfiles tree (under Bazel), else the workspace's bazel-bin."""
    candidates = []
    for var in ("TEST_SRCDIR", "RUNFILES_DIR"):
        base = os.environ.get(var)
        if base:
            candidates.append(os.path.join(base, os.environ.get("TEST_WORKSPACE", "skiff"),
                                           relative))
    here = os.path.dirname(os.path.abspath(__file__))
    candidates.append(os.path.join(here, "..", "..", "bazel-bin", relative))
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return os.path.abspath(path)
    raise harness.HarnessError("%s not found; tried %s" % (relative, ", ".join(candidates)))


def api_listener(name, route_config_name):
    return {"@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
            "name": name,
            "api_listener": {"api_listener": {
                "@type": HCM_TYPE,
                "rds": {"route_config_name": route_config_name, "config_source": {"ads": {}}},
                "http_filters": [ROUTER]}}}


def route_config(name, cluster):
    return {"@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
            "name": name,
            "virtual_hosts": [{"name": "all", "domains": ["*"],
                               "routes": [{"match": {"prefix": ""},
                                           "route": {"cluster": cluster}}]}]}


def eds_cluster(name):
    return {"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
            "name": name, "connect_timeout": "1s", "type": "EDS", "lb_policy": "ROUND_ROBIN",
            "eds_cluster_config": {"eds_config": {"ads": {}}}}


def endpoints(cluster, port):
    # gRPC gives a locality without load_balancing_weight no traffic at all.
    return {"@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
            "cluster_name": cluster,
            "endpoints": [{"locality": {"region": "local", "zone": "a"},
                           "load_balancing_weight": 1,
                           "lb_endpoints": [{"endpoint": {"address": {"socket_address": {
                               "address": LOOPBACK, "port_value": port}}}}]}]}


class EchoClient:
    """xds_echo_client as a process; a thread collects its one-line-per-RPC output."""

    def __init__(self, bootstrap_path, outdir, target="xds:///echo"):
        env = dict(os.environ, GRPC_XDS_BOOTSTRAP=bootstrap_path)
        self.stderr_path = os.path.join(outdir, "client.stderr")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [find_binary("test/integration/grpc_xds/xds_echo_client"), "--target", target,
             "--interval_ms", "10"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr, env=env)
        harness._register(self.proc)
        self.lines = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for raw in self.proc.stdout:
            with self._lock:
                self.lines.append(raw.decode("utf-8", "replace").strip())

    def snapshot(self):
        with self._lock:
            return list(self.lines)

    def wait_for(self, line, timeout, start=0):
        """Index of the first `line` at or after `start`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.snapshot()
            for i in range(start, len(lines)):
                if lines[i] == line:
                    return i
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError("client never printed %r within %.0fs; last lines: %r; stderr: %s"
                             % (line, timeout, self.snapshot()[-5:], self.stderr_tail()))

    def wait_count(self, n, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.snapshot()) < n:
            time.sleep(0.02)
        return self.snapshot()

    def stderr_tail(self, lines=20):
        try:
            with open(self.stderr_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self._thread.join(timeout=10)
        self._stderr.close()


class GrpcXdsInteropTest(harness.SkiffTestCase):

    def setUp(self):
        super().setUp()
        self.config_dir = os.path.join(self.outdir, "config")
        # The client's group is named after its node id.
        self.group_dir = os.path.join(self.config_dir, NODE_ID)
        os.makedirs(self.group_dir)
        self.backends = {}
        for name in ("backend-a", "backend-b"):
            self.backends[name] = self.start_backend(name)
        self.client = None

    def tearDown(self):
        if self.client is not None:
            self.client.stop()

    def start_backend(self, name):
        port = free_port()
        log = open(os.path.join(self.outdir, "%s.log" % name), "wb")
        proc = subprocess.Popen(
            [find_binary("test/integration/grpc_xds/echo_server"), "--port", str(port),
             "--name", name], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        harness._register(proc)
        self.addCleanup(log.close)
        self.addCleanup(proc.kill)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with harness.connect(port, timeout=1.0):
                    return port
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError("%s exited with %d" % (name, proc.returncode))
                time.sleep(0.02)
        raise AssertionError("%s is not listening on %d" % (name, port))

    def write(self, filename, resources):
        harness.write_yaml_atomic(os.path.join(self.group_dir, filename),
                                  {"resources": resources})

    def start_client(self, control):
        bootstrap = {
            "xds_servers": [{"server_uri": "%s:%d" % (LOOPBACK, control.xds_port),
                             "channel_creds": [{"type": "insecure"}],
                             "server_features": ["xds_v3"]}],
            "node": {"id": NODE_ID, "cluster": "echo-clients",
                     "locality": {"region": "local", "zone": "a"}},
        }
        path = os.path.join(self.outdir, "bootstrap.json")
        with open(path, "w") as f:
            json.dump(bootstrap, f)
        self.client = EchoClient(path, self.outdir)
        return self.client

    def wait_acked(self, control, timeout=10.0):
        """Waits until the client's ADS stream has ACKed the current version of all four types;
        returns its /nodes entry."""
        deadline = time.monotonic() + timeout
        node = None
        while time.monotonic() < deadline:
            node = control.node(NODE_ID)
            if node is not None and all(
                    t in node["types"] and node["types"][t]["version_acked"]
                    and node["types"][t]["version_acked"] == node["types"][t]["version_sent"]
                    for t in TYPES):
                return node
            time.sleep(0.05)
        raise AssertionError("not every type ACKed: %r" % node)

    def assert_moves(self, client, start, old, new, timeout=20.0):
        """After `start`, RPCs reach `new` and stay there; no RPC failed on the way."""
        first_new = client.wait_for("ok %s" % new, timeout, start=start)
        lines = client.wait_count(first_new + 50, timeout)
        after = lines[first_new:first_new + 50]
        self.assertEqual(after, ["ok %s" % new] * len(after), "traffic went back to %s" % old)
        failures = [line for line in lines[start:] if not line.startswith("ok ")]
        self.assertEqual(failures, [], "RPCs failed while the traffic moved")

    def test_endpoint_edit_moves_rpcs(self):
        a, b = self.backends["backend-a"], self.backends["backend-b"]
        self.write("listener.yaml", [api_listener("echo", "echo-routes")])
        self.write("routes.yaml", [route_config("echo-routes", "echo-backends")])
        self.write("cluster.yaml", [eds_cluster("echo-backends")])
        self.write("endpoints.yaml", [endpoints("echo-backends", a)])
        control = self.start_control(self.config_dir)
        client = self.start_client(control)

        first = client.wait_for("ok backend-a", 30)
        node = self.wait_acked(control)
        self.assertEqual(node["group"], NODE_ID)
        self.assertEqual(node["service"], "ads")
        for t in TYPES:
            self.assertEqual(node["types"][t]["last_nack"], "", t)
        self.assertEqual(node["types"][TYPES[0]]["resource_names"], ["echo"])
        failures = [line for line in client.snapshot()[first:] if not line.startswith("ok ")]
        self.assertEqual(failures, [])

        # Edit the endpoints file only: the ClusterLoadAssignment now points at backend B.
        start = len(client.snapshot())
        self.write("endpoints.yaml", [endpoints("echo-backends", b)])
        self.assert_moves(client, start, "backend-a", "backend-b")
        self.wait_acked(control)
        stats = control.stats()
        self.assertEqual(stats.get("control_plane.ads.nacks", 0), 0)
        # Only the edited file was parsed again (4 files at start, then 1).
        self.assertEqual(stats.get("control_plane.config.files_parsed"), 5)

    def test_route_edit_moves_rpcs_and_removes_the_old_cluster(self):
        a, b = self.backends["backend-a"], self.backends["backend-b"]
        self.write("listener.yaml", [api_listener("echo", "echo-routes")])
        self.write("routes.yaml", [route_config("echo-routes", "blue")])
        self.write("clusters.yaml", [eds_cluster("blue"), endpoints("blue", a)])
        control = self.start_control(self.config_dir)
        client = self.start_client(control)
        client.wait_for("ok backend-a", 30)
        self.wait_acked(control)

        # One atomic edit of two files is two events; write the new cluster first, then the
        # route that uses it and drops the old one (each step a valid group).
        self.write("clusters.yaml", [eds_cluster("blue"), endpoints("blue", a),
                                     eds_cluster("green"), endpoints("green", b)])
        start = len(client.snapshot())
        self.write("routes.yaml", [route_config("echo-routes", "green")])
        self.assert_moves(client, start, "backend-a", "backend-b")
        # Now drop the old cluster.
        self.write("clusters.yaml", [eds_cluster("green"), endpoints("green", b)])
        node = self.wait_acked(control)
        start = len(client.snapshot())
        lines = client.wait_count(start + 50, 20)
        self.assertEqual(lines[start:start + 50], ["ok backend-b"] * 50)
        self.assertEqual(control.stats().get("control_plane.ads.nacks", 0), 0)
        self.assertEqual(node["types"][TYPES[1]]["last_nack"], "")

    def test_invalid_edit_is_rejected_and_rpcs_keep_flowing(self):
        a = self.backends["backend-a"]
        self.write("listener.yaml", [api_listener("echo", "echo-routes")])
        self.write("routes.yaml", [route_config("echo-routes", "echo-backends")])
        self.write("cluster.yaml", [eds_cluster("echo-backends"), endpoints("echo-backends", a)])
        control = self.start_control(self.config_dir)
        client = self.start_client(control)
        client.wait_for("ok backend-a", 30)
        before = self.wait_acked(control)

        # The route now names a cluster the group lacks: rejected, nothing pushed.
        self.write("routes.yaml", [route_config("echo-routes", "nope")])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            groups = control.get_json("/config")["groups"]
            error = [g["last_error"] for g in groups if g["name"] == NODE_ID][0]
            if error:
                break
            time.sleep(0.05)
        self.assertIn("routes.yaml:2: route configuration \"echo-routes\".virtual_hosts[0]."
                      "routes[0].route.cluster: unknown cluster \"nope\"", error)
        start = len(client.snapshot())
        lines = client.wait_count(start + 30, 20)
        self.assertEqual(lines[start:start + 30], ["ok backend-a"] * 30)
        after = control.node(NODE_ID)
        self.assertEqual(after["types"][TYPES[1]]["version_sent"],
                         before["types"][TYPES[1]]["version_sent"])


    def test_applied_route_is_checked_like_a_file_and_served_over_rds(self):
        """`skiffctl validate` (offline) and `skiffctl apply` (POST /apply) reject a route
        configuration whose route names an unknown cluster and accept a valid one; the applied
        one overrides the file's, reaches gRPC's xDS client over RDS and moves the RPCs; deleting
        it serves the file's again."""
        a, b = self.backends["backend-a"], self.backends["backend-b"]
        self.write("listener.yaml", [api_listener("echo", "echo-routes")])
        self.write("routes.yaml", [route_config("echo-routes", "blue")])
        self.write("clusters.yaml", [eds_cluster("blue"), endpoints("blue", a),
                                     eds_cluster("green"), endpoints("green", b)])
        token_file = os.path.join(self.outdir, "admin-token")
        with open(token_file, "w") as f:
            f.write("interop-test-token-0123456789\n")
        control = self.start_control(self.config_dir, token_file=token_file)
        client = self.start_client(control)
        client.wait_for("ok backend-a", 30)
        before = self.wait_acked(control)
        api = ["--control-plane", control.url(), "--token-file", token_file, "--group", NODE_ID]
        clusters_file = os.path.join(self.group_dir, "clusters.yaml")

        bad = os.path.join(self.outdir, "bad-routes.yaml")
        harness.write_yaml_atomic(bad, {"resources": [route_config("echo-routes", "nope")]})
        reason = ("%s:2: route configuration \"echo-routes\".virtual_hosts[0].routes[0].route."
                  "cluster: unknown cluster \"nope\"" % bad)
        rc, out, err = self.run_skiffctl(["validate", "-f", clusters_file, "-f", bad])
        self.assertEqual(rc, 1, out + err)
        self.assertIn(reason, err)
        rc, out, err = self.run_skiffctl(["apply", "-f", bad] + api)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("nothing was applied", err)
        self.assertIn(reason, err)
        after = control.node(NODE_ID)
        self.assertEqual(after["types"][TYPES[1]]["version_sent"],
                         before["types"][TYPES[1]]["version_sent"])

        good = os.path.join(self.outdir, "good-routes.yaml")
        harness.write_yaml_atomic(good, {"resources": [route_config("echo-routes", "green")]})
        rc, out, err = self.run_skiffctl(["validate", "-f", clusters_file, "-f", good])
        self.assertEqual(rc, 0, out + err)
        self.assertIn("valid: 0 listeners, 2 clusters, 2 endpoints, 1 routes", out)
        start = len(client.snapshot())
        rc, out, err = self.run_skiffctl(["apply", "-f", good] + api)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("route/echo-routes configured (overrides %s"
                      % os.path.join(self.group_dir, "routes.yaml:2"), out)
        self.assert_moves(client, start, "backend-a", "backend-b")
        node = self.wait_acked(control)
        self.assertNotEqual(node["types"][TYPES[1]]["version_acked"],
                            before["types"][TYPES[1]]["version_acked"])
        self.assertEqual(node["types"][TYPES[1]]["last_nack"], "")
        rc, out, err = self.run_skiffctl(["get", "routes"] + api)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("applied (%s:2)" % good, out)

        # Deleting the applied route configuration serves the file's again.
        start = len(client.snapshot())
        rc, out, err = self.run_skiffctl(["delete", "route", "echo-routes"] + api)
        self.assertEqual(rc, 0, out + err)
        self.assert_moves(client, start, "backend-b", "backend-a")
        self.assertEqual(control.stats().get("control_plane.ads.nacks", 0), 0)

if __name__ == "__main__":
    harness.main()
