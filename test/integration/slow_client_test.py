"""Slow and idle clients against a real skiff HTTP listener: slowloris (request headers trickled a
byte at a time) is cut off by request_headers_timeout with a 408 and nothing reaches the backend;
hundreds of slowloris connections do not delay ordinary clients on the same workers; an idle
keep-alive connection is closed by common_http_protocol_options.idle_timeout; a request whose
body stalls is ended by stream_idle_timeout.

Run: python3 test/integration/slow_client_test.py [test-name-substring ...]   (SKIFF_BIN=... if
not under Bazel).
"""

import os
import resource
import selectors
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from http_backend import Client, HttpBackend  # noqa: E402
from http_test import hcm_listener, route  # noqa: E402

SLOW_CLIENTS = 300


def routes():
    return {"name": "local", "virtual_hosts": [
        {"name": "all", "domains": ["*"], "routes": [route({"prefix": "/"},
                                                           route={"cluster": "a"})]}]}


class SlowClientTest(harness.SkiffTestCase):
    def setUp(self):
        super().setUp()
        self.backend = HttpBackend.start(self, "a")

    def start_proxy(self, **hcm_fields):
        self.port = harness.free_port()
        config = harness.bootstrap(
            harness.free_port(),
            [hcm_listener("ingress", self.port, route_config=routes(), **hcm_fields)],
            [harness.static_cluster("a", [self.backend.port])])
        self.skiff = self.start_skiff(config, concurrency=2)

    def stat(self, name):
        return self.skiff.stats().get("http.ingress." + name, 0)

    def test_slowloris_gets_408_and_never_reaches_backend(self):
        self.start_proxy(request_headers_timeout="1s")
        sock = harness.connect(self.port, timeout=10)
        self.addCleanup(sock.close)
        sock.sendall(b"GET / HTTP/1.1\r\nhost: example.com\r\n")
        start = time.monotonic()
        sent = 0
        answer = b""
        sock.settimeout(0.2)
        # One header byte every 200 ms: each byte arrives well inside any per-read timeout, so
        # only a deadline on the whole header block stops it.
        while time.monotonic() - start < 10:
            try:
                sock.sendall(b"x-slow-%d: 1\r\n"[sent % 12:sent % 12 + 1])
                sent += 1
            except (BrokenPipeError, ConnectionResetError):
                break
            try:
                piece = sock.recv(4096)
                if not piece:
                    break
                answer += piece
            except socket.timeout:
                pass
            except ConnectionResetError:
                # Bytes this client trickled after skiff answered and closed reset the
                # connection; if the reset arrives before this thread reads the 408, Linux drops
                # it. The 408 itself is checked by the next test, whose clients stop sending.
                break
        elapsed = time.monotonic() - start
        if answer:
            self.assertTrue(answer.startswith(b"HTTP/1.1 408"), answer[:80])
            self.assertIn(b"request header timeout", answer)
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 8)
        self.skiff.wait_stat("http.ingress.downstream_rq_header_timeout", lambda v: v == 1)
        self.assertEqual(self.backend.requests, 0)
        self.note("slowloris: cut off with 408 after %.2f s (%d bytes trickled)" % (elapsed, sent))

    def test_many_slowloris_connections_do_not_delay_others(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 4 * SLOW_CLIENTS and hard >= 4 * SLOW_CLIENTS:
            resource.setrlimit(resource.RLIMIT_NOFILE, (4 * SLOW_CLIENTS, hard))
        self.start_proxy(request_headers_timeout="3s")
        slow = []
        for _ in range(SLOW_CLIENTS):
            s = harness.connect(self.port, timeout=10)
            self.addCleanup(s.close)
            s.sendall(b"GET / HTTP/1.1\r\nhost: exa")
            slow.append(s)
        # While every slow connection holds a half-sent request, ordinary requests are served.
        fast = Client(self.port)
        self.addCleanup(fast.close)
        worst = 0.0
        for _ in range(50):
            t0 = time.monotonic()
            self.assertEqual(fast.request("GET", "/echo").status, 200)
            worst = max(worst, time.monotonic() - t0)
        # Then every slow one is answered 408 and closed.
        sel = selectors.DefaultSelector()
        for s in slow:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, bytearray())
        deadline = time.monotonic() + 20
        closed = 0
        got_408 = 0
        while closed < len(slow) and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.5):
                try:
                    piece = key.fileobj.recv(4096)
                except ConnectionResetError:
                    piece = b""
                if piece:
                    key.data.extend(piece)
                    continue
                got_408 += key.data.startswith(b"HTTP/1.1 408")
                closed += 1
                sel.unregister(key.fileobj)
        self.assertEqual(closed, len(slow))
        self.assertEqual(got_408, len(slow))
        self.assertEqual(self.backend.requests, 50)
        self.skiff.wait_stat("http.ingress.downstream_rq_header_timeout",
                             lambda v: v == SLOW_CLIENTS)
        self.note("%d slowloris connections: 50 ordinary requests served (slowest %.1f ms); "
                  "all %d cut off with 408" % (SLOW_CLIENTS, worst * 1000, got_408))

    def test_idle_keep_alive_connection_closed(self):
        self.start_proxy(common_http_protocol_options={"idle_timeout": "0.5s"})
        c = Client(self.port)
        self.addCleanup(c.close)
        self.assertEqual(c.request("GET", "/echo").status, 200)
        start = time.monotonic()
        self.assertTrue(c.eof(timeout=8))
        self.assertGreaterEqual(time.monotonic() - start, 0.4)
        self.skiff.wait_stat("http.ingress.downstream_cx_idle_timeout", lambda v: v == 1)
        # A connection that keeps sending requests is not idle.
        busy = Client(self.port)
        self.addCleanup(busy.close)
        for _ in range(8):
            self.assertEqual(busy.request("GET", "/echo").status, 200)
            time.sleep(0.2)
        self.assertEqual(self.stat("downstream_cx_idle_timeout"), 1)

    def test_stalled_request_body_ended_by_stream_idle_timeout(self):
        self.start_proxy(stream_idle_timeout="1s")
        sock = harness.connect(self.port, timeout=10)
        self.addCleanup(sock.close)
        sock.sendall(b"POST /echo HTTP/1.1\r\nhost: example.com\r\ncontent-length: 100\r\n\r\n"
                     b"only part of it")
        sock.settimeout(8)
        answer = b""
        start = time.monotonic()
        while True:
            try:
                piece = sock.recv(4096)
            except (ConnectionResetError, socket.timeout):
                break
            if not piece:
                break
            answer += piece
        self.assertTrue(answer.startswith(b"HTTP/1.1 408"), answer[:80])
        self.assertLess(time.monotonic() - start, 7)
        self.skiff.wait_stat("http.ingress.downstream_rq_idle_timeout", lambda v: v == 1)


if __name__ == "__main__":
    harness.main()
