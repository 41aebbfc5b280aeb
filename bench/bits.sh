#!/usr/bin/env bash
# Bit commands, data-cluster side by side with redis-server on this machine
# in one run.
#
# `SETBIT bits offset 1` with random offsets below 2^20 (one key of up to
# 128 KiB, so one shard does all the work), 16 pipelined on each of 50
# connections, from bench/setbits.go (redis-benchmark's __rand_int__ is
# zero-padded, which Redis refuses as an offset), against each server;
# then, once the key is exactly 128 KiB, `redis-benchmark -P 16 -c 50
# BITCOUNT bits`; servers alternate round by
# round, each round on an empty keyspace. Medians with min–max, and the
# ratio data-cluster/redis. At the end the same 5,000 SETBITs go to both
# servers, whose BITCOUNT and SHA-256 of the string are printed: they must
# be equal.
#
# Usage: bench/bits.sh [rounds]     (default 3 rounds per server)
# Environment: REQUESTS (per run, default 1000000), CLIENTS (50), PIPELINE
#   (16), DC_FLAGS (extra data-cluster flags).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
REQUESTS=${REQUESTS:-1000000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-16}
RANGE=1048576
# 50 clients × 16 pipelined commands are 800 in flight for one key and so
# one shard: give its queue room for them, or part of every run would be
# answered BUSY.
DC_FLAGS=${DC_FLAGS:-"--router-queue 8192 --shard-queue 8192"}

# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "building data-cluster…" >&2
go build -o "$work/data-cluster" ./cmd/data-cluster
go build -o "$work/setbits" bench/setbits.go

start redis
RP=$port
start data-cluster
DP=$port

results="$work/results.csv" # server,test,rps,p50,p99
: >"$results"
# alive server port: never load a port nobody listens on; stop if the
# server has gone.
alive() {
	if ! redis-cli -p "$2" ping >/dev/null 2>&1; then
		echo "$1 on port $2 does not answer" >&2
		exit 1
	fi
}
bench() { # server port test command…
	local server=$1 port=$2 test=$3
	shift 3
	alive "$server" "$port"
	redis-benchmark -p "$port" -n "$REQUESTS" -c "$CLIENTS" -P "$PIPELINE" -r "$RANGE" --csv "$@" 2>/dev/null |
		awk -F'","' -v s="$server" -v t="$test" 'NR > 1 { gsub(/"/, ""); split($0, f, ","); print s "," t "," f[2] "," f[5] "," f[7] }' >>"$results"
}
run() { # server port
	redis-cli -p "$2" flushall >/dev/null
	alive "$1" "$2"
	echo "$1,SETBIT,$("$work/setbits" -addr "127.0.0.1:$2" -clients "$CLIENTS" -pipeline "$PIPELINE" -n "$REQUESTS" -range "$RANGE")" >>"$results"
	redis-cli -p "$2" setbit bits $((RANGE - 1)) 1 >/dev/null
	bench "$1" "$2" BITCOUNT bitcount bits
}
for round in $(seq 1 "$ROUNDS"); do
	echo "round $round: SETBIT, BITCOUNT -P $PIPELINE" >&2
	run redis "$RP"
	run data-cluster "$DP"
done
r_len=$(redis-cli -p "$RP" strlen bits)
d_len=$(redis-cli -p "$DP" strlen bits)

# The same bits set must give the same string and count on both servers.
for port in "$RP" "$DP"; do
	redis-cli -p "$port" flushall >/dev/null
	for i in $(seq 1 5000); do echo "SETBIT same $(((i * 7919) % RANGE)) $((i % 3 != 0))"; done | redis-cli -p "$port" >/dev/null
done
r_count=$(redis-cli -p "$RP" bitcount same)
d_count=$(redis-cli -p "$DP" bitcount same)
r_sum=$(redis-cli -p "$RP" --raw get same | head -c -1 | sha256sum | cut -c1-16)
d_sum=$(redis-cli -p "$DP" --raw get same | head -c -1 | sha256sum | cut -c1-16)

echo
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(redis-server --version | awk '{print $1, $2, $3}'); data-cluster $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes')"
echo "-P $PIPELINE -c $CLIENTS -n $REQUESTS: bench/setbits.go SETBIT bits <random below $RANGE> 1, then redis-benchmark BITCOUNT bits (STRLEN redis $r_len, data-cluster $d_len); $ROUNDS rounds alternating, each on an empty keyspace; data-cluster flags: $DC_FLAGS"
echo
sort -t, -k2,2 "$results" | rps_table "SETBIT BITCOUNT"
echo
echo "SETBIT same (i*7919 mod 2^20) for i in 1..5000: BITCOUNT redis $r_count, data-cluster $d_count; SHA-256 of the string: redis $r_sum, data-cluster $d_sum"
