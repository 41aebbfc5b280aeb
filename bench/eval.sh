#!/usr/bin/env bash
# EVAL of small scripts, data-cluster side by side with redis-server on
# this machine in one run.
#
# redis-benchmark -P PIPELINE -c CLIENTS -r RANGE -n REQUESTS of
#   EVAL "return redis.call('incr', KEYS[1])" 1 counter:__rand_int__   (INCR)
#   EVAL "return redis.call('get', KEYS[1])" 1 counter:__rand_int__    (GET)
# against each server, alternating servers round by round; the same
# commands run without a script (INCR, GET) for scale. (The scripts hold
# commas, so the CSV is read by its quoted fields.) Medians with
# min–max, and the ratio data-cluster/redis.
#
# Usage: bench/eval.sh [rounds]     (default 3 rounds per server)
# Environment: REQUESTS (per run, default 500000), CLIENTS (50), PIPELINE
#   (16), RANGE (100000), DC_FLAGS (extra data-cluster flags).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
REQUESTS=${REQUESTS:-500000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-16}
RANGE=${RANGE:-100000}
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
	rb_csv "$1" "$2" EVAL_INCR EVAL "return redis.call('incr', KEYS[1])" 1 counter:__rand_int__
	rb_csv "$1" "$2" EVAL_GET EVAL "return redis.call('get', KEYS[1])" 1 counter:__rand_int__
	rb_csv "$1" "$2" INCR INCR counter:__rand_int__
	rb_csv "$1" "$2" GET GET counter:__rand_int__
}
for round in $(seq 1 "$ROUNDS"); do
	echo "round $round" >&2
	run redis "$RP"
	run data-cluster "$DP"
done
r_sum=$(redis-cli -p "$RP" eval "return redis.call('incr', KEYS[1])" 1 check)
d_sum=$(redis-cli -p "$DP" eval "return redis.call('incr', KEYS[1])" 1 check)

echo
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(redis-server --version | awk '{print $1, $2, $3}'); data-cluster $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes')"
echo "redis-benchmark -P $PIPELINE -c $CLIENTS -r $RANGE -n $REQUESTS, $ROUNDS rounds alternating; data-cluster flags: $DC_FLAGS"
echo
sort -t, -k2,2 "$results" | rps_table "EVAL_INCR EVAL_GET INCR GET"
echo
echo "EVAL incr of a fresh key: redis $r_sum, data-cluster $d_sum"
