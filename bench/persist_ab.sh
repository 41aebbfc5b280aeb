#!/usr/bin/env bash
# Compares two single-server data-cluster builds, A and B, with a data
# directory, under the same redis-benchmark load, alternating A and B round
# by round, each round on a fresh server and data directory. Per request it
# prints the server's user+system CPU time (/proc/PID/stat), its write
# system calls (syscw of /proc/PID/io: the replies' and the log's) and,
# when perf is installed, its fdatasyncs (perf stat -e
# syscalls:sys_enter_fdatasync). With REDIS=1, redis-server runs the same
# load in each round too (appendonly yes, appendfsync as FSYNC).
#
# Usage: A=/tmp/old B=/tmp/new bench/persist_ab.sh
#        A=/tmp/old B=/tmp/new TEST=mset FSYNC=always REQUESTS=30000 bench/persist_ab.sh
# Environment: A, B (data-cluster binaries; required), TEST (a
#   redis-benchmark test, mset), FSYNC (always, everysec or no; everysec),
#   ROUNDS (3), REQUESTS (100000), CLIENTS (50), PIPELINE (1), SHARDS (3),
#   REDIS (0).
# Installs redis-server and redis-tools with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

A=${A:?set A to a data-cluster binary}
B=${B:?set B to a data-cluster binary}
TEST=${TEST:-mset}
FSYNC=${FSYNC:-everysec}
ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-100000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-1}
SHARDS=${SHARDS:-3}
REDIS=${REDIS:-0}

# shellcheck source=bench/lib.sh
source bench/lib.sh

hz=$(getconf CLK_TCK)
perf_ok=0
if need perf && perf stat -x, -e syscalls:sys_enter_fdatasync -o /dev/null -- true 2>/dev/null; then
	perf_ok=1
fi

# measure name pid port: runs the load against the server pid on port and
# prints its row.
measure() {
	local name=$1 pid=$2 port=$3 t0 t1 w0 w1 rps pp="" syncs=""
	t0=$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')
	w0=$(awk '/^syscw/ {print $2}' "/proc/$pid/io")
	if [ "$perf_ok" = 1 ]; then
		perf stat -x, -e syscalls:sys_enter_fdatasync -p "$pid" -o "$work/perf.txt" &
		pp=$!
	fi
	rps=$(redis-benchmark -p "$port" -t "$TEST" -n "$REQUESTS" -c "$CLIENTS" -P "$PIPELINE" -r 1000000 -d 16 --csv 2>/dev/null |
		awk -F'","' 'NR == 2 {print $2}')
	t1=$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')
	w1=$(awk '/^syscw/ {print $2}' "/proc/$pid/io")
	if [ -n "$pp" ]; then
		kill -INT "$pp"
		wait "$pp" || true
		syncs=$(awk -F, '/fdatasync/ {print $1}' "$work/perf.txt")
	fi
	awk -v b="$name" -v rps="$rps" -v t="$((t1 - t0))" -v w="$((w1 - w0))" -v s="$syncs" -v n="$REQUESTS" -v hz="$hz" \
		'BEGIN { printf "%-6s %10.0f %8.1f %8.2f %10s\n", b, rps, t * 1e6 / hz / n, w / n, (s == "" ? "-" : sprintf("%.3f", s / n)) }' |
		tee -a "$work/rows"
}

echo "redis-benchmark -t $TEST -n $REQUESTS -c $CLIENTS -P $PIPELINE -r 1000000 -d 16; --fsync $FSYNC, $SHARDS shards; $ROUNDS rounds alternating"
echo "A=$A B=$B"
printf "%-6s %10s %8s %8s %10s\n" build rps "CPU µs" "write(2)" fdatasync
for round in $(seq 1 "$ROUNDS"); do
	order="A B"
	[ $((round % 2)) = 0 ] && order="B A"
	for b in $order; do
		bin=$A
		[ "$b" = B ] && bin=$B
		port=$(free_port)
		dir=$work/$b-$round
		mkdir -p "$dir"
		"$bin" --addr "127.0.0.1:$port" --data-dir "$dir" --fsync "$FSYNC" --shards "$SHARDS" >/dev/null 2>"$dir.log" &
		pid=$!
		pids+=("$pid")
		wait_port "$port"
		measure "$b" "$pid" "$port"
		kill "$pid"
		wait "$pid" 2>/dev/null || true
	done
	if [ "$REDIS" = 1 ]; then
		port=$(free_port)
		mkdir -p "$work/redis-$round"
		redis-server --port "$port" --bind 127.0.0.1 --appendonly yes --appendfsync "$FSYNC" --save '' \
			--dir "$work/redis-$round" --logfile "$work/redis-$round.log" &
		pid=$!
		pids+=("$pid")
		wait_port "$port"
		measure redis "$pid" "$port"
		kill "$pid"
		wait "$pid" 2>/dev/null || true
	fi
done
echo
echo "medians:"
for b in A B redis; do
	awk -v b="$b" '$1 == b' "$work/rows" | sort -k2,2n | awk -v b="$b" '
		{ rps[NR] = $2; cpu[NR] = $3; w[NR] = $4; s[NR] = $5 }
		END { if (NR) { m = int((NR + 1) / 2); printf "%-6s %10.0f %8.1f %8.2f %10s  (rps %d–%d)\n", b, rps[m], cpu[m], w[m], s[m], rps[1], rps[NR] } }'
done
