"""skiff's admin endpoints on a running process: /ready, /stats (text, json, prometheus checked by
promtool), /config_dump, /listeners, /clusters, /server_info, /quitquitquit, bad requests.

Run: python3 test/integration/admin_test.py [test-name-substring ...]   (SKIFF_BIN=... if not
under Bazel). Needs promtool (Debian package `prometheus`); its absence fails the test.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import (LOOPBACK, SkiffTestCase, connect, echo_handler, recv_exactly,  # noqa: E402
                     recv_until_eof, simple_proxy_config)


def find_promtool():
    for path in ("/usr/bin/promtool", shutil.which("promtool")):
        if path and os.access(path, os.X_OK):
            return path
    return None


class AdminTest(SkiffTestCase):

    def setUp(self):
        super().setUp()
        self.echo = self.server(echo_handler, name="echo")
        config, self.port = simple_proxy_config([self.echo.port])
        self.skiff = self.start_skiff(config, concurrency=2)
        # Some traffic, so counters and histograms have values.
        with connect(self.port) as s:
            s.sendall(b"hello admin")
            self.assertEqual(recv_exactly(s, 11), b"hello admin")
            s.shutdown(2)
        self.skiff.wait_stat("cluster.backend.upstream_cx_active", lambda v: v == 0)

    def get_json(self, path):
        status, headers, body = self.skiff.get(path)
        self.assertEqual(status, 200, "%s: %d %r" % (path, status, body[:200]))
        self.assertIn("json", headers.get("content-type", ""), "%s content-type" % path)
        try:
            return json.loads(body)
        except ValueError as e:
            self.fail("%s is not valid JSON (%s): %r" % (path, e, body[:500]))

    def test_ready(self):
        status, _, body = self.skiff.get("/ready")
        self.assertEqual((status, body.decode().strip()), (200, "LIVE"))

    def test_stats_text_and_json(self):
        stats = self.skiff.stats()
        self.assertEqual(stats.get("cluster.backend.upstream_cx_total"), 1)
        self.assertEqual(stats.get("tcp.proxy.downstream_cx_rx_bytes_total"), 11)
        self.assertEqual(stats.get("server.concurrency"), 2)
        doc = self.get_json("/stats?format=json")
        self.assertIsInstance(doc, dict)
        self.assertIn("cluster.backend.upstream_cx_total", json.dumps(doc))

    def promtool(self):
        promtool = find_promtool()
        self.assertIsNotNone(promtool, "promtool not found (install Debian package prometheus)")
        status, headers, body = self.skiff.get("/stats/prometheus")
        self.assertEqual(status, 200)
        with open(os.path.join(self.outdir, "metrics.txt"), "wb") as f:
            f.write(body)
        proc = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                              timeout=30)
        return body.decode(), proc.returncode, proc.stdout.decode() + proc.stderr.decode()

    def test_prometheus_parses(self):
        """/stats/prometheus is valid exposition format (promtool exits 1 on a parse error, 3 on
        lint problems only) and carries the expected samples."""
        text, rc, output = self.promtool()
        self.assertNotIn("error while linting", output)
        self.assertIn(rc, (0, 3), "promtool check metrics: rc %d\n%s" % (rc, output))
        self.assertRegex(text, r"(?m)^# TYPE \S+ counter$")
        self.assertRegex(text, r"(?m)^# TYPE \S+ histogram$")
        # The cluster's connection counter is there, labelled with the cluster, with value 1.
        m = re.search(r'(?m)^\S*upstream_cx_total\{[^}]*"backend"[^}]*\} (\S+)$', text)
        self.assertIsNotNone(m, "no upstream_cx_total sample for cluster backend")
        self.assertEqual(float(m.group(1)), 1.0)

    # promtool exits 1 for a parse error and 3 for lint findings. These findings follow from the
    # deliberate choice to export exactly Envoy's names (so Envoy dashboards work unchanged; see
    # source/common/stats/stats_format.h) and are accepted; any other finding fails.
    ACCEPTED_LINT = (
        'counter metrics should have "_total" suffix',
        'non-counter metrics should not have "_total" suffix',
        "no help text",
        "metric names should not contain abbreviated units",
    )

    def test_prometheus_passes_promtool(self):
        """`promtool check metrics` finds no parse error and no lint beyond Envoy's naming."""
        text, rc, output = self.promtool()
        self.assertIn(rc, (0, 3), "promtool check metrics: rc %d\n%s" % (rc, output))
        unexpected = [line for line in output.splitlines()
                      if line.strip() and not any(a in line for a in self.ACCEPTED_LINT)]
        self.assertEqual(unexpected, [], "unexpected promtool findings:\n%s" % output)
        self.assertIn("envoy_cluster_upstream_cx_total{envoy_cluster_name=\"backend\"}", text)

    def test_config_dump(self):
        doc = self.get_json("/config_dump")
        text = json.dumps(doc)
        self.assertIn('"proxy"', text)
        self.assertIn(str(self.port), text)
        listeners = [c for c in doc.get("configs", [])
                     if c.get("@type", "").endswith("ListenersConfigDump")]
        self.assertEqual(len(listeners), 1, "no ListenersConfigDump: %s" % text[:500])
        names = [l["listener"]["name"] for l in listeners[0].get("static_listeners", [])]
        self.assertEqual(names, ["proxy"])

    def test_listeners_and_clusters(self):
        status, _, body = self.skiff.get("/listeners")
        self.assertEqual(status, 200)
        self.assertIn("proxy::%s:%d" % (LOOPBACK, self.port), body.decode())
        doc = self.get_json("/listeners?format=json")
        entries = doc["listener_statuses"]
        self.assertEqual([e["name"] for e in entries], ["proxy"])
        self.assertEqual(entries[0]["local_address"]["socket_address"]["port_value"], self.port)

        status, _, body = self.skiff.get("/clusters")
        self.assertEqual(status, 200)
        self.assertIn("backend::%s:%d" % (LOOPBACK, self.echo.port), body.decode())
        doc = self.get_json("/clusters?format=json")
        clusters = doc["cluster_statuses"]
        self.assertEqual([c["name"] for c in clusters], ["backend"])
        hosts = clusters[0]["host_statuses"]
        self.assertEqual([h["address"]["socket_address"]["port_value"] for h in hosts],
                         [self.echo.port])

    def test_server_info(self):
        doc = self.get_json("/server_info")
        self.assertEqual(doc["state"], "LIVE")
        self.assertEqual(int(doc["command_line_options"]["concurrency"]), 2)
        self.assertTrue(doc.get("version"))

    def test_unknown_path_and_garbage(self):
        status, _, _ = self.skiff.get("/no/such/endpoint")
        self.assertEqual(status, 404)
        reply = harness.raw_request(self.skiff.admin_port, b"THIS IS NOT HTTP\r\n\r\n")
        self.assertRegex(reply.split(b"\r\n", 1)[0].decode("latin-1"), r"^HTTP/1\.[01] 400\b",
                         "garbage request line: %r" % reply[:200])
        # Still serving afterwards.
        self.assertEqual(self.skiff.get("/ready")[0], 200)

    def test_quitquitquit(self):
        status, headers, _ = self.skiff.get("/quitquitquit")
        self.assertEqual(status, 405, "GET /quitquitquit must not quit")
        self.assertIn("POST", headers.get("allow", ""))
        time.sleep(0.3)
        self.assertTrue(self.skiff.running(), "GET /quitquitquit stopped skiff")
        status, _, _ = self.skiff.post("/quitquitquit")
        self.assertEqual(status, 200)
        self.assertEqual(self.skiff.wait_exit(5), 0)
        # And the proxy listener is gone with it.
        with self.assertRaises(OSError):
            connect(self.port, timeout=1).close()

    def post_endpoints(self):
        status, _, body = self.skiff.get("/help")
        self.assertEqual(status, 200)
        endpoints = re.findall(r"^  (/\S*) \(POST\):", body.decode(), re.MULTILINE)
        self.assertIn("/quitquitquit", endpoints)
        self.assertIn("/logging", endpoints)
        return endpoints

    def test_mutating_endpoints_refuse_get_and_nothing_happens(self):
        """Every endpoint /help marks POST answers GET (and HEAD) with 405 and Allow: POST, and
        changes nothing: the server keeps running, serving, at the same log level."""
        before = self.get_json("/server_info")["command_line_options"]["log_level"]
        for path in self.post_endpoints():
            for method in ("GET", "HEAD"):
                # With the arguments that would act if the method were POST.
                target = path + ("?level=trace" if path == "/logging" else "")
                status, headers, _ = harness.http_request(self.skiff.admin_port, method, target)
                self.assertEqual(status, 405, "%s %s" % (method, target))
                self.assertEqual(headers.get("allow"), "POST", "%s %s" % (method, target))
        time.sleep(0.3)  # /quitquitquit would have started its drain by now.
        self.assertTrue(self.skiff.running())
        self.assertEqual(self.get_json("/server_info")["state"], "LIVE")
        self.assertEqual(self.get_json("/server_info")["command_line_options"]["log_level"],
                         before)
        with connect(self.port) as s:
            s.sendall(b"still here")
            self.assertEqual(recv_exactly(s, 10), b"still here")
        # And POST does act (so the GET refusal above was the method, not the endpoint).
        status, _, _ = self.skiff.post("/logging?level=debug")
        self.assertEqual(status, 200)
        self.assertEqual(self.get_json("/server_info")["command_line_options"]["log_level"],
                         "debug")

    def test_admin_listens_on_loopback_only(self):
        """The admin port answers on 127.0.0.1 and nowhere else (the listening socket is bound to
        loopback, as every shipped config and the injector set it)."""
        with open("/proc/net/tcp") as f:
            rows = [line.split() for line in f.readlines()[1:]]
        port_hex = "%04X" % self.skiff.admin_port
        listening = [r[1] for r in rows if r[1].endswith(":" + port_hex) and r[3] == "0A"]
        self.assertEqual(listening, ["0100007F:" + port_hex])



class DeferredStatsTest(SkiffTestCase):
    """bootstrap deferred_stat_options.enable_deferred_creation_stats: a cluster's traffic stats
    are not in /stats until the cluster is first used, then listed as usual."""

    def test_cluster_traffic_stats_appear_on_first_use(self):
        echo = self.server(echo_handler, name="echo")
        config, port = simple_proxy_config([echo.port])
        config["deferred_stat_options"] = {"enable_deferred_creation_stats": True}
        skiff = self.start_skiff(config, concurrency=2)
        stats = skiff.stats()
        self.assertEqual(stats.get("cluster.backend.membership_total"), 1)
        self.assertEqual(stats.get("cluster.backend.membership_healthy"), 1)
        self.assertNotIn("cluster.backend.upstream_cx_total", stats)
        self.assertNotIn("cluster.backend.upstream_rq_total", stats)
        with connect(port) as s:
            s.sendall(b"hello deferred")
            self.assertEqual(recv_exactly(s, 14), b"hello deferred")
        skiff.wait_stat("cluster.backend.upstream_cx_total", lambda v: v == 1, timeout=20)
        stats = skiff.stats()
        # The whole set is made at once, with Envoy's names.
        self.assertIn("cluster.backend.upstream_rq_total", stats)
        self.assertIn("cluster.backend.upstream_cx_connect_fail", stats)
        self.assertEqual(stats.get("cluster.backend.upstream_cx_tx_bytes_total"), 14)


if __name__ == "__main__":
    harness.main()
