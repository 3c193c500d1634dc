"""Harness for skiff's integration tests: real skiff processes and real backends on loopback.

Python 3 standard library only. Provides:
  * bootstrap building (Envoy v3 shape) and a tiny YAML writer,
  * `Skiff`: start a skiff process, wait for /ready, read /stats, stop it and check its exit code,
  * loopback backends run as threads (echo, hashing sink, source, identity, slow reader),
  * deterministic byte streams with cheap checksums,
  * `SkiffTestCase`: per-test output directory, cleanup of every process and server (even on
    failure), and skiff's stderr kept in the test's output directory when the test fails,
  * `main()`: runs the unittest cases of the calling module and writes a JUnit XML report to
    $XML_OUTPUT_FILE (one <testcase> per test method) so CI counts individual cases.

Every wait is bounded by a timeout; only 127.0.0.1 is ever used.
"""

import atexit
import errno
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unittest
from xml.sax.saxutils import escape as _xml_escape
from xml.sax.saxutils import quoteattr as _xml_quoteattr

LOOPBACK = "127.0.0.1"
TCP_PROXY_TYPE = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
TCP_PROXY_NAME = "envoy.filters.network.tcp_proxy"

# A sanitizer build (tools/test --config=asan/tsan/ubsan passes *SAN_OPTIONS) is slower and uses
# far more memory (shadow memory); tests scale sizes and limits with this.
SANITIZED = any(os.environ.get(v) for v in ("ASAN_OPTIONS", "TSAN_OPTIONS", "UBSAN_OPTIONS"))


class HarnessError(Exception):
    pass


# ------------------------------------------------------------------------------------------------
# Locating skiff and output directories.


def find_skiff():
    """The skiff binary: the Bazel runfiles copy, then $SKIFF_BIN, then the workspace's bazel-bin."""
    candidates = []
    for var in ("TEST_SRCDIR", "RUNFILES_DIR"):
        base = os.environ.get(var)
        if base:
            workspace = os.environ.get("TEST_WORKSPACE", "skiff")
            candidates.append(os.path.join(base, workspace, "source", "exe", "skiff"))
    if os.environ.get("SKIFF_BIN"):
        candidates.append(os.environ["SKIFF_BIN"])
    here = os.path.dirname(os.path.abspath(__file__))
    candidates.append(os.path.join(here, "..", "..", "bazel-bin", "source", "exe", "skiff"))
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return os.path.abspath(path)
    raise HarnessError("skiff binary not found; tried: %s (set SKIFF_BIN)" % ", ".join(candidates))


def find_control():
    """The skiff-control binary: the Bazel runfiles copy, then $SKIFF_CONTROL_BIN, then bazel-bin."""
    candidates = []
    for var in ("TEST_SRCDIR", "RUNFILES_DIR"):
        base = os.environ.get(var)
        if base:
            workspace = os.environ.get("TEST_WORKSPACE", "skiff")
            candidates.append(os.path.join(base, workspace, "source", "control", "skiff-control"))
    if os.environ.get("SKIFF_CONTROL_BIN"):
        candidates.append(os.environ["SKIFF_CONTROL_BIN"])
    here = os.path.dirname(os.path.abspath(__file__))
    candidates.append(os.path.join(here, "..", "..", "bazel-bin", "source", "control",
                                   "skiff-control"))
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return os.path.abspath(path)
    raise HarnessError("skiff-control binary not found; tried: %s (set SKIFF_CONTROL_BIN)"
                       % ", ".join(candidates))


def find_skiffctl():
    """The skiffctl binary: the Bazel runfiles copy, then $SKIFFCTL_BIN, then bazel-bin."""
    candidates = []
    for var in ("TEST_SRCDIR", "RUNFILES_DIR"):
        base = os.environ.get(var)
        if base:
            workspace = os.environ.get("TEST_WORKSPACE", "skiff")
            candidates.append(os.path.join(base, workspace, "source", "skiffctl", "skiffctl"))
    if os.environ.get("SKIFFCTL_BIN"):
        candidates.append(os.environ["SKIFFCTL_BIN"])
    here = os.path.dirname(os.path.abspath(__file__))
    candidates.append(os.path.join(here, "..", "..", "bazel-bin", "source", "skiffctl", "skiffctl"))
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return os.path.abspath(path)
    raise HarnessError("skiffctl binary not found; tried: %s (set SKIFFCTL_BIN)"
                       % ", ".join(candidates))


_OUTPUT_BASE = None


def output_base():
    """Where per-test output goes: $TEST_UNDECLARED_OUTPUTS_DIR under Bazel, else a temp dir."""
    global _OUTPUT_BASE
    if _OUTPUT_BASE is None:
        base = os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR")
        if not base:
            base = tempfile.mkdtemp(prefix="skiff-it-")
        os.makedirs(base, exist_ok=True)
        _OUTPUT_BASE = base
    return _OUTPUT_BASE


# ------------------------------------------------------------------------------------------------
# Ports.

_ports_handed_out = set()
_ports_lock = threading.Lock()


def free_port():
    """A loopback TCP port that was free a moment ago (and not handed out before by this process).

    There is an unavoidable window between picking and use; `Skiff.start` retries on a bind
    conflict when the caller lets it pick ports again.
    """
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((LOOPBACK, 0))
            port = s.getsockname()[1]
        with _ports_lock:
            if port not in _ports_handed_out:
                _ports_handed_out.add(port)
                return port
    raise HarnessError("could not find a free port")


def closed_port():
    """A port with nothing listening on it (connections to it are refused)."""
    return free_port()


# ------------------------------------------------------------------------------------------------
# Bootstrap building and YAML output.


def _yaml_scalar(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return repr(value)
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(str(value))


def to_yaml(obj, indent=0):
    """Block-style YAML for dicts/lists/scalars. Strings are always double-quoted."""
    pad = "  " * indent
    lines = []
    if isinstance(obj, dict):
        if not obj:
            return pad + "{}\n"
        for key, value in obj.items():
            k = _yaml_scalar(str(key))
            if isinstance(value, (dict, list)) and value:
                lines.append("%s%s:\n%s" % (pad, k, to_yaml(value, indent + 1)))
            elif isinstance(value, (dict, list)):
                lines.append("%s%s: %s\n" % (pad, k, "{}" if isinstance(value, dict) else "[]"))
            else:
                lines.append("%s%s: %s\n" % (pad, k, _yaml_scalar(value)))
        return "".join(lines)
    if isinstance(obj, list):
        if not obj:
            return pad + "[]\n"
        for item in obj:
            if isinstance(item, (dict, list)) and item:
                body = to_yaml(item, indent + 1)
                # "- " followed by the first line of the nested block, the rest stays indented.
                first, _, rest = body.partition("\n")
                lines.append("%s- %s\n%s" % (pad, first.lstrip(), rest))
            else:
                lines.append("%s- %s\n" % (pad, _yaml_scalar(item) if not isinstance(item, (dict, list))
                                           else ("{}" if isinstance(item, dict) else "[]")))
        return "".join(lines)
    return pad + _yaml_scalar(obj) + "\n"


def socket_address(port, address=LOOPBACK):
    return {"socket_address": {"address": address, "port_value": port}}


def tcp_proxy_listener(name, port, cluster, stat_prefix=None, idle_timeout=None, extra=None):
    typed = {"@type": TCP_PROXY_TYPE, "stat_prefix": stat_prefix or name, "cluster": cluster}
    if idle_timeout is not None:
        typed["idle_timeout"] = idle_timeout
    listener = {
        "name": name,
        "address": socket_address(port),
        "filter_chains": [{"filters": [{"name": TCP_PROXY_NAME, "typed_config": typed}]}],
    }
    if extra:
        listener.update(extra)
    return listener


def static_cluster(name, ports, connect_timeout="1s", extra=None):
    cluster = {
        "name": name,
        "type": "STATIC",
        "connect_timeout": connect_timeout,
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket_address(p)}}
                                            for p in ports]}],
        },
    }
    if extra:
        cluster.update(extra)
    return cluster


def bootstrap(admin_port, listeners, clusters):
    return {
        "admin": {"address": socket_address(admin_port)},
        "static_resources": {"listeners": listeners, "clusters": clusters},
    }


def simple_proxy_config(backend_ports, listener_name="proxy", cluster="backend",
                        idle_timeout=None, connect_timeout="1s", listener_port=None,
                        admin_port=None):
    """One tcp_proxy listener in front of one static cluster. Returns (config, listener_port)."""
    listener_port = listener_port or free_port()
    admin_port = admin_port or free_port()
    config = bootstrap(
        admin_port,
        [tcp_proxy_listener(listener_name, listener_port, cluster, stat_prefix=listener_name,
                            idle_timeout=idle_timeout)],
        [static_cluster(cluster, backend_ports, connect_timeout=connect_timeout)])
    return config, listener_port


LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener"
CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
ENDPOINT_TYPE = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"


def xds_bootstrap(admin_port, xds_port, api_type="GRPC", node_id="sidecar", node_cluster="test",
                  initial_fetch_timeout=None):
    """A bootstrap with no static listeners: everything comes over one ADS stream from a
    management server on 127.0.0.1:xds_port (reached through the static cluster `xds_cluster`)."""
    lds = {"ads": {}, "resource_api_version": "V3"}
    cds = {"ads": {}, "resource_api_version": "V3"}
    if initial_fetch_timeout is not None:
        lds["initial_fetch_timeout"] = initial_fetch_timeout
        cds["initial_fetch_timeout"] = initial_fetch_timeout
    return {
        "node": {"id": node_id, "cluster": node_cluster},
        "admin": {"address": socket_address(admin_port)},
        "static_resources": {"clusters": [static_cluster("xds_cluster", [xds_port])]},
        "dynamic_resources": {
            "ads_config": {"api_type": api_type, "transport_api_version": "V3",
                           "grpc_services": [{"envoy_grpc": {"cluster_name": "xds_cluster"}}]},
            "lds_config": lds,
            "cds_config": cds,
        },
    }


def eds_cluster(name, connect_timeout="1s", service_name=None):
    """A cluster whose endpoints come from a ClusterLoadAssignment over ADS."""
    eds = {"eds_config": {"ads": {}, "resource_api_version": "V3"}}
    if service_name:
        eds["service_name"] = service_name
    return {"name": name, "type": "EDS", "connect_timeout": connect_timeout,
            "eds_cluster_config": eds}


def load_assignment(cluster_name, ports):
    return {"cluster_name": cluster_name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket_address(p)}}
                                            for p in ports]}]}


def xds_resources(listeners=(), clusters=(), endpoints=()):
    """The file-based xDS shape skiff-control reads: {resources: [{"@type": ..., ...}]}."""
    out = []
    for kind, items in ((CLUSTER_TYPE, clusters), (ENDPOINT_TYPE, endpoints),
                        (LISTENER_TYPE, listeners)):
        for item in items:
            entry = {"@type": kind}
            entry.update(item)
            out.append(entry)
    return {"resources": out}


_atomic_counter = [0]


def write_file_atomic(path, text):
    """Writes `text` to `path` atomically: a hidden temp file in the same directory (skiff-control
    skips hidden entries), fsync'ed, then renamed over `path`, so a watcher never sees half a
    file."""
    directory, base = os.path.split(path)
    with _ports_lock:
        _atomic_counter[0] += 1
        n = _atomic_counter[0]
    tmp = os.path.join(directory, ".%s.tmp.%d.%d" % (base, os.getpid(), n))
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def write_yaml_atomic(path, obj):
    return write_file_atomic(path, to_yaml(obj))


# ------------------------------------------------------------------------------------------------
# HTTP to the admin port.


def http_request(port, method, path, body=None, timeout=5.0, headers=None):
    """Returns (status, headers dict with lower-case names, body bytes)."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        sent_headers = {"Connection": "close"}
        sent_headers.update(headers or {})
        conn.request(method, path, body=body, headers=sent_headers)
        response = conn.getresponse()
        data = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, data
    finally:
        conn.close()


def raw_request(port, payload, timeout=5.0):
    """Sends raw bytes to port, returns everything read until EOF (or timeout)."""
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as s:
        s.sendall(payload)
        deadline = time.monotonic() + timeout
        out = bytearray()
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return bytes(out)


def parse_stats(text):
    """`name: value` lines -> {name: int} (non-integer values, e.g. histograms, kept as str)."""
    stats = {}
    for line in text.splitlines():
        name, sep, value = line.partition(": ")
        if not sep:
            continue
        value = value.strip()
        try:
            stats[name.strip()] = int(value)
        except ValueError:
            stats[name.strip()] = value
    return stats


# ------------------------------------------------------------------------------------------------
# Processes.

_live_processes = []
_live_lock = threading.Lock()


def _register(proc):
    with _live_lock:
        _live_processes.append(proc)


def kill_all_processes():
    """Kills every process the harness started that is still running (idempotent)."""
    with _live_lock:
        procs = list(_live_processes)
        _live_processes.clear()
    for proc in procs:
        if proc.poll() is None:
            try:
                proc.kill()
            except OSError:
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


atexit.register(kill_all_processes)


def read_proc_status(pid):
    """/proc/PID/status as {field: value-string}; {} if the process is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            out = {}
            for line in f:
                key, _, value = line.partition(":")
                out[key] = value.strip()
            return out
    except OSError:
        return {}


def _kib(value):
    # "12345 kB" -> 12345
    return int(value.split()[0]) if value else 0


class Skiff:
    """One skiff process. Use via SkiffTestCase.start_skiff so it is always cleaned up."""

    def __init__(self, config, outdir, name="skiff", concurrency=2, log_level="info",
                 extra_args=(), config_text=None, preexec_fn=None):
        self.config = config
        self.preexec_fn = preexec_fn  # Runs in the child before exec (e.g. to set rlimits).
        self.outdir = outdir
        self.name = name
        self.concurrency = concurrency
        self.log_level = log_level
        self.extra_args = list(extra_args)
        self.config_path = os.path.join(outdir, "%s.yaml" % name)
        self.stderr_path = os.path.join(outdir, "%s.stderr" % name)
        self.stdout_path = os.path.join(outdir, "%s.stdout" % name)
        self.proc = None
        self.returncode = None
        with open(self.config_path, "w") as f:
            f.write(config_text if config_text is not None else to_yaml(config))

    @property
    def admin_port(self):
        return self.config["admin"]["address"]["socket_address"]["port_value"]

    @property
    def pid(self):
        return self.proc.pid

    def args(self):
        return [find_skiff(), "-c", self.config_path, "--concurrency", str(self.concurrency),
                "--log-level", self.log_level] + self.extra_args

    def start(self, wait_ready=True, timeout=15.0):
        self._stderr = open(self.stderr_path, "ab")
        self._stdout = open(self.stdout_path, "ab")
        self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL, stdout=self._stdout,
                                     stderr=self._stderr, preexec_fn=self.preexec_fn)
        _register(self.proc)
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise HarnessError("skiff exited with %d before becoming ready; stderr:\n%s"
                                   % (rc, self.stderr_tail()))
            try:
                status, _, body = http_request(self.admin_port, "GET", "/ready", timeout=1.0)
                if status == 200:
                    return
                last = "%d %r" % (status, body)
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.05)
        raise HarnessError("skiff not ready after %.1fs (last: %s); stderr:\n%s"
                           % (timeout, last, self.stderr_tail()))

    def get(self, path, timeout=5.0):
        return http_request(self.admin_port, "GET", path, timeout=timeout)

    def post(self, path, timeout=5.0):
        return http_request(self.admin_port, "POST", path, timeout=timeout)

    def stats(self):
        status, _, body = self.get("/stats")
        if status != 200:
            raise HarnessError("/stats returned %d: %r" % (status, body[:200]))
        return parse_stats(body.decode("utf-8", "replace"))

    def stat(self, name, default=None):
        return self.stats().get(name, default)

    def wait_stat(self, name, predicate, timeout=5.0):
        """Polls /stats until predicate(value) holds; returns the value or raises. A poll that
        gets no answer in time (main busy applying a big update, slower still under a sanitizer)
        is retried until the deadline, not an error of its own."""
        deadline = time.monotonic() + timeout
        value = None
        last_error = None
        while time.monotonic() < deadline:
            try:
                value = self.stats().get(name)
            except (OSError, http.client.HTTPException) as e:
                last_error = e
                time.sleep(0.05)
                continue
            if value is not None and predicate(value):
                return value
            time.sleep(0.05)
        raise AssertionError("stat %s never satisfied the condition (last value %r, last error %r)"
                             % (name, value, last_error))

    def signal(self, signum):
        self.proc.send_signal(signum)

    def wait_exit(self, timeout):
        """Waits for exit; returns the exit code or raises AssertionError on timeout."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("skiff (pid %d) did not exit within %.1fs" % (self.pid, timeout))
        return self.returncode

    def stop(self, timeout=10.0):
        """SIGTERM, then waits; returns the exit code (killing it if it does not exit)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.wait_exit(timeout)
        finally:
            self.kill()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for f in (getattr(self, "_stderr", None), getattr(self, "_stdout", None)):
            if f is not None and not f.closed:
                f.close()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stderr_tail(self, lines=40):
        return "\n".join(self.stderr_text().splitlines()[-lines:])

    def rss_kib(self):
        return _kib(read_proc_status(self.pid).get("VmRSS"))

    def hwm_kib(self):
        return _kib(read_proc_status(self.pid).get("VmHWM"))

    def threads(self):
        """{tid: (comm, voluntary+involuntary context switches, utime+stime ticks)}."""
        out = {}
        base = "/proc/%d/task" % self.pid
        try:
            tids = os.listdir(base)
        except OSError:
            return out
        for tid in tids:
            try:
                with open(os.path.join(base, tid, "comm")) as f:
                    comm = f.read().strip()
                status = read_proc_status_path(os.path.join(base, tid, "status"))
                switches = int(status.get("voluntary_ctxt_switches", "0")) + int(
                    status.get("nonvoluntary_ctxt_switches", "0"))
                with open(os.path.join(base, tid, "stat")) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
            except (OSError, ValueError, IndexError):
                continue
            out[int(tid)] = (comm, switches, ticks)
        return out


class Control:
    """One skiff-control process (the xDS management server) serving `config_dir`. Its stderr
    goes to OUTDIR/NAME.stderr, which the test runner prints when the test fails. restart() starts
    it again on the same ports (the sidecars' bootstrap names the xDS port)."""

    def __init__(self, config_dir, outdir, name="control", xds_port=None, admin_port=None,
                 log_level="info", token_file=None):
        self.config_dir = config_dir
        self.token_file = token_file
        self.outdir = outdir
        self.name = name
        self.xds_port = xds_port or free_port()
        self.admin_port = admin_port or free_port()
        self.log_level = log_level
        self.stderr_path = os.path.join(outdir, "%s.stderr" % name)
        self.stdout_path = os.path.join(outdir, "%s.stdout" % name)
        self.proc = None
        self._files = []

    def args(self):
        return [find_control(), "--config-dir", self.config_dir,
                "--xds-address", "%s:%d" % (LOOPBACK, self.xds_port),
                "--admin-address", "%s:%d" % (LOOPBACK, self.admin_port),
                "--log-level", self.log_level] + (
                    ["--admin-token-file", self.token_file] if self.token_file else [])

    @property
    def pid(self):
        return self.proc.pid

    def start(self, wait_ready=True, timeout=15.0):
        stderr = open(self.stderr_path, "ab")
        stdout = open(self.stdout_path, "ab")
        self._files += [stderr, stdout]
        self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL, stdout=stdout,
                                     stderr=stderr)
        _register(self.proc)
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise HarnessError("skiff-control exited with %d before becoming ready; "
                                   "stderr:\n%s" % (rc, self.stderr_tail()))
            try:
                status, _, body = http_request(self.admin_port, "GET", "/ready", timeout=1.0)
                if status == 200:
                    return
                last = "%d %r" % (status, body)
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.05)
        raise HarnessError("skiff-control not ready after %.1fs (last: %s); stderr:\n%s"
                           % (timeout, last, self.stderr_tail()))

    def auth_headers(self):
        """The Authorization header for the admin API when skiff-control has a token."""
        if not self.token_file:
            return {}
        with open(self.token_file) as f:
            return {"Authorization": "Bearer " + f.read().strip()}

    def get(self, path, timeout=5.0):
        return http_request(self.admin_port, "GET", path, timeout=timeout,
                            headers=self.auth_headers())

    def get_json(self, path, timeout=5.0):
        status, _, body = self.get(path, timeout=timeout)
        if status != 200:
            raise HarnessError("skiff-control %s returned %d: %r" % (path, status, body[:200]))
        return json.loads(body.decode("utf-8"))

    def url(self):
        """What skiffctl's --control-plane takes."""
        return "http://%s:%d" % (LOOPBACK, self.admin_port)

    def nodes(self):
        """The open streams from /nodes (a list of dicts)."""
        return self.get_json("/nodes").get("nodes", [])

    def node(self, node_id):
        for n in self.nodes():
            if n.get("node_id") == node_id:
                return n
        return None

    def stats(self):
        status, _, body = self.get("/stats")
        if status != 200:
            raise HarnessError("/stats returned %d" % status)
        return parse_stats(body.decode("utf-8", "replace"))

    def signal(self, signum):
        self.proc.send_signal(signum)

    def kill(self, wait=5.0):
        """SIGKILL (no goodbye to the streams) and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                pass
        for f in self._files:
            if not f.closed:
                f.close()
        self._files = []

    def stop(self, timeout=10.0):
        """SIGTERM; returns the exit code (kills it if it does not exit in time)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("skiff-control did not exit within %.1fs" % timeout)
        finally:
            self.kill()

    def restart(self, wait_ready=True, timeout=15.0, bind_retry=10.0):
        """Starts again on the same ports. The xDS port may briefly be unavailable after a kill;
        retries the start while the process dies at once with a bind error."""
        self.kill()
        deadline = time.monotonic() + bind_retry
        while True:
            try:
                return self.start(wait_ready=wait_ready, timeout=timeout)
            except HarnessError:
                self.kill()
                if time.monotonic() > deadline or "in use" not in self.stderr_tail(5).lower():
                    raise
                time.sleep(0.2)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stderr_tail(self, lines=40):
        return "\n".join(self.stderr_text().splitlines()[-lines:])


def read_proc_status_path(path):
    out = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


class RssMonitor:
    """Samples a process's VmRSS in a thread; `peak_kib` is the largest sample, `hwm_kib` the
    kernel's own high-water mark (VmHWM) read at stop()."""

    def __init__(self, pid, interval=0.02):
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self.hwm_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            rss = _kib(read_proc_status(self.pid).get("VmRSS"))
            if rss:
                self.samples += 1
                self.peak_kib = max(self.peak_kib, rss)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.hwm_kib = _kib(read_proc_status(self.pid).get("VmHWM"))
        self.peak_kib = max(self.peak_kib, _kib(read_proc_status(self.pid).get("VmRSS")))


# ------------------------------------------------------------------------------------------------
# Deterministic byte streams.

CHUNK = 1 << 20
_BASE_BLOCK = random.Random(0x5C1FF).randbytes(CHUNK)
_digest_cache = {}


def pattern_chunks(total, chunk=CHUNK):
    """Yields `total` bytes as chunks of a deterministic stream. Every 1 MiB block starts with its
    own index, so a lost, duplicated or reordered block changes the checksum. The yielded buffer is
    reused: consume (send/hash) each chunk before asking for the next."""
    block = bytearray(_BASE_BLOCK)
    view = memoryview(block)
    sent = 0
    index = 0
    while sent < total:
        block[0:8] = index.to_bytes(8, "little")
        n = min(chunk, CHUNK, total - sent)
        yield view[:n]
        sent += n
        index += 1


def pattern_digest(total):
    """sha1 of the first `total` bytes of the pattern stream (cached)."""
    if total not in _digest_cache:
        h = hashlib.sha1()
        for piece in pattern_chunks(total):
            h.update(piece)
        _digest_cache[total] = h.hexdigest()
    return _digest_cache[total]


def send_pattern(sock, total, progress=None, pace=None):
    """Sends `total` pattern bytes on sock. progress(n_sent) is called after each chunk; pace, if
    given, is called before each chunk (to slow the sender)."""
    sent = 0
    for piece in pattern_chunks(total):
        if pace is not None:
            pace(sent)
        sock.sendall(piece)
        sent += len(piece)
        if progress is not None:
            progress(sent)
    return sent


def recv_all_hash(sock, limit=None, bufsize=CHUNK, pace=None, deadline=None):
    """Reads until EOF (or `limit` bytes); returns (count, sha1 hex). pace(count) is called
    before each read, to make a slow reader."""
    h = hashlib.sha1()
    buf = bytearray(bufsize)
    view = memoryview(buf)
    count = 0
    while limit is None or count < limit:
        if deadline is not None and time.monotonic() > deadline:
            raise AssertionError("read deadline passed after %d bytes" % count)
        if pace is not None:
            pace(count)
        want = bufsize if limit is None else min(bufsize, limit - count)
        n = sock.recv_into(view[:want])
        if n == 0:
            break
        h.update(view[:n])
        count += n
    return count, h.hexdigest()


def recv_exactly(sock, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    out = bytearray()
    while len(out) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("timed out after %d of %d bytes" % (len(out), n))
        sock.settimeout(remaining)
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise AssertionError("EOF after %d of %d bytes" % (len(out), n))
        out += chunk
    return bytes(out)


def recv_until_eof(sock, timeout=5.0, max_bytes=64 << 20):
    """Reads until EOF; returns (data, how) where how is 'eof' or 'reset'. Raises on timeout."""
    deadline = time.monotonic() + timeout
    out = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("no EOF within %.1fs (got %d bytes)" % (timeout, len(out)))
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return bytes(out), "reset"
        except socket.timeout:
            continue
        if not chunk:
            return bytes(out), "eof"
        out += chunk
        if len(out) > max_bytes:
            raise AssertionError("more than %d bytes before EOF" % max_bytes)


def connect(port, timeout=5.0, rcvbuf=None, sndbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if sndbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    s.settimeout(timeout)
    try:
        s.connect((LOOPBACK, port))
    except Exception:
        s.close()
        raise
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


# ------------------------------------------------------------------------------------------------
# Backends (threads).


class TcpServer:
    """A loopback TCP server calling handler(sock, server, index) for each connection in its own
    thread. Exceptions in handlers are recorded in `errors` (tests assert it is empty)."""

    def __init__(self, handler, name="backend", port=None, backlog=128, rcvbuf=None, sndbuf=None,
                 address=LOOPBACK):
        self.handler = handler
        self.name = name
        self.errors = []
        self.results = []
        self.accepted = 0
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._conns = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if sndbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        self.sock.bind((address, port or 0))  # Another address only in a test's own netns.
        self.sock.listen(backlog)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True,
                                               name="%s-accept" % name)
        self._accept_thread.start()

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(30.0)
            with self.lock:
                index = self.accepted
                self.accepted += 1
                self._conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn, index), daemon=True,
                                 name="%s-%d" % (self.name, index))
            self._threads.append(t)
            t.start()

    def _serve(self, conn, index):
        try:
            self.handler(conn, self, index)
        except Exception as e:  # noqa: BLE001 - recorded for the test to assert on
            if not self._stop.is_set():
                with self.lock:
                    self.errors.append("%s conn %d: %r\n%s" % (self.name, index, e,
                                                               traceback.format_exc()))
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def record(self, result):
        with self.lock:
            self.results.append(result)

    def wait_results(self, n, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.results) >= n:
                    return list(self.results)
            time.sleep(0.02)
        raise AssertionError("%s: %d results after %.1fs, wanted %d (errors: %s)"
                             % (self.name, len(self.results), timeout, n, self.errors))

    def stop(self):
        self._stop.set()
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._accept_thread.join(timeout=2)
        for t in self._threads:
            t.join(timeout=2)


def echo_handler(conn, server, index):
    """Echoes everything; forwards EOF as EOF (shutdown of the write side)."""
    total = 0
    while True:
        data = conn.recv(65536)
        if not data:
            break
        conn.sendall(data)
        total += len(data)
    conn.shutdown(socket.SHUT_WR)
    server.record({"index": index, "bytes": total})


def sink_handler(reply=False, reply_delay=0.0, reply_extra=0, pace=None):
    """Reads to EOF hashing. With reply, then (after reply_delay) sends
    "<count> <sha1>\\n" followed by reply_extra pattern bytes, then closes."""

    def handler(conn, server, index):
        start = time.monotonic()
        count, digest = recv_all_hash(conn, pace=pace)
        elapsed = time.monotonic() - start
        server.record({"index": index, "bytes": count, "sha1": digest, "seconds": elapsed})
        if reply:
            if reply_delay:
                time.sleep(reply_delay)
            conn.sendall(("%d %s\n" % (count, digest)).encode())
            if reply_extra:
                send_pattern(conn, reply_extra)
            conn.shutdown(socket.SHUT_WR)
            # Wait for the peer's close so the reply is not cut by an RST.
            conn.settimeout(5.0)
            try:
                while conn.recv(65536):
                    pass
            except OSError:
                pass

    return handler


class SourceState:
    """Shared progress of source_handler: bytes sent so far (for backpressure assertions)."""

    def __init__(self):
        self.sent = 0


def source_handler(total, state=None):
    """Sends `total` pattern bytes as fast as the peer takes them, then closes."""

    def handler(conn, server, index):
        start = time.monotonic()

        def progress(n):
            if state is not None:
                state.sent = n

        send_pattern(conn, total, progress=progress)
        conn.shutdown(socket.SHUT_WR)
        server.record({"index": index, "bytes": total, "seconds": time.monotonic() - start})
        conn.settimeout(10.0)
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass

    return handler


def identity_handler(name):
    """Says which backend it is, then closes."""

    def handler(conn, server, index):
        conn.sendall(("%s\n" % name).encode())
        conn.shutdown(socket.SHUT_WR)
        server.record({"index": index})
        conn.settimeout(5.0)
        try:
            while conn.recv(4096):
                pass
        except OSError:
            pass

    return handler


def hold_handler(conn, server, index):
    """Accepts and reads (discarding) until EOF; keeps the connection open meanwhile."""
    count = 0
    conn.settimeout(60.0)
    while True:
        data = conn.recv(65536)
        if not data:
            break
        count += len(data)
    server.record({"index": index, "bytes": count})


def half_closed_slow_sink(stall=1.0, rate=None, slow_tail=None, total=None, greeting=b"hi\n"):
    """Sends `greeting` and shuts its write side at once, waits `stall` seconds, then reads to EOF
    hashing (records bytes and sha1). With `rate`, reads at about that many bytes/s: throughout,
    or, given `slow_tail` and `total`, only for the last `slow_tail` of `total` bytes."""

    def handler(conn, server, index):
        conn.sendall(greeting)
        conn.shutdown(socket.SHUT_WR)
        time.sleep(stall)
        pace = None
        if rate:
            limiter = slow_pace(rate)
            slow_from = (total - slow_tail) if slow_tail and total else 0
            def pace(count):
                if count >= slow_from:
                    limiter(count - slow_from)
        count, digest = recv_all_hash(conn, bufsize=64 * 1024, pace=pace,
                                      deadline=time.monotonic() + 60)
        server.record({"index": index, "bytes": count, "sha1": digest})

    return handler


def slow_pace(bytes_per_second):
    """A pace function for send_pattern/recv_all_hash limiting the average rate."""
    start = [None]

    def pace(done):
        if start[0] is None:
            start[0] = time.monotonic()
        ahead = done / bytes_per_second - (time.monotonic() - start[0])
        if ahead > 0:
            time.sleep(min(ahead, 0.5))

    return pace


# ------------------------------------------------------------------------------------------------
# Test case base class.


class SkiffTestCase(unittest.TestCase):
    """Gives each test an output directory and cleans up every process and server it started."""

    def setUp(self):
        self.outdir = os.path.join(output_base(), self.id().split(".", 1)[-1])
        shutil.rmtree(self.outdir, ignore_errors=True)
        os.makedirs(self.outdir, exist_ok=True)
        self.skiffs = []
        self.servers = []
        self.controls = []
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        for server in self.servers:
            server.stop()
        for s in self.skiffs:
            s.kill()
        for c in self.controls:
            c.kill()

    def start_control(self, config_dir, name=None, wait_ready=True, **kwargs):
        """Starts skiff-control serving `config_dir` on free loopback ports and waits for its
        /ready. Killed at cleanup; its stderr is kept (and printed) when the test fails."""
        c = Control(config_dir, self.outdir, name=name or "control%d" % len(self.controls),
                    **kwargs)
        self.controls.append(c)
        return c.start(wait_ready=wait_ready)

    def start_skiff(self, config, name=None, wait_ready=True, retries=3, **kwargs):
        """Starts skiff. If it dies at startup because a port picked for it got taken meanwhile,
        and the caller did not pin ports (`config` is a callable building a fresh config), retries.
        """
        for attempt in range(retries):
            cfg = config() if callable(config) else config
            s = Skiff(cfg, self.outdir, name=name or "skiff%d" % len(self.skiffs), **kwargs)
            self.skiffs.append(s)
            try:
                return s.start(wait_ready=wait_ready)
            except HarnessError:
                s.kill()
                if (callable(config) and attempt + 1 < retries
                        and "in use" in s.stderr_text()):
                    continue
                raise
        raise HarnessError("unreachable")

    def run_skiff(self, args, timeout=10.0, name="run"):
        """Runs skiff to completion with the given arguments; returns (rc, stdout, stderr)."""
        proc = subprocess.Popen([find_skiff()] + list(args), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _register(proc)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate(timeout=5)
            raise AssertionError("skiff %s did not finish within %.1fs" % (args, timeout))
        out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        with open(os.path.join(self.outdir, name + ".stdout"), "w") as f:
            f.write(out)
        with open(os.path.join(self.outdir, name + ".stderr"), "w") as f:
            f.write(err)
        return proc.returncode, out, err

    def run_skiffctl(self, args, timeout=20.0, name="skiffctl", stdin=None):
        """Runs skiffctl with the given arguments; returns (rc, stdout, stderr) as text."""
        proc = subprocess.Popen([find_skiffctl()] + list(args), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _register(proc)
        try:
            out, err = proc.communicate(input=(stdin or "").encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=5)
            raise AssertionError("skiffctl %s did not finish within %.1fs" % (args, timeout))
        out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        with open(os.path.join(self.outdir, name + ".log"), "a") as f:
            f.write("$ skiffctl %s\n[rc %d]\n%s%s\n" % (" ".join(args), proc.returncode, out, err))
        return proc.returncode, out, err

    def write_config(self, config, name="config.yaml", text=None):
        path = os.path.join(self.outdir, name)
        with open(path, "w") as f:
            f.write(text if text is not None else to_yaml(config))
        return path

    def server(self, handler, name="backend", **kwargs):
        s = TcpServer(handler, name=name, **kwargs)
        self.servers.append(s)
        return s

    def assertNoServerErrors(self):
        for server in self.servers:
            self.assertEqual(server.errors, [], "backend %s had errors" % server.name)

    def note(self, text):
        """A measurement or remark: printed, and kept in the output base's notes.txt."""
        line = "[%s] %s" % (self.id().split(".", 1)[-1], text)
        print(line, file=sys.stderr, flush=True)
        with open(os.path.join(output_base(), "notes.txt"), "a") as f:
            f.write(line + "\n")


# ------------------------------------------------------------------------------------------------
# Running and reporting.


class _Result(unittest.TextTestResult):
    """Records each test's outcome and time; removes output dirs of passing tests and prints the
    tail of skiff's stderr for failing ones."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.records = []  # (test, outcome, message, seconds)
        self._start = {}
        self._outcome = {}

    def startTest(self, test):
        self._start[test.id()] = time.monotonic()
        self._outcome[test.id()] = ("passed", "")
        super().startTest(test)

    def _set(self, test, outcome, message):
        # The first failure wins (a tearDown error after a failure must not hide it).
        if self._outcome.get(test.id(), ("passed",))[0] == "passed":
            self._outcome[test.id()] = (outcome, message)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._set(test, "failure", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._set(test, "error", self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._set(test, "skipped", reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._set(test, "failure", "unexpected success")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            kind = "failure" if issubclass(err[0], test.failureException) else "error"
            self._set(test, kind, self._exc_info_to_string(err, test))

    def stopTest(self, test):
        super().stopTest(test)
        outcome, message = self._outcome.get(test.id(), ("passed", ""))
        seconds = time.monotonic() - self._start.get(test.id(), time.monotonic())
        self.records.append((test, outcome, message, seconds))
        outdir = getattr(test, "outdir", None)
        if outdir and os.path.isdir(outdir):
            if outcome in ("passed", "skipped"):
                shutil.rmtree(outdir, ignore_errors=True)
            else:
                self._dump_logs(outdir)

    def _dump_logs(self, outdir):
        self.stream.writeln("---- kept output of the failed test in %s" % outdir)
        for name in sorted(os.listdir(outdir)):
            if not name.endswith(".stderr"):
                continue
            path = os.path.join(outdir, name)
            with open(path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            self.stream.writeln("---- %s (last %d of %d lines)" % (name, min(40, len(lines)),
                                                                  len(lines)))
            for line in lines[-40:]:
                self.stream.writeln("    " + line)
        self.stream.flush()


def write_junit_xml(path, suite_name, records, total_seconds):
    failures = sum(1 for r in records if r[1] == "failure")
    errors = sum(1 for r in records if r[1] == "error")
    skipped = sum(1 for r in records if r[1] == "skipped")
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<testsuites name=%s tests="%d" failures="%d" errors="%d" time="%.3f">'
           % (_xml_quoteattr(suite_name), len(records), failures, errors, total_seconds),
           '  <testsuite name=%s tests="%d" failures="%d" errors="%d" skipped="%d" time="%.3f">'
           % (_xml_quoteattr(suite_name), len(records), failures, errors, skipped, total_seconds)]
    for test, outcome, message, seconds in records:
        parts = test.id().split(".")
        if parts and parts[0] == "__main__":
            parts[0] = suite_name
        classname = ".".join(parts[:-1]) or suite_name
        name = parts[-1]
        head = '    <testcase classname=%s name=%s time="%.3f"' % (
            _xml_quoteattr(classname), _xml_quoteattr(name), seconds)
        if outcome == "passed":
            out.append(head + "/>")
            continue
        out.append(head + ">")
        first = (message.strip().splitlines() or [""])[-1][:500]
        if outcome == "skipped":
            out.append("      <skipped message=%s/>" % _xml_quoteattr(first))
        else:
            out.append('      <failure message=%s type=%s>%s</failure>'
                       % (_xml_quoteattr(first), _xml_quoteattr(outcome),
                          _xml_escape(_xml_safe(message))))
        out.append("    </testcase>")
    out.append("  </testsuite>")
    out.append("</testsuites>")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, path)


def _xml_safe(text):
    # XML 1.0 forbids most control characters even when escaped.
    return "".join(c if c in "\t\n\r" or ord(c) >= 0x20 else "?" for c in text)


def _on_sigterm(signum, frame):
    # Bazel's timeout sends SIGTERM: turn it into an exception so cleanups and atexit run.
    kill_all_processes()
    raise KeyboardInterrupt("SIGTERM")


def main(module_name="__main__"):
    """Runs the unittest cases of `module_name`; writes $XML_OUTPUT_FILE; exits 1 on failure.

    Test names may be given as arguments (substrings of the test id); under Bazel
    --test_filter arrives as $TESTBRIDGE_TEST_ONLY and is used the same way.
    """
    signal.signal(signal.SIGTERM, _on_sigterm)
    module = sys.modules[module_name]
    loader = unittest.TestLoader()
    patterns = [a for a in sys.argv[1:] if not a.startswith("-")]
    if os.environ.get("TESTBRIDGE_TEST_ONLY"):
        patterns += os.environ["TESTBRIDGE_TEST_ONLY"].split(",")
    if patterns:
        loader.testNamePatterns = ["*%s*" % p for p in patterns]
    suite = loader.loadTestsFromModule(module)
    suite_name = os.path.splitext(os.path.basename(getattr(module, "__file__", "tests")))[0]

    print("skiff binary: %s" % find_skiff(), file=sys.stderr, flush=True)
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=_Result)
    start = time.monotonic()
    try:
        result = runner.run(suite)
    finally:
        kill_all_processes()
    total = time.monotonic() - start
    xml_path = os.environ.get("XML_OUTPUT_FILE")
    if xml_path:
        write_junit_xml(xml_path, suite_name, result.records, total)
    failed = [r for r in result.records if r[1] in ("failure", "error")]
    if result.testsRun == 0:
        print("no tests ran", file=sys.stderr)
        sys.exit(1)
    sys.exit(1 if failed or not result.wasSuccessful() else 0)
