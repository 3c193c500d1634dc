"""RDS end to end: a sidecar whose HTTP listener takes its routes over ADS from a real
skiff-control. Route changes apply to the next request on existing keep-alive connections,
under load, with no failed request and without touching the listener.
"""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from http_backend import Client, HttpBackend  # noqa: E402
from http_test import hcm_listener  # noqa: E402

ROUTE_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
NODE_ID = "sidecar"


def routes(cluster, name="routes"):
    return {"name": name, "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
        {"match": {"prefix": "/"}, "route": {"cluster": cluster}}]}]}


class HttpXdsTests(harness.SkiffTestCase):
    def setUp(self):
        super().setUp()
        self.a = HttpBackend.start(self, "a")
        self.b = HttpBackend.start(self, "b")
        self.config_dir = os.path.join(self.outdir, "xds")
        os.makedirs(os.path.join(self.config_dir, "default"))
        self.port = harness.free_port()

    def publish(self, route_config):
        resources = harness.xds_resources(
            listeners=[hcm_listener("http", self.port, rds="routes")],
            clusters=[harness.static_cluster("a", [self.a.port]),
                      harness.static_cluster("b", [self.b.port])])
        entry = {"@type": ROUTE_TYPE}
        entry.update(route_config)
        resources["resources"].append(entry)
        harness.write_yaml_atomic(os.path.join(self.config_dir, "default", "resources.yaml"),
                                  resources)

    def start_all(self):
        self.publish(routes("a"))
        control = self.start_control(self.config_dir)
        self.sidecar = self.start_skiff(
            harness.xds_bootstrap(harness.free_port(), control.xds_port, node_id=NODE_ID),
            name="sidecar")

    def wait_listener(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                c = Client(self.port, timeout=2)
                r = c.request("GET", "/echo")
                c.close()
                return r
            except OSError:
                time.sleep(0.05)
        raise AssertionError("listener never came up")

    def test_listener_waits_for_its_routes_and_serves_them(self):
        self.start_all()
        r = self.wait_listener()
        # The listener went live only with its RouteConfiguration: the first request routes.
        self.assertEqual((r.status, r.header("x-backend")), (200, "a"))
        status, _, body = self.sidecar.get("/config_dump")
        dump = json.loads(body.decode())
        routes_dump = [c for c in dump["configs"]
                       if c["@type"].endswith("RoutesConfigDump")][0]
        self.assertEqual([d["route_config"]["name"] for d in routes_dump["dynamic_route_configs"]],
                         ["routes"])
        self.assertTrue(routes_dump["dynamic_route_configs"][0]["version_info"])

    def test_route_change_under_load_no_failed_request(self):
        self.start_all()
        self.wait_listener()
        stop = threading.Event()
        lock = threading.Lock()
        seen = []  # (time, backend) per response
        failures = []

        def load(k):
            c = Client(self.port)
            try:
                while not stop.is_set():
                    r = c.request("GET", "/echo/%d" % k)
                    with lock:
                        if r.status != 200:
                            failures.append((k, r.status, r.body[:100]))
                        seen.append((time.monotonic(), r.header("x-backend")))
            except Exception as e:  # noqa: BLE001
                failures.append((k, repr(e)))
            finally:
                c.close()

        threads = [threading.Thread(target=load, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        modified_before = self.sidecar.stat("listener_manager.listener_modified", 0)
        try:
            target = "a"
            for flip in range(6):
                target = "b" if target == "a" else "a"
                mark = time.monotonic()
                self.publish(routes(target))
                # Every keep-alive connection moves: wait until only `target` answers.
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    with lock:
                        recent = [b for t, b in seen if t > mark + 0.0]
                    if len(recent) > 50 and all(b == target for b in recent[-40:]):
                        break
                    time.sleep(0.05)
                else:
                    self.fail("flip %d: responses still not all from %s" % (flip, target))
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=10)
        self.assertEqual(failures, [])
        self.note("%d requests over 4 keep-alive connections, 6 route changes" % len(seen))
        self.assertGreater(len(seen), 200)
        # The listener never changed; only the route table did.
        self.assertEqual(self.sidecar.stat("listener_manager.listener_modified", 0),
                         modified_before)
        self.assertEqual(self.sidecar.stat("http.http.downstream_cx_total"), 4 + 1)


if __name__ == "__main__":
    harness.main()
