"""skiff's TCP proxy on loopback: byte-for-byte forwarding, half-close, upstream failures.

Run: python3 test/integration/proxy_test.py [test-name-substring ...]   (SKIFF_BIN=... if not
under Bazel).
"""

import hashlib
import os
import random
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import (LOOPBACK, SkiffTestCase, connect, echo_handler, recv_exactly,  # noqa: E402
                     recv_until_eof, simple_proxy_config, sink_handler)


class SmallMessagesTest(SkiffTestCase):

    def test_round_trips_many_concurrent_clients(self):
        """Many small messages of random sizes and contents, several clients at once: every echoed
        byte equals the byte sent, and the proxy's byte counters add up."""
        echo = self.server(echo_handler, name="echo")
        config, port = simple_proxy_config([echo.port])
        skiff = self.start_skiff(config, concurrency=2)

        clients = 8
        trips = 150
        sent_total = [0] * clients
        failures = []

        def client(i):
            rng = random.Random(1000 + i)
            try:
                with connect(port) as s:
                    for trip in range(trips):
                        size = rng.choice([1, 2, 7, 100, 1000, 1460, 4096, rng.randint(1, 20000)])
                        msg = rng.randbytes(size)
                        s.sendall(msg)
                        got = recv_exactly(s, size, timeout=5.0)
                        if got != msg:
                            failures.append("client %d trip %d: %d bytes differ" % (i, trip, size))
                            return
                        sent_total[i] += size
                    s.shutdown(socket.SHUT_WR)
                    rest, how = recv_until_eof(s, timeout=5.0)
                    if rest:
                        failures.append("client %d: %d unexpected bytes after EOF" % (i, len(rest)))
            except Exception as e:  # noqa: BLE001
                failures.append("client %d: %r" % (i, e))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertFalse(any(t.is_alive() for t in threads), "clients hung")
        self.assertEqual(failures, [])
        results = echo.wait_results(clients)
        self.assertEqual(sorted(r["bytes"] for r in results), sorted(sent_total))
        self.assertNoServerErrors()

        total = sum(sent_total)
        skiff.wait_stat("tcp.proxy.downstream_cx_rx_bytes_total", lambda v: v == total)
        skiff.wait_stat("tcp.proxy.downstream_cx_tx_bytes_total", lambda v: v == total)
        skiff.wait_stat("tcp.proxy.downstream_cx_total", lambda v: v == clients)
        skiff.wait_stat("cluster.backend.upstream_cx_total", lambda v: v == clients)
        skiff.wait_stat("cluster.backend.upstream_cx_active", lambda v: v == 0)
        self.assertEqual(skiff.stop(), 0, "skiff exit code after SIGTERM")

    def test_server_speaks_first(self):
        """Bytes the upstream sends before the client says anything reach the client."""
        greeting = b"220 hello from upstream\r\n"

        def greeter(conn, server, index):
            conn.sendall(greeting)
            data = conn.recv(100)
            conn.sendall(b"you said " + data)
            conn.shutdown(socket.SHUT_WR)
            server.record({"index": index})

        backend = self.server(greeter, name="greeter")
        config, port = simple_proxy_config([backend.port])
        self.start_skiff(config, concurrency=1)
        with connect(port) as s:
            self.assertEqual(recv_exactly(s, len(greeting)), greeting)
            s.sendall(b"ping")
            data, how = recv_until_eof(s, timeout=5.0)
            self.assertEqual(data, b"you said ping")
            self.assertEqual(how, "eof")
        self.assertNoServerErrors()


class HalfCloseTest(SkiffTestCase):

    def test_client_half_close_then_backend_replies(self):
        """Client sends, then SHUT_WR. The backend only replies after seeing EOF (and after a
        pause, so a proxy that closes both directions on the client's FIN is caught); the client
        gets the whole reply and then EOF."""
        extra = 2 << 20
        backend = self.server(sink_handler(reply=True, reply_delay=0.3, reply_extra=extra),
                              name="replier")
        config, port = simple_proxy_config([backend.port])
        self.start_skiff(config, concurrency=1)

        payload = random.Random(7).randbytes(300_000)
        with connect(port, timeout=10) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            data, how = recv_until_eof(s, timeout=10.0)
        self.assertEqual(how, "eof", "connection was reset instead of closed cleanly")
        line, _, rest = data.partition(b"\n")
        self.assertEqual(line.decode(), "%d %s" % (len(payload), hashlib.sha1(payload).hexdigest()))
        self.assertEqual(len(rest), extra, "reply after the client's FIN was cut short")
        self.assertEqual(hashlib.sha1(rest).hexdigest(), harness.pattern_digest(extra))
        self.assertNoServerErrors()

    def test_backend_half_close_then_client_keeps_sending(self):
        """The backend sends and shuts its write side first; the client sees EOF but can still send,
        and the backend receives all of it."""
        greeting = b"bye for now, but keep talking\n"

        def closer_first(conn, server, index):
            conn.sendall(greeting)
            conn.shutdown(socket.SHUT_WR)
            count, digest = harness.recv_all_hash(conn, deadline=time.monotonic() + 10)
            server.record({"index": index, "bytes": count, "sha1": digest})

        backend = self.server(closer_first, name="closer")
        config, port = simple_proxy_config([backend.port])
        self.start_skiff(config, concurrency=1)

        payload = random.Random(8).randbytes(500_000)
        with connect(port, timeout=10) as s:
            data, how = recv_until_eof(s, timeout=5.0)
            self.assertEqual((data, how), (greeting, "eof"))
            time.sleep(0.2)  # Well after the EOF: the proxy must not have closed the other way.
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            results = backend.wait_results(1, timeout=10)
            rest, how = recv_until_eof(s, timeout=5.0)
            self.assertEqual(rest, b"")
        self.assertEqual(results[0]["bytes"], len(payload))
        self.assertEqual(results[0]["sha1"], hashlib.sha1(payload).hexdigest())
        self.assertNoServerErrors()


class UpstreamFailureTest(SkiffTestCase):

    def test_upstream_down_closes_client_promptly(self):
        """Cluster pointing at a closed port: each client connection is closed quickly (no hang)
        and cluster.<name>.upstream_cx_connect_fail counts every attempt."""
        config, port = simple_proxy_config([harness.closed_port()], connect_timeout="5s")
        skiff = self.start_skiff(config, concurrency=2)
        attempts = 3
        for i in range(attempts):
            start = time.monotonic()
            with connect(port) as s:
                try:
                    s.sendall(b"anyone there?")
                except OSError:
                    pass
                data, how = recv_until_eof(s, timeout=4.0)
            elapsed = time.monotonic() - start
            self.assertEqual(data, b"")
            self.assertLess(elapsed, 1.0, "client not closed promptly (%.2fs)" % elapsed)
        skiff.wait_stat("cluster.backend.upstream_cx_connect_fail", lambda v: v == attempts)
        self.assertEqual(skiff.stat("cluster.backend.upstream_cx_connect_timeout"), 0)
        self.assertEqual(skiff.stat("cluster.backend.upstream_cx_active"), 0)
        # The proxy survives it.
        self.assertEqual(skiff.get("/ready")[0], 200)
        self.assertEqual(skiff.stop(), 0)

    def test_connect_timeout(self):
        """An upstream whose accept queue is full drops SYNs, so the connect can only time out:
        skiff closes the client after about connect_timeout and counts upstream_cx_connect_timeout.
        """
        blackhole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(blackhole.close)
        blackhole.bind((LOOPBACK, 0))
        blackhole.listen(0)  # Room for one queued connection; never accepted.
        bh_port = blackhole.getsockname()[1]
        fillers = []
        self.addCleanup(lambda: [f.close() for f in fillers])
        for _ in range(2):
            f = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            f.setblocking(False)
            f.connect_ex((LOOPBACK, bh_port))
            fillers.append(f)
        time.sleep(0.1)
        # Precondition: a new connection now hangs in SYN_SENT.
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.settimeout(0.5)
        try:
            probe.connect((LOOPBACK, bh_port))
            self.skipTest("cannot make a blackholed port on this kernel (connect succeeded)")
        except socket.timeout:
            pass
        finally:
            probe.close()

        config, port = simple_proxy_config([bh_port], connect_timeout="0.5s")
        skiff = self.start_skiff(config, concurrency=1)
        start = time.monotonic()
        with connect(port) as s:
            data, how = recv_until_eof(s, timeout=5.0)
        elapsed = time.monotonic() - start
        self.assertEqual(data, b"")
        self.assertGreater(elapsed, 0.35, "closed before the connect timeout")
        self.assertLess(elapsed, 2.0, "not closed soon after the 0.5s connect timeout")
        skiff.wait_stat("cluster.backend.upstream_cx_connect_timeout", lambda v: v == 1)
        self.assertEqual(skiff.stat("cluster.backend.upstream_cx_connect_fail"), 0)
        self.note("connect timeout 0.5s closed the client after %.2fs" % elapsed)


class RobustnessTest(SkiffTestCase):

    def assertSettles(self, skiff, prefix="proxy", cluster="backend"):
        skiff.wait_stat("cluster.%s.upstream_cx_active" % cluster, lambda v: v == 0)
        skiff.wait_stat("tcp.%s.upstream_flush_active" % prefix, lambda v: v == 0)
        self.assertEqual(skiff.get("/ready")[0], 200, "skiff not serving any more")

    def test_client_reset_after_sending(self):
        """Clients that send a little and then reset (RST): skiff must notice the reset and close
        the upstream, so the backend sees its connection end and nothing stays open."""
        sink = self.server(harness.hold_handler, name="hold")
        config, port = simple_proxy_config([sink.port])
        skiff = self.start_skiff(config, concurrency=1)
        n = 20
        for i in range(n):
            s = connect(port)
            s.sendall(b"r" * (1000 if i % 2 else 200_000))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()  # RST
        try:
            sink.wait_results(n, timeout=3)
        except AssertionError:
            self.fail("%d of %d upstream connections were not closed 3 s after their client "
                      "reset (cluster.backend.upstream_cx_active=%s)"
                      % (n - len(sink.results), n, skiff.stat("cluster.backend.upstream_cx_active")))
        self.assertSettles(skiff)
        self.assertEqual(skiff.stop(), 0)

    def test_backend_reset_after_sending(self):
        """A backend that sends a little, then resets: the client is closed promptly every time,
        and skiff keeps serving."""

        def resetter(conn, server, index):
            conn.sendall(b"s" * (1000 if index % 2 else 200_000))
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            server.record({"index": index})

        backend = self.server(resetter, name="resetter")
        config, port = simple_proxy_config([backend.port])
        skiff = self.start_skiff(config, concurrency=1)
        hung = []
        n = 20
        for i in range(n):
            with connect(port) as s:
                try:
                    recv_until_eof(s, timeout=2)
                except AssertionError as e:
                    hung.append("connection %d: %s" % (i, e))
            if len(hung) >= 3:
                break  # Enough to know; do not spend 2 s on each of the rest.
        self.assertFalse(hung, "clients not closed within 2 s of their backend's reset (%d of "
                         "%d tried): %s" % (len(hung), i + 1, hung))
        self.assertSettles(skiff)
        self.assertEqual(skiff.stop(), 0)

    def test_upstream_flush_after_client_close(self):
        """The backend half-closes first, then is slow to read; the client sends 16 MiB and closes.
        Everything the client sent must still reach the backend (skiff's upstream flush)."""
        total = 16 << 20
        backend = self.server(harness.half_closed_slow_sink(stall=0.5, rate=16 << 20),
                              name="slow-sink", rcvbuf=64 * 1024)
        config, port = simple_proxy_config([backend.port])
        skiff = self.start_skiff(config, concurrency=1)
        with connect(port, timeout=20) as s:
            data, how = recv_until_eof(s, timeout=5)
            self.assertEqual(data, b"hi\n")
            harness.send_pattern(s, total)
        results = backend.wait_results(1, timeout=20)
        self.assertEqual((results[0]["bytes"], results[0]["sha1"]),
                         (total, harness.pattern_digest(total)))
        self.assertNoServerErrors()
        skiff.wait_stat("tcp.proxy.upstream_flush_active", lambda v: v == 0)
        # Whether the last bytes went through skiff's own flush or were already in the kernel
        # when the client's FIN was read depends on timing; note which it was.
        self.note("upstream_flush_total=%s" % skiff.stat("tcp.proxy.upstream_flush_total"))

    def test_upstream_closes_after_sending_to_slow_client(self):
        """The backend sends 16 MiB and closes its socket at once; the client only starts reading
        later. Everything the backend sent still reaches the client, then EOF."""
        total = 16 << 20

        def send_and_close(conn, server, index):
            harness.send_pattern(conn, total)
            conn.close()
            server.record({"index": index})

        backend = self.server(send_and_close, name="sender")
        config, port = simple_proxy_config([backend.port])
        self.start_skiff(config, concurrency=1)
        with connect(port, rcvbuf=64 * 1024) as s:
            time.sleep(0.7)
            count, digest = harness.recv_all_hash(s, deadline=time.monotonic() + 30)
        self.assertEqual((count, digest), (total, harness.pattern_digest(total)))
        self.assertNoServerErrors()

    def test_full_duplex_with_small_buffer_limits(self):
        """per_connection_buffer_limit_bytes 16 KiB on both sides (smaller than one read) and a
        client writing 48 MiB while reading the echo at the same time, on 3 connections: no
        deadlock, every byte echoed in order."""
        echo = self.server(echo_handler, name="echo")
        config, port = simple_proxy_config([echo.port])
        config["static_resources"]["listeners"][0]["per_connection_buffer_limit_bytes"] = 16384
        config["static_resources"]["clusters"][0]["per_connection_buffer_limit_bytes"] = 16384
        skiff = self.start_skiff(config, concurrency=2)
        total = 48 << 20
        expected = harness.pattern_digest(total)
        outcomes = {}

        def one(i):
            try:
                with connect(port, timeout=30) as s:
                    def writer():
                        harness.send_pattern(s, total)
                        s.shutdown(socket.SHUT_WR)
                    w = threading.Thread(target=writer, daemon=True)
                    w.start()
                    outcomes[i] = harness.recv_all_hash(s, deadline=time.monotonic() + 60)
                    w.join(timeout=10)
            except Exception as e:  # noqa: BLE001
                outcomes[i] = repr(e)

        threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(3)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
        self.assertFalse(any(t.is_alive() for t in threads), "full-duplex transfer hung")
        for i in range(3):
            self.assertEqual(outcomes.get(i), (total, expected), "connection %d" % i)
        self.note("3 x 48 MiB full-duplex echo with 16 KiB buffer limits in %.2fs"
                  % (time.monotonic() - start))
        skiff.wait_stat("tcp.proxy.downstream_cx_tx_bytes_total", lambda v: v == 3 * total)
        self.assertNoServerErrors()

    def test_connection_churn_leaks_nothing(self):
        """Hundreds of connections that end in every way (normal close, close before the upstream
        is connected, RST, to a dead cluster): afterwards skiff's open file descriptors and active
        gauges are back where they started."""
        echo = self.server(echo_handler, name="echo", backlog=512)
        admin_port = harness.free_port()
        live_port, dead_port = harness.free_port(), harness.free_port()
        config = harness.bootstrap(
            admin_port,
            [harness.tcp_proxy_listener("proxy", live_port, "backend"),
             harness.tcp_proxy_listener("dead", dead_port, "dead")],
            [harness.static_cluster("backend", [echo.port]),
             harness.static_cluster("dead", [harness.closed_port()])])
        skiff = self.start_skiff(config, concurrency=2)

        def fd_count():
            return len(os.listdir("/proc/%d/fd" % skiff.pid))

        time.sleep(0.2)  # Let the /ready probe's admin connection close first.
        baseline = min(fd_count() for _ in range(3))
        rst = struct.pack("ii", 1, 0)
        for i in range(100):
            with connect(live_port) as s:  # normal
                s.sendall(b"x" * 100)
                recv_exactly(s, 100)
            s = connect(live_port)  # gone before the upstream connect finishes
            s.close()
            s = connect(live_port)  # RST after some data
            s.sendall(b"y" * 1000)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, rst)
            s.close()
            if i % 4 == 0:
                with connect(dead_port) as s:  # upstream refuses
                    recv_until_eof(s, timeout=3)
        # /stats itself opens an admin connection, so the fds are counted after it has closed.
        # Every gauge the assertions check is part of "settled": the listener's active count
        # drops after the upstream's in the same close. (The ASan whole-suite run once stopped
        # here with descriptors back at the baseline but one listener connection still counted.)
        deadline = time.monotonic() + 15
        while True:
            stats = skiff.stats()
            time.sleep(0.1)
            fds = fd_count()
            settled = (stats.get("cluster.backend.upstream_cx_active") == 0
                       and stats.get("cluster.dead.upstream_cx_active") == 0 and fds <= baseline
                       and all(v == 0 for k, v in stats.items()
                               if k.endswith("downstream_cx_active")))
            if settled or time.monotonic() > deadline:
                break
        listener_active = {k: v for k, v in stats.items() if k.endswith("downstream_cx_active")}
        self.note("fds: %d before, %d after; %s" % (baseline, fds, listener_active))
        self.assertEqual(stats.get("cluster.backend.upstream_cx_active"), 0)
        self.assertEqual(stats.get("cluster.dead.upstream_cx_active"), 0)
        self.assertTrue(all(v == 0 for v in listener_active.values()), listener_active)
        self.assertEqual(stats.get("cluster.dead.upstream_cx_connect_fail"), 25)
        self.assertLessEqual(fds, baseline, "file descriptors leaked: %s" % sorted(
            os.readlink("/proc/%d/fd/%s" % (skiff.pid, f))
            for f in os.listdir("/proc/%d/fd" % skiff.pid)))
        self.assertEqual(skiff.stop(), 0)


if __name__ == "__main__":
    harness.main()
