"""skiff-control operated as users operate it: real skiff-control, skiff sidecars and skiffctl
processes, backends on loopback.

  a. an invalid edit in the config directory is rejected (the status page and the log say which
     file, which line and why) while the sidecar keeps serving its last good config;
  b. skiff-control killed and restarted: the sidecar keeps serving throughout, reconnects, and
     picks up a change made while skiff-control was down;
  c. several sidecars, placed by node.id, by node.cluster and by falling to default/, each get
     their own group's snapshot;
  d. skiffctl apply/get/delete/validate against a running skiff-control, with and without the
     admin token.

    bazel test //test/integration:control_test
    SKIFF_BIN=... SKIFF_CONTROL_BIN=... SKIFFCTL_BIN=bazel-bin/source/skiffctl/skiffctl \\
        python3 test/integration/control_test.py [name-substring]
"""

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import (free_port, static_cluster, tcp_proxy_listener, xds_bootstrap,  # noqa: E402
                     xds_resources)
from xds_test import Prober, ask_backend, tagged_echo, wait_for  # noqa: E402

DRAIN = ["--drain-time-s", "1"]


class ControlTestBase(harness.SkiffTestCase):

    def setUp(self):
        super().setUp()
        self.config_dir = os.path.join(self.outdir, "cfg")
        os.makedirs(os.path.join(self.config_dir, "default"))

    def write_group_file(self, group, name, listeners=(), clusters=(), text=None):
        directory = os.path.join(self.config_dir, group)
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, name)
        if text is not None:
            harness.write_file_atomic(path, text)
        else:
            harness.write_yaml_atomic(path, xds_resources(listeners=listeners, clusters=clusters))
        return path

    def group_status(self, control, group="default"):
        for entry in control.get_json("/config")["groups"]:
            if entry["name"] == group:
                return entry
        return None

    def sidecar(self, control, node_id, node_cluster="test", api_type="GRPC", name=None):
        return self.start_skiff(
            lambda: xds_bootstrap(free_port(), control.xds_port, api_type=api_type,
                                  node_id=node_id, node_cluster=node_cluster),
            name=name or node_id, extra_args=DRAIN)

    def wait_backend(self, port, tag, timeout=10.0):
        return wait_for(lambda: ask_backend(port, timeout=1.0) == tag, timeout,
                        "new connections on %d reach %s" % (port, tag))

    def dynamic_listeners(self, sidecar):
        status, _, body = sidecar.get("/config_dump")
        self.assertEqual(status, 200)
        names = set()

        def walk(node):
            if isinstance(node, dict):
                for entry in node.get("dynamic_listeners", []):
                    names.add(entry["name"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(json.loads(body.decode()))
        return names


class ControlTest(ControlTestBase):

    # a -------------------------------------------------------------------------------------------
    def test_a_invalid_edit_is_rejected_and_the_sidecar_keeps_serving(self):
        a = self.server(tagged_echo("A"), name="A")
        b = self.server(tagged_echo("B"), name="B")
        port = free_port()
        self.write_group_file("default", "clusters.yaml",
                              clusters=[static_cluster("ca", [a.port]),
                                        static_cluster("cb", [b.port])])
        listeners = self.write_group_file("default", "listeners.yaml",
                                          listeners=[tcp_proxy_listener("main", port, "ca")])
        control = self.start_control(self.config_dir)
        sidecar = self.sidecar(control, "edge-1")
        self.assertEqual(ask_backend(port), "A")
        good = self.group_status(control)["version"]
        self.assertTrue(good)

        with Prober(port, expect={"A"}) as prober:
            # A YAML syntax error: an unclosed flow mapping.
            harness.write_file_atomic(listeners, (
                "resources:\n"
                "- \"@type\": %s\n"
                "  name: main\n"
                "  address: {socket_address: {address: 127.0.0.1, port_value: %d}\n"
                % (harness.LISTENER_TYPE, port)))
            error = wait_for(lambda: self.group_status(control)["last_error"], 5.0,
                             "syntax error on /config")
            self.note("syntax error as /config shows it: %s" % error)
            self.assertIn("listeners.yaml:", error)
            self.assertEqual(self.group_status(control)["version"], good)
            wait_for(lambda: "rejected; still serving version %s" % good in control.stderr_text(),
                     5.0, "rejection in skiff-control's log")
            self.assertIn(listeners, control.stderr_text())

            # Valid YAML, invalid config: the listener names a cluster nobody defines.
            harness.write_yaml_atomic(listeners, xds_resources(
                listeners=[tcp_proxy_listener("main", port, "nowhere")]))
            error = wait_for(
                lambda: "nowhere" in self.group_status(control)["last_error"]
                and self.group_status(control)["last_error"], 5.0, "semantic error on /config")
            self.note("semantic error as /config shows it: %s" % error)
            self.assertIn("%s:2: listener \"main\"" % listeners, error)
            self.assertIn("unknown cluster \"nowhere\"", error)
            self.assertEqual(self.group_status(control)["version"], good)
            time.sleep(0.3)
        self.assertEqual(prober.failures, [], "traffic failed while the config was invalid")
        self.assertGreater(prober.ok, 0)
        # skiff-control never sent the invalid config: nothing for the sidecar to reject.
        self.assertEqual(sidecar.stat("listener_manager.lds.update_rejected"), 0)
        node = control.node("edge-1")
        listener_state = node["types"][harness.LISTENER_TYPE]
        self.assertEqual(listener_state["version_sent"], listener_state["version_acked"])

        # Fixed: published, and the traffic moves.
        harness.write_yaml_atomic(listeners, xds_resources(
            listeners=[tcp_proxy_listener("main", port, "cb")]))
        self.wait_backend(port, "B")
        status = self.group_status(control)
        self.assertEqual(status["last_error"], "")
        self.assertNotEqual(status["version"], good)
        self.assertNoServerErrors()

    # b -------------------------------------------------------------------------------------------
    def test_b_restart_keeps_config_and_picks_up_a_change_made_while_down(self):
        a = self.server(tagged_echo("A"), name="A")
        b = self.server(tagged_echo("B"), name="B")
        port = free_port()
        self.write_group_file("default", "clusters.yaml",
                              clusters=[static_cluster("ca", [a.port]),
                                        static_cluster("cb", [b.port])])
        self.write_group_file("default", "listeners.yaml",
                              listeners=[tcp_proxy_listener("main", port, "ca")])
        control = self.start_control(self.config_dir)
        sidecar = self.sidecar(control, "edge-1")
        before = sidecar.stats()

        with Prober(port, expect={"A", "B"}) as prober:
            time.sleep(0.2)
            control.proc.send_signal(signal.SIGKILL)
            control.proc.wait(timeout=5)
            killed = time.monotonic()
            sidecar.wait_stat("control_plane.connected_state", lambda v: v == 0, timeout=10)
            # The change is made while skiff-control is down...
            self.write_group_file("default", "listeners.yaml",
                                  listeners=[tcp_proxy_listener("main", port, "cb")])
            time.sleep(1.0)
            # ...and the sidecar keeps serving what it has.
            self.assertEqual(ask_backend(port), "A")
            ok_while_down = prober.ok
            control.restart()
            restarted = time.monotonic()
            self.wait_backend(port, "B", timeout=30.0)
            moved = time.monotonic()
            sidecar.wait_stat("control_plane.connected_state", lambda v: v == 1, timeout=10)
            time.sleep(0.2)
        self.note("down %.1f s; change applied %.2f s after the restart; %d connections ok "
                  "(%d while down), tags %r"
                  % (restarted - killed, moved - restarted, prober.ok, ok_while_down,
                     prober.tags))
        self.assertEqual(prober.failures, [], "traffic failed across the restart")
        self.assertGreater(ok_while_down, 0)
        self.assertGreater(prober.tags.get("B", 0), 0)
        after = sidecar.stats()
        self.assertEqual(after["listener_manager.listener_removed"],
                         before["listener_manager.listener_removed"])
        self.assertEqual(after["listener_manager.lds.update_rejected"], 0)
        self.assertEqual(after["cluster_manager.cds.update_rejected"], 0)
        node = wait_for(lambda: control.node("edge-1"), 5.0, "sidecar on /nodes")
        self.assertEqual(node["group"], "default")
        self.assertNoServerErrors()

    # c -------------------------------------------------------------------------------------------
    def test_c_each_sidecar_gets_its_own_groups_snapshot(self):
        backends = {tag: self.server(tagged_echo(tag), name=tag) for tag in ("EDGE", "PAY", "DEF")}
        ports = {tag: free_port() for tag in backends}
        # Group by node id, group by node cluster, and the default group.
        for group, tag in (("edge-1", "EDGE"), ("payments", "PAY"), ("default", "DEF")):
            self.write_group_file(
                group, "all.yaml",
                clusters=[static_cluster("c-" + tag.lower(), [backends[tag].port])],
                listeners=[tcp_proxy_listener("l-" + tag.lower(), ports[tag], "c-" + tag.lower())])
        control = self.start_control(self.config_dir)
        sidecars = {
            # node.id names a group (its node.cluster "payments" loses: id comes first).
            "EDGE": self.sidecar(control, "edge-1", node_cluster="payments"),
            # No group for this node.id; node.cluster names one. Over delta ADS.
            "PAY": self.sidecar(control, "pay-7", node_cluster="payments", api_type="DELTA_GRPC"),
            # Neither matches: default/.
            "DEF": self.sidecar(control, "misc-3", node_cluster="misc"),
        }
        expected_group = {"EDGE": "edge-1", "PAY": "payments", "DEF": "default"}
        node_ids = {"EDGE": "edge-1", "PAY": "pay-7", "DEF": "misc-3"}
        for tag, sidecar in sidecars.items():
            self.assertEqual(self.dynamic_listeners(sidecar), {"l-" + tag.lower()}, tag)
            self.assertEqual(ask_backend(ports[tag]), tag)
            node = wait_for(lambda: control.node(node_ids[tag]), 5.0, "%s on /nodes" % tag)
            self.assertEqual(node["group"], expected_group[tag])
        self.assertEqual(len(control.nodes()), 3)

        # A change to one group reaches only its sidecar.
        lds = {tag: s.stat("listener_manager.lds.update_success") for tag, s in sidecars.items()}
        self.write_group_file(
            "payments", "all.yaml",
            clusters=[static_cluster("c-pay", [backends["PAY"].port])],
            listeners=[tcp_proxy_listener("l-pay", ports["PAY"], "c-pay", idle_timeout="77s")])
        sidecars["PAY"].wait_stat("listener_manager.lds.update_success",
                                  lambda v: v > lds["PAY"], timeout=5)
        time.sleep(0.5)
        for tag in ("EDGE", "DEF"):
            self.assertEqual(sidecars[tag].stat("listener_manager.lds.update_success"), lds[tag],
                             "%s got another group's update" % tag)
        self.assertEqual(ask_backend(ports["PAY"]), "PAY")

        # A new group for misc-3's node.id moves it there (and only it).
        self.write_group_file(
            "misc-3", "all.yaml",
            clusters=[static_cluster("c-def", [backends["EDGE"].port])],
            listeners=[tcp_proxy_listener("l-def", ports["DEF"], "c-def")])
        self.wait_backend(ports["DEF"], "EDGE")
        wait_for(lambda: control.node("misc-3")["group"] == "misc-3", 5.0, "misc-3 regrouped")
        self.assertEqual(ask_backend(ports["EDGE"]), "EDGE")
        self.assertEqual(ask_backend(ports["PAY"]), "PAY")
        self.assertNoServerErrors()


class SkiffctlTest(ControlTestBase):

    def setUp(self):
        super().setUp()
        self.a = self.server(tagged_echo("A"), name="A")
        self.b = self.server(tagged_echo("B"), name="B")
        self.port = free_port()
        self.write_group_file("default", "clusters.yaml",
                              clusters=[static_cluster("ca", [self.a.port]),
                                        static_cluster("cb", [self.b.port])])
        self.listeners_file = self.write_group_file(
            "default", "listeners.yaml", listeners=[tcp_proxy_listener("main", self.port, "ca")])
        self.token_file = os.path.join(self.outdir, "admin-token")
        with open(self.token_file, "w") as f:
            f.write("it-%s\n" % os.urandom(16).hex())

    def apply_file(self, name, cluster, listener="main", port=None):
        path = os.path.join(self.outdir, name)
        with open(path, "w") as f:
            f.write(harness.to_yaml(xds_resources(
                listeners=[tcp_proxy_listener(listener, port or self.port, cluster)])))
        return path

    def test_d_apply_get_delete_with_the_token(self):
        control = self.start_control(self.config_dir, token_file=self.token_file)
        self.sidecar(control, "edge-1")
        self.assertEqual(ask_backend(self.port), "A")
        cp = ["--control-plane", control.url()]
        auth = cp + ["--token-file", self.token_file]
        move = self.apply_file("move.yaml", "cb")

        # Without the token: 401, and nothing changes.
        rc, out, err = self.run_skiffctl(["apply", "-f", move] + cp)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("HTTP 401", err)
        self.assertIn("--token-file", err)
        rc, out, err = self.run_skiffctl(["get", "listeners"] + cp)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("HTTP 401", err)
        with open(self.token_file + ".wrong", "w") as f:
            f.write("not-the-token\n")
        rc, out, err = self.run_skiffctl(["get", "nodes", "--token-file", self.token_file + ".wrong"]
                                         + cp)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("does not match", err)
        # Probes and metrics stay open.
        self.assertEqual(harness.http_request(control.admin_port, "GET", "/ready")[0], 200)
        self.assertEqual(harness.http_request(control.admin_port, "GET", "/stats/prometheus")[0],
                         200)
        self.assertEqual(ask_backend(self.port), "A")

        # With it: applied over the file's listener, pushed, traffic moves.
        with Prober(self.port, expect={"A", "B"}) as prober:
            rc, out, err = self.run_skiffctl(["apply", "-f", move] + auth)
            self.assertEqual(rc, 0, out + err)
            self.assertIn("listener/main configured (overrides %s:" % self.listeners_file, out)
            self.assertIn("group \"default\": version ", out)
            self.wait_backend(self.port, "B")
            time.sleep(0.2)
        self.assertEqual(prober.failures, [])

        rc, out, err = self.run_skiffctl(["get", "listeners"] + auth)
        self.assertEqual(rc, 0, out + err)
        self.note("skiffctl get listeners:\n" + out)
        self.assertEqual(out.splitlines()[0].split(),
                         ["GROUP", "NAME", "ADDRESS", "TARGET", "SOURCE", "VERSION"])
        row = out.splitlines()[1].split()
        self.assertEqual(row[:4], ["default", "main", "127.0.0.1:%d" % self.port, "cb"])
        self.assertIn("applied", out)
        rc, out, err = self.run_skiffctl(["get", "listeners", "main", "-g", "default", "-o",
                                          "json"] + auth)
        self.assertEqual(rc, 0, out + err)
        item = json.loads(out)["items"][0]
        self.assertTrue(item["applied"])
        self.assertEqual(item["source"], move + ":2")
        # -o yaml gives a document apply takes back.
        rc, out, err = self.run_skiffctl(["get", "clusters", "-o", "yaml"] + auth)
        self.assertEqual(rc, 0, out + err)
        self.assertTrue(out.startswith("resources:\n# group default, from "), out)
        rc, out2, err = self.run_skiffctl(["apply", "-f", "-"] + auth, stdin=out)
        self.assertEqual(rc, 0, out2 + err)
        self.assertIn("cluster/ca configured (overrides", out2)

        def synced():
            rc, out, err = self.run_skiffctl(["get", "nodes"] + auth)
            return rc == 0 and "SYNCED" in out and out
        table = wait_for(synced, 10.0, "skiffctl get nodes shows SYNCED")
        self.note("skiffctl get nodes:\n" + table)
        header, row = table.splitlines()[0], table.splitlines()[1]
        self.assertTrue(header.startswith("NODE"), header)
        self.assertEqual(row.split()[:5], ["edge-1", "default", "sotw", "SYNCED", "SYNCED"])

        # An invalid apply: 400 with file, line, resource and reason; nothing changes.
        bad = self.apply_file("bad.yaml", "nowhere", listener="other", port=free_port())
        version = self.group_status(control)["version"]
        rc, out, err = self.run_skiffctl(["apply", "-f", bad] + auth)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("nothing was applied", err)
        self.assertIn("%s:2: listener \"other\"" % bad, err)
        self.assertIn("unknown cluster \"nowhere\"", err)
        self.assertEqual(self.group_status(control)["version"], version)
        # The same check offline.
        rc, out, err = self.run_skiffctl(["validate", "-f", bad])
        self.assertEqual(rc, 1, out + err)
        self.assertIn("%s:2: listener \"other\"" % bad, err)
        rc, out, err = self.run_skiffctl(["validate", "-f", os.path.join(self.config_dir,
                                                                         "default")])
        self.assertEqual(rc, 0, out + err)
        self.assertIn("valid: 1 listeners, 2 clusters", out)

        # Files cannot be deleted through the API; applied resources can, and the file's
        # listener is served again.
        rc, out, err = self.run_skiffctl(["delete", "cluster", "cb"] + auth)
        self.assertEqual(rc, 0, out + err)  # cb was applied by the -o yaml round trip
        rc, out, err = self.run_skiffctl(["delete", "cluster", "cb"] + auth)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("comes from %s" % os.path.join(self.config_dir, "default", "clusters.yaml"),
                      err)
        rc, out, err = self.run_skiffctl(["delete", "-f", move] + auth)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("listener/main deleted (%s:" % self.listeners_file, out)
        self.wait_backend(self.port, "A")
        self.assertNoServerErrors()

    def test_d_without_a_token_reads_work_and_changes_are_refused(self):
        control = self.start_control(self.config_dir)
        self.sidecar(control, "edge-1")
        cp = ["--control-plane", control.url()]
        rc, out, err = self.run_skiffctl(["apply", "-f", self.apply_file("move.yaml", "cb")] + cp)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("HTTP 403", err)
        self.assertIn("--admin-token-file", err)
        rc, out, err = self.run_skiffctl(["delete", "listener", "main"] + cp)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("HTTP 403", err)
        # Mutations need POST/DELETE even then.
        status, _, _ = harness.http_request(control.admin_port, "GET", "/apply")
        self.assertEqual(status, 405)
        rc, out, err = self.run_skiffctl(["get", "clusters", "-g", "default"] + cp)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(out.splitlines()[0].split(),
                         ["NAME", "TYPE", "ENDPOINTS", "SOURCE", "VERSION"])
        self.assertEqual(len(out.splitlines()), 3)
        self.assertEqual(ask_backend(self.port), "A")


if __name__ == "__main__":
    harness.main()
