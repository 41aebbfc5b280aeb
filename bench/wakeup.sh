#!/usr/bin/env bash
# BLPOP and BZPOPMIN wake-up latency, data-cluster side by side with
# redis-server on this machine in one run (issue #15): how long a client
# blocked in BLPOP (BZPOPMIN) waits between an RPUSH (ZADD) to its key and
# its reply.
#
# bench/wakeup.go does the measuring (see its comment): one waiter, one
# pusher, one connection watching INFO blocked_clients so that each sample
# starts with the waiter parked; SAMPLES samples per round, rounds
# alternating servers. Medians over the rounds of each percentile.
# data-cluster runs twice: without persistence, and with --data-dir and
# --fsync always, where the pop must be in the log before the reply (Redis
# runs without persistence in both).
#
# Usage: bench/wakeup.sh [rounds]     (default 3 rounds per server)
# Environment: SAMPLES (per round, default 2000), CMDS (the commands
#   measured, default "blpop bzpopmin"), DC_FLAGS (extra data-cluster
#   flags).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
SAMPLES=${SAMPLES:-2000}
CMDS=${CMDS:-blpop bzpopmin}
DC_FLAGS=${DC_FLAGS:-}

# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "building data-cluster and bench/wakeup.go…" >&2
go build -o "$work/data-cluster" ./cmd/data-cluster
go build -o "$work/wakeup" bench/wakeup.go

# start kind: starts a fresh server of kind redis, data-cluster or
# data-cluster-fsync on a free port, sets port, and waits until it answers.
start() {
	port=$(free_port)
	case $1 in
	redis) redis-server --port "$port" --save '' --appendonly no --dir "$work" --logfile "$work/redis-$port.log" >/dev/null & ;;
	data-cluster)
		# shellcheck disable=SC2086
		"$work/data-cluster" --addr "127.0.0.1:$port" $DC_FLAGS >/dev/null 2>>"$work/dc.log" &
		;;
	data-cluster-fsync)
		# shellcheck disable=SC2086
		"$work/data-cluster" --addr "127.0.0.1:$port" --data-dir "$work/dc-$port" --fsync always $DC_FLAGS >/dev/null 2>>"$work/dc.log" &
		;;
	esac
	pids+=("$!")
	wait_port "$port"
}

kinds=(redis data-cluster data-cluster-fsync)
declare -A ports
for k in "${kinds[@]}"; do
	start "$k"
	ports[$k]=$port
done

for cmd in $CMDS; do
	results="$work/results-$cmd.txt" # kind p50 p90 p99 max mean
	: >"$results"
	for round in $(seq 1 "$ROUNDS"); do
		for k in "${kinds[@]}"; do
			echo "round $round: $cmd on $k" >&2
			echo "$k $("$work/wakeup" -addr "127.0.0.1:${ports[$k]}" -n "$SAMPLES" -cmd "$cmd")" >>"$results"
		done
	done

	if [ "$cmd" = "${CMDS%% *}" ]; then
	echo
	echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(redis-server --version | awk '{print $1, $2, $3}'); data-cluster $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes')"
	fi
	case $cmd in blpop) what="BLPOP wake-up, RPUSH" ;; *) what="BZPOPMIN wake-up, ZADD" ;; esac
	echo
	echo "$what sent to reply read, $SAMPLES samples × $ROUNDS rounds; medians of the rounds' percentiles, µs"
	echo
	awk '
	function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	{ k = $1; n = ++cnt[k]; for (f = 2; f <= 6; f++) v[k, f, n] = $f }
	END {
		printf "%-30s | %8s | %8s | %8s | %8s | %8s\n", "server", "p50", "p90", "p99", "max", "mean"
		printf "%s\n", "-------------------------------+----------+----------+----------+----------+---------"
		split("redis data-cluster data-cluster-fsync", order, " ")
		name["redis"] = "redis-server"; name["data-cluster"] = "data-cluster"; name["data-cluster-fsync"] = "data-cluster --fsync always"
		for (o = 1; o <= 3; o++) {
			k = order[o]; if (!(k in cnt)) continue
			printf "%-30s", name[k]
			for (f = 2; f <= 6; f++) { for (j = 1; j <= cnt[k]; j++) a[j] = v[k, f, j]; printf " | %8.1f", median(a, cnt[k]) }
			printf "\n"
		}
	}' "$results"
done
