#!/usr/bin/env bash
# How fast a three-node data-cluster's replies travel from the groups to
# the client's socket: redis-benchmark GET of values of each size, with
# the key's group led on the node the client talks to (redis-benchmark
# --cluster, which sends each key to its leader's node: "direct") or led
# on another node, the request forwarded and its reply coming back in a
# frame (plain redis-benchmark against one node, two keys in three
# forwarded: "through n1"). Large values are where a copy of each reply
# shows. Prints, per test, each build's median requests per second with
# its min–max, and the median CPU time (user and system) all three nodes
# spent per request, with the ratios to the first build.
#
# Usage: bench/cluster_replies.sh [data-cluster binary…]
#   With binaries (say one built from main), each runs a cluster of its
#   own beside the one built from this tree, rounds alternating between
#   them: a before/after in one run.
# Environment: ROUNDS (3), SIZES ("16 4096 100000"), PIPELINES ("1 16"),
#   MODES ("direct through-n1"), CLIENTS (50), KEYSPACE (100), REQUESTS
#   (per test: 100000, and for values of 10 kB or more 20000), DC_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
SIZES=${SIZES:-"16 4096 100000"}
PIPELINES=${PIPELINES:-"1 16"}
MODES=${MODES:-"direct through-n1"}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100}
DC_FLAGS=${DC_FLAGS:-""}

# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "building data-cluster…" >&2
go build -o "$work/data-cluster" ./cmd/data-cluster

bins=("$work/data-cluster" "$@")
names=()
ports=() # the client port of each cluster's first node
cpids=() # each cluster's node processes, space-separated
for i in "${!bins[@]}"; do
	names+=("$([ "$i" = 0 ] && echo this-tree || echo "$(basename "${bins[$i]}")#$i")")
	start_cluster "${bins[$i]}" "c$i"
	cpids+=("${cluster_pids[*]}")
	ports+=("${cluster_ports[0]}")
done

hz=$(getconf CLK_TCK)

results="$work/results.csv" # build,test,rps,cpu µs per request
: >"$results"
for size in $SIZES; do
	n=$(requests_for "$size")
	# Every key of the keyspace holds a value of the size: those of
	# redis-benchmark --cluster (which tags them by node) and the plain ones,
	# these unpipelined: a pipeline of large SETs forwarded as one request
	# may pass the write timeout on a busy machine.
	for p in "${ports[@]}"; do
		redis-benchmark --cluster -p "$p" -t set -n $((KEYSPACE * 30)) -c 10 -P 16 -r "$KEYSPACE" -d "$size" -q >/dev/null 2>&1 ||
			echo "warning: filling the cluster on port $p failed" >&2
		redis-benchmark -p "$p" -t set -n $((KEYSPACE * 20)) -c 4 -r "$KEYSPACE" -d "$size" -q >/dev/null 2>&1 ||
			echo "warning: filling the cluster on port $p through one node failed" >&2
	done
	for round in $(seq 1 "$ROUNDS"); do
		for mode in $MODES; do
			for pl in $PIPELINES; do
				echo "size $size round $round: GET -P $pl $mode" >&2
				order=("${!ports[@]}")
				if [ $((round % 2)) = 0 ]; then mapfile -t order < <(printf '%s\n' "${!ports[@]}" | tac); fi
				for i in "${order[@]}"; do
					cl=()
					[ "$mode" = direct ] && cl=(--cluster)
					# shellcheck disable=SC2086
					before=$(cpu_ticks ${cpids[$i]})
					out=$(redis-benchmark "${cl[@]}" -p "${ports[$i]}" -t get -n "$n" -c "$CLIENTS" -P "$pl" -r "$KEYSPACE" -d "$size" --csv 2>>"$work/benchmark.err")
					# shellcheck disable=SC2086
					after=$(cpu_ticks ${cpids[$i]})
					awk -F'","' -v s="${names[$i]}" -v k="GET ${size}B -P$pl $mode" -v cpu="$(((after - before) * 1000000 / hz))" -v n="$n" \
						'/^"GET"/ { gsub(/"/, ""); split($0, f, ","); printf "%s,%s,%s,%.2f\n", s, k, f[2], cpu / n }' <<<"$out" >>"$results"
				done
			done
		done
	done
done

echo
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -sr); data-cluster $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes')"
echo "3 nodes per build, --fsync everysec $DC_FLAGS; redis-benchmark -c $CLIENTS -r $KEYSPACE, $ROUNDS rounds alternating builds"
echo "CPU: µs of user+system time of the build's three nodes per request"
echo
cpu_table "${names[*]}" 30 <"$results"
if grep -qi error "$work/benchmark.err" 2>/dev/null; then
	echo
	echo "redis-benchmark reported errors (first lines):"
	grep -i error "$work/benchmark.err" | sort | uniq -c | sort -rn | head -5
fi
