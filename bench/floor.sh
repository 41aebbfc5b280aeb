#!/usr/bin/env bash
# How fast can a Go server answer unpipelined requests on this machine at
# all? Runs redis-server and bench/floor (a Go server that answers every
# command with a nil reply and does nothing else: a goroutine per
# connection, or one epoll loop) side by side with the same redis-benchmark
# GETs, alternating rounds, and prints each server's median requests per
# second and CPU time per request. data-cluster does everything floor does
# and more, so floor's ratio to Redis bounds data-cluster's unpipelined one.
#
# Usage: bench/floor.sh [rounds]          (default 3)
# Environment: REQUESTS (200000), CLIENTS (50), PROCS ("1 2": GOMAXPROCS
#   values to run floor with).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
PROCS=${PROCS:-"1 2"}

# shellcheck source=bench/lib.sh
source bench/lib.sh

go build -o "$work/floor" ./bench/floor

declare -A port pid
start() { # name command…
	local name=$1
	shift
	port[$name]=$(free_port)
	"$@" "${port[$name]}" >/dev/null 2>"$work/$name.log" &
	pids+=($!)
	pid[$name]=$!
	wait_port "${port[$name]}"
}
# exec, so that the background job's PID is the server's and its CPU time
# can be read from /proc.
redis() { exec redis-server --port "$1" --save '' --appendonly no --dir "$work"; }
floor() { GOMAXPROCS=$1 exec "$work/floor" -mode "$2" -addr "127.0.0.1:$3"; }

names=(redis)
start redis redis
for p in $PROCS; do
	for m in goroutine epoll; do
		start "$m-procs$p" floor "$p" "$m"
		names+=("$m-procs$p")
	done
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tick_us=$((1000000 / $(getconf CLK_TCK)))
: >"$work/results"
for r in $(seq 1 "$ROUNDS"); do
	for name in "${names[@]}"; do
		c0=$(cpu_ticks "${pid[$name]}")
		# rps and p99 ms from the CSV line "GET","rps","avg",…,"p99","max"
		read -r rps p99 < <(redis-benchmark -p "${port[$name]}" -t get -c "$CLIENTS" -n "$REQUESTS" -r 1000000 -P 1 --csv 2>/dev/null |
			awk -F'","' '/^"GET"/ {print $2, $7}')
		c1=$(cpu_ticks "${pid[$name]}")
		echo "$name $rps $(((c1 - c0) * tick_us * 100 / REQUESTS)) $p99" >>"$work/results"
		echo "round $r: $name" >&2
	done
done

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(redis-server --version | awk '{print $1, $2, $3}')"
echo "redis-benchmark -t get -c $CLIENTS -n $REQUESTS -P 1; median of $ROUNDS rounds"
echo
printf "%-18s | %10s | %8s | %14s | %7s\n" server "GET/s" ratio "CPU µs/request" "p99 ms"
printf -- "-------------------+------------+----------+----------------+--------\n"
redis_rps=$(awk '$1 == "redis" {print $2}' "$work/results" | median)
for name in "${names[@]}"; do
	rps=$(awk -v n="$name" '$1 == n {print $2}' "$work/results" | median)
	cpu=$(awk -v n="$name" '$1 == n {print $3}' "$work/results" | median)
	p99=$(awk -v n="$name" '$1 == n {print $4}' "$work/results" | median)
	awk -v n="$name" -v r="$rps" -v base="$redis_rps" -v c="$cpu" -v p="$p99" \
		'BEGIN {printf "%-18s | %10.0f | %7.2fx | %14.2f | %7.3f\n", n, r, r / base, c / 100, p}'
done
