#!/usr/bin/env bash
# Memory of a restarted cluster node: for each data-cluster binary given,
# starts a fresh three-node cluster (bench/lib.sh's start_cluster, with
# --snapshot-count 1000 so that every group has snapshots), writes KEYS
# keys of VALUE_SIZE bytes, stops node 3 with SIGTERM, starts it again on
# its data dir and, once it says cluster_state:ok and SETTLE seconds
# passed, prints its resident memory and, after a GC (/debug/pprof/heap
# ?gc=1), the Go heap in use (go_memstats_heap_inuse_bytes).
#
# Usage: bench/cluster_restart.sh BIN [BIN…]
# Environment: KEYS (1000000), VALUE_SIZE (100), SETTLE (3).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -gt 0 ] || { echo "usage: $0 data-cluster-binary…" >&2; exit 2; }
KEYS=${KEYS:-1000000}
VALUE_SIZE=${VALUE_SIZE:-100}
SETTLE=${SETTLE:-3}
# shellcheck source=bench/lib.sh
source bench/lib.sh

# http_get port path: the body of an HTTP/1.0 GET on 127.0.0.1.
http_get() {
	exec 3<>"/dev/tcp/127.0.0.1/$1"
	printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
	sed '1,/^\r$/d' <&3
	exec 3<&-
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

printf '%-40s | %16s | %16s | %16s\n' binary "RSS before, KiB" "RSS after, KiB" "heap after GC, MB"
run=0
for bin in "$@"; do
	run=$((run + 1))
	DC_FLAGS="--snapshot-count 1000" start_cluster "$bin" "restart$run"
	redis-benchmark -p "${cluster_ports[0]}" --cluster -t set -n "$KEYS" -r "$KEYS" -d "$VALUE_SIZE" -c 50 -P 16 -q >/dev/null 2>&1
	before=$(rss_kib "${cluster_pids[2]}")
	args=$(tr '\0' ' ' <"/proc/${cluster_pids[2]}/cmdline")
	kill -TERM "${cluster_pids[2]}"
	wait "${cluster_pids[2]}" 2>/dev/null || true
	mport=$(free_port)
	# shellcheck disable=SC2086 # the node's own flags, split as it was started
	${args% } --metrics-addr "127.0.0.1:$mport" >/dev/null 2>>"$work/restart$run-n3.log" &
	pids+=($!)
	p=$!
	wait_ok "${cluster_ports[2]}"
	sleep "$SETTLE"
	http_get "$mport" "/debug/pprof/heap?gc=1" >/dev/null
	heap=$(http_get "$mport" /metrics | awk '/^go_memstats_heap_inuse_bytes / { printf "%.0f", $2 / 1e6 }')
	printf '%-40s | %16s | %16s | %16s\n' "$bin" "$before" "$(rss_kib "$p")" "$heap"
	for q in "${cluster_pids[@]:0:2}" "$p"; do kill "$q" 2>/dev/null || true; done
	wait 2>/dev/null || true
done
