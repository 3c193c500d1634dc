"""A small HTTP/1.1 backend and client for skiff's HTTP integration tests (standard library only).

The backend parses requests itself (keep-alive, Content-Length and chunked bodies, Upgrade) so the
tests control framing exactly. Every response carries `x-backend: <name>`. Paths:

  /echo ...              200 with a JSON body: backend, method, path, headers, body length, sha1
  /status/<code>         that status, short body
  /delay/<ms>            waits, then 200
  /fail/<key>/<n>        503 for the first n requests with this key (per backend), then 200
  /close                 closes the connection without answering
  /download/<bytes>      200, chunked, `bytes` of the harness pattern stream
  /upload                reads the body (any framing) hashing it; 200 "<count> <sha1>"
  Upgrade: websocket     101 Switching Protocols, then echoes raw bytes until EOF

`requests` counts every request head the backend parsed (the smuggling tests check it stays 0).
"""

import hashlib
import json
import os
import socket
import threading
import time

import harness


class BadRequest(Exception):
    pass


def _read_line(reader, limit=65536):
    line = reader.readline(limit + 1)
    if not line:
        return None
    if len(line) > limit:
        raise BadRequest("line too long")
    return line


def read_head(reader):
    """Returns (start_line, [(name_lower, value)]) or None at EOF before a request."""
    line = _read_line(reader)
    while line in (b"\r\n", b"\n"):
        line = _read_line(reader)
    if line is None:
        return None
    start = line.rstrip(b"\r\n").decode("latin-1")
    headers = []
    while True:
        line = _read_line(reader)
        if line is None:
            raise BadRequest("EOF in headers")
        if line in (b"\r\n", b"\n"):
            break
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise BadRequest("bad header line")
        headers.append((name.strip().lower(), value.strip()))
    return start, headers


def header(headers, name, default=None):
    for n, v in headers:
        if n == name:
            return v
    return default


def read_body(reader, headers, sink):
    """Reads a request/response body by its framing, calling sink(bytes) per piece."""
    te = header(headers, "transfer-encoding")
    if te is not None and "chunked" in te.lower():
        while True:
            line = _read_line(reader)
            if line is None:
                raise BadRequest("EOF in chunk size")
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:  # trailers
                    t = _read_line(reader)
                    if t in (None, b"\r\n", b"\n"):
                        return
            remaining = size
            while remaining > 0:
                piece = reader.read(min(remaining, 1 << 20))
                if not piece:
                    raise BadRequest("EOF in chunk")
                sink(piece)
                remaining -= len(piece)
            reader.readline()
    length = int(header(headers, "content-length", "0"))
    remaining = length
    while remaining > 0:
        piece = reader.read(min(remaining, 1 << 20))
        if not piece:
            raise BadRequest("EOF in body")
        sink(piece)
        remaining -= len(piece)


class HttpBackend:
    """A threaded HTTP/1.1 backend on loopback. Use via HttpBackend.start(test, name)."""

    def __init__(self, name):
        self.name = name
        self.requests = 0
        self.lock = threading.Lock()
        self.fail_counts = {}
        self.seen = []  # (method, path, headers) of the last few requests
        self.server = None

    @classmethod
    def start(cls, test, name):
        backend = cls(name)
        backend.server = test.server(backend._handle, name=name, backlog=512)
        return backend

    @property
    def port(self):
        return self.server.port

    def _count(self, method, path, headers):
        with self.lock:
            self.requests += 1
            self.seen.append((method, path, headers))
            if len(self.seen) > 100:
                self.seen.pop(0)

    def _send(self, conn, status, body=b"", extra=(), reason="OK"):
        head = ["HTTP/1.1 %d %s" % (status, reason), "x-backend: %s" % self.name,
                "content-length: %d" % len(body)]
        head += ["%s: %s" % kv for kv in extra]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def _handle(self, conn, server, index):
        conn.settimeout(120)
        reader = conn.makefile("rb", buffering=1 << 16)
        try:
            while True:
                try:
                    head = read_head(reader)
                except (BadRequest, ValueError, OSError):
                    return
                if head is None:
                    return
                start, headers = head
                parts = start.split(" ")
                if len(parts) != 3:
                    return
                method, path, _ = parts
                self._count(method, path, headers)
                if not self._serve_one(conn, reader, method, path, headers):
                    return
                if (header(headers, "connection", "").lower() == "close"):
                    return
        finally:
            try:
                reader.close()
            except OSError:
                pass

    def _serve_one(self, conn, reader, method, path, headers):
        """Answers one request; returns False to close the connection."""
        upgrade = header(headers, "upgrade")
        if upgrade is not None and upgrade.lower() == "websocket":
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n"
                         b"connection: upgrade\r\nx-backend: " + self.name.encode() + b"\r\n\r\n")
            # Raw echo until the client half-closes. (The tests send nothing before the 101, so no
            # tunnel bytes sit in the reader's buffer.)
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
            return False
        if path.startswith("/upload"):
            h = hashlib.sha1()
            count = [0]

            def sink(piece):
                h.update(piece)
                count[0] += len(piece)

            read_body(reader, headers, sink)
            self._send(conn, 200, ("%d %s" % (count[0], h.hexdigest())).encode())
            return True
        h = hashlib.sha1()
        count = [0]

        def sink(piece):
            h.update(piece)
            count[0] += len(piece)

        read_body(reader, headers, sink)
        if path.startswith("/status/"):
            code = int(path.split("/")[2])
            self._send(conn, code, b"status %d\n" % code, reason="Status")
            return True
        if path.startswith("/delay/"):
            time.sleep(int(path.split("/")[2]) / 1000.0)
            self._send(conn, 200, b"delayed\n")
            return True
        if path.startswith("/fail/"):
            _, _, key, n = path.split("/")[:4]
            with self.lock:
                seen = self.fail_counts.get(key, 0)
                self.fail_counts[key] = seen + 1
            if seen < int(n):
                self._send(conn, 503, b"failing\n", reason="Service Unavailable")
            else:
                self._send(conn, 200, b"recovered\n")
            return True
        if path.startswith("/close"):
            conn.shutdown(socket.SHUT_RDWR)
            return False
        if path.startswith("/download/"):
            total = int(path.split("/")[2])
            conn.sendall(b"HTTP/1.1 200 OK\r\nx-backend: " + self.name.encode() +
                         b"\r\ntransfer-encoding: chunked\r\n\r\n")
            for piece in harness.pattern_chunks(total):
                conn.sendall(b"%x\r\n" % len(piece) + bytes(piece) + b"\r\n")
            conn.sendall(b"0\r\n\r\n")
            return True
        body = json.dumps({
            "backend": self.name,
            "method": method,
            "path": path,
            "headers": headers,
            "body_bytes": count[0],
            "body_sha1": h.hexdigest(),
        }).encode()
        self._send(conn, 200, body, extra=[("content-type", "application/json")])
        return True


# ------------------------------------------------------------------------------------------------
# A client over one raw keep-alive connection.


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # [(name_lower, value)]
        self.body = body

    def header(self, name, default=None):
        return header(self.headers, name, default)

    def json(self):
        return json.loads(self.body.decode("utf-8"))


class Client:
    """HTTP/1.1 over one socket, so tests see exactly what went over the wire."""

    def __init__(self, port, timeout=10.0):
        self.sock = harness.connect(port, timeout=timeout)
        self.reader = self.sock.makefile("rb", buffering=1 << 16)

    def close(self):
        try:
            self.reader.close()
        finally:
            self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def request(self, method, path, host="example.com", headers=(), body=None):
        lines = ["%s %s HTTP/1.1" % (method, path), "host: %s" % host]
        lines += ["%s: %s" % kv for kv in headers]
        if body is not None:
            lines.append("content-length: %d" % len(body))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b""))
        return self.read_response(head_only=method == "HEAD")

    def read_response(self, head_only=False):
        while True:
            head = read_head(self.reader)
            if head is None:
                raise ConnectionError("EOF before a response")
            start, headers = head
            status = int(start.split(" ")[1])
            if 100 <= status < 200 and status != 101:
                continue
            break
        chunks = []
        if not head_only and status not in (101, 204, 304):
            if (header(headers, "content-length") is None and
                    "chunked" not in (header(headers, "transfer-encoding") or "")):
                chunks.append(self.reader.read())  # close-delimited
            else:
                read_body(self.reader, headers, chunks.append)
        return Response(status, headers, b"".join(chunks))

    def eof(self, timeout=5.0):
        """True if the server closed the connection (after whatever it had sent)."""
        self.sock.settimeout(timeout)
        try:
            return self.reader.read(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False



class HttpBackendProcess:
    """HttpBackend in a process of its own, so a test can SIGKILL it and start it again on the same
    port. Registered with the harness (killed at exit); use via HttpBackendProcess.start(test, name).
    """

    def __init__(self, name, port, outdir):
        self.name = name
        self.port = port
        self.outdir = outdir
        self.proc = None

    @classmethod
    def start(cls, test, name, port=None):
        backend = cls(name, port or harness.free_port(), test.outdir)
        backend.run()
        test.addCleanup(backend.kill)
        return backend

    def run(self, timeout=10.0):
        import subprocess  # noqa: PLC0415
        import sys  # noqa: PLC0415

        err = open(os.path.join(self.outdir, "backend-%s.stderr" % self.name), "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-u", os.path.abspath(__file__), self.name, str(self.port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        err.close()
        harness._register(self.proc)
        # "ready" once it listens (a bind conflict right after a kill makes it exit: retried).
        deadline = time.monotonic() + timeout
        line = self.proc.stdout.readline()
        while line.strip() != b"ready":
            self.proc.wait(timeout=5)
            if time.monotonic() > deadline:
                raise harness.HarnessError("backend %s did not start on %d" % (self.name,
                                                                              self.port))
            time.sleep(0.1)
            return self.run(timeout=max(0.1, deadline - time.monotonic()))
        return self

    def kill(self):
        """SIGKILL: the kernel resets its connections; nothing is answered any more."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


# ------------------------------------------------------------------------------------------------
# As a process of its own (so a test can SIGKILL it):
#   python3 http_backend.py NAME PORT
# serves until killed; prints "ready" once it listens.


class _ProcessHost:
    """What HttpBackend.start needs from a test case, for a backend run as its own process."""

    def __init__(self, port):
        self._port = port

    def server(self, handler, name, backlog):
        return harness.TcpServer(handler, name=name, port=self._port, backlog=backlog)


def _serve_forever(name, port):
    import sys  # noqa: PLC0415 - only this mode needs it

    HttpBackend.start(_ProcessHost(port), name)
    print("ready", flush=True)
    sys.stdin.read()  # Until the parent goes away (or the process is killed).


if __name__ == "__main__":
    import sys

    _serve_forever(sys.argv[1], int(sys.argv[2]))
