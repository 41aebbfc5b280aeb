#!/usr/bin/env bash
# What a durable SET costs each server: redis-benchmark SETs against
# data-cluster --fsync always and redis-server appendfsync always (or the
# policy FSYNC names: everysec, no), one after the other in alternating
# rounds, each server counted by `perf stat -p` while the benchmark runs:
#
#   SET/s, p99 latency, CPU µs per request (every thread of the server: the Go threads,
#   and the kernel's io_uring workers that run data-cluster's fdatasyncs),
#   context switches, write(2) and read(2) per request, fdatasyncs per
#   second (redis-server's fdatasync(2) calls, data-cluster's io_uring
#   fsync requests) and requests per fdatasync.
#
# Usage: bench/fsync_trace.sh
#        ROUNDS=5 PIPELINE=16 bench/fsync_trace.sh
#        OTHER="procs2=/tmp/dc-procs2" bench/fsync_trace.sh
#        FSYNC=everysec ROUNDS=6 REQUESTS=300000 bench/fsync_trace.sh
# OTHER, as in bench/persistence.sh, adds data-cluster binaries built
# elsewhere (or wrapper scripts that add flags), measured in the same rounds.
# ARGS adds flags to every data-cluster (e.g. ARGS="--procs 2").
#
# STAGES=1 also builds data-cluster with bench/fsync_stages.patch (stage
# timestamps of every batch and fsync, dumped on SIGUSR1) in a temporary
# worktree, runs it once under `perf record` of the io_uring submissions
# and completions (CLOCK_MONOTONIC, as Go's clock), and prints where an
# unpipelined SET waits (bench/fsync_stages.py). The patch is made against
# commit STAGES_BASE (default b6c8086, the code the README's stage table
# measured), which the worktree checks out: a newer tree's files may not take
# it. Set STAGES_BASE=HEAD to try it on this tree.
#
# Needs perf with tracepoints (run as root). The servers run on a free port
# of 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-60000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-1}
SHARDS=${SHARDS:-3}
OTHER=${OTHER:-}
ARGS=${ARGS:-}
STAGES=${STAGES:-}
FSYNC=${FSYNC:-always}
case $FSYNC in always | everysec | no) ;; *)
	echo "FSYNC must be always, everysec or no" >&2
	exit 2
	;;
esac

need perf || { echo "perf is needed" >&2; exit 1; }
go build -o "$work/data-cluster" ./cmd/data-cluster
servers=("data-cluster=$work/data-cluster")
for o in $OTHER; do servers+=("$o"); done
servers+=("redis-server=redis")

events=task-clock,context-switches,syscalls:sys_enter_fdatasync,syscalls:sys_enter_write,syscalls:sys_enter_read
# io_uring fsync requests: opcode 3 (IORING_OP_FSYNC)
uring="-e io_uring:io_uring_submit_req --filter opcode==3"

start() { # name bin dir port
	if [ "$2" = redis ]; then
		redis-server --port "$4" --save '' --daemonize no --logfile "$3/log" --dir "$3" \
			--appendonly yes --appendfsync "$FSYNC" &
	else
		# shellcheck disable=SC2086
		"$2" --addr "127.0.0.1:$4" --shards "$SHARDS" --data-dir "$3" --fsync "$FSYNC" $ARGS >"$3/out" 2>&1 &
	fi
	pids+=($!)
	pid=$!
	wait_port "$4"
}

bench() { # port requests: prints "SET/s,p99 ms"
	redis-benchmark -p "$1" -t set -n "$2" -c "$CLIENTS" -r 1000000 -d 16 -P "$PIPELINE" --csv 2>/dev/null |
		tr -d '"\r' | awk -F, '$1 == "SET" {printf "%d,%s", $2, $7}'
}

echo "== redis-benchmark -t set -n $REQUESTS -c $CLIENTS -P $PIPELINE, fsync $FSYNC, $ROUNDS round(s), data-cluster with $SHARDS shards"
rows=$work/rows
for _ in $(seq 1 "$ROUNDS"); do
	for s in "${servers[@]}"; do
		name=${s%%=*} bin=${s#*=}
		dir=$(mktemp -d -p "$work")
		port=$(free_port)
		start "$name" "$bin" "$dir" "$port"
		bench "$port" 20000 >/dev/null # warm up
		# shellcheck disable=SC2086
		perf stat -x, -o "$dir/stat" -e "$events" $uring -p "$pid" &
		sp=$!
		sleep 0.2
		t0=$(date +%s%N)
		out=$(bench "$port" "$REQUESTS")
		t1=$(date +%s%N)
		kill -INT "$sp"
		wait "$sp" || true
		kill "$pid"
		wait "$pid" 2>/dev/null || true
		awk -F, -v name="$name" -v out="$out" -v n="$REQUESTS" -v ms=$(((t1 - t0) / 1000000)) '
			$3 == "task-clock" { cpu = $1 }
			$3 == "context-switches" { cs = $1 }
			$3 ~ /fdatasync|io_uring_submit_req/ { fs += $1 }
			$3 ~ /sys_enter_write/ { w = $1 }
			$3 ~ /sys_enter_read/ { r = $1 }
			END { printf "%s,%s,%.1f,%.2f,%.2f,%.2f,%.0f,%.1f\n", name, out, cpu * 1000 / n, cs / n,
				w / n, r / n, fs * 1000 / ms, fs ? n / fs : 0 }' "$dir/stat" >>"$rows"
		rm -rf "$dir"
	done
done

printf "\n| %-14s | %22s | %20s | %10s | %10s | %9s | %9s | %11s | %9s |\n" server "SET/s" "p99 ms" "CPU µs/req" "cswch/req" "write/req" "read/req" "fsyncs/s" "req/fsync"
printf "|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n" "----------------" "------------------------" "----------------------" "------------" "------------" "-----------" "-----------" "-------------" "-----------"
for s in "${servers[@]}"; do
	name=${s%%=*}
	awk -F, -v name="$name" '
		function med(col,   v, n, i, j, t) {
			n = 0
			for (i = 1; i <= NR_; i++) v[++n] = val[i, col]
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			return n == 1 ? v[1] : sprintf("%s (%s-%s)", v[int((n + 1) / 2)], v[1], v[n])
		}
		$1 == name { NR_++; for (c = 2; c <= 9; c++) val[NR_, c] = $c + 0 }
		END { printf "| %-14s | %22s | %20s | %10s | %10s | %9s | %9s | %11s | %9s |\n", name, med(2), med(3), med(4),
			med(5), med(6), med(7), med(8), med(9) }' "$rows"
done

[ -n "$STAGES" ] || exit 0
echo
echo "== stages of an unpipelined SET (bench/fsync_stages.patch)"
tree=$work/stages
git worktree add -q --detach "$tree" "${STAGES_BASE:-b6c8086}"
trap 'git worktree remove --force "$tree" 2>/dev/null || true; cleanup' EXIT
git -C "$tree" apply "$PWD/bench/fsync_stages.patch"
(cd "$tree" && go build -o "$work/dc-stages" ./cmd/data-cluster)
dir=$(mktemp -d -p "$work")
port=$(free_port)
# shellcheck disable=SC2086
DC_TRACE=$work/t "$work/dc-stages" --addr "127.0.0.1:$port" --shards "$SHARDS" --data-dir "$dir" --fsync always $ARGS >"$dir/out" 2>&1 &
pid=$!
pids+=("$pid")
wait_port "$port"
bench "$port" 20000 >/dev/null
kill -USR1 "$pid" # dumps and forgets the warm-up
sleep 0.5
rm -f "$work/t.b" "$work/t.f"
perf record -q -k CLOCK_MONOTONIC -e io_uring:io_uring_submit_req -e io_uring:io_uring_complete -p "$pid" -o "$work/t.perf" 2>/dev/null &
sp=$!
sleep 0.3
echo "SET/s $(bench "$port" "$REQUESTS" | cut -d, -f1)"
kill -INT "$sp"
wait "$sp" || true
kill -USR1 "$pid"
for _ in $(seq 1 100); do [ -s "$work/t.f" ] && break; sleep 0.1; done
sleep 0.5
perf script -i "$work/t.perf" -F time,event,trace 2>/dev/null >"$work/t.ev"
python3 bench/fsync_stages.py "$work/t"
