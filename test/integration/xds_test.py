"""xDS end to end: a skiff sidecar configured only by a real skiff-control over one ADS stream.

Every test runs twice, over state-of-the-world (`GRPC`) and incremental (`DELTA_GRPC`) ADS. The
management server serves one YAML file, rewritten atomically (temp + rename) for every change; it
notices with inotify and pushes the new snapshot.

    bazel test //test/integration:xds_test
    SKIFF_BIN=bazel-bin/source/exe/skiff SKIFF_CONTROL_BIN=bazel-bin/source/control/skiff-control \\
        python3 test/integration/xds_test.py [name-substring]
"""

import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import (LOOPBACK, connect, eds_cluster, free_port, load_assignment,  # noqa: E402
                     recv_exactly, recv_until_eof, static_cluster, tcp_proxy_listener,
                     xds_bootstrap, xds_resources)

NODE_ID = "sidecar-1"
DRAIN_S = 2


def tagged_echo(name):
    """Says "<name>\\n" first, then echoes everything until EOF (and forwards the EOF)."""
    tag = ("%s\n" % name).encode()

    def handler(conn, server, index):
        conn.sendall(tag)
        total = 0
        while True:
            try:
                data = conn.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not data:
                break
            conn.sendall(data)
            total += len(data)
        try:
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        server.record({"index": index, "bytes": total})

    return handler


def ask_backend(port, timeout=3.0):
    """Connects, reads the backend's tag line, closes cleanly. Returns the tag."""
    with connect(port, timeout=timeout) as s:
        line = bytearray()
        deadline = time.monotonic() + timeout
        while not line.endswith(b"\n"):
            if time.monotonic() > deadline:
                raise AssertionError("no tag line within %.1fs (got %r)" % (timeout, bytes(line)))
            chunk = s.recv(64)
            if not chunk:
                raise AssertionError("EOF before the tag line (got %r)" % bytes(line))
            line += chunk
        return line.decode().strip()


def read_tag(sock, timeout=3.0):
    line = bytearray()
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        if time.monotonic() > deadline:
            raise AssertionError("no tag line (got %r)" % bytes(line))
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(1)
        if not chunk:
            raise AssertionError("EOF before the tag line (got %r)" % bytes(line))
        line += chunk
    return line.decode().strip()


def echo_roundtrip(sock, payload, timeout=5.0):
    sock.sendall(payload)
    got = recv_exactly(sock, len(payload), timeout=timeout)
    if got != payload:
        raise AssertionError("echo mismatch (%d bytes)" % len(payload))


def close_cleanly(sock, timeout=5.0):
    """Half-closes, expects EOF (not a reset) after the echo of nothing."""
    sock.shutdown(socket.SHUT_WR)
    rest, how = recv_until_eof(sock, timeout=timeout)
    sock.close()
    if how != "eof" or rest:
        raise AssertionError("expected a clean EOF, got %s with %r" % (how, rest[:100]))


def wait_for(predicate, timeout, what, interval=0.02):
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


class Prober:
    """A thread that keeps connecting to `port` and reading the backend tag until stopped;
    counts successes, tags seen and failures (with their errors)."""

    def __init__(self, port, expect=None, interval=0.005):
        self.port = port
        self.expect = expect
        self.interval = interval
        self.ok = 0
        self.tags = {}
        self.failures = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        deadline = time.monotonic() + 120
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                tag = ask_backend(self.port, timeout=3.0)
                self.tags[tag] = self.tags.get(tag, 0) + 1
                if self.expect is not None and tag not in self.expect:
                    self.failures.append("unexpected backend %r" % tag)
                else:
                    self.ok += 1
            except (OSError, AssertionError) as e:
                self.failures.append(repr(e))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)


class XdsBase(harness.SkiffTestCase):
    API_TYPE = "GRPC"

    def setUp(self):
        super().setUp()
        self.config_dir = os.path.join(self.outdir, "xds")
        os.makedirs(os.path.join(self.config_dir, "default"))
        self.listeners = {}
        self.clusters = {}
        self.endpoints = {}
        self.control = None
        self.sidecar = None

    # --- config on the management server -------------------------------------------------------

    def publish(self):
        """Rewrites the one resources file atomically with the current model."""
        harness.write_yaml_atomic(
            os.path.join(self.config_dir, "default", "resources.yaml"),
            xds_resources(listeners=list(self.listeners.values()),
                          clusters=list(self.clusters.values()),
                          endpoints=list(self.endpoints.values())))

    def start_all(self, extra_args=()):
        self.publish()
        self.control = self.start_control(self.config_dir)
        admin = free_port()
        args = ["--drain-time-s", str(DRAIN_S)] + list(extra_args)
        self.sidecar = self.start_skiff(
            xds_bootstrap(admin, self.control.xds_port, api_type=self.API_TYPE, node_id=NODE_ID),
            name="sidecar", extra_args=args)
        return self.sidecar

    def counters(self):
        st = self.sidecar.stats()
        return {k: st.get(k, 0) for k in (
            "listener_manager.lds.update_success", "listener_manager.lds.update_rejected",
            "cluster_manager.cds.update_success", "cluster_manager.cds.update_rejected",
            "listener_manager.listener_added", "listener_manager.listener_modified",
            "listener_manager.listener_removed")}

    def wait_counter(self, name, above, timeout=5.0):
        return self.sidecar.wait_stat(name, lambda v: v > above, timeout=timeout)

    def publish_and_wait(self, lds=True, cds=False, timeout=5.0):
        """Publishes and waits for the sidecar to apply the LDS (and/or CDS) update."""
        before = self.counters()
        self.publish()
        if cds:
            self.wait_counter("cluster_manager.cds.update_success",
                              before["cluster_manager.cds.update_success"], timeout)
        if lds:
            self.wait_counter("listener_manager.lds.update_success",
                              before["listener_manager.lds.update_success"], timeout)
        return before

    def config_dump(self):
        status, _, body = self.sidecar.get("/config_dump")
        self.assertEqual(status, 200)
        return json.loads(body.decode())

    def dynamic_listener_versions(self):
        out = {}

        def walk(node):
            if isinstance(node, dict):
                if "dynamic_listeners" in node:
                    for entry in node["dynamic_listeners"]:
                        out[entry["name"]] = entry.get("active_state", {}).get("version_info")
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(self.config_dump())
        return out

    def dynamic_cluster_names(self):
        names = set()

        def walk(node):
            if isinstance(node, dict):
                if "dynamic_active_clusters" in node:
                    for entry in node["dynamic_active_clusters"]:
                        names.add(entry.get("cluster", {}).get("name"))
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(self.config_dump())
        return names

    def wait_backend(self, port, tag, timeout=5.0):
        return wait_for(lambda: ask_backend(port, timeout=1.0) == tag, timeout,
                        "new connections on %d reach %s" % (port, tag))


class XdsTests:
    """The tests; mixed into one TestCase per API type below."""

    # 1 -------------------------------------------------------------------------------------------
    def test_1_bootstrap_only_gets_listener_and_cluster(self):
        a = self.server(tagged_echo("A"), name="A")
        port = free_port()
        self.clusters["ca"] = static_cluster("ca", [a.port])
        self.listeners["main"] = tcp_proxy_listener("main", port, "ca")
        sidecar = self.start_all()  # waits for /ready
        st = sidecar.stats()
        self.assertGreaterEqual(st["listener_manager.lds.update_success"], 1)
        self.assertGreaterEqual(st["cluster_manager.cds.update_success"], 1)
        self.assertEqual(st["control_plane.connected_state"], 1)
        versions = self.dynamic_listener_versions()
        self.assertIn("main", versions)
        self.assertTrue(versions["main"], "dynamic listener without version_info: %r" % versions)
        self.assertIn("ca", self.dynamic_cluster_names())
        with connect(port) as s:
            self.assertEqual(read_tag(s), "A")
            echo_roundtrip(s, b"hello through xds" * 100)
            close_cleanly(s)
        node = self.control.node(NODE_ID)
        self.assertIsNotNone(node, "sidecar not on skiff-control's /nodes")
        for type_url in (harness.LISTENER_TYPE, harness.CLUSTER_TYPE):
            t = node["types"][type_url]
            self.assertEqual(t["version_sent"], t["version_acked"], t)
        self.assertNoServerErrors()

    # 2 -------------------------------------------------------------------------------------------
    def test_2_listener_edit_moves_new_connections_keeps_old(self):
        a = self.server(tagged_echo("A"), name="A")
        b = self.server(tagged_echo("B"), name="B")
        port = free_port()
        self.clusters["ca"] = static_cluster("ca", [a.port])
        self.clusters["cb"] = static_cluster("cb", [b.port])
        self.listeners["main"] = tcp_proxy_listener("main", port, "ca")
        self.start_all()
        old = connect(port)
        self.addCleanup(old.close)
        self.assertEqual(read_tag(old), "A")
        echo_roundtrip(old, b"x" * 1000)
        version_before = self.dynamic_listener_versions()["main"]

        with Prober(port, expect={"A", "B"}) as prober:
            time.sleep(0.1)
            before = self.counters()
            self.listeners["main"] = tcp_proxy_listener("main", port, "cb")
            t0 = time.monotonic()
            self.publish()
            self.wait_backend(port, "B", timeout=5.0)
            switch_s = time.monotonic() - t0
            time.sleep(0.2)
        self.assertEqual(prober.failures, [], "a client during the switch failed")
        self.assertGreater(prober.tags.get("B", 0), 0)
        self.note("%s: new connections on B %.0f ms after the YAML write; prober %d ok %r"
                  % (self.API_TYPE, switch_s * 1000, prober.ok, prober.tags))
        st = self.sidecar.stats()
        self.assertGreater(st["listener_manager.listener_modified"],
                           before["listener_manager.listener_modified"])
        self.assertEqual(st["listener_manager.listener_removed"], 0)
        self.assertNotEqual(self.dynamic_listener_versions()["main"], version_before)
        # The connection from before the edit still talks to A, then closes cleanly.
        echo_roundtrip(old, b"still A?" * 1000)
        close_cleanly(old)
        for _ in range(5):
            self.assertEqual(ask_backend(port), "B")
        self.assertNoServerErrors()

    # 3 -------------------------------------------------------------------------------------------
    def test_3_long_transfer_survives_listener_and_cluster_change(self):
        total = (64 if harness.SANITIZED else 256) << 20
        sink_a = self.server(harness.sink_handler(reply=True), name="sinkA")
        sink_b = self.server(harness.sink_handler(reply=True), name="sinkB")
        port = free_port()
        self.clusters["main"] = static_cluster("main", [sink_a.port])
        self.listeners["main"] = tcp_proxy_listener("main", port, "main", idle_timeout="60s")
        self.start_all()

        sock = connect(port, timeout=30.0)
        self.addCleanup(sock.close)
        progress = {"sent": 0, "error": None, "reply": None}
        # About 1.6 s for 256 MiB: long enough to change things under it. Sanitized, 8 s for 64
        # MiB: at 160 MiB/s the 48 MiB left after the update starts took 0.3 s, less than a
        # TSan-built sidecar on a busy machine needed to apply it (the test then proves nothing).
        rate = (8 if harness.SANITIZED else 160) << 20

        def transfer():
            try:
                harness.send_pattern(sock, total, pace=harness.slow_pace(rate),
                                     progress=lambda n: progress.__setitem__("sent", n))
                sock.shutdown(socket.SHUT_WR)
                data, how = recv_until_eof(sock, timeout=30.0)
                progress["reply"] = (data, how)
            except Exception as e:  # noqa: BLE001
                progress["error"] = repr(e)

        t = threading.Thread(target=transfer, daemon=True)
        t.start()
        wait_for(lambda: progress["sent"] >= 16 << 20, 10.0, "transfer started")
        # Change the listener (stat_prefix, idle_timeout) and the cluster's endpoint at once.
        self.clusters["main"] = static_cluster("main", [sink_b.port])
        self.listeners["main"] = tcp_proxy_listener("main", port, "main", stat_prefix="main2",
                                                    idle_timeout="120s")
        before = self.publish_and_wait(lds=True, cds=True)
        sent_at_apply = progress["sent"]
        self.assertLess(sent_at_apply, total,
                        "transfer finished before the update was applied; test proves nothing")
        # New connections use the new config: they go to sinkB.
        with connect(port) as s:
            s.sendall(b"new")
            s.shutdown(socket.SHUT_WR)
            data, how = recv_until_eof(s, timeout=5.0)
        self.assertEqual(data.split()[0], b"3", data)
        self.assertEqual(len(sink_b.results), 1)
        t.join(timeout=60)
        self.assertFalse(t.is_alive(), "transfer did not finish")
        self.assertIsNone(progress["error"])
        data, how = progress["reply"]
        self.assertEqual(how, "eof")
        count, digest = data.decode().split()
        self.assertEqual(int(count), total)
        self.assertEqual(digest, harness.pattern_digest(total))
        self.assertEqual(len(sink_a.results), 1)
        self.assertEqual(sink_a.results[0]["sha1"], harness.pattern_digest(total))
        st = self.sidecar.stats()
        self.assertGreater(st["listener_manager.listener_modified"],
                           before["listener_manager.listener_modified"])
        self.note("%s: %d MiB transfer intact; update applied at %d MiB"
                  % (self.API_TYPE, total >> 20, sent_at_apply >> 20))
        self.assertNoServerErrors()

    # 4 -------------------------------------------------------------------------------------------
    def test_4_add_then_remove_listener_drains(self):
        a = self.server(tagged_echo("A"), name="A")
        port1, port2 = free_port(), free_port()
        self.clusters["ca"] = static_cluster("ca", [a.port])
        self.listeners["one"] = tcp_proxy_listener("one", port1, "ca")
        self.start_all()
        self.assertRaises(ConnectionRefusedError, connect, port2, 1.0)

        self.listeners["two"] = tcp_proxy_listener("two", port2, "ca")
        before = self.publish_and_wait()
        self.assertEqual(self.sidecar.stat("listener_manager.listener_added"),
                         before["listener_manager.listener_added"] + 1)
        held = connect(port2)
        self.addCleanup(held.close)
        self.assertEqual(read_tag(held), "A")
        echo_roundtrip(held, b"two" * 100)

        del self.listeners["two"]
        before = self.publish_and_wait()
        removed_at = time.monotonic()
        self.assertEqual(self.sidecar.stat("listener_manager.listener_removed"),
                         before["listener_manager.listener_removed"] + 1)
        # The port stops accepting.
        def refused():
            try:
                with connect(port2, timeout=1.0):
                    return False
            except ConnectionRefusedError:
                return True
        wait_for(refused, 2.0, "removed listener's port refuses")
        self.assertNotIn("two", self.dynamic_listener_versions())
        # The open connection keeps working during the drain time...
        echo_roundtrip(held, b"draining" * 100)
        time.sleep(DRAIN_S / 2.0)
        echo_roundtrip(held, b"still" * 100)
        alive_until = time.monotonic() - removed_at
        # ...and is closed after it.
        rest, how = recv_until_eof(held, timeout=DRAIN_S + 5.0)
        closed_after = time.monotonic() - removed_at
        self.note("%s: removed listener's connection alive %.2f s, closed (%s) after %.2f s "
                  "(drain %d s)" % (self.API_TYPE, alive_until, how, closed_after, DRAIN_S))
        self.assertGreaterEqual(closed_after, DRAIN_S - 0.5)
        self.assertLessEqual(closed_after, DRAIN_S + 4.0)
        # The other listener is untouched.
        self.assertEqual(ask_backend(port1), "A")
        self.assertNoServerErrors()

    # 5 -------------------------------------------------------------------------------------------
    def test_5_clusters_added_changed_removed_and_eds(self):
        a = self.server(tagged_echo("A"), name="A")
        b = self.server(tagged_echo("B"), name="B")
        c = self.server(tagged_echo("C"), name="C")
        port = free_port()
        self.clusters["svc"] = eds_cluster("svc")
        self.endpoints["svc"] = load_assignment("svc", [a.port])
        self.listeners["main"] = tcp_proxy_listener("main", port, "svc")
        self.start_all()
        self.assertEqual(ask_backend(port), "A")
        # EDS: new endpoint via the ClusterLoadAssignment only.
        self.endpoints["svc"] = load_assignment("svc", [b.port])
        self.publish()
        self.wait_backend(port, "B")
        # Cluster added (static) and used by a second listener.
        port2 = free_port()
        self.clusters["extra"] = static_cluster("extra", [c.port])
        self.listeners["second"] = tcp_proxy_listener("second", port2, "extra")
        self.publish_and_wait(lds=True, cds=True)
        self.assertIn("extra", self.dynamic_cluster_names())
        self.assertEqual(ask_backend(port2), "C")
        # Cluster changed: its endpoint moves to A.
        self.clusters["extra"] = static_cluster("extra", [a.port])
        self.publish()
        self.wait_backend(port2, "A")
        # Cluster removed (with the listener that used it).
        del self.listeners["second"]
        del self.clusters["extra"]
        self.publish()
        wait_for(lambda: "extra" not in self.dynamic_cluster_names(), 5.0, "cluster removed")
        self.assertIn("svc", self.dynamic_cluster_names())
        self.assertEqual(ask_backend(port), "B")
        st = self.sidecar.stats()
        self.assertEqual(st["cluster_manager.cds.update_rejected"], 0)
        self.assertEqual(st["listener_manager.lds.update_rejected"], 0)
        self.assertNoServerErrors()

    # 6 -------------------------------------------------------------------------------------------
    def test_6_port_in_use_is_nacked_then_fixed(self):
        a = self.server(tagged_echo("A"), name="A")
        port = free_port()
        self.clusters["ca"] = static_cluster("ca", [a.port])
        self.listeners["main"] = tcp_proxy_listener("main", port, "ca")
        self.start_all()
        squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(squatter.close)
        squatter.bind((LOOPBACK, 0))
        squatter.listen(1)
        taken = squatter.getsockname()[1]

        before = self.counters()
        self.listeners["taken"] = tcp_proxy_listener("taken", taken, "ca")
        self.publish()
        self.wait_counter("listener_manager.lds.update_rejected",
                          before["listener_manager.lds.update_rejected"], timeout=5.0)

        def nack():
            node = self.control.node(NODE_ID)
            return node and node["types"][harness.LISTENER_TYPE]["last_nack"]
        message = wait_for(nack, 5.0, "NACK on skiff-control's /nodes")
        self.note("%s: NACK message: %s" % (self.API_TYPE, message))
        self.assertIn("taken", message)
        self.assertTrue("bind" in message.lower() or "in use" in message.lower(), message)
        self.assertEqual(self.sidecar.stat("listener_manager.lds.update_success"),
                         before["listener_manager.lds.update_success"])
        self.assertNotIn("taken", self.dynamic_listener_versions())
        # The previous listeners keep serving.
        for _ in range(3):
            self.assertEqual(ask_backend(port), "A")
        self.assertEqual(self.sidecar.stat("control_plane.connected_state"), 1)
        # Fix it.
        port2 = free_port()
        self.listeners["taken"] = tcp_proxy_listener("taken", port2, "ca")
        self.publish_and_wait()
        self.assertEqual(ask_backend(port2), "A")
        self.assertEqual(ask_backend(port), "A")
        node = self.control.node(NODE_ID)
        t = node["types"][harness.LISTENER_TYPE]
        self.assertEqual(t["version_sent"], t["version_acked"], t)
        self.assertNoServerErrors()

    # 7 -------------------------------------------------------------------------------------------
    def test_7_control_plane_killed_and_restarted(self):
        a = self.server(tagged_echo("A"), name="A")
        b = self.server(tagged_echo("B"), name="B")
        port = free_port()
        self.clusters["ca"] = static_cluster("ca", [a.port])
        self.clusters["cb"] = static_cluster("cb", [b.port])
        self.listeners["main"] = tcp_proxy_listener("main", port, "ca")
        self.start_all()
        before = self.counters()
        with Prober(port, expect={"A"}) as prober:
            time.sleep(0.2)
            self.control.proc.send_signal(signal.SIGKILL)
            self.control.proc.wait(timeout=5)
            t_kill = time.monotonic()
            self.sidecar.wait_stat("control_plane.connected_state", lambda v: v == 0, timeout=5)
            time.sleep(1.0)
            ok_during_outage = prober.ok
            self.control.restart()
            # The sidecar's stream reaches the restarted server (its backoff grows while the
            # server is down: 0.5, 1, 2, 4 s with jitter)...
            wait_for(lambda: self.control.node(NODE_ID), 20.0,
                     "sidecar reconnected to the restarted skiff-control")
            reconnect_s = time.monotonic() - t_kill
            # ...and then reports itself connected. Checked softly here so the rest of the test
            # (config preserved, a later change applied) still runs; asserted at the end.
            try:
                self.sidecar.wait_stat("control_plane.connected_state", lambda v: v == 1,
                                       timeout=3.0)
                connected_again = True
            except AssertionError:
                connected_again = False
            time.sleep(0.3)
        self.assertEqual(prober.failures, [], "traffic failed during the outage")
        self.assertGreater(ok_during_outage, 0)
        self.note("%s: %d connections ok across the outage; stream back on skiff-control %.2f s "
                  "after the kill; connected_state back to 1 without a config change: %s"
                  % (self.API_TYPE, prober.ok, reconnect_s, connected_again))
        after = self.counters()
        for k in ("listener_manager.listener_removed", "listener_manager.listener_modified",
                  "listener_manager.lds.update_rejected", "cluster_manager.cds.update_rejected"):
            self.assertEqual(after[k], before[k], k)
        self.assertIn("main", self.dynamic_listener_versions())
        # A change after the restart is applied.
        self.listeners["main"] = tcp_proxy_listener("main", port, "cb")
        self.publish()
        self.wait_backend(port, "B", timeout=5.0)
        self.assertEqual(self.sidecar.stat("control_plane.connected_state"), 1)
        self.assertNoServerErrors()
        self.assertTrue(connected_again,
                        "control_plane.connected_state stayed 0 for 3 s after the ADS stream to "
                        "the restarted skiff-control was open (on its /nodes); it only became 1 "
                        "once a config change produced a response")

    # 8 -------------------------------------------------------------------------------------------
    def test_8_zero_drop_under_500_updates(self):
        # A sanitizer build on a loaded machine applies an update in ~0.2 s instead of ~0.12 s
        # (ASan applied 412 of 500 in 90 s): it checks memory and races on fewer updates, with
        # more time for each, and stays within the target's timeout.
        updates = 200 if harness.SANITIZED else 500
        threads = 8
        e1 = self.server(harness.echo_handler, name="E1", backlog=512)
        e2 = self.server(harness.echo_handler, name="E2", backlog=512)
        port = free_port()

        def config(i):
            self.clusters["zd"] = static_cluster("zd", [e1.port if i % 2 == 0 else e2.port])
            self.listeners["zd"] = tcp_proxy_listener("zd", port, "zd",
                                                      idle_timeout="%ds" % (100 + i))

        config(0)
        self.start_all()
        stop = threading.Event()
        lock = threading.Lock()
        counts = {"conns": 0, "bytes": 0}
        failures = []

        def client(k):
            payload = hashlib.sha256(b"%d" % k).digest() * 512  # 16 KiB
            n = 0
            while not stop.is_set() and len(failures) < 20:
                n += 1
                try:
                    with connect(port, timeout=5.0) as s:
                        size = 1 + (n * 7919) % len(payload)
                        echo_roundtrip(s, payload[:size], timeout=5.0)
                        close_cleanly(s)
                    with lock:
                        counts["conns"] += 1
                        counts["bytes"] += size
                except Exception as e:  # noqa: BLE001
                    with lock:
                        failures.append("client %d conn %d: %r" % (k, n, e))

        workers = [threading.Thread(target=client, args=(k,), daemon=True)
                   for k in range(threads)]
        for w in workers:
            w.start()
        start = self.counters()
        t0 = time.monotonic()
        # 500 updates take ~60 s on a quiet machine (skiff-control publishes a change after 100 ms
        # of quiet) and ~95 s with the two cores busy with builds: the deadline only catches a hang.
        deadline = t0 + 200
        applied = 0
        latencies = []
        st = self.sidecar.stats()
        try:
            for i in range(1, updates + 1):
                if time.monotonic() > deadline or failures:
                    break
                config(i)
                lds = st["listener_manager.lds.update_success"]
                cds = st["cluster_manager.cds.update_success"]
                w0 = time.monotonic()
                self.publish()
                while time.monotonic() < deadline:
                    st = self.sidecar.stats()
                    if (st["listener_manager.lds.update_success"] > lds
                            and st["cluster_manager.cds.update_success"] > cds):
                        break
                    if st["listener_manager.lds.update_rejected"] or \
                            st["cluster_manager.cds.update_rejected"]:
                        raise AssertionError("update %d rejected" % i)
                    time.sleep(0.005)
                else:
                    break
                latencies.append(time.monotonic() - w0)
                applied += 1
            time.sleep(0.2)
        finally:
            stop.set()
            for w in workers:
                w.join(timeout=15)
        elapsed = time.monotonic() - t0
        end = self.counters()
        latencies.sort()
        p50 = latencies[len(latencies) // 2] * 1000 if latencies else -1
        p99 = latencies[int(len(latencies) * 0.99)] * 1000 if latencies else -1
        self.note("%s: %d updates applied in %.1f s (write->applied p50 %.0f ms p99 %.0f ms); "
                  "%d connections, %d bytes echoed, %d failures; listener_modified +%d, "
                  "lds success +%d, cds success +%d; E1 %d E2 %d conns"
                  % (self.API_TYPE, applied, elapsed, p50, p99, counts["conns"], counts["bytes"],
                     len(failures),
                     end["listener_manager.listener_modified"]
                     - start["listener_manager.listener_modified"],
                     end["listener_manager.lds.update_success"]
                     - start["listener_manager.lds.update_success"],
                     end["cluster_manager.cds.update_success"]
                     - start["cluster_manager.cds.update_success"], e1.accepted, e2.accepted))
        self.assertFalse(any(w.is_alive() for w in workers), "client threads stuck")
        self.assertEqual(failures, [], "connections failed during updates")
        self.assertEqual(applied, updates, "only %d of %d updates applied in time"
                         % (applied, updates))
        self.assertGreaterEqual(end["listener_manager.listener_modified"]
                                - start["listener_manager.listener_modified"], updates)
        self.assertGreater(counts["conns"], updates)
        self.assertGreater(e1.accepted, 0)
        self.assertGreater(e2.accepted, 0)
        self.assertNoServerErrors()


class SotwXdsTest(XdsTests, XdsBase):
    API_TYPE = "GRPC"


class DeltaXdsTest(XdsTests, XdsBase):
    API_TYPE = "DELTA_GRPC"


if __name__ == "__main__":
    harness.main()
