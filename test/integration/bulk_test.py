"""skiff under bulk transfers: 1 GiB each way with checksums, slow readers on either side, and
skiff's memory (VmRSS/VmHWM) staying bounded, i.e. backpressure instead of buffering.

Run: python3 test/integration/bulk_test.py [test-name-substring ...]   (SKIFF_BIN=... if not
under Bazel). SKIFF_IT_BULK_MIB overrides the 1 GiB size.
"""

import hashlib
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import (SANITIZED, RssMonitor, SkiffTestCase, SourceState, connect,  # noqa: E402
                     pattern_digest, recv_all_hash, send_pattern, simple_proxy_config,
                     sink_handler, source_handler)

MIB = 1 << 20
BULK = int(os.environ.get("SKIFF_IT_BULK_MIB", "1024")) * MIB
# Peak RSS limit for skiff. A sanitizer build keeps freed memory in quarantine and shadow memory
# on top, so there only the growth over the idle process is bounded (still far below the data).
RSS_LIMIT_KIB = 64 * 1024
SANITIZED_GROWTH_LIMIT_KIB = 400 * 1024


class BulkTestCase(SkiffTestCase):

    def assertMemoryBounded(self, skiff, monitor, baseline_kib, what):
        peak = max(monitor.peak_kib, monitor.hwm_kib)
        self.note("%s: skiff RSS idle %.1f MiB, sampled peak %.1f MiB, VmHWM %.1f MiB (%d samples)"
                  % (what, baseline_kib / 1024, monitor.peak_kib / 1024, monitor.hwm_kib / 1024,
                     monitor.samples))
        self.assertGreater(monitor.samples, 0, "could not read /proc/%d/status" % skiff.pid)
        if SANITIZED:
            self.assertLess(peak - baseline_kib, SANITIZED_GROWTH_LIMIT_KIB,
                            "skiff RSS grew by %d KiB during %s" % (peak - baseline_kib, what))
        else:
            self.assertLess(peak, RSS_LIMIT_KIB,
                            "skiff peak RSS %d KiB during %s (limit %d KiB)"
                            % (peak, what, RSS_LIMIT_KIB))


class GigabyteTest(BulkTestCase):

    def test_upload_1gib_to_hashing_sink(self):
        """client -> skiff -> sink: the sink's sha1 of 1 GiB equals the sender's."""
        sink = self.server(sink_handler(reply=True), name="sink")
        config, port = simple_proxy_config([sink.port], connect_timeout="2s")
        skiff = self.start_skiff(config, concurrency=2)
        expected = pattern_digest(BULK)
        baseline = skiff.rss_kib()

        with RssMonitor(skiff.pid) as monitor, connect(port, timeout=30) as s:
            start = time.monotonic()
            send_pattern(s, BULK)
            s.shutdown(socket.SHUT_WR)
            reply, how = harness.recv_until_eof(s, timeout=60)
            elapsed = time.monotonic() - start
        self.assertEqual(reply.decode().strip(), "%d %s" % (BULK, expected))
        self.note("upload %d MiB in %.2fs (%.0f MiB/s)" % (BULK // MIB, elapsed,
                                                           BULK / MIB / elapsed))
        self.assertMemoryBounded(skiff, monitor, baseline, "1 GiB upload")
        skiff.wait_stat("tcp.proxy.downstream_cx_rx_bytes_total", lambda v: v == BULK)
        skiff.wait_stat("cluster.backend.upstream_cx_tx_bytes_total", lambda v: v == BULK)
        self.assertNoServerErrors()
        self.assertEqual(skiff.stop(), 0)

    def test_download_1gib_from_source(self):
        """source -> skiff -> hashing client: 1 GiB arrives intact, then EOF."""
        source = self.server(source_handler(BULK), name="source")
        config, port = simple_proxy_config([source.port], connect_timeout="2s")
        skiff = self.start_skiff(config, concurrency=2)
        expected = pattern_digest(BULK)
        baseline = skiff.rss_kib()

        with RssMonitor(skiff.pid) as monitor, connect(port, timeout=30) as s:
            start = time.monotonic()
            count, digest = recv_all_hash(s, deadline=time.monotonic() + 120)
            elapsed = time.monotonic() - start
        self.assertEqual((count, digest), (BULK, expected))
        self.note("download %d MiB in %.2fs (%.0f MiB/s)" % (BULK // MIB, elapsed,
                                                             BULK / MIB / elapsed))
        self.assertMemoryBounded(skiff, monitor, baseline, "1 GiB download")
        skiff.wait_stat("tcp.proxy.downstream_cx_tx_bytes_total", lambda v: v == BULK)
        self.assertNoServerErrors()
        self.assertEqual(skiff.stop(), 0)


class SlowReaderTest(BulkTestCase):

    def test_slow_client_reader(self):
        """The backend sends 256 MiB as fast as it can; the client reads 64 KiB, stops reading for
        2 s, trickles at 4 MiB/s for a second, then reads at full speed. While the client stalls
        the backend must be held back (its sends stop at a bounded amount), skiff's memory stays
        bounded, and the whole stream arrives intact (one sha1 over everything)."""
        total = 256 * MIB
        state = SourceState()
        source = self.server(source_handler(total, state), name="source")
        config, port = simple_proxy_config([source.port], connect_timeout="2s")
        skiff = self.start_skiff(config, concurrency=2)
        expected = pattern_digest(total)
        baseline = skiff.rss_kib()

        h = hashlib.sha1()
        buf = bytearray(MIB)
        view = memoryview(buf)
        got = 0

        def read(limit, bufsize, pace=None):
            nonlocal got
            deadline = time.monotonic() + 60
            while limit is None or got < limit:
                self.assertLess(time.monotonic(), deadline, "read took too long")
                if pace is not None:
                    pace(got)
                want = bufsize if limit is None else min(bufsize, limit - got)
                n = s.recv_into(view[:want])
                if n == 0:
                    return
                h.update(view[:n])
                got += n

        with RssMonitor(skiff.pid) as monitor, connect(port, timeout=30, rcvbuf=64 * 1024) as s:
            read(64 * 1024, 16 * 1024)
            time.sleep(1.0)
            sent_a = state.sent
            time.sleep(1.0)
            sent_b = state.sent
            self.note("while the client stalled: backend had sent %.1f MiB, 1s later %.1f MiB; "
                      "skiff RSS %.1f MiB" % (sent_a / MIB, sent_b / MIB, skiff.rss_kib() / 1024))
            trickle_start = got
            read(got + 4 * MIB, 16 * 1024, pace=_offset_pace(trickle_start, 4 * MIB))
            read(None, MIB)
        self.assertEqual((got, h.hexdigest()), (total, expected))
        self.assertLess(sent_b, 96 * MIB, "the backend was not held back while the client "
                        "stalled: %d bytes left it" % sent_b)
        self.assertLessEqual(sent_b - sent_a, 2 * MIB,
                             "the backend kept sending during the client's stall")
        self.assertMemoryBounded(skiff, monitor, baseline, "slow client reader")
        self.assertNoServerErrors()
        self.assertEqual(skiff.stop(), 0)

    def test_slow_backend_reader(self):
        """The client sends 128 MiB as fast as it can; the backend reads 64 KiB, stalls for 2 s,
        then reads everything. skiff must stop reading from the client (counted in
        tcp.<prefix>.downstream_flow_control_paused_reading_total, then resumed_reading_total), the
        client's sends stall, memory stays bounded, and the backend gets every byte intact."""
        total = 128 * MIB
        stall = threading.Event()

        def slow_sink(conn, server, index):
            h = hashlib.sha1()
            first = conn.recv(64 * 1024)
            h.update(first)
            stall.wait(10)
            count, _ = 0, None
            buf = bytearray(MIB)
            view = memoryview(buf)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                n = conn.recv_into(view)
                if n == 0:
                    break
                h.update(view[:n])
                count += n
            server.record({"index": index, "bytes": len(first) + count, "sha1": h.hexdigest()})

        sink = self.server(slow_sink, name="slow-sink", rcvbuf=64 * 1024)
        config, port = simple_proxy_config([sink.port], connect_timeout="2s")
        skiff = self.start_skiff(config, concurrency=2)
        expected = pattern_digest(total)
        baseline = skiff.rss_kib()
        progress = {"sent": 0}
        errors = []

        def sender(sock):
            try:
                send_pattern(sock, total, progress=lambda n: progress.__setitem__("sent", n))
                sock.shutdown(socket.SHUT_WR)
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        with RssMonitor(skiff.pid) as monitor, connect(port, timeout=30) as s:
            t = threading.Thread(target=sender, args=(s,), daemon=True)
            t.start()
            time.sleep(1.0)
            sent_a = progress["sent"]
            time.sleep(1.0)
            sent_b = progress["sent"]
            paused = skiff.stat("tcp.proxy.downstream_flow_control_paused_reading_total", 0)
            self.note("while the backend stalled: client had sent %.1f MiB, 1s later %.1f MiB; "
                      "paused_reading_total=%s; skiff RSS %.1f MiB"
                      % (sent_a / MIB, sent_b / MIB, paused, skiff.rss_kib() / 1024))
            stall.set()
            t.join(timeout=60)
            self.assertFalse(t.is_alive(), "sender hung")
            results = sink.wait_results(1, timeout=60)
        self.assertEqual(errors, [])
        self.assertEqual((results[0]["bytes"], results[0]["sha1"]), (total, expected))
        self.assertLess(sent_b, 96 * MIB, "the client was not held back while the backend stalled")
        self.assertLessEqual(sent_b - sent_a, 2 * MIB, "the client kept sending during the stall")
        self.assertGreaterEqual(paused, 1, "downstream_flow_control_paused_reading_total did not "
                                "count the pause")
        skiff.wait_stat("tcp.proxy.downstream_flow_control_resumed_reading_total",
                        lambda v: v >= 1)
        self.assertMemoryBounded(skiff, monitor, baseline, "slow backend reader")
        self.assertNoServerErrors()
        self.assertEqual(skiff.stop(), 0)


def _offset_pace(offset, bytes_per_second):
    pace = harness.slow_pace(bytes_per_second)
    return lambda done: pace(done - offset)


if __name__ == "__main__":
    harness.main()
