#!/usr/bin/env bash
# HyperLogLog commands, data-cluster side by side with redis-server on this
# machine in one run.
#
# `redis-benchmark -P 16 -c 50 -r RANGE -n REQUESTS PFADD myhll
# element:__rand_int__` against each server, alternating servers round by
# round, each round on an empty keyspace: one key, so one shard does all
# the work; the string starts sparse and turns dense after about 2000
# elements, as in Redis. Then, on the HyperLogLog that run left,
# `PFCOUNT myhll` the same way (its cached cardinality answers all but the
# first). Medians with min–max, and the ratio data-cluster/redis. Both
# servers' PFCOUNT and the SHA-256 of the string are printed at the end:
# they must be equal.
#
# Usage: bench/hll.sh [rounds]     (default 3 rounds per server)
# Environment: REQUESTS (per run, default 1000000), CLIENTS (50), PIPELINE
#   (16), RANGE (100000, redis-benchmark -r), DC_FLAGS (extra data-cluster
#   flags).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
REQUESTS=${REQUESTS:-1000000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-16}
RANGE=${RANGE:-100000}
# 50 clients × 16 pipelined commands are 800 in flight for one key and so
# one shard: give its queue room for them, or part of every run would be
# answered BUSY.
DC_FLAGS=${DC_FLAGS:-"--router-queue 8192 --shard-queue 8192"}

# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "building data-cluster…" >&2
go build -o "$work/data-cluster" ./cmd/data-cluster

start redis
RP=$port
start data-cluster
DP=$port

results="$work/results.csv" # server,test,rps,p50,p99
: >"$results"
run() { # server port
	redis-cli -p "$2" flushall >/dev/null
	rb_csv "$1" "$2" PFADD pfadd myhll element:__rand_int__
	rb_csv "$1" "$2" PFCOUNT pfcount myhll
}
for round in $(seq 1 "$ROUNDS"); do
	echo "round $round: PFADD, PFCOUNT -P $PIPELINE" >&2
	run redis "$RP"
	run data-cluster "$DP"
done

# The same elements must give the same string and count on both servers.
for port in "$RP" "$DP"; do
	redis-cli -p "$port" flushall >/dev/null
	for i in $(seq 1 5000); do echo "PFADD same e$i"; done | redis-cli -p "$port" >/dev/null
done
r_count=$(redis-cli -p "$RP" pfcount same)
d_count=$(redis-cli -p "$DP" pfcount same)
r_sum=$(redis-cli -p "$RP" --raw get same | head -c -1 | sha256sum | cut -c1-16)
d_sum=$(redis-cli -p "$DP" --raw get same | head -c -1 | sha256sum | cut -c1-16)

echo
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(redis-server --version | awk '{print $1, $2, $3}'); data-cluster $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes')"
echo "redis-benchmark -P $PIPELINE -c $CLIENTS -r $RANGE -n $REQUESTS PFADD myhll element:__rand_int__, then PFCOUNT myhll; $ROUNDS rounds alternating, each on an empty keyspace; data-cluster flags: $DC_FLAGS"
echo
sort -t, -k2,2 "$results" | rps_table "PFADD PFCOUNT"
echo
echo "PFADD same e1..e5000: PFCOUNT redis $r_count, data-cluster $d_count; SHA-256 of the string: redis $r_sum, data-cluster $d_sum"
