#!/usr/bin/env bash
# Measures what reading the whole keyspace costs other clients, on
# data-cluster and on redis-server side by side: both are filled with the
# same keys, then for each server `KEYS *` and a full SCAN iteration
# (`redis-cli --scan --count 1000`, or bench/scanall.go for a redis-cli
# older than 7.2) run
# while `data-cluster bench` sends GETs from other connections, and the
# GETs' latency during the run is reported. Redis answers KEYS from its one
# event loop, so every other client waits for the whole command;
# data-cluster reads its shards a part at a time, so the GETs keep going.
#
# Usage: bench/listscan.sh [rounds]       (default 1 round per server)
# Environment: KEYSPACE (keys key:000000000000 on, each set once, 1000000), VALUE_SIZE (16),
#   LOAD_CLIENTS (10), LEAD (seconds of GET load before each command, 0.3),
#   DC_FLAGS (extra data-cluster flags).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-1}
KEYSPACE=${KEYSPACE:-1000000}
VALUE_SIZE=${VALUE_SIZE:-16}
LOAD_CLIENTS=${LOAD_CLIENTS:-10}
LEAD=${LEAD:-0.3}
# The fill sends 50 clients × 64 pipelined SETs: room for them in the router.
DC_FLAGS=${DC_FLAGS:-"--router-queue 8192 --shard-queue 8192"}

# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "building data-cluster…" >&2
go build -o "$work/data-cluster" ./cmd/data-cluster

RP=$(free_port)
redis-server --port "$RP" --save '' --appendonly no --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
DP=$(free_port)
# shellcheck disable=SC2086
"$work/data-cluster" --addr "127.0.0.1:$DP" $DC_FLAGS >/dev/null 2>"$work/dc.log" &
pids+=($!)
wait_port "$RP"
wait_port "$DP"

for port in "$RP" "$DP"; do
	echo "filling the server on port $port with $KEYSPACE keys…" >&2
	"$work/data-cluster" bench --addr "127.0.0.1:$port" --sequential --read-percent 0 --keyspace "$KEYSPACE" \
		--requests "$KEYSPACE" --clients 50 --pipeline 64 --value-size "$VALUE_SIZE" >/dev/null
done

# measure server port name command…: runs the command while GETs go on from
# LOAD_CLIENTS other connections (started LEAD seconds before it, stopped as
# soon as it ends) and prints one CSV line: server, name, seconds, lines the
# command printed, GETs answered, GET p50, p99 and max in ms. The command
# "idle" runs nothing for one second: the latency without it.
measure() {
	local server=$1 port=$2 name=$3 load start end lines json
	shift 3
	GOMAXPROCS=1 "$work/data-cluster" bench --addr "127.0.0.1:$port" --clients "$LOAD_CLIENTS" --pipeline 1 \
		--read-percent 100 --keyspace "$KEYSPACE" --duration 10m --json >"$work/load.json" 2>/dev/null &
	load=$!
	pids+=("$load")
	sleep "$LEAD"
	start=$(date +%s.%N)
	if [ "$name" = idle ]; then
		sleep 1
		lines=0
	else
		lines=$("$@" | wc -l)
	fi
	end=$(date +%s.%N)
	kill -TERM "$load"
	wait "$load" || true
	json=$(cat "$work/load.json")
	field() { grep -o "\"$1\": *[0-9.]*" <<<"$json" | head -1 | cut -d: -f2 | tr -d ' '; }
	awk -v s="$server" -v n="$name" -v a="$start" -v b="$end" -v l="$lines" \
		-v r="$(field requests)" -v p50="$(field p50)" -v p99="$(field p99)" -v mx="$(field max)" \
		'BEGIN { printf "%s,%s,%.2f,%d,%d,%.3f,%.3f,%.3f\n", s, n, b - a, l, r, p50 / 1000, p99 / 1000, mx / 1000 }'
}

# redis-cli learnt --count in 7.2; an older one would scan with SCAN's
# default COUNT of 10, so bench/scanall.go does the same iteration instead.
scan_with() { redis-cli -p "$1" --scan --count 1000; }
if ! redis-cli --help 2>&1 | grep -q -- '--count'; then
	go build -o "$work/scanall" bench/scanall.go
	scan_with() { "$work/scanall" -addr "127.0.0.1:$1" -count 1000; }
fi

results="$work/results.csv"
: >"$results"
for round in $(seq 1 "$ROUNDS"); do
	for s in redis data-cluster; do
		port=$RP
		[ "$s" = data-cluster ] && port=$DP
		echo "round $round: $s" >&2
		measure "$s" "$port" idle >>"$results"
		measure "$s" "$port" "KEYS *" redis-cli -p "$port" --raw keys '*' >>"$results"
		measure "$s" "$port" "SCAN COUNT 1000" scan_with "$port" >>"$results"
	done
done

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(redis-server --version | awk '{print $1, $2, $3}'); data-cluster $(git describe --always --dirty 2>/dev/null || echo "?")"
echo "$(redis-cli -p "$RP" dbsize) keys in redis, $(redis-cli -p "$DP" dbsize) in data-cluster; GET load: data-cluster bench, $LOAD_CLIENTS clients, unpipelined, from ${LEAD}s before each command to its end"
echo
awk -F, '
BEGIN {
	printf "%-12s | %-15s | %8s | %9s | %8s | %8s | %8s | %8s\n", "server", "command", "seconds", "keys", "GETs", "p50 ms", "p99 ms", "max ms"
	print "-------------+-----------------+----------+-----------+----------+----------+----------+---------"
}
{ printf "%-12s | %-15s | %8.2f | %9d | %8d | %8.3f | %8.3f | %8.3f\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$results"
