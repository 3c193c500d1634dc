"""Network namespaces for the capture tests (Python 3 standard library, root only).

  * `NetnsSupport.check()`: why namespaces + iptables cannot be used here (None if they can), so a
    test can skip with that reason;
  * `Netns`: one namespace with a unique name (the pid and the pid namespace: Bazel's sandbox
    runs each test in its own pid namespace, where pids repeat), deleted by `delete()`; commands
    run in it with `run()`/`popen()`, and `call(fn)` runs a Python function on a thread that
    joined it (sockets it creates live in the namespace, so the test talks to servers there
    without a subprocess);
  * `veth()`: a veth pair created directly inside two namespaces (nothing in the host's).

Every namespace this creates is registered and removed at exit, pass or fail.
"""

import atexit
import ctypes
import os
import re
import shutil
import subprocess
import threading

CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)
_created = []
_created_lock = threading.Lock()


def _delete_all():
    with _created_lock:
        names = list(_created)
        _created.clear()
    for name in names:
        subprocess.run(["ip", "netns", "delete", name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


atexit.register(_delete_all)


def run(args, check=True, timeout=30, **kwargs):
    """Runs a command; returns the CompletedProcess (text output)."""
    return subprocess.run(args, check=check, timeout=timeout, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kwargs)


def _pid_namespace():
    """The inode of this process's pid namespace ("pid:[4026531836]" -> "4026531836")."""
    return re.sub(r"\D", "", os.readlink("/proc/self/ns/pid"))


def sweep_stale():
    """Deletes namespaces an earlier run of these tests left when it was killed (SIGKILL gives no
    chance to clean up): ours are named skiff-<label>-<pid namespace>-<pid>, and that pid is gone.
    Only names from this pid namespace are judged: a test running beside this one in another
    sandbox has pids this /proc does not show, and deleting its namespace would break it."""
    try:
        names = os.listdir("/run/netns")
    except OSError:
        return
    own = _pid_namespace()
    for name in names:
        match = re.fullmatch(r"skiff-[a-z0-9]+-(\d+)-(\d+)", name)
        if match and match.group(1) == own and not os.path.exists("/proc/%s" % match.group(2)):
            subprocess.run(["ip", "netns", "delete", name], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


class Netns:
    def __init__(self, label):
        self.name = "skiff-%s-%s-%d" % (label, _pid_namespace(), os.getpid())
        # A namespace left by an earlier run with the same pid (killed before cleanup) goes first.
        subprocess.run(["ip", "netns", "delete", self.name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        run(["ip", "netns", "add", self.name])
        with _created_lock:
            _created.append(self.name)
        self.run(["ip", "link", "set", "lo", "up"])

    def delete(self):
        with _created_lock:
            if self.name in _created:
                _created.remove(self.name)
        subprocess.run(["ip", "netns", "delete", self.name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def exists(self):
        return os.path.exists("/run/netns/%s" % self.name)

    def prefix(self):
        return ["ip", "netns", "exec", self.name]

    def run(self, args, check=True, timeout=30, **kwargs):
        return run(self.prefix() + list(args), check=check, timeout=timeout, **kwargs)

    def popen(self, args, **kwargs):
        return subprocess.Popen(self.prefix() + list(args), **kwargs)

    def call(self, fn, *args):
        """Runs fn(*args) on a fresh thread inside this namespace; returns its result (or raises
        its exception). Only that thread changes namespace, and it ends with the call."""
        result = {}

        def body():
            try:
                fd = os.open("/run/netns/%s" % self.name, os.O_RDONLY)
                try:
                    if _libc.setns(fd, CLONE_NEWNET) != 0:
                        err = ctypes.get_errno()
                        raise OSError(err, "setns: %s" % os.strerror(err))
                finally:
                    os.close(fd)
                result["value"] = fn(*args)
            except BaseException as e:  # handed to the caller
                result["error"] = e

        thread = threading.Thread(target=body, name="netns-%s" % self.name)
        thread.start()
        thread.join()
        if "error" in result:
            raise result["error"]
        return result.get("value")


def veth(a, a_if, b, b_if):
    """A veth pair with one end in namespace `a` (named a_if) and the other in `b` (b_if)."""
    run(["ip", "-n", a.name, "link", "add", a_if, "type", "veth", "peer", "name", b_if,
         "netns", b.name])
    a.run(["ip", "link", "set", a_if, "up"])
    b.run(["ip", "link", "set", b_if, "up"])


class NetnsSupport:
    """Whether this machine lets the tests use namespaces and iptables' nat table in them."""

    @staticmethod
    def check(ipv6=False):
        if os.geteuid() != 0:
            return "needs root (network namespaces and iptables)"
        for tool in ("ip", "iptables", "iptables-restore") + (("ip6tables",) if ipv6 else ()):
            if shutil.which(tool) is None:
                return "%s is not installed (tools/setup installs iproute2 and iptables)" % tool
        sweep_stale()
        probe = None
        try:
            probe = Netns("probe")
            probe.run(["iptables", "-w", "-t", "nat", "-L", "OUTPUT"])
            if ipv6:
                if not os.path.exists("/proc/net/if_inet6"):
                    return "the kernel has no IPv6"
                probe.run(["ip6tables", "-w", "-t", "nat", "-L", "OUTPUT"])
        except (subprocess.CalledProcessError, OSError) as e:
            detail = getattr(e, "stderr", "") or str(e)
            return "network namespaces or iptables' nat table unavailable here: %s" % (
                detail.strip().splitlines()[-1] if detail.strip() else e)
        finally:
            if probe is not None:
                probe.delete()
        return None
