#!/usr/bin/env bash
# What the cluster's snapshots cost once a node holds a large data set: a
# fresh three-node cluster (3 shards × 3 replicas, --fsync everysec) is
# filled with KEYS keys of VALUE_SIZE bytes (redis-benchmark --cluster -P
# 16), then takes REQUESTS unpipelined SETs over the same keys. Prints the
# fill's rate, the unpipelined run's rate and the nodes' CPU time per
# request, the snapshots the nodes saved during that run (each node's
# "snapshot saved" log lines: size and time) and each node's resident
# memory at the end, with its peak since it started.
#
# Usage: bench/cluster_snapshots.sh
# Environment: BIN (a data-cluster binary; default: this tree's build),
#   KEYS (3000000), VALUE_SIZE (200), REQUESTS (600000), CLIENTS (50),
#   DC_FLAGS (extra flags for every node).
# Installs redis-server and redis-tools with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=${KEYS:-3000000}
VALUE_SIZE=${VALUE_SIZE:-200}
REQUESTS=${REQUESTS:-600000}
CLIENTS=${CLIENTS:-50}
BIN=${BIN:-}

# shellcheck source=bench/lib.sh
source bench/lib.sh

if [ -z "$BIN" ]; then
	echo "building data-cluster…" >&2
	BIN=$work/data-cluster
	CGO_ENABLED=0 go build -o "$BIN" ./cmd/data-cluster
fi
start_cluster "$BIN" node
hz=$(getconf CLK_TCK)
saved() { cat "$work"/node-n*.log | grep -c "snapshot saved" || true; }

echo "fill: $KEYS keys of $VALUE_SIZE bytes, -P 16"
redis-benchmark --cluster -p "${cluster_ports[0]}" -t set -n "$KEYS" -c "$CLIENTS" -P 16 -r "$KEYS" -d "$VALUE_SIZE" --csv 2>/dev/null |
	awk -F'","' '/^"SET"/ { printf "  %s SET/s\n", $2 }'
before=$(cpu_ticks "${cluster_pids[@]}")
s0=$(saved)
echo "unpipelined: $REQUESTS SETs over the same keys, -P 1"
redis-benchmark --cluster -p "${cluster_ports[0]}" -t set -n "$REQUESTS" -c "$CLIENTS" -P 1 -r "$KEYS" -d "$VALUE_SIZE" --csv 2>/dev/null |
	awk -F'","' '/^"SET"/ { printf "  %s SET/s, p50 %s ms, p99 %s ms\n", $2, $5, $7 }'
after=$(cpu_ticks "${cluster_pids[@]}")
s1=$(saved)
awk -v t="$((after - before))" -v hz="$hz" -v n="$REQUESTS" 'BEGIN { printf "  CPU of the three nodes: %.1f µs a request\n", t * 1e6 / hz / n }'
echo "  snapshots saved during it, all nodes: $((s1 - s0))"
for i in 1 2 3; do
	{ grep "snapshot saved" "$work/node-n$i.log" || true; } | tail -n "$(((s1 - s0 + 2) / 3))" |
		sed -n "s/.*group=\([0-9]*\).*bytes=\([0-9]*\).*took=\([^ ]*\).*/  n$i group \1: \2 bytes, took \3/p"
done
for i in 0 1 2; do
	echo "  n$((i + 1)) resident: $(awk '/VmHWM/ {peak = $2} /VmRSS/ {rss = $2} END {printf "%.0f MiB (peak %.0f MiB)", rss / 1024, peak / 1024}' "/proc/${cluster_pids[i]}/status")"
done
