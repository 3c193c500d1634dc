"""skiff-init (source/init/skiff-init.sh): the rules it prints for several flag combinations, its
argument checks, and (as root, in a scratch network namespace) applying, re-applying and removing
them with iptables-nft and iptables-legacy.

  bazel test //test/integration:skiff_init_test
  python3 test/integration/skiff_init_test.py [name-substring]
"""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import netns  # noqa: E402


def find_skiff_init():
    candidates = []
    for var in ("TEST_SRCDIR", "RUNFILES_DIR"):
        base = os.environ.get(var)
        if base:
            workspace = os.environ.get("TEST_WORKSPACE", "skiff")
            candidates.append(os.path.join(base, workspace, "source", "init", "skiff-init.sh"))
    here = os.path.dirname(os.path.abspath(__file__))
    candidates.append(os.path.join(here, "..", "..", "source", "init", "skiff-init.sh"))
    for path in candidates:
        if os.path.isfile(path):
            return os.path.abspath(path)
    raise harness.HarnessError("skiff-init.sh not found; tried %s" % candidates)


def skiff_init(*args, check=True, ns=None):
    """Runs skiff-init with bash; returns (rc, stdout, stderr)."""
    command = ["bash", find_skiff_init()] + list(args)
    if ns is not None:
        command = ns.prefix() + command
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError("skiff-init %s failed (%d): %s" % (args, proc.returncode,
                                                                 proc.stderr))
    return proc.returncode, proc.stdout, proc.stderr


def tables(output):
    """Dry-run output -> {4: [rule lines], 6: [...]} (comments dropped)."""
    out = {}
    family = None
    for line in output.splitlines():
        if line.startswith("# IPv4"):
            family = 4
            out[4] = []
        elif line.startswith("# IPv6"):
            family = 6
            out[6] = []
        elif line and not line.startswith("#"):
            out[family].append(line)
    return out


CHAINS = [":SKIFF_INBOUND - [0:0]", ":SKIFF_IN_REDIRECT - [0:0]", ":SKIFF_OUTBOUND - [0:0]",
          ":SKIFF_REDIRECT - [0:0]"]


def owner_rules(family, uid=1337, gid=1337, inbound=True):
    localhost = "127.0.0.1/32" if family == 4 else "::1/128"
    source = "127.0.0.6/32" if family == 4 else "::6/128"
    rules = ["-A SKIFF_OUTBOUND -o lo -s %s -j RETURN" % source]
    for owner, value in (("uid", uid), ("gid", gid)):
        if inbound:
            rules.append("-A SKIFF_OUTBOUND -o lo ! -d %s -m owner --%s-owner %d -j "
                         "SKIFF_IN_REDIRECT" % (localhost, owner, value))
        rules += ["-A SKIFF_OUTBOUND -o lo -m owner ! --%s-owner %d -j RETURN" % (owner, value),
                  "-A SKIFF_OUTBOUND -m owner --%s-owner %d -j RETURN" % (owner, value)]
    rules.append("-A SKIFF_OUTBOUND -d %s -j RETURN" % localhost)
    return rules


class DryRunTest(harness.SkiffTestCase):
    """What --dry-run prints: the exact iptables-restore input."""

    def test_defaults_ipv4(self):
        _, out, _ = skiff_init("--dry-run", "--ipv6", "off")
        self.assertEqual(
            tables(out)[4],
            ["*nat"] + CHAINS + [
                "-A SKIFF_REDIRECT -p tcp -j REDIRECT --to-ports 15001",
                "-A SKIFF_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006",
                # skiff's admin and health ports are never captured inbound.
                "-A SKIFF_INBOUND -p tcp -m multiport --dports 15000,15021 -j RETURN",
                "-A SKIFF_INBOUND -j SKIFF_IN_REDIRECT",
            ] + owner_rules(4) + [
                "-A SKIFF_OUTBOUND -j SKIFF_REDIRECT",
                "-A PREROUTING -p tcp -j SKIFF_INBOUND",
                "-A OUTPUT -p tcp -j SKIFF_OUTBOUND",
                "COMMIT",
            ])
        self.assertNotIn(6, tables(out))

    def test_ipv6_mirrors_ipv4_with_its_loopback_addresses(self):
        _, out, _ = skiff_init("--dry-run", "--ipv6", "on")
        t = tables(out)
        self.assertEqual(sorted(t), [4, 6])
        self.assertIn("ip -6 addr add ::6/128 dev lo", out)
        expected_v6 = [line.replace("127.0.0.6/32", "::6/128").replace("127.0.0.1/32", "::1/128")
                       for line in t[4]]
        self.assertEqual(t[6], expected_v6)
        self.assertIn("-A SKIFF_OUTBOUND -o lo -s ::6/128 -j RETURN", t[6])

    def test_custom_ports_and_ids(self):
        _, out, _ = skiff_init("--dry-run", "--ipv6", "off", "--outbound-port", "16001",
                               "--inbound-port", "16006", "--proxy-uid", "2102", "--proxy-gid",
                               "2103", "--proxy-ports", "16000,16021,16090")
        rules = tables(out)[4]
        self.assertIn("-A SKIFF_REDIRECT -p tcp -j REDIRECT --to-ports 16001", rules)
        self.assertIn("-A SKIFF_IN_REDIRECT -p tcp -j REDIRECT --to-ports 16006", rules)
        self.assertIn("-A SKIFF_INBOUND -p tcp -m multiport --dports 16000,16021,16090 -j RETURN",
                      rules)
        for rule in owner_rules(4, uid=2102, gid=2103):
            self.assertIn(rule, rules)
        self.assertFalse([r for r in rules if "1337" in r or "15001" in r], rules)

    def test_equals_form_is_the_same_as_separate_value(self):
        _, a, _ = skiff_init("--dry-run", "--ipv6=off", "--exclude-outbound-ports=5432,6379")
        _, b, _ = skiff_init("--dry-run", "--ipv6", "off", "--exclude-outbound-ports", "5432,6379")
        self.assertEqual(a, b)

    def test_includes_and_excludes(self):
        _, out, _ = skiff_init(
            "--dry-run", "--ipv6", "on",
            "--inbound-ports", "8080,9000:9010", "--exclude-inbound-ports", "8081",
            "--inbound-cidrs", "10.1.0.0/16,fd00:1::/64", "--exclude-inbound-cidrs", "10.1.2.0/24",
            "--outbound-cidrs", "10.96.0.0/12,fd00:96::/108",
            "--exclude-outbound-cidrs", "10.96.0.1/32,fd00:96::1",
            "--outbound-ports", "80,443", "--exclude-outbound-ports", "5432")
        t = tables(out)
        v4 = t[4]
        inbound = [r for r in v4 if r.startswith("-A SKIFF_INBOUND")]
        self.assertEqual(inbound, [
            "-A SKIFF_INBOUND -p tcp -m multiport --dports 15000,15021,8081 -j RETURN",
            "-A SKIFF_INBOUND -s 10.1.2.0/24 -j RETURN",
            "-A SKIFF_INBOUND -s 10.1.0.0/16 -p tcp -m multiport --dports 8080,9000:9010 -j "
            "SKIFF_IN_REDIRECT",
        ])
        outbound = [r for r in v4 if r.startswith("-A SKIFF_OUTBOUND")]
        # Loopback and owner rules come first, then exclusions, then what is captured.
        self.assertEqual(outbound, owner_rules(4) + [
            "-A SKIFF_OUTBOUND -p tcp -m multiport --dports 5432 -j RETURN",
            "-A SKIFF_OUTBOUND -d 10.96.0.1/32 -j RETURN",
            "-A SKIFF_OUTBOUND -d 10.96.0.0/12 -p tcp -m multiport --dports 80,443 -j "
            "SKIFF_REDIRECT",
        ])
        # Each family gets its own ranges only.
        v6 = t[6]
        self.assertIn("-A SKIFF_INBOUND -s fd00:1::/64 -p tcp -m multiport --dports 8080,9000:9010 "
                      "-j SKIFF_IN_REDIRECT", v6)
        self.assertIn("-A SKIFF_OUTBOUND -d fd00:96::1 -j RETURN", v6)
        self.assertIn("-A SKIFF_OUTBOUND -d fd00:96::/108 -p tcp -m multiport --dports 80,443 -j "
                      "SKIFF_REDIRECT", v6)
        self.assertFalse([r for r in v6 if "10.96" in r or "10.1." in r], v6)
        self.assertFalse([r for r in v4 if "fd00" in r], v4)

    def test_a_family_without_ranges_is_not_captured(self):
        _, out, _ = skiff_init("--dry-run", "--ipv6", "on", "--outbound-cidrs", "fd00::/8")
        t = tables(out)
        self.assertNotIn("-A OUTPUT -p tcp -j SKIFF_OUTBOUND", t[4])
        self.assertFalse([r for r in t[4] if r.startswith("-A SKIFF_OUTBOUND")])
        self.assertIn("-A OUTPUT -p tcp -j SKIFF_OUTBOUND", t[6])
        # Inbound is unaffected.
        self.assertIn("-A PREROUTING -p tcp -j SKIFF_INBOUND", t[4])

    def test_no_inbound_capture(self):
        _, out, _ = skiff_init("--dry-run", "--ipv6", "off", "--inbound-ports", "")
        rules = tables(out)[4]
        self.assertNotIn("-A PREROUTING -p tcp -j SKIFF_INBOUND", rules)
        self.assertFalse([r for r in rules if r.startswith("-A SKIFF_INBOUND")])
        # Without inbound capture skiff's own calls to the pod address are not sent inbound.
        self.assertEqual([r for r in rules if r.startswith("-A SKIFF_OUTBOUND")],
                         owner_rules(4, inbound=False) + ["-A SKIFF_OUTBOUND -j SKIFF_REDIRECT"])
        self.assertIn("-A OUTPUT -p tcp -j SKIFF_OUTBOUND", rules)

    def test_no_outbound_capture(self):
        _, out, _ = skiff_init("--dry-run", "--ipv6", "off", "--outbound-cidrs", "")
        rules = tables(out)[4]
        self.assertNotIn("-A OUTPUT -p tcp -j SKIFF_OUTBOUND", rules)
        self.assertFalse([r for r in rules if r.startswith("-A SKIFF_OUTBOUND")])
        self.assertIn("-A PREROUTING -p tcp -j SKIFF_INBOUND", rules)
        # The chains are always declared, so re-running with other options flushes them all.
        for chain in CHAINS:
            self.assertIn(chain, rules)

    def test_long_port_lists_are_split_for_multiport(self):
        ports = [str(p) for p in range(8001, 8021)]  # 20 ports
        _, out, _ = skiff_init("--dry-run", "--ipv6", "off", "--outbound-ports",
                               ",".join(ports[:14] + ["9000:9001"] + ports[14:]))
        capture = [r for r in tables(out)[4] if r.endswith("-j SKIFF_REDIRECT")
                   and r.startswith("-A SKIFF_OUTBOUND")]
        # 14 ports + a range (counts 2) > 15: the range starts the second rule.
        self.assertEqual(capture, [
            "-A SKIFF_OUTBOUND -p tcp -m multiport --dports %s -j SKIFF_REDIRECT"
            % ",".join(ports[:14]),
            "-A SKIFF_OUTBOUND -p tcp -m multiport --dports %s -j SKIFF_REDIRECT"
            % ",".join(["9000:9001"] + ports[14:]),
        ])

    def test_cleanup_dry_run_prints_the_commands(self):
        _, out, _ = skiff_init("--dry-run", "--cleanup", "--ipv6", "on")
        self.assertIn("iptables -t nat -D PREROUTING -p tcp -j SKIFF_INBOUND", out)
        self.assertIn("ip6tables -t nat -X SKIFF_REDIRECT", out)
        self.assertIn("ip -6 addr del ::6/128 dev lo", out)

    def test_bad_arguments(self):
        cases = [
            (["--outbound-port", "70000"], "--outbound-port: '70000' is not a port"),
            (["--inbound-ports", "80,abc"], "--inbound-ports: 'abc' is not a port"),
            (["--inbound-ports", "90:80"], "'90:80' is not a range"),
            (["--outbound-cidrs", "10.0.0.0/33"], "'10.0.0.0/33' is not an IPv4 or IPv6"),
            (["--exclude-outbound-cidrs", "300.1.1.1"], "'300.1.1.1' is not an IPv4 or IPv6"),
            (["--exclude-outbound-ports", "*"], "'*' would exclude everything"),
            (["--proxy-uid", "root"], "--proxy-uid must be a number"),
            (["--ipv6", "maybe"], "--ipv6 must be auto, on or off"),
            (["--iptables-mode", "ebpf"], "--iptables-mode must be auto, nft or legacy"),
            (["--no-such-flag"], "unknown option '--no-such-flag'"),
            (["--inbound-port"], "--inbound-port needs a value"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                rc, out, err = skiff_init("--dry-run", *args, check=False)
                self.assertEqual(rc, 2, err)
                self.assertIn(message, err)
                self.assertEqual(out, "")

    def test_help(self):
        rc, out, _ = skiff_init("--help")
        self.assertEqual(rc, 0)
        self.assertIn("--exclude-outbound-cidrs", out)


class ApplyTest(harness.SkiffTestCase):
    """Applied for real in a scratch network namespace (root only)."""

    def setUp(self):
        super().setUp()
        reason = netns.NetnsSupport.check(ipv6=True)
        if reason:
            self.skipTest(reason)
        self.ns = netns.Netns("init")
        self.addCleanup(self.ns.delete)

    def saved(self, mode, family):
        tool = "%s-%s-save" % ("iptables" if family == 4 else "ip6tables", mode)
        out = self.ns.run([tool, "-t", "nat"]).stdout
        return [line for line in out.splitlines() if line.startswith(("-A", ":SKIFF", "-N"))]

    def check_mode(self, mode):
        for tool in ("iptables-%s" % mode, "ip6tables-%s-restore" % mode):
            if subprocess.run(["which", tool], stdout=subprocess.DEVNULL).returncode != 0:
                self.skipTest("%s not installed" % tool)
        args = ["--iptables-mode", mode, "--ipv6", "on", "--exclude-outbound-ports", "5432"]
        skiff_init(*args, ns=self.ns)
        first = {f: self.saved(mode, f) for f in (4, 6)}
        for family in (4, 6):
            rules = first[family]
            self.assertEqual(rules.count("-A PREROUTING -p tcp -j SKIFF_INBOUND"), 1, rules)
            self.assertEqual(rules.count("-A OUTPUT -p tcp -j SKIFF_OUTBOUND"), 1, rules)
            self.assertTrue([r for r in rules if "--to-ports 15001" in r], rules)
        self.assertIn("::6/128", self.ns.run(["ip", "-6", "addr", "show", "dev", "lo"]).stdout)

        # Again: nothing changes, nothing is duplicated.
        skiff_init(*args, ns=self.ns)
        self.assertEqual({f: self.saved(mode, f) for f in (4, 6)}, first)

        # Other options: the chains are rebuilt, the jumps stay single.
        skiff_init("--iptables-mode", mode, "--ipv6", "on", "--exclude-outbound-ports", "6379",
                   ns=self.ns)
        rules = self.saved(mode, 4)
        self.assertFalse([r for r in rules if "5432" in r], rules)
        self.assertTrue([r for r in rules if "6379" in r], rules)
        self.assertEqual(rules.count("-A OUTPUT -p tcp -j SKIFF_OUTBOUND"), 1, rules)

        # Inbound switched off: its jump goes.
        skiff_init("--iptables-mode", mode, "--ipv6", "on", "--inbound-ports", "", ns=self.ns)
        self.assertNotIn("-A PREROUTING -p tcp -j SKIFF_INBOUND", self.saved(mode, 4))

        # Cleanup removes every trace; a second cleanup is harmless.
        skiff_init("--iptables-mode", mode, "--ipv6", "on", "--cleanup", ns=self.ns)
        skiff_init("--iptables-mode", mode, "--ipv6", "on", "--cleanup", ns=self.ns)
        for family in (4, 6):
            self.assertFalse([r for r in self.saved(mode, family) if "SKIFF" in r])
        self.assertNotIn("::6/128", self.ns.run(["ip", "-6", "addr", "show", "dev", "lo"]).stdout)

    def test_nft(self):
        self.check_mode("nft")

    def test_legacy(self):
        self.check_mode("legacy")

    def test_auto_keeps_using_the_backend_that_holds_the_rules(self):
        skiff_init("--iptables-mode", "legacy", "--ipv6", "off", ns=self.ns)
        _, _, err = skiff_init("--ipv6", "off", ns=self.ns)
        self.assertIn("iptables-legacy-restore", err)
        skiff_init("--ipv6", "off", "--cleanup", ns=self.ns)
        self.assertFalse([r for r in self.saved("legacy", 4) if "SKIFF" in r])

    def test_every_dry_run_variant_is_accepted_by_iptables_restore(self):
        variants = [
            [],
            ["--inbound-ports", "8080,9000:9010", "--exclude-inbound-cidrs", "10.1.2.0/24,fd00::/8",
             "--outbound-cidrs", "10.96.0.0/12,fd00:96::/108", "--outbound-ports", "80,443",
             "--exclude-outbound-ports", "5432"],
            ["--inbound-ports", ""],
            ["--outbound-cidrs", ""],
            ["--outbound-ports", ",".join(str(p) for p in range(1000, 1040))],
        ]
        for args in variants:
            with self.subTest(args=args):
                _, out, _ = skiff_init("--dry-run", "--ipv6", "on", *args)
                t = tables(out)
                for family, tool in ((4, "iptables-restore"), (6, "ip6tables-restore")):
                    text = "\n".join(t[family]) + "\n"
                    proc = self.ns.run([tool, "--test", "--noflush"], input=text, check=False)
                    self.assertEqual(proc.returncode, 0, "%s rejected:\n%s\n%s"
                                     % (tool, text, proc.stderr))


if __name__ == "__main__":
    harness.main()
