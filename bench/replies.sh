#!/usr/bin/env bash
# How fast replies travel from the shards to the socket: redis-benchmark GET
# and SET of values of each size, pipelined, against redis-server and
# data-cluster side by side in one run, alternating servers round by round.
# Large values are where a copy of each reply shows (a 100 kB GET at -P 16
# is 1.6 MB of replies per round trip). Prints, per test, each server's
# median requests per second with its min–max and the ratio to redis, and
# the median CPU time (user and system) each server spent per request: on
# a busy machine, where requests per second swing from run to run, the CPU
# a request costs is the steadier figure.
#
# Usage: bench/replies.sh [data-cluster binary…]
#   With binaries (say one built from main), each is measured too, beside
#   the one built from this tree, and its ratio printed: a before/after in
#   one run.
# Environment: ROUNDS (3), SIZES ("16 4096 100000"), PIPELINES ("1 16"),
#   CLIENTS (50), KEYSPACE (100), REQUESTS (per test: 100000, and for
#   values of 10 kB or more 20000), DC_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
SIZES=${SIZES:-"16 4096 100000"}
PIPELINES=${PIPELINES:-"1 16"}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100}
DC_FLAGS=${DC_FLAGS:-"--router-queue 8192 --shard-queue 8192"}

# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "building data-cluster…" >&2
go build -o "$work/data-cluster" ./cmd/data-cluster

names=(redis data-cluster)
ports=()
spids=() # server processes, by the index of ports
p=$(free_port)
redis-server --port "$p" --save '' --appendonly no --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
spids+=($!)
ports+=("$p")
bins=("$work/data-cluster" "$@")
for i in "${!bins[@]}"; do
	p=$(free_port)
	# shellcheck disable=SC2086
	"${bins[$i]}" --addr "127.0.0.1:$p" $DC_FLAGS >/dev/null 2>>"$work/dc.log" &
	pids+=($!)
	spids+=($!)
	ports+=("$p")
	if [ "$i" -gt 0 ]; then names+=("$(basename "${bins[$i]}")#$i"); fi
done
for p in "${ports[@]}"; do wait_port "$p"; done

hz=$(getconf CLK_TCK)

results="$work/results.csv" # server,test,rps,cpu µs per request
: >"$results"
for size in $SIZES; do
	n=$(requests_for "$size")
	# Every key of the keyspace holds a value of the size, so that each GET
	# finds one.
	for p in "${ports[@]}"; do
		redis-benchmark -p "$p" -t set -n $((KEYSPACE * 30)) -c 10 -P 16 -r "$KEYSPACE" -d "$size" -q >/dev/null 2>&1
	done
	for round in $(seq 1 "$ROUNDS"); do
		for pl in $PIPELINES; do
			for t in get set; do
				echo "size $size round $round: $t -P $pl" >&2
				for i in "${!ports[@]}"; do
					before=$(cpu_ticks "${spids[$i]}")
					out=$(redis-benchmark -p "${ports[$i]}" -t "$t" -n "$n" -c "$CLIENTS" -P "$pl" -r "$KEYSPACE" -d "$size" --csv 2>/dev/null)
					after=$(cpu_ticks "${spids[$i]}")
					awk -F'","' -v s="${names[$i]}" -v k="${t^^} ${size}B -P$pl" -v cpu="$(((after - before) * 1000000 / hz))" -v n="$n" \
						'NR > 1 { gsub(/"/, ""); split($0, f, ","); printf "%s,%s,%s,%.2f\n", s, k, f[2], cpu / n }' <<<"$out" >>"$results"
				done
			done
		done
	done
done

echo
echo "machine: $(nproc) cores, $(uname -sr); $(redis-server --version | awk '{print $1, $2, $3}'); data-cluster $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "redis-benchmark -c $CLIENTS -r $KEYSPACE, $ROUNDS rounds alternating; data-cluster flags: $DC_FLAGS"
echo
cpu_table "${names[*]}" 18 <"$results"
