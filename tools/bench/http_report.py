#!/usr/bin/env python3
"""Turns the raw key=value lines of tools/bench/http_proxy into a Markdown table.

Each cell is "median (min-max)" over the rounds. Added latency is the proxy's percentile minus the
direct run's median percentile; the relay (a blind byte copy on the proxies' CPU) is the floor any
proxy pays for the extra process hop. The ratio columns compare skiff with HAProxy and nginx (for
throughput above 1 is better; for CPU, latency and instructions below 1 is better).
"""
import statistics
import sys
from collections import defaultdict

SUBJECTS = ["direct", "relay", "haproxy", "nginx", "skiff"]
PROXIES = ["haproxy", "nginx", "skiff"]


def parse(path):
    rows, header = [], []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                header.append(line[1:].strip())
            elif line.startswith("subject="):
                rows.append(dict(kv.split("=", 1) for kv in line.split() if "=" in kv))
    return header, rows


def med(values):
    return statistics.median(values) if values else None


def cell(values, digits=0):
    if not values:
        return "–"
    m = med(values)
    f = (lambda v: f"{v:,.0f}") if digits == 0 else (lambda v: f"{v:.{digits}f}")
    if len(values) == 1:
        return f(m)
    return f"{f(m)} ({f(min(values))}–{f(max(values))})"


def ratio(a, b):
    if a is None or b in (None, 0):
        return "–"
    return f"{a / b:.2f}"


def main():
    header, rows = parse(sys.argv[1])
    data = defaultdict(lambda: defaultdict(list))  # (subject, metric) -> values
    for r in rows:
        s, t = r["subject"], r.get("test")
        if t == "max":
            data[s]["rps"].append(float(r["rps"]))
        elif t == "cpu":
            if "cpu_us_per_req" in r:
                data[s]["cpu_us"].append(float(r["cpu_us_per_req"]))
            data[s]["cpu_rps"].append(float(r["rps"]))
        elif t == "lat":
            data[s]["p50"].append(float(r["p50_us"]))
            data[s]["p99"].append(float(r["p99_us"]))
        elif t == "callgrind":
            data[s]["ir"].append(float(r["ir_per_req"]))
        elif t == "peak":
            data[s]["hwm"].append(float(r["hwm_kb"]) / 1024)
    d50 = med(data["direct"]["p50"]) or 0
    d99 = med(data["direct"]["p99"]) or 0
    for s in SUBJECTS[1:]:
        data[s]["add50"] = [v - d50 for v in data[s]["p50"]]
        data[s]["add99"] = [v - d99 for v in data[s]["p99"]]

    print("| metric | " + " | ".join(SUBJECTS) + " | skiff/haproxy | skiff/nginx |")
    print("|---" * (len(SUBJECTS) + 3) + "|")

    def line(name, key, digits=0, subjects=SUBJECTS):
        cells = [cell(data[s][key], digits) if s in subjects else "–" for s in SUBJECTS]
        sk = med(data["skiff"][key])
        print(f"| {name} | " + " | ".join(cells) +
              f" | {ratio(sk, med(data['haproxy'][key]))} | {ratio(sk, med(data['nginx'][key]))} |")

    line("max requests/s (50 conns, closed loop)", "rps")
    line("proxy CPU µs per request (open loop)", "cpu_us", 1, SUBJECTS[1:])
    line("p50 latency µs at 1,000 req/s", "p50", 1)
    line("p99 latency µs at 1,000 req/s", "p99", 1)
    line("added p50 µs at 1,000 req/s", "add50", 1, SUBJECTS[1:])
    line("added p99 µs at 1,000 req/s", "add99", 1, SUBJECTS[1:])
    line("instructions per request (callgrind, user space)", "ir", 0, PROXIES)
    line("peak RSS MiB", "hwm", 1, PROXIES)
    print()
    for h in header:
        if not h.startswith("top") and not h.startswith("  "):
            print(f"<!-- {h} -->")


if __name__ == "__main__":
    main()
