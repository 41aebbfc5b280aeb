#!/usr/bin/env bash
# Throughput of data-cluster against shard count and connection count, with
# redis-benchmark (installed if missing). Each cell is the median of ROUNDS
# runs of SET and GET. data-cluster runs with its defaults but for
# --router-queue 65536 --shard-queue 65536, so that no request is answered
# BUSY: -c 200 -P 16 puts 3,200 commands in flight, more than the default
# router capacity of 2,048.
#
# Usage: bench/scaling.sh [rounds]   (default 3)
# Environment: REQUESTS (200000), PIPELINE (16), SHARDS ("1 2 3 4 8"),
#   CLIENTS ("1 10 50 200"), KEYSPACE (1000000), VALUE_SIZE (16).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
REQUESTS=${REQUESTS:-200000}
PIPELINE=${PIPELINE:-16}
SHARDS=${SHARDS:-"1 2 3 4 8"}
CLIENTS=${CLIENTS:-"1 10 50 200"}
KEYSPACE=${KEYSPACE:-1000000}
VALUE_SIZE=${VALUE_SIZE:-16}

if ! command -v redis-benchmark >/dev/null || ! command -v redis-cli >/dev/null; then
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-tools >&2
fi
work=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/data-cluster" ./cmd/data-cluster
port=$((20000 + RANDOM % 20000))

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo "redis-benchmark -n $REQUESTS -P $PIPELINE -r $KEYSPACE -d $VALUE_SIZE; median of $ROUNDS rounds; requests/s SET / GET"
printf "%-8s" "shards"
for c in $CLIENTS; do printf " | %-19s" "-c $c"; done
echo
for s in $SHARDS; do
	"$work/data-cluster" --addr "127.0.0.1:$port" --shards "$s" --router-queue 65536 --shard-queue 65536 >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
	printf "%-8s" "$s"
	for c in $CLIENTS; do
		sets=() gets=()
		for _ in $(seq 1 "$ROUNDS"); do
			out=$(redis-benchmark -p "$port" -t set,get -n "$REQUESTS" -c "$c" -P "$PIPELINE" -r "$KEYSPACE" -d "$VALUE_SIZE" --csv 2>/dev/null)
			sets+=("$(echo "$out" | awk -F'","' '/^"SET"/ {print $2}')")
			gets+=("$(echo "$out" | awk -F'","' '/^"GET"/ {print $2}')")
		done
		printf " | %8.0f / %8.0f" "$(printf '%s\n' "${sets[@]}" | median)" "$(printf '%s\n' "${gets[@]}" | median)"
	done
	echo
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
done
