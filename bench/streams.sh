#!/usr/bin/env bash
# Streams, data-cluster side by side with redis-server on this machine in
# one run.
#
#  1. Throughput: redis-benchmark -P PIPELINE -c CLIENTS -n REQUESTS of
#     `XADD bench:s * name user:__rand_int__ action click page home ts
#     __rand_int__ n 1` (one stream, so one shard), then, on the stream that
#     filled, `XGROUP CREATE` and `XREADGROUP GROUP g c COUNT 1 STREAMS
#     bench:s >` as many times (each delivers one entry and adds it to the
#     group's pending entries), alternating servers round by round, each
#     round on an empty keyspace. Medians with min–max and the ratio
#     data-cluster/redis.
#  2. Resident memory per entry: a fresh server of each kind, RSS (VmRSS)
#     read once it answers, then ENTRIES of the XADD above loaded
#     pipelined, RSS read again SETTLE seconds later: (after − before) /
#     entries, and INFO's used_memory growth per entry.
#
# Usage: bench/streams.sh [rounds]     (default 3 rounds per server)
# Environment: REQUESTS (per test, default 1000000), CLIENTS (50),
#   PIPELINE (16), ENTRIES (1000000), SETTLE (2 seconds), DC_FLAGS (extra
#   data-cluster flags).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
REQUESTS=${REQUESTS:-1000000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-16}
ENTRIES=${ENTRIES:-1000000}
SETTLE=${SETTLE:-2}
# 50 clients × 16 pipelined commands are 800 in flight for one shard.
DC_FLAGS=${DC_FLAGS:-"--router-queue 8192 --shard-queue 8192"}

# shellcheck source=bench/lib.sh
source bench/lib.sh

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
used_memory() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" {print $2}'; }

echo "building data-cluster…" >&2
go build -o "$work/data-cluster" ./cmd/data-cluster

XADD=(XADD bench:s '*' name 'user:__rand_int__' action click page home ts __rand_int__ n 1)
bench() { # name port n args…
	local name=$1 port=$2 n=$3
	shift 3
	redis-benchmark -p "$port" -n "$n" -c "$CLIENTS" -P "$PIPELINE" -r 100000 --csv "$@" 2>/dev/null |
		awk -F'","' -v s="$name" 'NR > 1 { gsub(/"/, ""); split($0, f, ","); print s "," f[2] "," f[5] "," f[7] }'
}

start redis
RP=$port
start data-cluster
DP=$port
results="$work/results.csv" # server,test,rps,p50,p99
: >"$results"
for round in $(seq 1 "$ROUNDS"); do
	echo "round $round" >&2
	for srv in redis data-cluster; do
		port=$RP
		[ "$srv" = data-cluster ] && port=$DP
		redis-cli -p "$port" flushall >/dev/null
		bench "$srv" "$port" "$REQUESTS" "${XADD[@]}" | sed 's/,/,XADD,/' >>"$results"
		len=$(redis-cli -p "$port" xlen bench:s)
		redis-cli -p "$port" xgroup create bench:s g 0 >/dev/null
		bench "$srv" "$port" "$len" XREADGROUP GROUP g c COUNT 1 STREAMS bench:s '>' | sed 's/,/,XREADGROUP,/' >>"$results"
		pending=$(redis-cli -p "$port" xpending bench:s g | head -1)
		echo "$srv: $len entries, $pending pending after XREADGROUP" >&2
	done
done

mem="$work/memory.txt"
: >"$mem"
for kind in redis data-cluster; do
	echo "memory: $ENTRIES entries into a fresh $kind…" >&2
	start "$kind"
	sleep 0.5
	before=$(rss_kb "$pid")
	ubefore=$(used_memory "$port")
	redis-benchmark -p "$port" -n "$ENTRIES" -c "$CLIENTS" -P "$PIPELINE" -r 100000 -q "${XADD[@]}" >/dev/null 2>&1
	sleep "$SETTLE"
	after=$(rss_kb "$pid")
	uafter=$(used_memory "$port")
	n=$(redis-cli -p "$port" xlen bench:s)
	echo "$kind $before $after $ubefore $uafter $n" >>"$mem"
	kill "$pid"
done

echo
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(redis-server --version | awk '{print $1, $2, $3}'); data-cluster $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes')"
echo "redis-benchmark -P $PIPELINE -c $CLIENTS -n $REQUESTS, $ROUNDS rounds alternating; data-cluster flags: $DC_FLAGS"
echo
sort -t, -k2,2 "$results" | rps_table "XADD XREADGROUP"
echo
echo "memory per entry (fresh server each, ${SETTLE}s after loading):"
awk '{ rss[$1] = ($3 - $2) * 1024 / $6; um[$1] = ($5 - $4) / $6; n[$1] = $6 }
END {
	printf "redis        %7.1f B/entry RSS, %7.1f B/entry used_memory (%d entries)\n", rss["redis"], um["redis"], n["redis"]
	printf "data-cluster %7.1f B/entry RSS, %7.1f B/entry used_memory (%d entries)\n", rss["data-cluster"], um["data-cluster"], n["data-cluster"]
	printf "ratio (RSS) %.2fx\n", rss["data-cluster"] / rss["redis"]
}' "$mem"
