"""Transparent capture end to end, in network namespaces (root only; skipped with the reason
otherwise):

    "pod" namespace                                        "service" namespace
    app (this test, uid 0) --plain connect()-->            backend a  10.250.0.3:8080
      iptables (skiff-init) -> skiff :15001 (uid 1337)     backend b  10.250.0.4:8080
      skiff-control on 127.0.0.1 (xDS)                     (and [fd25:250::3]:8080 over IPv6)
    app server :9090 <-- skiff :15006 <-- iptables <-- client
          10.250.0.2  <=================== veth ===================>  10.250.0.3, .4

The app connects to a service address as if there were no proxy; skiff-init's rules send it to
skiff's capture listener (use_original_dst), which passes it through (ORIGINAL_DST cluster) or
hands it to the listener pushed for that address through skiff-control, live (a TCP proxy, or
an HTTP connection manager routing to an ORIGINAL_DST cluster: HTTP backends on port 8090). Inbound
connections reach the app through skiff's inbound listener, from 127.0.0.6.

Every address used exists only inside the two namespaces (named with this process's pid), which
are deleted at the end, pass or fail, with everything in them (veth pair, rules, processes).

    bazel test //test/integration:capture_test
    SKIFF_BIN=bazel-bin/source/exe/skiff SKIFF_CONTROL_BIN=bazel-bin/source/control/skiff-control \\
        python3 test/integration/capture_test.py [name-substring]
"""

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import netns  # noqa: E402
from skiff_init_test import find_skiff_init  # noqa: E402

PROXY_UID = 1337
POD_IP, SVC_A_IP, SVC_B_IP = "10.250.0.2", "10.250.0.3", "10.250.0.4"
POD_IP6, SVC_A_IP6 = "fd25:250::2", "fd25:250::3"
SERVICE_PORT = 8080
EXCLUDED_PORT = 8081  # skiff-init --exclude-outbound-ports: never captured
HTTP_PORT = 8090  # HTTP backends a and b, reached through an HTTP listener and ORIGINAL_DST
APP_PORT = 9090
ADMIN_PORT, XDS_PORT, CONTROL_ADMIN_PORT = 15000, 15010, 15011
NODE_ID = "app.default"

HCM_NAME = "envoy.filters.network.http_connection_manager"
HCM_TYPE = ("type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
            "HttpConnectionManager")
ORIGINAL_DST_TYPE = ("type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3."
                     "OriginalDst")


def wait_for(predicate, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (OSError, AssertionError) as e:
            last = e
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError("%s: not within %.1fs (last: %r)" % (what, timeout, last))


class NamedServer:
    """A server on a socket created inside a namespace: says its name, then echoes. Records the
    peer address of every connection."""

    def __init__(self, ns, name, ip, port):
        self.name = name
        self.peers = []
        self.errors = []
        self._stop = threading.Event()
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET

        def listen():
            s = socket.socket(family, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((ip, port))
            s.listen(64)
            s.settimeout(0.1)
            return s

        self.sock = ns.call(listen)
        self._thread = threading.Thread(target=self._accept_loop, daemon=True, name=name)
        self._thread.start()

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.peers.append(peer[0])
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            conn.settimeout(30)
            conn.sendall(("%s\n" % self.name).encode())
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
        except OSError as e:
            self.errors.append(repr(e))
        finally:
            conn.close()

    def stop(self):
        self._stop.set()
        self.sock.close()
        self._thread.join(timeout=5)


class HttpNamedServer(NamedServer):
    """An HTTP/1.1 server in a namespace: answers every GET with its name, keeping the
    connection alive. `peers` has one entry per connection accepted."""

    def _serve(self, conn):
        try:
            conn.settimeout(30)
            pending = b""
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                pending += data
                while b"\r\n\r\n" in pending:
                    _, pending = pending.split(b"\r\n\r\n", 1)  # GETs only: no body
                    body = ("%s\n" % self.name).encode()
                    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body)
                                 + body)
        except OSError as e:
            self.errors.append(repr(e))
        finally:
            conn.close()


class AppConnection:
    """The app's side of one connection: a plain socket made in the pod namespace."""

    def __init__(self, ns, ip, port, timeout=5.0):
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET

        def connect():
            s = socket.socket(family, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect((ip, port))
            return s

        self.sock = ns.call(connect)

    def line(self):
        out = bytearray()
        while not out.endswith(b"\n"):
            chunk = self.sock.recv(1)
            if not chunk:
                break
            out += chunk
        return out.decode().strip()

    def get(self, host):
        """Sends GET / and returns (status, body) of the response."""
        self.sock.sendall(("GET / HTTP/1.1\r\nhost: %s\r\n\r\n" % host).encode())
        head = bytearray()
        while not head.endswith(b"\r\n\r\n"):
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("EOF before a response")
            head += chunk
        lines = head.decode().split("\r\n")
        status = int(lines[0].split(" ")[1])
        length = 0
        for line in lines[1:]:
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        body = bytearray()
        while len(body) < length:
            chunk = self.sock.recv(length - len(body))
            if not chunk:
                break
            body += chunk
        return status, body.decode().strip()

    def echo(self, text):
        self.sock.sendall(text.encode() + b"\n")
        return self.line()

    def close(self):
        self.sock.close()


def ask(ns, ip, port):
    """Connects, reads the greeting, closes. Returns who answered."""
    c = AppConnection(ns, ip, port)
    try:
        return c.line()
    finally:
        c.close()


def tcp_proxy_chain(stat_prefix, cluster):
    return [{"filters": [{"name": harness.TCP_PROXY_NAME, "typed_config": {
        "@type": harness.TCP_PROXY_TYPE, "stat_prefix": stat_prefix, "cluster": cluster}}]}]


def original_dst_cluster(name, source=None):
    cluster = {"name": name, "type": "ORIGINAL_DST", "lb_policy": "CLUSTER_PROVIDED",
               "connect_timeout": "2s"}
    if source:
        cluster["upstream_bind_config"] = {"source_address": {"address": source,
                                                              "port_value": 0}}
    return cluster


def sidecar_bootstrap(ipv6):
    """Istio's sidecar shape: virtualOutbound (use_original_dst, passthrough when no listener
    matches) and virtualInbound (original_dst filter, to the app from 127.0.0.6), static; the
    service listeners come from skiff-control."""
    listeners = [
        {"name": "virtualOutbound", "address": harness.socket_address(15001, "0.0.0.0"),
         "use_original_dst": True,
         "filter_chains": tcp_proxy_chain("PassthroughCluster", "PassthroughCluster")},
        {"name": "virtualInbound", "address": harness.socket_address(15006, "0.0.0.0"),
         "listener_filters": [{"name": "envoy.filters.listener.original_dst",
                               "typed_config": {"@type": ORIGINAL_DST_TYPE}}],
         "filter_chains": tcp_proxy_chain("InboundPassthroughClusterIpv4",
                                          "InboundPassthroughClusterIpv4")},
    ]
    clusters = [original_dst_cluster("PassthroughCluster"),
                original_dst_cluster("InboundPassthroughClusterIpv4", "127.0.0.6"),
                harness.static_cluster("xds_cluster", [XDS_PORT])]
    if ipv6:
        listeners += [
            {"name": "virtualOutbound6", "address": harness.socket_address(15001, "::"),
             "use_original_dst": True,
             "filter_chains": tcp_proxy_chain("PassthroughCluster", "PassthroughCluster")},
            {"name": "virtualInbound6", "address": harness.socket_address(15006, "::"),
             "listener_filters": [{"name": "envoy.filters.listener.original_dst"}],
             "filter_chains": tcp_proxy_chain("InboundPassthroughClusterIpv6",
                                              "InboundPassthroughClusterIpv6")}]
        clusters.append(original_dst_cluster("InboundPassthroughClusterIpv6", "::6"))
    config = harness.xds_bootstrap(ADMIN_PORT, XDS_PORT, node_id=NODE_ID)
    config["static_resources"] = {"listeners": listeners, "clusters": clusters}
    return config


class CaptureTest(harness.SkiffTestCase):
    """One pod/service topology for all tests (they run in name order)."""

    ipv6 = False
    skip_reason = None

    @classmethod
    def setUpClass(cls):
        cls.skip_reason = netns.NetnsSupport.check()
        if cls.skip_reason:
            return
        if shutil.which("setpriv") is None:
            cls.skip_reason = "setpriv (util-linux) is not installed"
            return
        cls.ipv6 = netns.NetnsSupport.check(ipv6=True) is None
        cls.outdir_class = os.path.join(harness.output_base(), "CaptureTest")
        os.makedirs(cls.outdir_class, exist_ok=True)
        cls.processes = []
        cls.servers = []
        cls.namespaces = []
        try:
            cls._build()
        except BaseException:
            cls._teardown()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.skip_reason:
            return
        cls._teardown()
        leftovers = [ns.name for ns in cls.namespaces if ns.exists()]
        if leftovers:
            raise AssertionError("network namespaces left behind: %s" % leftovers)

    @classmethod
    def _teardown(cls):
        for proc in cls.processes:
            if proc.poll() is None:
                proc.kill()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        for server in cls.servers:
            server.stop()
        for ns in cls.namespaces:
            ns.delete()
        shutil.rmtree(getattr(cls, "bindir", ""), ignore_errors=True)

    @classmethod
    def _build(cls):
        pod, svc = netns.Netns("pod"), netns.Netns("svc")
        cls.pod, cls.svc = pod, svc
        cls.namespaces += [pod, svc]
        netns.veth(pod, "veth-pod", svc, "veth-svc")
        pod.run(["ip", "addr", "add", POD_IP + "/24", "dev", "veth-pod"])
        for ip in (SVC_A_IP, SVC_B_IP):
            svc.run(["ip", "addr", "add", ip + "/24", "dev", "veth-svc"])
        if cls.ipv6:
            pod.run(["ip", "-6", "addr", "add", POD_IP6 + "/64", "dev", "veth-pod", "nodad"])
            svc.run(["ip", "-6", "addr", "add", SVC_A_IP6 + "/64", "dev", "veth-svc", "nodad"])

        cls.a = cls._server(svc, "a", SVC_A_IP, SERVICE_PORT)
        cls.b = cls._server(svc, "b", SVC_B_IP, SERVICE_PORT)
        cls.a_excluded = cls._server(svc, "a-excluded", SVC_A_IP, EXCLUDED_PORT)
        cls.http_a = cls._server(svc, "http-a", SVC_A_IP, HTTP_PORT, HttpNamedServer)
        cls.http_b = cls._server(svc, "http-b", SVC_B_IP, HTTP_PORT, HttpNamedServer)
        cls.app = cls._server(pod, "app", "0.0.0.0", APP_PORT)
        if cls.ipv6:
            cls.a6 = cls._server(svc, "a6", SVC_A_IP6, SERVICE_PORT)
            cls.app6 = cls._server(pod, "app6", POD_IP6, APP_PORT)

        # The rules, as the pod's init container would write them.
        rc = pod.run(["bash", find_skiff_init(), "--ipv6", "on" if cls.ipv6 else "off",
                      "--exclude-outbound-ports", str(EXCLUDED_PORT)], check=False)
        with open(os.path.join(cls.outdir_class, "skiff-init.stderr"), "w") as f:
            f.write(rc.stderr)
        if rc.returncode != 0:
            raise harness.HarnessError("skiff-init failed: %s" % rc.stderr)

        # skiff-control (root) and skiff (uid 1337) both run in the pod namespace. uid 1337 must
        # be able to read skiff and its config, so both go to a world-readable directory.
        cls.bindir = tempfile.mkdtemp(prefix="skiff-capture-")
        os.chmod(cls.bindir, 0o755)
        cls.config_dir = os.path.join(cls.bindir, "xds")
        os.makedirs(os.path.join(cls.config_dir, "default"))
        cls.publish([], [cls.cluster_b()])
        cls.processes.append(cls._start(pod, "control", [
            harness.find_control(), "--config-dir", cls.config_dir,
            "--xds-address", "127.0.0.1:%d" % XDS_PORT,
            "--admin-address", "127.0.0.1:%d" % CONTROL_ADMIN_PORT]))
        skiff = os.path.join(cls.bindir, "skiff")
        shutil.copy(harness.find_skiff(), skiff)
        os.chmod(skiff, 0o755)
        config = os.path.join(cls.bindir, "sidecar.yaml")
        with open(config, "w") as f:
            f.write(harness.to_yaml(sidecar_bootstrap(cls.ipv6)))
        os.chmod(config, 0o644)
        cls.skiff = cls._start(pod, "skiff", [
            "setpriv", "--reuid=%d" % PROXY_UID, "--regid=%d" % PROXY_UID, "--clear-groups",
            "--", skiff, "-c", config, "--concurrency", "2", "--drain-time-s", "1"])
        cls.processes.append(cls.skiff)
        wait_for(lambda: cls.admin("/ready")[0] == 200, 20, "skiff ready in the pod namespace")

    @classmethod
    def _server(cls, ns, name, ip, port, kind=NamedServer):
        server = kind(ns, name, ip, port)
        cls.servers.append(server)
        return server

    @classmethod
    def _start(cls, ns, name, args):
        stderr = open(os.path.join(cls.outdir_class, name + ".stderr"), "ab")
        proc = ns.popen(args, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
        harness._register(proc)
        return proc

    @classmethod
    def cluster_b(cls):
        return {"name": "b", "type": "STATIC", "connect_timeout": "2s",
                "load_assignment": {"cluster_name": "b", "endpoints": [{"lb_endpoints": [
                    {"endpoint": {"address": harness.socket_address(SERVICE_PORT, SVC_B_IP)}}]}]}}

    @classmethod
    def publish(cls, listeners, clusters):
        harness.write_yaml_atomic(os.path.join(cls.config_dir, "default", "resources.yaml"),
                                  harness.xds_resources(listeners=listeners, clusters=clusters))

    @classmethod
    def admin(cls, path):
        return cls.pod.call(harness.http_request, ADMIN_PORT, "GET", path, None, 2.0)

    def setUp(self):
        if self.skip_reason:
            self.skipTest(self.skip_reason)
        super().setUp()
        for proc in self.processes:
            self.assertIsNone(proc.poll(), "a process in the pod namespace exited; see %s"
                              % self.outdir_class)

    def stats(self):
        status, _, body = self.admin("/stats")
        self.assertEqual(status, 200)
        return harness.parse_stats(body.decode())

    def stat(self, name):
        return self.stats().get(name, 0)

    def push(self, listeners, clusters=()):
        """Publishes listeners (and clusters besides b) through skiff-control; waits until skiff
        applied them."""
        before = self.stat("listener_manager.lds.update_success")
        self.publish(listeners, [self.cluster_b()] + list(clusters))
        wait_for(lambda: self.stat("listener_manager.lds.update_success") > before, 10,
                 "skiff applied the pushed listeners")

    # ---------------------------------------------------------------------------------------------

    def test_1_plain_connect_is_captured_and_passed_through(self):
        total = "listener.0.0.0.0_15001.downstream_cx_total"
        before = self.stats()
        app = AppConnection(self.pod, SVC_A_IP, SERVICE_PORT)
        self.addCleanup(app.close)
        # The app sees the address it asked for; the connection went through skiff.
        self.assertEqual(app.sock.getpeername(), (SVC_A_IP, SERVICE_PORT))
        self.assertEqual(app.line(), "a")
        self.assertEqual(app.echo("through skiff"), "through skiff")
        after = self.stats()
        self.assertEqual(after[total] - before.get(total, 0), 1, "captured by virtualOutbound")
        self.assertEqual(after["cluster.PassthroughCluster.upstream_cx_total"]
                         - before.get("cluster.PassthroughCluster.upstream_cx_total", 0), 1)
        self.assertGreater(after["cluster.PassthroughCluster.upstream_cx_active"], 0)
        # skiff's own upstream connection was not captured again (no loop): one each.
        self.assertEqual(after.get("cluster.PassthroughCluster.upstream_cx_none_healthy", 0), 0)
        # The stats requests above (root to 127.0.0.1) were not captured either.
        self.assertEqual(self.stat(total), after[total])

    def test_2_excluded_port_is_not_captured(self):
        total = "listener.0.0.0.0_15001.downstream_cx_total"
        before = self.stat(total)
        self.assertEqual(ask(self.pod, SVC_A_IP, EXCLUDED_PORT), "a-excluded")
        self.assertEqual(self.stat(total), before)

    def test_3_listener_pushed_through_control_takes_over_live(self):
        open_before = AppConnection(self.pod, SVC_A_IP, SERVICE_PORT)
        self.addCleanup(open_before.close)
        self.assertEqual(open_before.line(), "a")

        # A listener for the service address (hand-off only, as Istio's outbound listeners).
        svc = {"name": "svc", "stat_prefix": "svc", "bind_to_port": False,
               "address": harness.socket_address(SERVICE_PORT, SVC_A_IP),
               "filter_chains": tcp_proxy_chain("svc", "b")}
        self.push([svc])
        handed = self.stat("listener.svc.downstream_cx_total")
        self.assertEqual(ask(self.pod, SVC_A_IP, SERVICE_PORT), "b")
        self.assertEqual(self.stat("listener.svc.downstream_cx_total"), handed + 1)
        self.assertGreaterEqual(self.stat("cluster.b.upstream_cx_total"), 1)
        # The connection made before the push is untouched.
        self.assertEqual(open_before.echo("still a"), "still a")

        # Moved to 0.0.0.0:8080: any destination on that port without its own listener.
        svc["address"] = harness.socket_address(SERVICE_PORT, "0.0.0.0")
        self.push([svc])
        self.assertEqual(ask(self.pod, SVC_A_IP, SERVICE_PORT), "b")
        self.assertEqual(self.stat("listener.svc.downstream_cx_total"), handed + 2)

        # Removed: back to the passthrough.
        passthrough = self.stat("cluster.PassthroughCluster.upstream_cx_total")
        self.push([])
        self.assertEqual(ask(self.pod, SVC_A_IP, SERVICE_PORT), "a")
        self.assertEqual(self.stat("cluster.PassthroughCluster.upstream_cx_total"), passthrough + 1)
        self.assertEqual(self.stat("listener.svc.downstream_cx_total"), handed + 2)

    def test_4_inbound_reaches_the_app_through_skiff(self):
        before = self.stats()
        peers = len(self.app.peers)

        def client():
            with socket.create_connection((POD_IP, APP_PORT), timeout=5) as s:
                reply = s.recv(64)
                s.sendall(b"hello app\n")
                return reply + s.recv(64)

        self.assertEqual(self.svc.call(client), b"app\nhello app\n")
        after = self.stats()
        self.assertEqual(after["listener.0.0.0.0_15006.downstream_cx_total"]
                         - before.get("listener.0.0.0.0_15006.downstream_cx_total", 0), 1)
        self.assertEqual(after["cluster.InboundPassthroughClusterIpv4.upstream_cx_total"]
                         - before.get("cluster.InboundPassthroughClusterIpv4.upstream_cx_total",
                                      0), 1)
        # skiff's connection to the app came from 127.0.0.6, which the rules let through.
        self.assertEqual(self.app.peers[peers:], ["127.0.0.6"])

    def test_5_ipv6_is_captured_too(self):
        if not self.ipv6:
            self.skipTest("no IPv6 nat table here")
        total = "listener.[::]_15001.downstream_cx_total"
        before = self.stat(total)
        app = AppConnection(self.pod, SVC_A_IP6, SERVICE_PORT)
        self.addCleanup(app.close)
        self.assertEqual(app.line(), "a6")
        self.assertEqual(self.stat(total), before + 1)

        # Inbound: from ::6, the address skiff-init put on lo for it.
        peers = len(self.app6.peers)

        def client():
            with socket.create_connection((POD_IP6, APP_PORT), timeout=5) as s:
                return s.recv(64)

        self.assertEqual(self.svc.call(client), b"app6\n")
        self.assertEqual(self.app6.peers[peers:], ["::6"])
        self.assertEqual(self.stat("cluster.InboundPassthroughClusterIpv6.upstream_cx_total"), 1)

    def test_5b_http_listener_passes_through_to_the_original_destination(self):
        """Istio's outbound HTTP shape: a listener on 0.0.0.0:<port> (hand-off only) with an HTTP
        connection manager whose route goes to an ORIGINAL_DST cluster. Each request goes to
        where the app connected, over a keep-alive connection per destination."""
        hcm = {"@type": HCM_TYPE, "stat_prefix": "http_out",
               "route_config": {"name": "allow_any", "virtual_hosts": [
                   {"name": "allow_any", "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"},
                                "route": {"cluster": "HttpPassthrough"}}]}]},
               "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
                   "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}
        http_out = {"name": "http_out", "stat_prefix": "http_out", "bind_to_port": False,
                    "address": harness.socket_address(HTTP_PORT, "0.0.0.0"),
                    "filter_chains": [{"filters": [{"name": HCM_NAME, "typed_config": hcm}]}]}
        self.push([http_out], [original_dst_cluster("HttpPassthrough")])
        self.addCleanup(self.push, [])
        before = self.stats()
        peers_a, peers_b = len(self.http_a.peers), len(self.http_b.peers)

        to_a = AppConnection(self.pod, SVC_A_IP, HTTP_PORT)
        self.addCleanup(to_a.close)
        to_b = AppConnection(self.pod, SVC_B_IP, HTTP_PORT)
        self.addCleanup(to_b.close)
        for _ in range(3):
            self.assertEqual(to_a.get("svc-a"), (200, "http-a"))
            self.assertEqual(to_b.get("svc-b"), (200, "http-b"))
        # A second app connection to a: served from its worker's pool for a (skiff runs two
        # workers, so that is the first one's connection or one new connection).
        again = AppConnection(self.pod, SVC_A_IP, HTTP_PORT)
        self.addCleanup(again.close)
        self.assertEqual(again.get("svc-a"), (200, "http-a"))

        after = self.stats()

        def delta(name):
            return after.get(name, 0) - before.get(name, 0)

        self.assertEqual(delta("listener.http_out.downstream_cx_total"), 3)
        self.assertEqual(delta("http.http_out.downstream_rq_2xx"), 7)
        self.assertEqual(delta("cluster.HttpPassthrough.upstream_rq_total"), 7)
        self.assertEqual(after.get("cluster.HttpPassthrough.upstream_cx_none_healthy", 0), 0)
        # Keep-alive: the three requests on to_a (and on to_b) shared one upstream connection.
        # They came from the pod (uid 1337: not captured again).
        new_a, new_b = self.http_a.peers[peers_a:], self.http_b.peers[peers_b:]
        self.assertIn(new_a, ([POD_IP], [POD_IP, POD_IP]))
        self.assertEqual(new_b, [POD_IP])
        self.assertEqual(delta("cluster.HttpPassthrough.upstream_cx_total"), len(new_a) + 1)

    def test_6_no_backend_errors(self):
        for server in self.servers:
            self.assertEqual(server.errors, [], server.name)


if __name__ == "__main__":
    harness.main()
