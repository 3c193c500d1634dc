"""HTTP/1.1 proxy end to end: a real skiff with an HTTP connection manager in front of real
Python backends (http_backend.py) on loopback.

Covers routing by host, path and header; direct responses and 404; the headers the connection
manager and router add; a weighted split over 10,000 requests; retries, route and per-try
timeouts; connect failures; WebSocket passthrough; malformed requests (none reaches a backend);
keep-alive and pipelining; drain on SIGTERM.
"""

import os
import signal
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from http_backend import Client, HttpBackend  # noqa: E402

HCM_TYPE = ("type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
            "HttpConnectionManager")
HCM_NAME = "envoy.filters.network.http_connection_manager"
ROUTER = {"name": "envoy.filters.http.router",
          "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3."
                                    "Router"}}


def hcm_listener(name, port, route_config=None, rds=None, **hcm_fields):
    typed = {"@type": HCM_TYPE, "stat_prefix": name, "http_filters": [ROUTER]}
    if route_config is not None:
        typed["route_config"] = route_config
    if rds is not None:
        typed["rds"] = {"route_config_name": rds,
                        "config_source": {"ads": {}, "resource_api_version": "V3"}}
    typed.update(hcm_fields)
    return {"name": name, "address": harness.socket_address(port),
            "filter_chains": [{"filters": [{"name": HCM_NAME, "typed_config": typed}]}]}


def route(match, **action):
    out = {"match": match}
    out.update(action)
    return out


def test_routes():
    return {
        "name": "local",
        "validate_clusters": False,  # /nocluster names a cluster that does not exist.
        "virtual_hosts": [
            {"name": "a_host", "domains": ["a.example.com", "a.example.com:*"],
             "routes": [route({"prefix": "/"}, route={"cluster": "a"})]},
            {"name": "default", "domains": ["*"], "routes": [
                route({"prefix": "/hdr", "headers": [{"name": "x-pick",
                                                      "string_match": {"exact": "b"}}]},
                      route={"cluster": "b"}),
                route({"prefix": "/b/"}, route={"cluster": "b", "prefix_rewrite": "/echo/"}),
                route({"path": "/direct"},
                      direct_response={"status": 200, "body": {"inline_string": "hello\n"}}),
                route({"prefix": "/weighted"}, route={"weighted_clusters": {"clusters": [
                    {"name": "a", "weight": 30}, {"name": "b", "weight": 70}]}}),
                route({"prefix": "/retry/"}, route={
                    "cluster": "a", "prefix_rewrite": "/fail/",
                    "retry_policy": {"retry_on": "5xx", "num_retries": 3}}),
                route({"prefix": "/noretry/"}, route={"cluster": "a", "prefix_rewrite": "/fail/"}),
                route({"prefix": "/timeout/"}, route={"cluster": "a", "prefix_rewrite": "/delay/",
                                                      "timeout": "0.3s"}),
                route({"prefix": "/pertry/"}, route={
                    "cluster": "a", "prefix_rewrite": "/delay/", "timeout": "5s",
                    "retry_policy": {"retry_on": "5xx", "num_retries": 1,
                                     "per_try_timeout": "0.2s"}}),
                route({"prefix": "/ws"}, route={"cluster": "a",
                                                "upgrade_configs": [{"upgrade_type": "websocket"}]}),
                route({"prefix": "/dead"}, route={"cluster": "dead",
                                                  "retry_policy": {"retry_on": "connect-failure",
                                                                   "num_retries": 2}}),
                route({"prefix": "/nocluster"}, route={"cluster": "missing"}),
                route({"prefix": "/"}, route={"cluster": "a"}),
            ]},
        ],
    }


class HttpBase(harness.SkiffTestCase):
    def setUp(self):
        super().setUp()
        self.a = HttpBackend.start(self, "a")
        self.b = HttpBackend.start(self, "b")

    def start_proxy(self, routes=None, concurrency=2, **hcm_fields):
        port = harness.free_port()
        admin = harness.free_port()
        clusters = [harness.static_cluster("a", [self.a.port]),
                    harness.static_cluster("b", [self.b.port]),
                    harness.static_cluster("dead", [harness.closed_port()],
                                           connect_timeout="0.5s")]
        config = harness.bootstrap(
            admin, [hcm_listener("ingress", port, route_config=routes or test_routes(),
                                 **hcm_fields)], clusters)
        self.skiff = self.start_skiff(config, concurrency=concurrency)
        self.port = port
        return self.skiff

    def client(self):
        c = Client(self.port)
        self.addCleanup(c.close)
        return c


class HttpTests(HttpBase):
    def test_routing_by_host_path_and_header(self):
        self.start_proxy()
        c = self.client()
        r = c.request("GET", "/x", host="a.example.com")
        self.assertEqual((r.status, r.header("x-backend")), (200, "a"))
        r = c.request("GET", "/b/thing?q=1")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("x-backend"), "b")
        self.assertEqual(r.json()["path"], "/echo/thing?q=1")  # prefix_rewrite
        r = c.request("GET", "/hdr", headers=[("x-pick", "b")])
        self.assertEqual(r.header("x-backend"), "b")
        r = c.request("GET", "/hdr", headers=[("x-pick", "c")])
        self.assertEqual(r.header("x-backend"), "a")
        stats = self.skiff.stats()
        self.assertEqual(stats["http.ingress.downstream_rq_2xx"], 4)
        self.assertEqual(stats["http.ingress.downstream_cx_total"], 1)  # All on one keep-alive.
        self.assertEqual(stats["cluster.b.upstream_rq_2xx"], 2)

    def test_direct_response_404_and_missing_cluster(self):
        routes = test_routes()
        routes["virtual_hosts"] = routes["virtual_hosts"][:1]  # Only a.example.com.
        self.start_proxy(routes=routes)
        c = self.client()
        r = c.request("GET", "/anything", host="other.example.com")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.header("content-type"), "text/plain")
        self.assertEqual(self.skiff.stat("http.ingress.no_route"), 1)
        self.skiff.stop()
        self.start_proxy()
        c = self.client()
        r = c.request("GET", "/direct")
        self.assertEqual((r.status, r.body), (200, b"hello\n"))
        r = c.request("GET", "/nocluster")
        self.assertEqual(r.status, 503)
        self.assertEqual(self.a.requests + self.b.requests, 0)

    def test_request_and_response_headers(self):
        self.start_proxy(use_remote_address=True, via="1.1 skiff",
                         always_set_request_id_in_response=True, server_name="skiff")
        c = self.client()
        r = c.request("POST", "/echo", body=b"x" * 10,
                      headers=[("connection", "keep-alive, x-hop"), ("x-hop", "secret"),
                               ("keep-alive", "timeout=5"), ("x-forwarded-for", "203.0.113.1"),
                               ("x-forwarded-proto", "https")])
        self.assertEqual(r.status, 200)
        seen = dict(r.json()["headers"])
        self.assertNotIn("x-hop", seen)
        self.assertNotIn("keep-alive", seen)
        self.assertEqual(seen["x-forwarded-for"], "203.0.113.1,127.0.0.1")
        self.assertEqual(seen["x-forwarded-proto"], "http")  # Untrusted hop: overwritten.
        self.assertEqual(len(seen["x-request-id"]), 36)
        self.assertEqual(seen["via"], "1.1 skiff")
        self.assertEqual(r.json()["body_bytes"], 10)
        self.assertEqual(r.header("x-request-id"), seen["x-request-id"])
        self.assertEqual(r.header("server"), "skiff")
        self.assertIsNotNone(r.header("x-envoy-upstream-service-time"))
        # Expect: 100-continue is answered by the proxy before the body is sent.
        c.send(b"POST /echo HTTP/1.1\r\nhost: h\r\ncontent-length: 3\r\n"
               b"expect: 100-continue\r\n\r\n")
        c.sock.settimeout(5)
        self.assertEqual(c.reader.readline(), b"HTTP/1.1 100 Continue\r\n")
        line = c.reader.readline()
        while line != b"\r\n":  # Any fields of the interim head, then its end.
            line = c.reader.readline()
        c.send(b"abc")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertNotIn("expect", dict(r.json()["headers"]))
        self.assertEqual(r.json()["body_bytes"], 3)

    def test_weighted_split_10000_requests(self):
        self.start_proxy()
        counts = {"a": 0, "b": 0}
        lock = threading.Lock()
        errors = []

        def worker(n):
            try:
                c = Client(self.port)
                local = {"a": 0, "b": 0}
                for _ in range(n):
                    r = c.request("GET", "/weighted")
                    if r.status != 200:
                        errors.append(r.status)
                        continue
                    local[r.header("x-backend")] += 1
                c.close()
                with lock:
                    for k, v in local.items():
                        counts[k] += v
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        threads = [threading.Thread(target=worker, args=(1250,)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        self.assertEqual(errors, [])
        total = counts["a"] + counts["b"]
        self.assertEqual(total, 10000)
        share_a = counts["a"] / total
        self.note("weighted split: a=%d b=%d (a share %.4f, configured 0.30)"
                  % (counts["a"], counts["b"], share_a))
        self.assertLess(abs(share_a - 0.30), 0.02)

    def test_retries_on_5xx_and_limit(self):
        self.start_proxy()
        c = self.client()
        r = c.request("GET", "/retry/k1/2")  # 503, 503, then 200.
        self.assertEqual((r.status, r.body), (200, b"recovered\n"))
        stats = self.skiff.stats()
        self.assertEqual(stats["cluster.a.upstream_rq_retry"], 2)
        self.assertEqual(stats["cluster.a.upstream_rq_retry_success"], 1)
        r = c.request("GET", "/retry/k2/10")  # 1 + 3 retries, all 503.
        self.assertEqual(r.status, 503)
        self.assertEqual(self.skiff.stat("cluster.a.upstream_rq_retry_limit_exceeded"), 1)
        r = c.request("GET", "/noretry/k3/1")
        self.assertEqual(r.status, 503)  # Passed through, no retry policy.
        self.assertEqual(self.a.fail_counts, {"k1": 3, "k2": 4, "k3": 1})

    def test_route_timeout_and_per_try_timeout(self):
        self.start_proxy()
        c = self.client()
        start = time.monotonic()
        r = c.request("GET", "/timeout/3000")
        elapsed = time.monotonic() - start
        self.assertEqual(r.status, 504)
        self.assertEqual(r.body, b"upstream request timeout")
        self.assertLess(elapsed, 2.5)
        c2 = self.client()
        r = c2.request("GET", "/pertry/3000")
        self.assertEqual(r.status, 504)
        stats = self.skiff.stats()
        self.assertEqual(stats["cluster.a.upstream_rq_timeout"], 1)
        self.assertEqual(stats["cluster.a.upstream_rq_per_try_timeout"], 2)
        self.assertEqual(stats["cluster.a.upstream_rq_retry"], 1)

    def test_connect_failure_is_503_after_retries(self):
        self.start_proxy()
        c = self.client()
        r = c.request("GET", "/dead")
        self.assertEqual(r.status, 503)
        self.assertIn(b"upstream connect error or disconnect/reset before headers", r.body)
        stats = self.skiff.stats()
        self.assertEqual(stats["cluster.dead.upstream_rq_retry"], 2)
        self.assertGreaterEqual(stats["cluster.dead.upstream_cx_connect_fail"], 3)

    def test_retry_skips_previous_hosts(self):
        # Half the cluster refuses connections. One retry without the predicate often lands on
        # the same dead host again (RANDOM picks it half the time); with previous_hosts the
        # retry's pick is redone until it is a host this request has not tried.
        previous_hosts = [{"name": "envoy.retry_host_predicates.previous_hosts", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3."
                     "PreviousHostsPredicate"}}]
        one_retry = {"retry_on": "connect-failure", "num_retries": 1}
        routes = {"name": "local", "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
            route({"prefix": "/avoid"}, route={"cluster": "half", "retry_policy": dict(
                one_retry, retry_host_predicate=previous_hosts,
                host_selection_retry_max_attempts=50)}),
            route({"prefix": "/"}, route={"cluster": "half", "retry_policy": one_retry}),
        ]}]}
        port, admin = harness.free_port(), harness.free_port()
        half = harness.static_cluster("half", [self.a.port, harness.closed_port()],
                                      extra={"lb_policy": "RANDOM"})
        self.skiff = self.start_skiff(harness.bootstrap(
            admin, [hcm_listener("ingress", port, route_config=routes)], [half]))
        self.port = port
        c = self.client()
        plain = [c.request("GET", "/echo").status for _ in range(100)]
        self.assertGreater(plain.count(503), 0)  # P(none of 100) = 0.75^100.
        before = self.skiff.stats()
        avoid = [c.request("GET", "/avoid/echo").status for _ in range(100)]
        self.assertEqual(avoid, [200] * 100)
        self.note("one retry: %d of 100 failed without previous_hosts, 0 with it"
                  % plain.count(503))
        # Every /avoid retry followed a refused first attempt and went to the live host.
        after = self.skiff.stats()
        retries, successes = (after[k] - before.get(k, 0) for k in (
            "cluster.half.upstream_rq_retry", "cluster.half.upstream_rq_retry_success"))
        self.assertGreater(retries, 0)
        self.assertEqual(retries, successes)

    def test_backend_closing_without_answer_is_503(self):
        self.start_proxy()
        c = self.client()
        r = c.request("GET", "/close")
        self.assertEqual(r.status, 503)
        r = c.request("GET", "/echo")  # The downstream connection is still usable.
        self.assertEqual(r.status, 200)

    def test_websocket_passthrough(self):
        self.start_proxy()
        s = harness.connect(self.port)
        self.addCleanup(s.close)
        s.sendall(b"GET /ws HTTP/1.1\r\nhost: h\r\nconnection: upgrade\r\nupgrade: websocket\r\n"
                  b"sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            self.assertTrue(chunk, "EOF before the 101")
            head += chunk
        self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
        for i in range(20):
            payload = b"frame-%d-" % i + os.urandom(100)
            s.sendall(payload)
            self.assertEqual(harness.recv_exactly(s, len(payload)), payload)
        s.shutdown(socket.SHUT_WR)
        data, how = harness.recv_until_eof(s)
        self.assertEqual((data, how), (b"", "eof"))
        # Upgrades are refused where neither the route nor the HCM allows them.
        c = self.client()
        r = c.request("GET", "/", headers=[("connection", "upgrade"), ("upgrade", "websocket")])
        self.assertEqual(r.status, 403)

    def test_malformed_requests_never_reach_a_backend(self):
        self.start_proxy(max_request_headers_kb=8)
        cases = [
            ("cl+te smuggling", b"POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 4\r\n"
                                b"transfer-encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            ("two content-lengths", b"POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 1\r\n"
                                    b"content-length: 2\r\n\r\nab", 400),
            ("bad chunk size", b"POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n"
                               b"zz\r\nabc\r\n0\r\n\r\n", 400),
            ("obs-fold", b"GET / HTTP/1.1\r\nhost: h\r\nx-a: b\r\n  folded\r\n\r\n", 400),
            ("space before colon", b"GET / HTTP/1.1\r\nhost: h\r\nx-a : b\r\n\r\n", 400),
            ("oversize headers", b"GET / HTTP/1.1\r\nhost: h\r\nx-big: " + b"a" * 9000 +
             b"\r\n\r\n", 431),
            ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 400),
            ("missing host", b"GET / HTTP/1.1\r\nx: y\r\n\r\n", 400),
            ("te not chunked", b"POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: gzip\r\n\r\n",
             501),
        ]
        for name, payload, code in cases:
            with self.subTest(name):
                out = harness.raw_request(self.port, payload, timeout=5.0)
                self.assertTrue(out.startswith(b"HTTP/1.1 %d" % code), "%s: %r" % (name, out[:80]))
                self.assertIn(b"connection: close", out.lower())
        self.assertEqual(self.a.requests + self.b.requests, 0)
        self.assertGreaterEqual(self.skiff.stat("http.ingress.downstream_cx_protocol_error"),
                                len(cases))

    def test_keep_alive_and_pipelining(self):
        self.start_proxy()
        c = self.client()
        c.send(b"GET /echo?1 HTTP/1.1\r\nhost: h\r\n\r\nGET /echo?2 HTTP/1.1\r\nhost: h\r\n\r\n"
               b"GET /echo?3 HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n")
        paths = [c.read_response().json()["path"] for _ in range(3)]
        self.assertEqual(paths, ["/echo?1", "/echo?2", "/echo?3"])
        self.assertTrue(c.eof())

    def test_sigterm_drain_answers_with_connection_close(self):
        self.start_proxy()
        c = self.client()
        self.assertEqual(c.request("GET", "/echo").status, 200)
        # A request in flight when the drain starts gets its answer with `connection: close`.
        c.send(b"GET /delay/1000 HTTP/1.1\r\nhost: h\r\n\r\n")
        time.sleep(0.3)
        self.skiff.signal(signal.SIGTERM)
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("connection"), "close")
        self.assertTrue(c.eof())
        self.assertEqual(self.skiff.wait_exit(10), 0)

    def test_access_log_and_reopen(self):
        path = os.path.join(self.outdir, "access.log")
        fmt = "%REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_CLUSTER%\n"
        self.start_proxy(access_log=[{
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "path": path, "log_format": {"text_format_source": {"inline_string": fmt}}}}])
        c = self.client()
        self.assertEqual(c.request("GET", "/echo").status, 200)
        self.assertEqual(c.request("GET", "/dead").status, 503)

        def lines(p):
            try:
                with open(p) as f:
                    return f.read().splitlines()
            except OSError:
                return []

        deadline = time.monotonic() + 10
        while len(lines(path)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(lines(path), ["GET /echo 200 - a", "GET /dead 503 UF,URX dead"])
        # Rotation: move the file away, reopen, and new lines go to a new file at the path.
        os.rename(path, path + ".1")
        status, _, _ = self.skiff.post("/reopen_logs")
        self.assertEqual(status, 200)
        self.assertEqual(c.request("GET", "/direct").status, 200)
        deadline = time.monotonic() + 10
        while not lines(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(lines(path), ["GET /direct 200 - -"])
        self.assertEqual(len(lines(path + ".1")), 2)

    def test_idle_keep_alive_connection_closed_on_drain(self):
        """An idle keep-alive connection is closed drain_timeout after the drain began (not at
        once: its client may be sending a request right then), and skiff exits."""
        self.start_proxy(drain_timeout="0.5s")
        c = self.client()
        self.assertEqual(c.request("GET", "/echo").status, 200)
        start = time.monotonic()
        self.skiff.signal(signal.SIGTERM)
        self.assertTrue(c.eof(timeout=5))
        self.assertGreaterEqual(time.monotonic() - start, 0.4)
        self.assertEqual(self.skiff.wait_exit(10), 0)
        self.assertLess(time.monotonic() - start, 5)

    def test_idle_keep_alive_connection_gets_one_more_request_on_drain(self):
        """A request sent on an idle keep-alive connection just after the drain began is answered
        (with `connection: close`), then the connection closes."""
        self.start_proxy()
        c = self.client()
        self.assertEqual(c.request("GET", "/echo").status, 200)
        self.skiff.signal(signal.SIGTERM)
        time.sleep(0.3)
        r = c.request("GET", "/echo")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("connection"), "close")
        self.assertTrue(c.eof(timeout=5))
        self.assertEqual(self.skiff.wait_exit(10), 0)


if __name__ == "__main__":
    harness.main()
