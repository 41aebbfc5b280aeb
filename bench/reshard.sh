#!/usr/bin/env bash
# What changing the number of shard groups costs a serving data-cluster.
# Three nodes on loopback, --fsync everysec, FROM groups of three replicas,
# --placement manual: redis-benchmark stops at its first error reply, and a
# write forwarded to a leader that hands leadership over (automatic
# placement spreads preferred leaders over new groups) ends UNKNOWN.
#
#  1. KEYS keys loaded through n1 with `redis-benchmark -t set -P 8 -r
#     KEYS` (not --cluster: its keys then spread over every slot, and n1
#     forwards what other nodes lead), then DBSIZE.
#  2. Steady state: `redis-benchmark -t set,get -c CLIENTS -P 1 -r KEYS`
#     against n1 for REQUESTS requests per test: requests/s and p99.
#  3. The same run again in the background while `data-cluster cluster
#     set-shards TO` runs (timed from its start until it reports TO groups);
#     the throughput of that run is compared with the steady one.
#  4. A steady run after, then DBSIZE (it must not be below DBSIZE before:
#     the load only sets keys of the same range), the keys moved (CLUSTER
#     STATUS keys_moved, summed over the nodes) and GETs of SAMPLE keys
#     set before the change, read back through every node.
#
# Usage: bench/reshard.sh                       (about 2 minutes)
#        KEYS=100000 REQUESTS=50000 bench/reshard.sh   (a quick check)
# Environment: KEYS (1000000), REQUESTS (200000 per test), CLIENTS (50),
#   FROM (3), TO (5), SAMPLE (2000), DC_FLAGS (extra flags for every node).
# Installs redis-server and redis-tools with apt-get when missing. Commands
# are printed on stderr, prefixed with '+'; the report goes to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=${KEYS:-1000000}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
FROM=${FROM:-3}
TO=${TO:-5}
SAMPLE=${SAMPLE:-2000}
DC_FLAGS=${DC_FLAGS:-""}

# shellcheck source=bench/lib.sh
source bench/lib.sh

# On a failure, the end of every node's log goes to stderr before the work
# directory is removed.
on_exit() {
	local rc=$?
	if [ "$rc" != 0 ]; then
		for f in "$work"/n*.log; do
			[ -f "$f" ] || continue
			echo "== last lines of $(basename "$f")" >&2
			tail -n 30 "$f" >&2
		done
	fi
	cleanup
}
trap on_exit EXIT

say() { echo "== $*" >&2; }
run() {
	echo "+ $*" >&2
	"$@"
}

say "building data-cluster"
run go build -o "$work/data-cluster" ./cmd/data-cluster

ports=() peers=() initial=""
for i in 0 1 2; do
	ports+=("$(free_port)")
	peers+=("$(free_port)")
	initial+="${initial:+,}n$((i + 1))=127.0.0.1:${peers[$i]}"
done
for i in 0 1 2; do
	echo "+ $work/data-cluster --node-id n$((i + 1)) … &" >&2
	# shellcheck disable=SC2086
	"$work/data-cluster" --node-id "n$((i + 1))" --addr "127.0.0.1:${ports[$i]}" \
		--peer-addr "127.0.0.1:${peers[$i]}" --initial-cluster "$initial" --shards "$FROM" \
		--data-dir "$work/n$((i + 1))" --fsync everysec --placement manual $DC_FLAGS >"$work/n$((i + 1)).log" 2>&1 &
	pids+=($!)
done
for p in "${ports[@]}"; do
	for _ in $(seq 1 200); do
		if redis-cli -p "$p" cluster info 2>/dev/null | grep -q cluster_state:ok; then break; fi
		sleep 0.1
	done
done
n1=${ports[0]}
# Leaders settle on their preferred replicas first: a write proposed while
# leadership is handed over can end UNKNOWN, which stops redis-benchmark.
settled() {
	redis-cli -p "$n1" cluster status | python3 -c '
import json, sys
st = json.load(sys.stdin)
sys.exit(0 if all(g["leader"] and g["leader"] == g["replicas"][0]["node"] for g in st["groups"]) else 1)'
}
for _ in $(seq 1 300); do
	if settled 2>/dev/null; then break; fi
	sleep 0.1
done

# bench prints "requests/s p99" of a set,get run against n1; redis-benchmark
# stops at the first error reply, which goes to $work/bench.err.
bench() {
	redis-benchmark -p "$n1" -t set,get -c "$CLIENTS" -P 1 -r "$KEYS" -n "$REQUESTS" -d 16 --csv 2>>"$work/bench.err" |
		awk -F, 'NR > 1 { gsub(/"/, ""); rps += $2; if ($7 > p99) p99 = $7; n++ } END { printf "%.0f %.2f\n", rps / n, p99 }'
}

say "loading $KEYS keys"
run redis-benchmark -p "$n1" -t set -P 8 -c 20 -r "$KEYS" -n "$KEYS" -d 16 -q >/dev/null
for i in $(seq 0 $((SAMPLE - 1))); do printf 'SET sample:%d v%d\n' "$i" "$i"; done | redis-cli -p "$n1" >/dev/null
before=$(redis-cli -p "$n1" dbsize)

say "steady run"
read -r steady steady_p99 < <(bench)

say "set-shards $TO under the same load"
bench >"$work/during" &
load=$!
start=$EPOCHREALTIME
if ! run "$work/data-cluster" cluster set-shards --addr "127.0.0.1:$n1" --wait-timeout 30m "$TO" >"$work/reshard.out" 2>&1; then
	cat "$work/reshard.out" >&2
	tail -n 20 "$work"/n1.log >&2
	exit 1
fi
took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
if ! wait "$load"; then
	echo "problem: the load during set-shards stopped at an error:" >&2
	grep -v WARNING "$work/bench.err" >&2
	exit 1
fi
read -r during during_p99 <"$work/during"

say "steady run after"
read -r after after_p99 < <(bench)
dbsize=$(redis-cli -p "$n1" dbsize)
moved=0
for p in "${ports[@]}"; do
	m=$(redis-cli -p "$p" cluster status | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys_moved"])')
	moved=$((moved + m))
done
bad=0
for p in "${ports[@]}"; do
	got=$(for i in $(seq 0 $((SAMPLE - 1))); do printf 'GET sample:%d\n' "$i"; done | redis-cli -p "$p" | grep -c '^v' || true)
	[ "$got" = "$SAMPLE" ] || bad=$((bad + SAMPLE - got))
done
migrations=$(grep -c '^moving' "$work/reshard.out" || true)

ratio=$(awk -v a="$during" -v b="$steady" 'BEGIN { printf "%.2f", a / b }')
cat <<REPORT
set-shards $FROM -> $TO, 3 nodes, $KEYS keys range, $CLIENTS clients, -P 1, through n1
keys before: $before   after: $dbsize   moved: $moved   migrations: $migrations
set-shards took: ${took}s
steady:  $steady req/s, p99 $steady_p99 ms
during:  $during req/s, p99 $during_p99 ms   (${ratio}x steady; the run may end before or after the change)
after:   $after req/s, p99 $after_p99 ms
sample keys missing on some node: $bad
REPORT
if [ "$dbsize" -lt "$before" ] || [ "$bad" != 0 ]; then
	echo "problem: keys lost" >&2
	exit 1
fi
