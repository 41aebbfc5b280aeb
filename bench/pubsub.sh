#!/usr/bin/env bash
# PUBLISH to 1, 100 and 1,000 subscribers of one channel, data-cluster side
# by side with redis-server on this machine in one run.
#
# bench/pubsub.go does the measuring (see its comment): SUBS subscribers on
# connections of their own, PUBS publishers sending PUBLISH pipelined DEPTH
# deep for DURATION; the figure is publishes per second, counted once every
# subscriber has read every message. Rounds alternate servers; medians, the
# ratio data-cluster/redis, and each server's CPU time (user and system)
# per publish.
#
# Usage: bench/pubsub.sh [rounds [data-cluster binary…]]
#   (default 3 rounds per server). With binaries (say one built from main),
#   each is measured too, beside the one built from this tree, and its
#   ratios to it printed: a before/after in one run.
# Environment: SUBS ("1 100 1000"), PUBS (4), DEPTH (16), DURATION (5s),
#   SIZE (bytes per message, 16), DC_FLAGS (extra data-cluster flags).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
shift || true
SUBS=${SUBS:-1 100 1000}
PUBS=${PUBS:-4}
DEPTH=${DEPTH:-16}
DURATION=${DURATION:-5s}
SIZE=${SIZE:-16}
DC_FLAGS=${DC_FLAGS:-}

# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "building data-cluster and bench/pubsub.go…" >&2
go build -o "$work/data-cluster" ./cmd/data-cluster
go build -o "$work/pubsub" bench/pubsub.go

names=(redis data-cluster)
ports=()
spids=() # server processes, by the index of ports
port=$(free_port)
redis-server --port "$port" --save '' --appendonly no --maxclients 10000 --dir "$work" --logfile "$work/redis.log" >/dev/null &
pids+=("$!")
spids+=("$!")
ports+=("$port")
bins=("$work/data-cluster" "$@")
for i in "${!bins[@]}"; do
	port=$(free_port)
	# shellcheck disable=SC2086
	"${bins[$i]}" --addr "127.0.0.1:$port" $DC_FLAGS >/dev/null 2>>"$work/dc.log" &
	pids+=("$!")
	spids+=("$!")
	ports+=("$port")
	if [ "$i" -gt 0 ]; then names+=("$(basename "${bins[$i]}")#$i"); fi
done
for p in "${ports[@]}"; do wait_port "$p"; done

hz=$(getconf CLK_TCK)

results="$work/results.txt" # server subs publishes/s deliveries/s cpu-µs-per-publish
: >"$results"
for round in $(seq 1 "$ROUNDS"); do
	for subs in $SUBS; do
		for i in "${!ports[@]}"; do
			echo "round $round: $subs subscribers, ${names[$i]}" >&2
			before=$(cpu_ticks "${spids[$i]}")
			out=$("$work/pubsub" -addr "127.0.0.1:${ports[$i]}" -subs "$subs" -pubs "$PUBS" -depth "$DEPTH" -duration "$DURATION" -size "$SIZE")
			after=$(cpu_ticks "${spids[$i]}")
			# out: publishes/s deliveries/s; CPU per publish over the run.
			echo "${names[$i]} $subs $out $(awk -v t="$((after - before))" -v hz="$hz" -v p="${out%% *}" -v d="$DURATION" \
				'BEGIN { sub(/s$/, "", d); printf "%.2f", t * 1e6 / hz / (p * d) }')" >>"$results"
		done
	done
done

echo
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(redis-server --version | awk '{print $1, $2, $3}'); data-cluster $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes')"
echo "$PUBS publishers, PUBLISH of $SIZE-byte messages pipelined $DEPTH deep for $DURATION, $ROUNDS rounds alternating servers"
echo "CPU: µs of the server's user+system time per publish (over the publishing time)"
echo
awk -v servers="${names[*]}" '
function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{ k = $1 SUBSEP $2; n = ++cnt[k]; pub[k, n] = $3; cpu[k, n] = $5; subs[$2] = 1 }
END {
	ns = split(servers, srv, " ")
	printf "%-11s", "subscribers"
	for (v = 1; v <= ns; v++) printf " | %-44s", srv[v] (v == 1 ? ": PUBLISH/s, cpu µs/publish" : v == 2 ? ": ratio to redis" : ": ratios to data-cluster")
	printf "\n"
	for (s in subs) {
		printf "%-11s", s
		for (v = 1; v <= ns; v++) {
			k = srv[v] SUBSEP s; m = cnt[k]
			for (j = 1; j <= m; j++) { a[j] = pub[k, j]; c[j] = cpu[k, j] }
			med = median(a, m); mc = median(c, m)
			if (v == 1) { r = med; rc = mc }
			if (v == 2) { d = med; dc = mc }
			if (v == 1) printf " | %10.0f          %7.2f                  ", med, mc
			else if (v == 2) printf " | %10.0f %5.2fx    %7.2f %5.2fx         ", med, med / r, mc, mc / rc
			else printf " | %10.0f %5.2fx    %7.2f %5.2fx         ", med, med / d, mc, mc / dc
		}
		printf "\n"
	}
}' "$results" | sort -n
