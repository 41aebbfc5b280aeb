#!/usr/bin/env bash
# The tail of unpipelined latency, round by round: redis-server (in memory,
# or persisting: PERSIST) and data-cluster builds side by side, each round running the same
# `redis-benchmark -P 1 -c 50` test against every server in turn. Prints
# each round's requests a second and p99 per server, then the medians and
# each data-cluster build's p99 against Redis's in the same round, and what
# each request cost in CPU time: the server's (/proc/PID/stat) and
# redis-benchmark's, with the share of a core the client kept busy (a single
# thread: near 100%, the client, not the server, sets the rate).
#
# Usage: bench/tail.sh [rounds]          (default 5)
# Environment: TESTS (set,get), REQUESTS (300000 per test and server),
#   KEYSPACE (1000000), FILL (0; N: N SETs at -P 16 into every server
#   first, so that the rounds run on a full keyspace), DC_FLAGS (flags for
#   every data-cluster), OTHER ("label=binary[:flag,flag…] …": more
#   data-cluster builds or flags to run beside this tree's build, e.g.
#   OTHER="norelease=/tmp/dc:--idle-release=false"), OTHER_ENV
#   ("label=VAR=value …": environment for one of them, e.g.
#   OTHER_ENV="nogc=GOGC=off"), PERSIST (always, everysec or no: every
#   data-cluster with a data directory of its own and --fsync PERSIST,
#   redis-server with appendonly yes and appendfsync PERSIST; empty, the
#   default: all in memory).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-5}
TESTS=${TESTS:-set,get}
REQUESTS=${REQUESTS:-300000}
KEYSPACE=${KEYSPACE:-1000000}
FILL=${FILL:-0}
DC_FLAGS=${DC_FLAGS:-}
OTHER=${OTHER:-}
OTHER_ENV=${OTHER_ENV:-}
PERSIST=${PERSIST:-}

# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "building data-cluster…" >&2
go build -o "$work/data-cluster" ./cmd/data-cluster

servers=()
declare -A spid # label -> the server's pid
port=$(free_port)
redis_persist=(--appendonly no)
if [ -n "$PERSIST" ]; then redis_persist=(--appendonly yes --appendfsync "$PERSIST"); fi
redis-server --port "$port" --save '' "${redis_persist[@]}" --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
spid[redis]=$!
servers+=("redis=$port")
for o in "data-cluster=$work/data-cluster" $OTHER; do
	label=${o%%=*} spec=${o#*=}
	bin=${spec%%:*} flags=""
	if [ "$bin" != "$spec" ]; then flags=${spec#*:} flags=${flags//,/ }; fi
	envs=()
	for e in $OTHER_ENV; do
		if [ "${e%%=*}" = "$label" ]; then envs+=("${e#*=}"); fi
	done
	port=$(free_port)
	if [ -n "$PERSIST" ]; then flags="$flags --data-dir $work/$label.data --fsync $PERSIST"; fi
	# shellcheck disable=SC2086
	env "${envs[@]}" "$bin" --addr "127.0.0.1:$port" $DC_FLAGS $flags >/dev/null 2>"$work/$label.log" &
	pids+=($!)
	spid[$label]=$!
	servers+=("$label=$port")
done
for s in "${servers[@]}"; do wait_port "${s#*=}"; done
if [ "$FILL" -gt 0 ]; then
	echo "filling every server with $FILL SETs…" >&2
	for s in "${servers[@]}"; do
		redis-benchmark -p "${s#*=}" -t set -n "$FILL" -c 50 -P 16 -r "$KEYSPACE" -d 16 -q >/dev/null 2>&1
	done
fi

# ticks pid: the CPU time the process has used, in clock ticks.
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

results=$work/results.csv
hz=$(getconf CLK_TCK)
TIMEFORMAT='%3U %3S %3R'
for round in $(seq 1 "$ROUNDS"); do
	for s in "${servers[@]}"; do
		label=${s%%=*}
		for t in ${TESTS//,/ }; do
			before=$(ticks "${spid[$label]}")
			{ time redis-benchmark -p "${s#*=}" -t "$t" -n "$REQUESTS" -c 50 -P 1 -r "$KEYSPACE" -d 16 --csv >"$work/out.csv" 2>/dev/null; } 2>"$work/time.txt"
			after=$(ticks "${spid[$label]}")
			read -r cu cs elapsed <"$work/time.txt"
			awk -F'","' -v s="$label" -v r="$round" -v n="$REQUESTS" -v hz="$hz" -v st=$((after - before)) -v cu="$cu" -v cs="$cs" -v el="$elapsed" \
				'NR > 1 { gsub(/"/, "", $1); printf "%s,%s,%s,%s,%s,%.2f,%.2f,%.0f\n", r, s, $1, $2, $7, st * 1e6 / hz / n, (cu + cs) * 1e6 / n, (cu + cs) * 100 / el }' \
				"$work/out.csv" >>"$results"
		done
	done
	awk -F, -v r="$round" '$1 == r { printf "round %s %-14s %-4s %9.0f/s p99 %s ms, CPU %s µs a request (client %s µs, %s%% of a core)\n", r, $2, $3, $4, $5, $6, $7, $8 }' "$results" >&2
done

echo
echo "redis-benchmark -P 1 -c 50 -n $REQUESTS -r $KEYSPACE -d 16, $ROUNDS rounds, servers in turn (after $FILL SETs); medians (min–max)"
awk -F, '
function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t } return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{ k = $2 SUBSEP $3; n = ++cnt[k]; rps[k, n] = $4; p99[k, n] = $5; cpu[k, n] = $6; cli[k, n] = $7; core[k, n] = $8; if (!($3 in seen)) { seen[$3] = 1; tests[++nt] = $3 } if (!($2 in seenS)) { seenS[$2] = 1; srv[++ns] = $2 } if ($2 == "redis") ref[$1, $3] = $5 }
{ if ($2 != "redis") { m = ++cw[k]; worse[k, m] = $5 + 0 > ref[$1, $3] + 0 } }
END {
	printf "%-14s | %-4s | %-26s | %-22s | %-12s | %-12s | %-12s | %s\n", "server", "test", "requests/s", "p99 ms", "CPU µs a req", "client µs", "client core", "rounds with p99 above Redis'"'"'s"
	for (t = 1; t <= nt; t++) for (s = 1; s <= ns; s++) {
		k = srv[s] SUBSEP tests[t]; c = cnt[k]
		lo = hi = ""; for (i = 1; i <= c; i++) { a[i] = rps[k, i]; if (lo == "" || a[i] + 0 < lo + 0) lo = a[i]; if (hi == "" || a[i] + 0 > hi + 0) hi = a[i] }
		r = median(a, c)
		plo = phi = ""; for (i = 1; i <= c; i++) { b[i] = p99[k, i]; if (plo == "" || b[i] + 0 < plo + 0) plo = b[i]; if (phi == "" || b[i] + 0 > phi + 0) phi = b[i] }
		p = median(b, c)
		for (i = 1; i <= c; i++) { x[i] = cpu[k, i]; y[i] = cli[k, i]; z[i] = core[k, i] }
		mc = median(x, c); ml = median(y, c); mz = median(z, c)
		w = "-"; if (srv[s] != "redis") { w = 0; for (i = 1; i <= cw[k]; i++) w += worse[k, i]; w = w " of " cw[k] }
		printf "%-14s | %-4s | %8.0f (%6.0f-%6.0f) | %5.3f (%5.3f-%5.3f) | %12.2f | %12.2f | %11.0f%% | %s\n", srv[s], tests[t], r, lo, hi, p, plo, phi, mc, ml, mz, w
	}
}' "$results"
