#!/usr/bin/env bash
# PUBLISH to 1, 100 and 1,000 subscribers of one channel, data-cluster side
# by side with redis-server on this machine in one run.
#
# bench/pubsub.go does the measuring (see its comment): SUBS subscribers on
# connections of their own, PUBS publishers sending PUBLISH pipelined DEPTH
# deep for DURATION; the figure is publishes per second, counted once every
# subscriber has read every message. Rounds alternate servers; medians and
# the ratio data-cluster/redis.
#
# Usage: bench/pubsub.sh [rounds]     (default 3 rounds per server)
# Environment: SUBS ("1 100 1000"), PUBS (4), DEPTH (16), DURATION (5s),
#   DC_FLAGS (extra data-cluster flags).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
SUBS=${SUBS:-1 100 1000}
PUBS=${PUBS:-4}
DEPTH=${DEPTH:-16}
DURATION=${DURATION:-5s}
DC_FLAGS=${DC_FLAGS:-}

# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "building data-cluster and bench/pubsub.go…" >&2
go build -o "$work/data-cluster" ./cmd/data-cluster
go build -o "$work/pubsub" bench/pubsub.go

port=$(free_port)
redis-server --port "$port" --save '' --appendonly no --maxclients 10000 --dir "$work" --logfile "$work/redis.log" >/dev/null &
pids+=("$!")
wait_port "$port"
RP=$port
port=$(free_port)
# shellcheck disable=SC2086
"$work/data-cluster" --addr "127.0.0.1:$port" $DC_FLAGS >/dev/null 2>>"$work/dc.log" &
pids+=("$!")
wait_port "$port"
DP=$port

results="$work/results.txt" # server subs publishes/s deliveries/s
: >"$results"
for round in $(seq 1 "$ROUNDS"); do
	for subs in $SUBS; do
		for srv in redis data-cluster; do
			p=$RP
			[ "$srv" = data-cluster ] && p=$DP
			echo "round $round: $subs subscribers, $srv" >&2
			echo "$srv $subs $("$work/pubsub" -addr "127.0.0.1:$p" -subs "$subs" -pubs "$PUBS" -depth "$DEPTH" -duration "$DURATION")" >>"$results"
		done
	done
done

echo
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(redis-server --version | awk '{print $1, $2, $3}'); data-cluster $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes')"
echo "$PUBS publishers, PUBLISH pipelined $DEPTH deep for $DURATION, $ROUNDS rounds alternating servers"
echo
awk '
function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{ k = $1 SUBSEP $2; n = ++cnt[k]; pub[k, n] = $3; subs[$2] = 1 }
END {
	printf "%-12s | %-26s | %-26s | %6s\n", "subscribers", "redis PUBLISH/s (median)", "data-cluster PUBLISH/s", "ratio"
	for (s in subs) {
		for (v = 1; v <= 2; v++) {
			srv = (v == 1) ? "redis" : "data-cluster"; k = srv SUBSEP s; m = cnt[k]
			for (j = 1; j <= m; j++) a[j] = pub[k, j]
			med[v] = median(a, m)
		}
		printf "%-12s | %26.0f | %26.0f | %5.2fx\n", s, med[1], med[2], med[2] / med[1]
	}
}' "$results" | sort -n
