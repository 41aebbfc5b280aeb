#!/usr/bin/env bash
# How fast can a Go server answer unpipelined requests on this machine at
# all? Runs redis-server and bench/floor (a Go server that answers every
# command with a nil reply and does nothing else, in each of its -mode
# ways: see bench/floor/main.go) side by side with the same redis-benchmark
# GETs, alternating rounds, and prints each server's median requests per
# second and CPU time per request, each with its min-max over the rounds.
# data-cluster does everything floor does and more, so floor's ratio to
# Redis bounds data-cluster's unpipelined one. The README's performance
# section ("Against redis-server") holds the figures of every mode and what
# they say.
#
# Usage: bench/floor.sh [rounds]          (default 5)
# Environment: REQUESTS (200000), CLIENTS (50), PROCS ("1 2": GOMAXPROCS
#   values to run floor with), MODES ("goroutine hop inline raw epoll uring";
#   leave uring out where io_uring is missing or refused),
#   PERF (1: then one more run per server under perf stat, printing the
#   server's system calls and context switches per request).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-5}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
PROCS=${PROCS:-"1 2"}
MODES=${MODES:-"goroutine hop inline raw epoll uring"}
PERF=${PERF:-0}

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
	for m in $MODES; do
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

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(redis-server --version | awk '{print $1, $2, $3}')"
echo "redis-benchmark -t get -c $CLIENTS -n $REQUESTS -P 1; median (min-max) of $ROUNDS rounds"
echo
printf "%-16s | %-24s | %6s | %-20s | %7s\n" server "GET/s (min-max)" ratio "CPU µs/req (min-max)" "p99 ms"
printf -- "-----------------+--------------------------+--------+----------------------+--------\n"
for name in "${names[@]}"; do
	awk -v n="$name" '
function median(a, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
$1 == "redis" { base[++nb] = $2 }
$1 == n { k++; r[k] = $2; c[k] = $3 / 100; p[k] = $4 }
END {
	rlo = clo = 1e18; rhi = chi = 0
	for (i = 1; i <= k; i++) { if (r[i] < rlo) rlo = r[i]; if (r[i] > rhi) rhi = r[i]; if (c[i] < clo) clo = c[i]; if (c[i] > chi) chi = c[i] }
	rm = median(r, k); bm = median(base, nb)
	printf "%-16s | %7.0f (%6.0f-%6.0f) | %5.2fx | %5.2f (%5.2f-%5.2f) | %7.3f\n", n, rm, rlo, rhi, rm / bm, median(c, k), clo, chi, median(p, k)
}' "$work/results"
done

[ "$PERF" = 1 ] || exit 0
if ! need perf; then
	echo "perf not found: no system call counts" >&2
	exit 0
fi
echo
echo "one more run per server under perf stat -p: system calls and context switches per request"
echo
printf "%-16s | %8s | %6s | %6s | %6s | %6s | %6s | %8s\n" server syscalls read write epoll uring futex switches
printf -- "-----------------+----------+--------+--------+--------+--------+--------+---------\n"
for name in "${names[@]}"; do
	perf stat -x, -o "$work/perf.$name" -p "${pid[$name]}" \
		-e raw_syscalls:sys_enter,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_io_uring_enter,syscalls:sys_enter_futex,context-switches \
		-- redis-benchmark -p "${port[$name]}" -t get -c "$CLIENTS" -n "$REQUESTS" -r 1000000 -P 1 -q >/dev/null 2>&1
	awk -F, -v n="$name" -v req="$REQUESTS" '
$3 ~ /raw_syscalls/ { a = $1 } $3 ~ /enter_read$/ { r = $1 } $3 ~ /enter_write$/ { w = $1 }
$3 ~ /epoll_p?wait/ { e += $1 } $3 ~ /io_uring_enter/ { u = $1 } $3 ~ /futex/ { f = $1 } $3 ~ /context-switches/ { c = $1 }
END { printf "%-16s | %8.2f | %6.2f | %6.2f | %6.2f | %6.2f | %6.2f | %8.3f\n", n, a / req, r / req, w / req, e / req, u / req, f / req, c / req }' "$work/perf.$name"
done
