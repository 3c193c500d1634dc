"""skiff-control's xDS gRPC server over TLS and mutual TLS, as a real process.

Throwaway certificates come from the openssl CLI (test/control/gen_test_certs.sh); a real gRPC
client (test/integration/grpc_xds/ads_probe) opens an ADS stream with or without the right
credentials and reports what happened.

    bazel test //test/integration:control_tls_test
    SKIFF_CONTROL_BIN=... python3 test/integration/control_tls_test.py [name-substring]
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import LOOPBACK  # noqa: E402

CLUSTERS = """resources:
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: backend
  connect_timeout: 1s
  load_assignment:
    cluster_name: backend
    endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 9}}}}]}]
"""


def workspace_file(relative):
    for var in ("TEST_SRCDIR", "RUNFILES_DIR"):
        base = os.environ.get(var)
        if base:
            path = os.path.join(base, os.environ.get("TEST_WORKSPACE", "skiff"), relative)
            if os.path.exists(path):
                return path
    here = os.path.dirname(os.path.abspath(__file__))
    for path in (os.path.join(here, "..", "..", "bazel-bin", relative),
                 os.path.join(here, "..", "..", relative)):
        if os.path.exists(path):
            return os.path.abspath(path)
    raise harness.HarnessError("%s not found" % relative)


class TlsControl(harness.Control):
    """skiff-control with extra flags (the harness's Control takes none)."""

    def __init__(self, *args, extra_args=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.extra_args = list(extra_args)

    def args(self):
        return super().args() + self.extra_args


class ControlTlsTest(harness.SkiffTestCase):

    @classmethod
    def setUpClass(cls):
        cls.certs = os.path.join(harness.output_base(), "control_tls_certs")
        subprocess.run([workspace_file("test/control/gen_test_certs.sh"), cls.certs], check=True,
                       stdout=subprocess.DEVNULL)

    def setUp(self):
        super().setUp()
        self.config_dir = os.path.join(self.outdir, "config")
        os.makedirs(os.path.join(self.config_dir, "default"))
        with open(os.path.join(self.config_dir, "default", "clusters.yaml"), "w") as f:
            f.write(CLUSTERS)

    def cert(self, name):
        return os.path.join(self.certs, name)

    def start_tls_control(self, mutual):
        flags = ["--xds-tls-cert", self.cert("server.pem"), "--xds-tls-key", self.cert("server.key")]
        if mutual:
            flags += ["--xds-tls-client-ca", self.cert("ca.pem")]
        control = TlsControl(self.config_dir, self.outdir, name="control%d" % len(self.controls),
                             extra_args=flags)
        self.controls.append(control)
        return control.start()

    def probe(self, control, ca=None, client=None):
        """Runs ads_probe; returns (exit code, its one output line)."""
        args = [workspace_file("test/integration/grpc_xds/ads_probe"),
                "--server", "%s:%d" % (LOOPBACK, control.xds_port), "--node_id", "sidecar-1"]
        if ca:
            args += ["--ca", self.cert(ca)]
        if client:
            args += ["--cert", self.cert(client + ".pem"), "--key", self.cert(client + ".key")]
        proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        return proc.returncode, proc.stdout.decode().strip()

    def test_tls(self):
        control = self.start_tls_control(mutual=False)
        self.assertIn("(port %d, TLS)" % control.xds_port, control.stderr_text())
        rc, out = self.probe(control, ca="ca.pem")
        self.assertEqual(rc, 0, out)
        self.assertTrue(out.startswith("ok 1 "), out)
        # Plaintext against TLS: the call fails (UNAVAILABLE = 14), it does not hang.
        rc, out = self.probe(control)
        self.assertEqual((rc, out.split(" ")[:2]), (1, ["error", "14"]), out)
        # A client that trusts another CA refuses the server.
        rc, out = self.probe(control, ca="rogue-ca.pem")
        self.assertEqual((rc, out.split(" ")[:2]), (1, ["error", "14"]), out)

    def test_mutual_tls(self):
        control = self.start_tls_control(mutual=True)
        self.assertIn("(port %d, mutual TLS)" % control.xds_port, control.stderr_text())
        rc, out = self.probe(control, ca="ca.pem", client="client")
        self.assertEqual(rc, 0, out)
        self.assertIn("(sidecar-1): node \"sidecar-1\"", control.stderr_text())
        for client in (None, "rogue"):
            rc, out = self.probe(control, ca="ca.pem", client=client)
            self.assertEqual((rc, out.split(" ")[:2]), (1, ["error", "14"]), (client, out))

    def test_plaintext_stays_the_default(self):
        control = self.start_control(self.config_dir)
        self.assertIn("(port %d, plaintext)" % control.xds_port, control.stderr_text())
        rc, out = self.probe(control)
        self.assertEqual(rc, 0, out)

    def test_bad_certificate_flags_stop_startup(self):
        cases = [
            (["--xds-tls-cert", self.cert("server.pem")],
             "--xds-tls-cert and --xds-tls-key go together"),
            (["--xds-tls-cert", self.cert("missing.pem"), "--xds-tls-key", self.cert("server.key")],
             "--xds-tls-cert %s: cannot open" % self.cert("missing.pem")),
            (["--xds-tls-cert", self.cert("server.pem"), "--xds-tls-key", self.cert("client.key")],
             "are --xds-tls-cert and --xds-tls-key a matching pair?"),
        ]
        for flags, message in cases:
            control = TlsControl(self.config_dir, self.outdir, name="bad%d" % len(self.controls),
                                 extra_args=flags)
            self.controls.append(control)
            control.start(wait_ready=False)
            rc = control.proc.wait(timeout=15)
            self.assertEqual(rc, 1, flags)
            self.assertIn(message, control.stderr_text())


if __name__ == "__main__":
    harness.main()
