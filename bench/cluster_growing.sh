#!/usr/bin/env bash
# Writes into one three-node data-cluster run after run, so that its
# keyspace grows and its groups snapshot as they would in service, and
# reports each run's rate and CPU, the nodes' resident memory after the
# runs, then every snapshot the nodes logged: its size, how long it held
# its group, and how long it took in all.
# With BIN_B set it does the same with a second build, alternating the
# two builds cluster by cluster.
#
# Usage: bench/cluster_growing.sh                   (this tree's build)
#        BIN=/tmp/old BIN_B=/tmp/new CLUSTERS=2 bench/cluster_growing.sh
# Environment: BIN (a data-cluster binary; default: build this tree),
#   BIN_B (a second one, optional), CLUSTERS (clusters per build, 1),
#   RUNS (runs per cluster, 3), REQUESTS (per run, 1000000), PIPELINE (16),
#   TEST (set), KEYSPACE (1000000), CLIENTS (50), DC_FLAGS (extra flags).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-""}
BIN_B=${BIN_B:-""}
CLUSTERS=${CLUSTERS:-1}
RUNS=${RUNS:-3}
REQUESTS=${REQUESTS:-1000000}
PIPELINE=${PIPELINE:-16}
TEST=${TEST:-set}
KEYSPACE=${KEYSPACE:-1000000}
CLIENTS=${CLIENTS:-50}
DC_FLAGS=${DC_FLAGS:-""}

# shellcheck source=bench/lib.sh
source bench/lib.sh

if [ -z "$BIN" ]; then
	echo "building data-cluster…" >&2
	CGO_ENABLED=0 go build -o "$work/data-cluster" ./cmd/data-cluster
	BIN=$work/data-cluster
fi
builds=("A=$BIN")
[ -n "$BIN_B" ] && builds+=("B=$BIN_B")

# cluster label binary: one cluster, RUNS runs, then its snapshots.
cluster() {
	local label=$1 bin=$2 ports dcp i before after out
	start_cluster "$bin" "$label"
	ports=("${cluster_ports[@]}") dcp=("${cluster_pids[@]}")
	for run in $(seq 1 "$RUNS"); do
		before=$(cpu_ticks "${dcp[@]}")
		out=$(redis-benchmark --cluster -p "${ports[0]}" -t "$TEST" -n "$REQUESTS" -c "$CLIENTS" -P "$PIPELINE" \
			-r "$KEYSPACE" -d 16 --csv 2>/dev/null | awk -F'","' '/^"(GET|SET)"/ {print $2}')
		after=$(cpu_ticks "${dcp[@]}")
		awk -v l="$label" -v r="$run" -v rps="$out" -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$REQUESTS" -v c="$TEST" \
			'BEGIN { printf "%-10s run %d: %10.0f %s/s, %6.2f µs of CPU a request\n", l, r, rps, toupper(c), t * 1e6 / hz / n }'
	done
	echo "$label resident memory of the nodes after the runs: $(for p in "${dcp[@]}"; do awk '/^VmRSS/ {printf "%d MiB ", $2 / 1024}' "/proc/$p/status"; done)"
	kill "${dcp[@]}"
	wait "${dcp[@]}" 2>/dev/null || true
	# Every data group's snapshots, on every node (the metadata group's are tiny).
	for i in 1 2 3; do
		grep -h 'msg="snapshot saved"' "$work/$label-n$i.log" | grep -v 'meta=true' |
			sed -E "s/.* group=([0-9]+) index=([0-9]+) bytes=([0-9]+) held=([^ ]+) took=([^ ]+).*/$label n$i group \1: index \2, \3 bytes, held its group \4, took \5/" || true
	done
}

echo "redis-benchmark --cluster -t $TEST -n $REQUESTS -c $CLIENTS -P $PIPELINE -r $KEYSPACE -d 16, $RUNS runs on each cluster"
for c in $(seq 1 "$CLUSTERS"); do
	for b in "${builds[@]}"; do
		cluster "${b%%=*}-$c" "${b#*=}"
	done
done
