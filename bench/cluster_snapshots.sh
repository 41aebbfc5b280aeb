#!/usr/bin/env bash
# What the cluster's snapshots cost once a node holds a large data set: a
# fresh three-node cluster (3 shards × 3 replicas, --fsync everysec) is
# filled with KEYS keys of VALUE_SIZE bytes (redis-benchmark --cluster -P
# 16), then takes REQUESTS unpipelined SETs over the same keys. Prints the
# fill's rate, the unpipelined run's rate and the nodes' CPU time per
# request, the snapshots the nodes saved during that run (each node's
# "snapshot saved" log lines: size and time) and each node's resident
# memory at the end, with its peak since it started. Then (RESTART=1)
# node 3 is killed with SIGKILL and started again on its data dir: how
# long it took to say cluster_state:ok, and SETTLE seconds after that its
# resident memory and the peak since it started again.
#
# Usage: bench/cluster_snapshots.sh
# Environment: BIN (a data-cluster binary; default: this tree's build),
#   KEYS (3000000), VALUE_SIZE (200), REQUESTS (600000), CLIENTS (50),
#   DC_FLAGS (extra flags for every node), RESTART (1; 0 skips the
#   restart), SETTLE (3).
# Installs redis-server and redis-tools with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=${KEYS:-3000000}
VALUE_SIZE=${VALUE_SIZE:-200}
REQUESTS=${REQUESTS:-600000}
CLIENTS=${CLIENTS:-50}
BIN=${BIN:-}
RESTART=${RESTART:-1}
SETTLE=${SETTLE:-3}

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
[ "$RESTART" = 1 ] || exit 0
pid=${cluster_pids[2]}
mapfile -d '' cmd <"/proc/$pid/cmdline"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
logged=$(wc -l <"$work/node-n3.log")
start=$(date +%s%N)
echo "restart: n3 killed at $(date -u +%H:%M:%S.%N | cut -c1-12)"
"${cmd[@]}" >/dev/null 2>>"$work/node-n3.log" &
pids+=($!)
pid=$!
wait_ok "${cluster_ports[2]}"
ready=$(date +%s%N)
sleep "$SETTLE"
awk -v ms="$(((ready - start) / 1000000))" -v settle="$SETTLE" '/VmHWM/ {peak = $2} /VmRSS/ {rss = $2} END {
	printf "n3 after kill -9: cluster_state:ok in %.1f s; %s s later resident %.0f MiB (peak %.0f MiB)\n", ms / 1000, settle, rss / 1024, peak / 1024
}' "/proc/$pid/status"
# What the restarted node said on its way up.
tail -n +"$((logged + 1))" "$work/node-n3.log" | grep -E 'started|leads|installed|saved|recovered|opened' | head -n 20 |
	sed -n 's/^time=[^T]*T\([^ ]*\) level=[A-Z]* msg="\([^"]*\)"\(.*\)/  \1 \2\3/p'
