"""Overload protection with real processes and sockets: per-listener and global connection limits
(connections beyond them closed at once and counted), the overload manager's actions
(stop_accepting_connections from the connection count and from heap use), and accept() running
out of descriptors (back-off, counted, recovery).

Run: python3 test/integration/overload_test.py [test-name-substring ...]   (SKIFF_BIN=... if not
under Bazel).
"""

import http.client
import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import (SkiffTestCase, connect, echo_handler, free_port,  # noqa: E402
                     static_cluster, tcp_proxy_listener)

HEAP = "envoy.resource_monitors.fixed_heap"
CONNECTIONS = "envoy.resource_monitors.global_downstream_max_connections"
STOP_ACCEPTING = "envoy.overload_actions.stop_accepting_connections"
STOP_REQUESTS = "envoy.overload_actions.stop_accepting_requests"
KEEPALIVE = "envoy.overload_actions.disable_http_keepalive"
HCM_TYPE = ("type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
            "HttpConnectionManager")
HEAP_TYPE = "type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig"
CONNECTIONS_TYPE = ("type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections."
                    "v3.DownstreamConnectionsConfig")


def listener_stat(port, name):
    return "listener.127.0.0.1_%d.%s" % (port, name)


def echoes(sock, timeout=5.0):
    """True if a byte sent comes back within `timeout` (the connection is proxied)."""
    sock.settimeout(timeout)
    try:
        sock.sendall(b"x")
        return sock.recv(1) == b"x"
    except (socket.timeout, ConnectionError):
        return False


def closed_by_peer(sock, timeout=5.0):
    """True if the peer ends the connection (FIN or RST) within `timeout` without sending."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def heap_monitor(max_bytes):
    return {"name": HEAP, "typed_config": {"@type": HEAP_TYPE, "max_heap_size_bytes": max_bytes}}


def connections_monitor(max_connections):
    return {"name": CONNECTIONS, "typed_config": {
        "@type": CONNECTIONS_TYPE, "max_active_downstream_connections": max_connections}}


def action(name, monitor, threshold):
    return {"name": name, "triggers": [{"name": monitor, "threshold": {"value": threshold}}]}


class OverloadTestCase(SkiffTestCase):

    def config(self, listeners, backend, overload=None, runtime=None):
        """A bootstrap with tcp_proxy listeners `[(name, port)]` to one echo backend."""
        config = harness.bootstrap(
            free_port(), [tcp_proxy_listener(name, port, "backend") for name, port in listeners],
            [static_cluster("backend", [backend.port])])
        if overload is not None:
            config["overload_manager"] = overload
        if runtime is not None:
            config["layered_runtime"] = {"layers": [{"name": "static", "static_layer": runtime}]}
        return config

    def hold(self, port, n):
        """n proxied connections, each proven to echo."""
        held = []
        for _ in range(n):
            s = connect(port)
            held.append(s)
            self.addCleanup(s.close)
            self.assertTrue(echoes(s), "connection %d of %d was not proxied" % (len(held), n))
        return held


class ConnectionLimitTest(OverloadTestCase):

    def test_listener_limit_across_workers(self):
        """runtime envoy.resource_limits.listener.<name>.connection_limit: 3 holds over both
        workers; the 4th connection is closed at once and counted; closing one makes room."""
        echo = self.server(echo_handler, name="echo")
        port = free_port()
        skiff = self.start_skiff(self.config(
            [("proxy", port)], echo,
            runtime={"envoy": {"resource_limits": {"listener": {"proxy": {
                "connection_limit": 3}}}}}), concurrency=2)
        held = self.hold(port, 3)
        extra = connect(port)
        self.assertTrue(closed_by_peer(extra), "the 4th connection was not closed")
        extra.close()
        skiff.wait_stat(listener_stat(port, "downstream_cx_overflow"), lambda v: v == 1)
        self.assertEqual(skiff.stat(listener_stat(port, "downstream_cx_total")), 3)

        held.pop().close()
        skiff.wait_stat(listener_stat(port, "downstream_cx_active"), lambda v: v == 2)
        self.hold(port, 1)
        self.assertEqual(skiff.stat(listener_stat(port, "downstream_cx_overflow")), 1)
        self.assertNoServerErrors()

    def test_global_limit_from_overload_manager(self):
        """The downstream connections monitor limits all listeners together; the overflow is
        counted on the listener that refused it, and the pressure is reported."""
        echo = self.server(echo_handler, name="echo")
        port_a, port_b = free_port(), free_port()
        skiff = self.start_skiff(self.config(
            [("a", port_a), ("b", port_b)], echo,
            overload={"refresh_interval": "0.05s",
                      "resource_monitors": [connections_monitor(3)]}), concurrency=2)
        self.hold(port_a, 2)
        self.hold(port_b, 1)
        for port in (port_b, port_a):
            s = connect(port)
            self.assertTrue(closed_by_peer(s), "a connection beyond the global limit was served")
            s.close()
        skiff.wait_stat(listener_stat(port_b, "downstream_global_cx_overflow"), lambda v: v == 1)
        skiff.wait_stat(listener_stat(port_a, "downstream_global_cx_overflow"), lambda v: v == 1)
        skiff.wait_stat("overload.%s.pressure" % CONNECTIONS, lambda v: v == 100)

    def test_global_limit_from_runtime(self):
        """Envoy's older runtime key overload.global_downstream_max_connections works too."""
        echo = self.server(echo_handler, name="echo")
        port = free_port()
        skiff = self.start_skiff(self.config(
            [("proxy", port)], echo,
            runtime={"overload.global_downstream_max_connections": 2}), concurrency=2)
        self.hold(port, 2)
        s = connect(port)
        self.assertTrue(closed_by_peer(s))
        s.close()
        skiff.wait_stat(listener_stat(port, "downstream_global_cx_overflow"), lambda v: v == 1)


class OverloadActionTest(OverloadTestCase):

    def test_stop_accepting_connections_and_resume(self):
        """stop_accepting_connections at half the global connection limit: a new connection waits
        in the kernel's queue (not served, not refused) until pressure falls, then is served."""
        echo = self.server(echo_handler, name="echo")
        port = free_port()
        skiff = self.start_skiff(self.config(
            [("proxy", port)], echo,
            overload={"refresh_interval": "0.05s",
                      "resource_monitors": [connections_monitor(4)],
                      "actions": [action(STOP_ACCEPTING, CONNECTIONS, 0.5)]}), concurrency=2)
        active = "overload.%s.active" % STOP_ACCEPTING
        self.assertEqual(skiff.stat(active), 0)
        held = self.hold(port, 2)
        skiff.wait_stat(active, lambda v: v == 1)

        waiting = connect(port)  # The kernel completes the handshake; skiff does not accept.
        self.addCleanup(waiting.close)
        waiting.sendall(b"x")
        waiting.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            waiting.recv(1)
        self.assertEqual(skiff.stat(listener_stat(port, "downstream_cx_total")), 2)

        start = time.monotonic()
        held.pop().close()
        waiting.settimeout(10.0)
        self.assertEqual(waiting.recv(1), b"x", "the queued connection was not served")
        recovered = time.monotonic() - start
        skiff.wait_stat(active, lambda v: v == 0)
        self.note("stop_accepting_connections: queued connection served %.0f ms after pressure "
                  "fell (refresh 50 ms)" % (recovered * 1000))
        self.assertNoServerErrors()

    def test_heap_threshold(self):
        """The fixed heap monitor against a 1-byte maximum: both actions are active from the first
        refresh and nothing is accepted; against 1 TiB nothing is active and traffic flows."""
        echo = self.server(echo_handler, name="echo")
        overload = lambda max_bytes: {  # noqa: E731
            "refresh_interval": "0.05s", "resource_monitors": [heap_monitor(max_bytes)],
            "actions": [action(STOP_ACCEPTING, HEAP, 0.9), action(STOP_REQUESTS, HEAP, 0.95)]}
        port = free_port()
        skiff = self.start_skiff(self.config([("proxy", port)], echo, overload=overload(1)),
                                 concurrency=2)
        skiff.wait_stat("overload.%s.active" % STOP_ACCEPTING, lambda v: v == 1)
        self.assertEqual(skiff.stat("overload.%s.active" % STOP_REQUESTS), 1)
        pressure = skiff.stat("overload.%s.pressure" % HEAP)
        self.assertGreater(pressure, 100 * 100000, "a 1-byte maximum must read as far over 100%")
        s = connect(port)
        self.assertFalse(echoes(s, timeout=0.5), "served while stop_accepting_connections")
        s.close()
        self.note("fixed_heap: heap in use %.1f MiB at start"
                  % (pressure / 100 / (1 << 20)))
        skiff.stop()

        port = free_port()
        skiff = self.start_skiff(self.config([("proxy", port)], echo,
                                             overload=overload(1 << 40)), concurrency=2)
        self.hold(port, 2)
        self.assertEqual(skiff.stat("overload.%s.active" % STOP_ACCEPTING), 0)
        self.assertEqual(skiff.stat("overload.%s.pressure" % HEAP), 0)

    def http_config(self, port, actions):
        hcm = {"@type": HCM_TYPE, "stat_prefix": "ingress",
               "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
                   "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
               "route_config": {"name": "local", "virtual_hosts": [{
                   "name": "all", "domains": ["*"], "routes": [{
                       "match": {"prefix": "/"},
                       "direct_response": {"status": 200, "body": {"inline_string": "ok\n"}}}]}]}}
        config = harness.bootstrap(free_port(), [{
            "name": "ingress", "address": harness.socket_address(port),
            "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                            "typed_config": hcm}]}]}], [])
        config["overload_manager"] = {"refresh_interval": "0.05s",
                                      "resource_monitors": [heap_monitor(1)],
                                      "actions": [action(name, HEAP, 0.5) for name in actions]}
        return config

    def test_http_requests_shed_with_503_and_keepalive_disabled(self):
        """Heap over its (1-byte) maximum: with stop_accepting_requests every HTTP request is
        answered 503 "envoy overloaded" at once (connections are still accepted); with only
        disable_http_keepalive requests are served and each response closes its connection."""
        port = free_port()
        skiff = self.start_skiff(self.http_config(port, [STOP_REQUESTS]), concurrency=2)
        skiff.wait_stat("overload.%s.active" % STOP_REQUESTS, lambda v: v == 1)
        for _ in range(5):
            status, headers, body = harness.http_request(port, "GET", "/")
            self.assertEqual((status, body), (503, b"envoy overloaded"))
        skiff.wait_stat("http.ingress.downstream_rq_overload_close", lambda v: v == 5)
        skiff.stop()

        port = free_port()
        skiff = self.start_skiff(self.http_config(port, [KEEPALIVE]), concurrency=2)
        skiff.wait_stat("overload.%s.active" % KEEPALIVE, lambda v: v == 1)
        conn = http.client.HTTPConnection(harness.LOOPBACK, port, timeout=5)
        self.addCleanup(conn.close)
        conn.request("GET", "/")
        response = conn.getresponse()
        self.assertEqual((response.status, response.read()), (200, b"ok\n"))
        self.assertEqual(response.getheader("connection"), "close")
        skiff.wait_stat("http.ingress.downstream_cx_overload_disable_keepalive",
                        lambda v: v == 1)

    def test_invalid_overload_config_is_rejected(self):
        """--mode validate names every bad overload/runtime field."""
        echo = self.server(echo_handler, name="echo")
        config = self.config([("proxy", free_port())], echo, overload={
            "resource_monitors": [heap_monitor(0), connections_monitor(-1)],
            "actions": [action("envoy.overload_actions.shrink_heap", HEAP, 0.9),
                        action(STOP_ACCEPTING, "nope", 1.5)]},
            runtime={"envoy.resource_limits.listener.proxy.connection_limit": "many"})
        path = os.path.join(self.outdir, "bad.yaml")
        with open(path, "w") as f:
            f.write(harness.to_yaml(config))
        import subprocess
        result = subprocess.run([harness.find_skiff(), "-c", path, "--mode", "validate"],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 1)
        for expected in (
                "overload_manager.resource_monitors[0].typed_config.max_heap_size_bytes: must be "
                "greater than 0",
                "overload_manager.resource_monitors[1].typed_config."
                "max_active_downstream_connections: -1 must be greater than 0",
                "overload_manager.actions[0].name: unsupported overload action "
                "\"envoy.overload_actions.shrink_heap\"",
                "overload_manager.actions[1].triggers[0].name: unknown resource monitor \"nope\"",
                "overload_manager.actions[1].triggers[0].threshold.value: 1.5 is not in [0, 1]",
                "layered_runtime.layers[0].static_layer.envoy.resource_limits.listener.proxy."
                "connection_limit: \"many\" is not a valid connection limit"):
            self.assertIn(expected, result.stderr)


class AcceptResourceFailureTest(OverloadTestCase):
    """skiff run with a descriptor limit that its base descriptors plus 2 x HELD fill exactly (each
    proxied connection takes two: downstream and upstream), then WAITING more connections."""

    HELD = 10
    WAITING = 6

    def base_descriptors(self, echo):
        """Descriptors skiff holds when ready with this config (one worker)."""
        port = free_port()
        skiff = self.start_skiff(self.config([("proxy", port)], echo), concurrency=1,
                                 name="probe")
        # The least seen over a moment: the admin connection that answered /ready may still be
        # closing when the first count is taken.
        base = None
        for _ in range(10):
            count = len(os.listdir("/proc/%d/fd" % skiff.pid))
            base = count if base is None else min(base, count)
            time.sleep(0.05)
        self.assertEqual(skiff.stop(), 0)
        return base

    def start_limited(self, echo, spare):
        limit = self.base_descriptors(echo) + 2 * self.HELD + spare

        def low_nofile():
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        port = free_port()
        skiff = self.start_skiff(self.config([("proxy", port)], echo), concurrency=1,
                                 preexec_fn=low_nofile)
        return skiff, port, limit

    def test_out_of_descriptors_waits_then_serves(self):
        """No descriptor left: accept() fails with EMFILE, the listener (and admin) back off
        instead of spinning, the waiting connections stay queued in the kernel; once some close,
        the waiting ones are served."""
        echo = self.server(echo_handler, name="echo", backlog=256)
        skiff, port, limit = self.start_limited(echo, spare=0)
        held = self.hold(port, self.HELD)
        waiting = [connect(port) for _ in range(self.WAITING)]
        for s in waiting:
            self.addCleanup(s.close)
            s.sendall(b"x")
        time.sleep(0.5)
        cpu_before = _cpu_seconds(skiff.pid)
        time.sleep(2.0)
        cpu = _cpu_seconds(skiff.pid) - cpu_before
        self.assertLess(cpu, 0.5, "skiff used %.2f s of CPU in 2 s while out of descriptors" % cpu)
        self.assertTrue(skiff.running())

        start = time.monotonic()
        for s in held[:self.WAITING]:
            s.close()
        for s in waiting:
            s.settimeout(10.0)
            self.assertEqual(s.recv(1), b"x", "a waiting connection was not served")
        recovered = time.monotonic() - start
        for s in held[self.WAITING:]:
            s.close()
        failures = skiff.wait_stat(listener_stat(port, "downstream_cx_accept_resource_failure"),
                                   lambda v: v > 0, timeout=10.0)
        self.note("EMFILE, no descriptor spare (nofile %d): %d held, %d waiting; skiff CPU %.3f s "
                  "over 2 s of shortage; %d accept failures counted; all %d waiting served %.0f ms "
                  "after %d connections closed" % (limit, self.HELD, self.WAITING, cpu, failures,
                                                   self.WAITING, recovered * 1000, self.WAITING))
        self.assertNoServerErrors()

    def test_one_descriptor_short_fails_fast(self):
        """One descriptor spare: each waiting connection is accepted but its upstream socket cannot
        be created, so it is closed at once (the client sees the end, nothing hangs) and the
        listener keeps backing off; once descriptors are back, new connections are served."""
        echo = self.server(echo_handler, name="echo", backlog=256)
        skiff, port, limit = self.start_limited(echo, spare=1)
        held = self.hold(port, self.HELD)
        waiting = [connect(port) for _ in range(self.WAITING)]
        closed = 0
        for s in waiting:
            self.addCleanup(s.close)
            if closed_by_peer(s, timeout=10.0):
                closed += 1
        self.assertEqual(closed, self.WAITING, "a connection neither served nor closed")
        for s in held:
            s.close()
        failures = skiff.wait_stat(listener_stat(port, "downstream_cx_accept_resource_failure"),
                                   lambda v: v > 0, timeout=10.0)
        # Descriptors come back only once the held connections have ended: each client FIN goes
        # up to the echo backend, whose close comes back through skiff. Until then the listener
        # is still out of descriptors and retries silently with a back-off growing to 1 s, so
        # connecting at once raced that teardown against the 5 s echo check. (It failed once under
        # TSan with the whole suite in parallel, the log ending at a back-off: the retries after
        # the first are not logged. Not reproduced in 22 loaded runs since.)
        skiff.wait_stat(listener_stat(port, "downstream_cx_active"), lambda v: v == 0,
                        timeout=30.0)
        self.hold(port, 3)
        self.note("EMFILE, one descriptor spare (nofile %d): %d waiting connections closed at once "
                  "(upstream socket failed), %d accept failures counted, served again after"
                  % (limit, closed, failures))


def _cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    harness.main()
