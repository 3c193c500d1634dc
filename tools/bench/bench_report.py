#!/usr/bin/env python3
"""Turns the raw key=value lines written by tools/bench/tcp_proxy into Markdown tables.

Each cell is "median (min-max)" over the rounds. The last column is the ratio of medians
skiff / haproxy: above 1 means skiff is higher (better for throughput, worse for CPU and latency).
"""
import statistics
import sys
from collections import defaultdict

ORDER = ["direct", "haproxy", "haproxy-splice", "skiff", "skiff-tuned"]


def parse(path):
    rows, header = [], []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                header.append(line[1:].strip())
                continue
            if not line.startswith("subject="):
                continue
            rows.append(dict(kv.split("=", 1) for kv in line.split() if "=" in kv))
    return header, rows


def fmt(v, digits):
    if v is None:
        return "–"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def cell(values, digits):
    if not values:
        return "–"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt(med, digits)
    return f"{fmt(med, digits)} ({fmt(min(values), digits)}–{fmt(max(values), digits)})"


def main():
    header, rows = parse(sys.argv[1])
    subjects = [s for s in ORDER if any(r["subject"] == s for r in rows)]
    by = defaultdict(list)  # (subject, test) -> rows
    for r in rows:
        test = r.get("test")
        if test == "rr":
            test = f"rr{r['conns']}"
        by[(r["subject"], test)].append(r)

    def vals(subject, test, fn):
        out = []
        for r in by.get((subject, test), []):
            try:
                v = fn(r)
            except (KeyError, ValueError, ZeroDivisionError):
                continue
            if v is not None:
                out.append(v)
        return out

    def cpu_per_gb(r):
        return float(r["proxy_cpu_s"]) / (int(r["bytes"]) / 1e9)

    def cpu_us_per_rt(r):
        return float(r["proxy_cpu_s"]) / int(r["rts"]) * 1e6

    def faults_per_mb(r):
        return int(r["proxy_minflt"]) / (int(r["bytes"]) / 2**20)

    def faults_per_rt(r):
        return int(r["proxy_minflt"]) / int(r["rts"])

    rr_conns = sorted({int(r["conns"]) for r in rows if r.get("test") == "rr"})
    metrics = [
        ("upload GB/s (client → proxy → sink)", "upload", lambda r: float(r["gbps"]), 2, True),
        ("download GB/s (source → proxy → client)", "download", lambda r: float(r["gbps"]), 2,
         True),
    ]
    for c in rr_conns:
        t = f"rr{c}"
        metrics += [
            (f"round trips/s, {c} conn, 64 B (closed loop)", t, lambda r: float(r["rps"]), 0, True),
            (f"  closed-loop RTT p50 µs, {c} conn", t, lambda r: float(r["p50_us"]), 1, True),
            (f"  closed-loop RTT p99 µs, {c} conn", t, lambda r: float(r["p99_us"]), 1, True),
        ]
    metrics += [
        ("proxy CPU s per GB, upload", "upload", cpu_per_gb, 3, False),
        ("proxy CPU s per GB, download", "download", cpu_per_gb, 3, False),
    ]
    for c in rr_conns:
        metrics.append((f"proxy CPU µs per round trip, {c} conn (= ms per 1000)", f"rr{c}",
                        cpu_us_per_rt, 2, False))
    metrics += [
        ("proxy minor page faults per MiB, upload", "upload", faults_per_mb, 1, False),
        ("proxy minor page faults per MiB, download", "download", faults_per_mb, 1, False),
    ]
    for c in rr_conns:
        metrics.append((f"proxy minor page faults per round trip, {c} conn", f"rr{c}",
                        faults_per_rt, 2, False))
    for t, label in [("upload", "upload"), ("download", "download")] + [
            (f"rr{c}", f"rr {c} conn") for c in rr_conns]:
        metrics.append((f"CPU0 / CPU1 busy, {label}", t, None, 2, True))

    print("| metric | " + " | ".join(subjects) + " | skiff / haproxy |")
    print("|---|" + "---|" * len(subjects) + "---|")
    for label, test, fn, digits, direct_ok in metrics:
        cells = []
        if fn is None:  # CPU utilisation pair
            for s in subjects:
                c0 = vals(s, test, lambda r: float(r["cpu0_util"]))
                c1 = vals(s, test, lambda r: float(r["cpu1_util"]))
                cells.append(f"{fmt(statistics.median(c0), 2)} / {fmt(statistics.median(c1), 2)}"
                             if c0 else "–")
            print(f"| {label} | " + " | ".join(cells) + " | |")
            continue
        for s in subjects:
            if s == "direct" and not direct_ok:
                cells.append("–")
                continue
            cells.append(cell(vals(s, test, fn), digits))
        ratio = ""
        a, b = vals("skiff", test, fn), vals("haproxy", test, fn)
        if a and b and statistics.median(b) > 0 and "page faults" not in label:
            ratio = f"{statistics.median(a) / statistics.median(b):.2f}"
        print(f"| {label} | " + " | ".join(cells) + f" | {ratio} |")

    # CPU 1 should run nothing but the proxy: busy time not accounted to it is other load.
    def foreign(r):
        return max(0.0, float(r["cpu1_util"]) - float(r["proxy_cpu_s"]) / float(r["secs"]))
    cells = []
    for s in subjects:
        v = []
        for r in rows:
            if r["subject"] == s and r.get("test") in ("upload", "download", "rr"):
                try:
                    v.append(foreign(r))
                except (KeyError, ValueError, ZeroDivisionError):
                    pass
        cells.append(f"{statistics.median(v):.2f} (max {max(v):.2f})" if v else "–")
    print("| CPU1 busy not accounted to the proxy (other load), all tests | "
          + " | ".join(cells) + " | |")

    peaks = {r["subject"]: r for r in rows if r.get("test") == "peak"}
    if peaks:
        cells = [f"{int(peaks[s]['hwm_kb']) / 1024:.1f}" if s in peaks else "–" for s in subjects]
        ratio = ""
        if "skiff" in peaks and "haproxy" in peaks:
            ratio = f"{int(peaks['skiff']['hwm_kb']) / int(peaks['haproxy']['hwm_kb']):.2f}"
        print("| peak RSS during the run, MiB (VmHWM) | " + " | ".join(cells) + f" | {ratio} |")

    mem = [r for r in rows if r.get("test") == "mem"]
    if mem:
        print()
        print("Idle memory, one listener, 2 workers (skiff `--concurrency 2`, HAProxy `nbthread 2`),"
              " summed over all processes:")
        print()
        print("| subject | phase | VmRSS MiB | Pss MiB | VmHWM MiB | processes |")
        print("|---|---|---|---|---|---|")
        for r in mem:
            print(f"| {r['subject']} | {r['phase']} | {int(r['rss_kb']) / 1024:.2f} | "
                  f"{int(r['pss_kb']) / 1024:.2f} | {int(r['hwm_kb']) / 1024:.2f} | {r['procs']} |")

    loads = [float(r["load"]) for r in rows if "load" in r]
    steals = [float(r["steal"]) for r in rows if "steal" in r]
    print()
    print(f"Rounds: {max((int(r['round']) for r in rows if 'round' in r), default=0)}; "
          f"1-min load average during the run {min(loads, default=0):.2f}–{max(loads, default=0):.2f}; "
          f"max steal {max(steals, default=0) * 100:.1f}%.")
    for h in header:
        if h.startswith("WARNING") or h.startswith("params") or h.startswith("host"):
            print(f"{h}  ")


if __name__ == "__main__":
    main()
