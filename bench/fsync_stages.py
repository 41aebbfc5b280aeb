"""Where an unpipelined SET waits under --fsync always (see bench/fsync_trace.sh).

Reads PREFIX.b (one line per batch: shard and ten CLOCK_MONOTONIC times in ns,
see bench/fsync_stages.patch), PREFIX.f (one line per fsync: io_uring id,
submitted, io_uring_enter returned, completion reaped, waiter resumed) and
PREFIX.ev (perf script of the io_uring submit and complete tracepoints), and
prints the distribution of each stage.
"""

import re
import sys


def dist(xs):
    xs = sorted(xs)
    if not xs:
        return "n=0"
    at = lambda p: xs[min(len(xs) - 1, int(p * len(xs)))]
    return "n=%6d  p50 %6.0f  p90 %6.0f  p99 %6.0f  mean %6.0f µs" % (
        len(xs), at(.5) / 1e3, at(.9) / 1e3, at(.99) / 1e3, sum(xs) / len(xs) / 1e3)


def main(prefix):
    sub, comp, ops = {}, {}, {}
    for line in open(prefix + ".ev"):
        m = re.match(r"\s*([\d.]+):\s+io_uring:(\w+):.*user_data 0x([0-9a-f]+)(.*)", line)
        if not m:
            continue
        t, ev, ud = int(round(float(m.group(1)) * 1e9)), m.group(2), int(m.group(3), 16)
        if ev == "io_uring_submit_req":
            sub[ud] = t
            ops[ud] = re.search(r"opcode (\w+)", m.group(4)).group(1)
        else:
            comp[ud] = t
    print("io_uring requests:", {o: list(ops.values()).count(o) for o in sorted(set(ops.values()))})
    fs = [list(map(int, l.split())) for l in open(prefix + ".f")]
    print("fsyncs", len(fs))
    rows = [
        ("submitted -> io_uring_enter returned", [e - s for _, s, e, _, _ in fs]),
        ("kernel: submitted -> completed", [comp[i] - sub[i] for i, *_ in fs if i in comp and i in sub]),
        ("kernel completed -> reaper saw it", [r - comp[i] for i, _, _, r, _ in fs if i in comp]),
        ("reaper saw it -> waiter resumed", [w - r for _, _, _, r, w in fs]),
        ("submitted -> waiter resumed", [w - s for _, s, _, _, w in fs]),
    ]
    for name, xs in rows:
        print("  %-45s %s" % (name, dist(xs)))
    bs = [list(map(int, l.split())) for l in open(prefix + ".b")]
    bs = [b for b in bs if b[4]]  # batches that waited for an fsync
    # columns: 0 shard, 1 submitted to the shard, 2 shard took it, 3 log
    # written, 4 fsync started, 5 connection read, 7 fsync returned,
    # 8 sent back, 9 connection got it, 10 reply written
    stages = [(5, 1, "read -> submitted to the shard"), (1, 2, "submitted -> shard took it"),
              (2, 3, "took it -> log written"), (3, 4, "written -> its fsync started"),
              (4, 7, "fsync started -> returned"), (7, 8, "returned -> batch sent back"),
              (8, 9, "sent back -> connection got it"), (9, 10, "got it -> reply written"),
              (5, 10, "read -> reply written")]
    print("batches that waited for an fsync", len(bs))
    for a, b, name in stages:
        print("  %-45s %s" % (name, dist([x[b] - x[a] for x in bs if x[a] and x[b]])))
    groups = {(b[0], b[4]) for b in bs}
    span = (max(b[10] for b in bs) - min(b[1] for b in bs)) / 1e9
    print("batches per fsync %.1f; %.0f fsyncs/s, %.0f batches/s" % (len(bs) / len(groups), len(fs) / span, len(bs) / span))


if __name__ == "__main__":
    main(sys.argv[1])
