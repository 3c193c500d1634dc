"""skiff as a process: workers sharing the load, SIGTERM drain, load balancing, idle timeout,
--mode validate, and startup failures.

Run: python3 test/integration/lifecycle_test.py [test-name-substring ...]   (SKIFF_BIN=... if not
under Bazel).
"""

import errno
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import (LOOPBACK, Skiff, SkiffTestCase, closed_port, connect,  # noqa: E402
                     echo_handler, free_port, hold_handler, identity_handler, pattern_digest, recv_exactly,
                     recv_until_eof, send_pattern, simple_proxy_config, sink_handler)

MIB = 1 << 20


def try_connect(port, timeout=1.0):
    """'refused', or 'connected' (the socket is closed again at once)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((LOOPBACK, port))
        return "connected"
    except ConnectionRefusedError:
        return "refused"
    except OSError as e:
        if e.errno == errno.ECONNREFUSED:
            return "refused"
        raise
    finally:
        s.close()


class WorkersTest(SkiffTestCase):

    def test_all_workers_take_connections(self):
        """--concurrency 2 and 200 connections: both workers accept some. Evidence, in order of
        preference: per-worker stats (`worker_<N>` in a stat name), or else the per-thread context
        switches in /proc/PID/task (each worker thread must have woken up for connections)."""
        echo = self.server(echo_handler, name="echo", backlog=256)
        config, port = simple_proxy_config([echo.port])
        skiff = self.start_skiff(config, concurrency=2)
        main_tid = skiff.pid
        before = skiff.threads()

        conns = []
        try:
            for i in range(200):
                s = connect(port)
                conns.append(s)
                msg = b"hello %d\n" % i
                s.sendall(msg)
                self.assertEqual(recv_exactly(s, len(msg)), msg)
        finally:
            for s in conns:
                s.close()
        skiff.wait_stat("tcp.proxy.downstream_cx_total", lambda v: v == 200)
        after = skiff.threads()
        stats = skiff.stats()

        worker_stats = {}
        for name, value in stats.items():
            m = re.search(r"worker_(\d+)\.downstream_cx_total$", name)
            if m and isinstance(value, int):
                worker_stats[int(m.group(1))] = worker_stats.get(int(m.group(1)), 0) + value
        deltas = {tid: (after[tid][0], after[tid][1] - before.get(tid, (None, 0, 0))[1],
                        after[tid][2] - before.get(tid, (None, 0, 0))[2])
                  for tid in after}
        self.note("threads (tid: comm, ctx-switch delta, cpu-tick delta): %s; worker stats: %s"
                  % ({t: d for t, d in deltas.items()}, worker_stats))
        if worker_stats:
            self.assertEqual(sorted(worker_stats), [0, 1], "per-worker stats: %s" % worker_stats)
            self.assertTrue(all(v > 0 for v in worker_stats.values()),
                            "a worker took no connections: %s" % worker_stats)
            self.assertEqual(sum(worker_stats.values()), 200)
        else:
            self.note("no worker_N stats; using /proc/%d/task context switches" % skiff.pid)
            named = {t: d for t, d in deltas.items() if d[0].startswith("worker")}
            candidates = named if len(named) >= 2 else {
                t: d for t, d in deltas.items() if t != main_tid}
            self.assertGreaterEqual(len(candidates), 2, "fewer than 2 worker threads: %s" % deltas)
            busy = [t for t, d in candidates.items() if d[1] >= 20]
            self.assertGreaterEqual(len(busy), 2, "only %d thread(s) handled connections: %s"
                                    % (len(busy), deltas))
        self.assertEqual(skiff.stop(), 0)


class ControlPlaneCpusTest(SkiffTestCase):

    def allowed(self, skiff):
        """{thread name: [Cpus_allowed_list of each thread with that name]}."""
        out = {}
        for tid in os.listdir("/proc/%d/task" % skiff.pid):
            base = "/proc/%d/task/%s/" % (skiff.pid, tid)
            with open(base + "comm") as f:
                comm = f.read().strip()
            with open(base + "status") as f:
                cpus = [line.split()[1] for line in f if line.startswith("Cpus_allowed_list:")][0]
            out.setdefault(comm, []).append(cpus)
        return out

    def test_control_plane_confined_workers_everywhere(self):
        everywhere = os.sched_getaffinity(0)
        if len(everywhere) < 2:
            self.skipTest("needs 2 CPUs, has %d" % len(everywhere))
        first = min(everywhere)
        echo = self.server(echo_handler, name="echo")
        config, port = simple_proxy_config([echo.port])
        skiff = self.start_skiff(config, concurrency=2,
                                 extra_args=["--control-plane-cpus", str(first)])
        threads = self.allowed(skiff)
        self.note("Cpus_allowed_list by thread: %s" % threads)
        workers = [c for name, cpus in threads.items() if name.startswith("worker_") for c in cpus]
        others = [c for name, cpus in threads.items() if not name.startswith("worker_")
                  for c in cpus]
        self.assertEqual(len(workers), 2)
        full = threads["worker_0"][0]
        self.assertNotEqual(full, str(first))
        self.assertEqual(set(workers), {full})  # Every CPU this process may use.
        self.assertTrue(others and set(others) == {str(first)}, threads)
        # Still a working proxy.
        s = connect(port)
        s.sendall(b"ping\n")
        self.assertEqual(recv_exactly(s, 5), b"ping\n")
        s.close()
        self.assertEqual(skiff.stop(), 0)

    def test_cpus_outside_the_process_set_are_refused(self):
        config, _ = simple_proxy_config([closed_port()])
        outside = max(os.sched_getaffinity(0)) + 1
        skiff = Skiff(config, self.outdir, name="badcpus",
                      extra_args=["--control-plane-cpus", str(outside)])
        proc = subprocess.run(skiff.args(), capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("--control-plane-cpus %d: this process may only run on CPUs" % outside,
                      proc.stderr + proc.stdout)


class DrainTest(SkiffTestCase):

    def test_sigterm_drains_open_connections(self):
        """SIGTERM mid-transfer: the listener closes (new connections refused, /ready 503) while
        the open connections finish their transfers completely; skiff exits 0 once they close."""
        sink = self.server(sink_handler(reply=True), name="sink")
        config, port = simple_proxy_config([sink.port])
        skiff = self.start_skiff(config, concurrency=2)
        total = 24 * MIB
        clients = 3
        release = threading.Event()
        replies = {}
        errors = []

        def client(i, s):
            try:
                pace = harness.slow_pace(12 * MIB)  # ~2 s per transfer.
                send_pattern(s, total, pace=pace)
                release.wait(20)  # Keep the connection open until the test has looked around.
                s.shutdown(socket.SHUT_WR)
                replies[i] = recv_until_eof(s, timeout=20)
            except Exception as e:  # noqa: BLE001
                errors.append("client %d: %r" % (i, e))

        socks = [connect(port, timeout=30) for _ in range(clients)]
        self.addCleanup(lambda: [s.close() for s in socks])
        threads = [threading.Thread(target=client, args=(i, s), daemon=True)
                   for i, s in enumerate(socks)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        sigterm_at = time.monotonic()
        skiff.signal(signal.SIGTERM)

        # New connections are refused soon after SIGTERM.
        refused_after = None
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if try_connect(port) == "refused":
                refused_after = time.monotonic() - sigterm_at
                break
            time.sleep(0.05)
        self.assertIsNotNone(refused_after, "listener still accepting 3s after SIGTERM")
        status, _, body = skiff.get("/ready")
        self.assertEqual(status, 503, "/ready while draining: %d %r" % (status, body))
        self.assertIn(b"DRAINING", body)
        for t in threads:
            t.join(timeout=0.01)
        time.sleep(0.3)
        self.assertTrue(skiff.running(), "skiff exited while connections were still open")

        release.set()
        for t in threads:
            t.join(timeout=30)
        self.assertFalse(any(t.is_alive() for t in threads), "clients hung")
        self.assertEqual(errors, [])
        for i in range(clients):
            data, how = replies[i]
            self.assertEqual(data.decode().strip(), "%d %s" % (total, pattern_digest(total)),
                             "client %d's transfer did not complete through the drain" % i)
        closed_at = time.monotonic()
        rc = skiff.wait_exit(5)
        self.assertEqual(rc, 0)
        self.note("refused new connections %.2fs after SIGTERM; exited %.2fs after the last "
                  "connection closed" % (refused_after, time.monotonic() - closed_at))
        self.assertIn("SIGTERM", skiff.stderr_text())
        self.assertNoServerErrors()

    def test_drain_waits_for_upstream_flush(self):
        """SIGTERM while clients' last bytes are still being flushed to slow backends (the clients
        have already closed): the drain must not cut those transfers short.

        Each backend reads its last 6 MiB slowly, so when skiff reads the client's FIN it usually
        still holds bytes for the backend in user space (tcp_proxy's upstream flush); three
        connections make it very likely at least one is in that state when the drain ends."""
        total = 32 * MIB
        clients = 3
        backend = self.server(harness.half_closed_slow_sink(stall=0.3, rate=3 * MIB,
                                                            slow_tail=6 * MIB, total=total),
                              name="slow-sink", rcvbuf=64 * 1024)
        config, port = simple_proxy_config([backend.port])
        skiff = self.start_skiff(config, concurrency=1)
        errors = []

        def client():
            try:
                with connect(port, timeout=20) as s:
                    data, how = recv_until_eof(s, timeout=5)
                    if data != b"hi\n":
                        errors.append("greeting %r" % data)
                    send_pattern(s, total)
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        self.assertEqual(errors, [])
        flushing = skiff.stat("tcp.proxy.upstream_flush_active")
        skiff.signal(signal.SIGTERM)
        results = backend.wait_results(clients, timeout=30)
        rc = skiff.wait_exit(10)
        got = sorted(r["bytes"] for r in results)
        self.note("SIGTERM with %s upstream flushes active; backends got %s of %d bytes"
                  % (flushing, got, total))
        for r in results:
            self.assertEqual((r["bytes"], r["sha1"]), (total, pattern_digest(total)),
                             "a backend got %d of %d bytes: skiff exited while still flushing "
                             "them upstream (all: %s)" % (r["bytes"], total, got))
        self.assertEqual(rc, 0)

    def test_drain_time_bounds_shutdown(self):
        """--drain-time-s 1 and a connection that never closes: skiff exits (0) about 1 s after
        SIGTERM anyway, closing that connection."""
        held = self.server(hold_handler, name="hold")
        config, port = simple_proxy_config([held.port])
        skiff = self.start_skiff(config, concurrency=2, extra_args=["--drain-time-s", "1"])
        with connect(port) as s:
            s.sendall(b"still here")
            skiff.wait_stat("cluster.backend.upstream_cx_active", lambda v: v == 1)
            start = time.monotonic()
            skiff.signal(signal.SIGTERM)
            rc = skiff.wait_exit(5)
            elapsed = time.monotonic() - start
            data, how = recv_until_eof(s, timeout=2)
        self.note("exited %.2fs after SIGTERM with --drain-time-s 1" % elapsed)
        self.assertEqual(rc, 0)
        self.assertGreater(elapsed, 0.8, "exited before the drain time was over")
        self.assertLess(elapsed, 2.5, "drain time not honoured")
        self.assertEqual(data, b"")

    def test_second_signal_stops_drain(self):
        """A second SIGTERM while draining stops waiting for open connections."""
        held = self.server(hold_handler, name="hold")
        config, port = simple_proxy_config([held.port])
        skiff = self.start_skiff(config, concurrency=1)  # Default drain time: 600 s.
        with connect(port) as s:
            s.sendall(b"x")
            skiff.wait_stat("cluster.backend.upstream_cx_active", lambda v: v == 1)
            skiff.signal(signal.SIGTERM)
            time.sleep(0.5)
            self.assertTrue(skiff.running(), "exited without draining the open connection")
            skiff.signal(signal.SIGTERM)
            self.assertEqual(skiff.wait_exit(3), 0)


class LoadBalancingTest(SkiffTestCase):

    def test_round_robin_alternates(self):
        """Two backends in one cluster, one worker: successive connections alternate A, B, A, B."""
        a = self.server(identity_handler("A"), name="A")
        b = self.server(identity_handler("B"), name="B")
        config, port = simple_proxy_config([a.port, b.port])
        self.start_skiff(config, concurrency=1)
        seen = []
        for _ in range(10):
            with connect(port) as s:
                data, how = recv_until_eof(s, timeout=5)
                seen.append(data.decode().strip())
        self.assertEqual(sorted(set(seen)), ["A", "B"], seen)
        for i in range(1, len(seen)):
            self.assertNotEqual(seen[i], seen[i - 1], "not alternating: %s" % seen)

    def test_round_robin_spreads_with_two_workers(self):
        """With two workers each balancing on its own, 40 connections still split evenly-ish."""
        a = self.server(identity_handler("A"), name="A")
        b = self.server(identity_handler("B"), name="B")
        config, port = simple_proxy_config([a.port, b.port])
        self.start_skiff(config, concurrency=2)
        seen = []
        for _ in range(40):
            with connect(port) as s:
                data, how = recv_until_eof(s, timeout=5)
                seen.append(data.decode().strip())
        self.assertEqual(len(seen), 40)
        self.assertGreaterEqual(seen.count("A"), 12, seen)
        self.assertGreaterEqual(seen.count("B"), 12, seen)

    def test_tcp_proxy_weighted_clusters(self):
        """tcp_proxy weighted_clusters 3:1 over two clusters: each connection goes to one cluster
        drawn by weight (200 connections: both get some, A about three times as many)."""
        a = self.server(identity_handler("A"), name="A")
        b = self.server(identity_handler("B"), name="B")
        port = free_port()
        listener = harness.tcp_proxy_listener("proxy", port, "a")
        typed = listener["filter_chains"][0]["filters"][0]["typed_config"]
        del typed["cluster"]
        typed["weighted_clusters"] = {"clusters": [{"name": "a", "weight": 3},
                                                   {"name": "b", "weight": 1}]}
        config = harness.bootstrap(free_port(), [listener],
                                   [harness.static_cluster("a", [a.port]),
                                    harness.static_cluster("b", [b.port])])
        self.start_skiff(config, concurrency=2)
        seen = []
        for _ in range(200):
            with connect(port) as s:
                data, how = recv_until_eof(s, timeout=5)
                seen.append(data.decode().strip())
        # Binomial(200, 0.75): mean 150, standard deviation about 6.
        self.assertGreater(seen.count("A"), 110, "A: %d, B: %d" % (seen.count("A"), seen.count("B")))
        self.assertGreater(seen.count("B"), 20, "A: %d, B: %d" % (seen.count("A"), seen.count("B")))
        self.assertEqual(seen.count("A") + seen.count("B"), 200)


class IdleTimeoutTest(SkiffTestCase):

    def test_idle_connection_closed_active_one_kept(self):
        """idle_timeout 1s: an idle connection is closed about 1 s after its last byte, while a
        connection with traffic every 0.3 s stays open for 2.5 s."""
        echo = self.server(echo_handler, name="echo")
        config, port = simple_proxy_config([echo.port], idle_timeout="1s")
        skiff = self.start_skiff(config, concurrency=2)

        active_errors = []

        def active():
            try:
                with connect(port) as s:
                    end = time.monotonic() + 2.5
                    i = 0
                    while time.monotonic() < end:
                        msg = b"tick %d" % i
                        s.sendall(msg)
                        if recv_exactly(s, len(msg), timeout=2) != msg:
                            active_errors.append("bad echo")
                        i += 1
                        time.sleep(0.3)
            except Exception as e:  # noqa: BLE001
                active_errors.append(repr(e))

        t = threading.Thread(target=active, daemon=True)
        t.start()
        with connect(port) as s:
            s.sendall(b"ping")
            self.assertEqual(recv_exactly(s, 4), b"ping")
            last = time.monotonic()
            data, how = recv_until_eof(s, timeout=5)
            idle_for = time.monotonic() - last
        self.assertEqual(data, b"")
        self.assertGreater(idle_for, 0.8, "closed before the idle timeout")
        self.assertLess(idle_for, 2.5, "idle connection not closed")
        t.join(timeout=10)
        self.assertEqual(active_errors, [], "the active connection was disturbed")
        # Exactly the idle one was timed out while the active one was busy; then it idles too.
        self.assertEqual(skiff.stat("tcp.proxy.idle_timeout"), 1)
        self.note("idle connection closed after %.2fs" % idle_for)


class ValidateAndStartupTest(SkiffTestCase):

    def test_validate_good_config(self):
        """--mode validate on a good config: exit 0 and nothing bound (its ports may be busy)."""
        busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(busy.close)
        busy.bind((LOOPBACK, 0))
        busy.listen(1)
        config, _ = simple_proxy_config([free_port()], listener_port=busy.getsockname()[1])
        path = self.write_config(config)
        rc, out, err = self.run_skiff(["--mode", "validate", "-c", path])
        self.assertEqual(rc, 0, "validate failed: %s %s" % (out, err))
        self.assertIn("OK", out + err)

    def test_validate_bad_configs_name_the_field(self):
        """--mode validate on bad configs: exit 1 and the offending field is named."""
        cases = []
        config, _ = simple_proxy_config([free_port()])
        config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
            "typed_config"]["cluster"] = "no_such_cluster"
        cases.append(("unknown cluster", config, ["cluster", "no_such_cluster"]))
        config, _ = simple_proxy_config([free_port()], connect_timeout="0s")
        cases.append(("zero connect_timeout", config, ["connect_timeout"]))
        config, _ = simple_proxy_config([free_port()])
        config["static_resources"]["clusters"][0]["load_assignment"]["endpoints"][0][
            "lb_endpoints"][0]["endpoint"]["address"]["socket_address"]["address"] = "not-an-ip"
        cases.append(("hostname in a STATIC cluster", config, ["address", "not-an-ip"]))
        for i, (what, config, needles) in enumerate(cases):
            with self.subTest(what):
                path = self.write_config(config, name="bad%d.yaml" % i)
                rc, out, err = self.run_skiff(["--mode", "validate", "-c", path], name="bad%d" % i)
                self.assertEqual(rc, 1, "%s: rc %d, output %s %s" % (what, rc, out, err))
                for needle in needles:
                    self.assertIn(needle, err, "%s: error does not name %r: %s" % (what, needle,
                                                                                  err))
        with self.subTest("not YAML"):
            path = self.write_config(None, name="garbage.yaml", text="static_resources: [\n  {:\n")
            rc, out, err = self.run_skiff(["--mode", "validate", "-c", path], name="garbage")
            self.assertEqual(rc, 1, err)
            self.assertTrue(err.strip(), "no error message")
        with self.subTest("missing file"):
            rc, out, err = self.run_skiff(["--mode", "validate", "-c",
                                           os.path.join(self.outdir, "nope.yaml")], name="nofile")
            self.assertEqual(rc, 1, err)
            self.assertIn("nope.yaml", err)

    def test_listener_port_conflict(self):
        """A listener port already taken: skiff says which address and why, and exits 1."""
        busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(busy.close)
        busy.bind((LOOPBACK, 0))
        busy.listen(1)
        taken = busy.getsockname()[1]
        config, _ = simple_proxy_config([free_port()], listener_port=taken)
        skiff = self.start_skiff(config, wait_ready=False)
        rc = skiff.wait_exit(10)
        err = skiff.stderr_text()
        self.assertEqual(rc, 1, err)
        self.assertIn(str(taken), err, "error does not name the port")
        self.assertIn("in use", err.lower(), "error does not say the address is in use")

    def test_admin_port_conflict(self):
        busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(busy.close)
        busy.bind((LOOPBACK, 0))
        busy.listen(1)
        taken = busy.getsockname()[1]
        config, _ = simple_proxy_config([free_port()], admin_port=taken)
        skiff = self.start_skiff(config, wait_ready=False)
        rc = skiff.wait_exit(10)
        err = skiff.stderr_text()
        self.assertEqual(rc, 1, err)
        self.assertIn("admin", err.lower())
        self.assertIn("in use", err.lower())

    def test_bad_command_line(self):
        rc, out, err = self.run_skiff(["--concurrency", "0", "-c", "x.yaml"], name="badflag")
        self.assertEqual(rc, 1)
        self.assertIn("--concurrency", err)
        rc, out, err = self.run_skiff(["--no-such-flag"], name="unknown")
        self.assertEqual(rc, 1)
        self.assertIn("--no-such-flag", err)


if __name__ == "__main__":
    harness.main()
