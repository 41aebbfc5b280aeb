#!/usr/bin/env bash
# Before and after: redis-server, data-cluster built at a base revision and
# data-cluster built from the working tree, side by side in one run, each
# redis-benchmark test (`-P 16 -c 50 -r 100000`, as bench/collections.sh)
# run against the three in turn, round after round, each server's
# keyspace emptied at the start of a round. Reports, per test and server,
# the median requests/s (min–max) and the median CPU time per request of
# the server process, with each data-cluster's ratios to redis.
#
# Usage: bench/collections_ab.sh [base-rev] [rounds]   (default main, 3)
# Environment: REQUESTS (per test, default 1000000), TESTS (default
#   sadd,hset), PIPELINE (default 16: redis-benchmark -P), DC_FLAGS (as
#   bench/collections.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${1:-main}
ROUNDS=${2:-3}
REQUESTS=${REQUESTS:-1000000}
TESTS=${TESTS:-sadd,hset}
PIPELINE=${PIPELINE:-16}
DC_FLAGS=${DC_FLAGS:-"--router-queue 8192 --shard-queue 8192"}

# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "building data-cluster at $BASE and from the working tree…" >&2
mkdir "$work/base"
git archive "$BASE" | tar -x -C "$work/base"
(cd "$work/base" && go build -o "$work/dc-base" ./cmd/data-cluster)
go build -o "$work/dc-new" ./cmd/data-cluster

declare -A PORT PID
for kind in redis base new; do
	port=$(free_port)
	if [ "$kind" = redis ]; then
		redis-server --port "$port" --save '' --appendonly no --dir "$work" --logfile "$work/redis.log" >/dev/null &
	else
		# shellcheck disable=SC2086
		"$work/dc-$kind" --addr "127.0.0.1:$port" $DC_FLAGS >/dev/null 2>>"$work/dc.log" &
	fi
	PID[$kind]=$!
	pids+=("$!")
	PORT[$kind]=$port
	wait_port "$port"
done

hz=$(getconf CLK_TCK)
results="$work/results.csv" # server,test,rps,cpu-µs/request
for round in $(seq 1 "$ROUNDS"); do
	echo "round $round" >&2
	for kind in redis base new; do
		redis-cli -p "${PORT[$kind]}" flushall >/dev/null
	done
	for t in ${TESTS//,/ }; do
		for kind in redis base new; do
			c0=$(cpu_ticks "${PID[$kind]}")
			out=$(redis-benchmark -p "${PORT[$kind]}" -t "$t" -n "$REQUESTS" -c 50 -P "$PIPELINE" -r 100000 --csv 2>/dev/null)
			c1=$(cpu_ticks "${PID[$kind]}")
			echo "$out" | awk -F'","' -v s="$kind" -v cpu="$((c1 - c0))" -v hz="$hz" -v n="$REQUESTS" '
				NR > 1 { gsub(/"/, ""); split($0, f, ","); line[++k] = s "," f[1] "," f[2] }
				END { for (i = 1; i <= k; i++) printf "%s,%.3f\n", line[i], cpu * 1e6 / hz / (n * k) }' >>"$results"
		done
	done
done

echo
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); base $(git rev-parse --short "$BASE"), new $(git rev-parse --short HEAD)$(git diff --quiet HEAD 2>/dev/null || echo '+changes'); $ROUNDS rounds, -n $REQUESTS -P $PIPELINE -c 50 -r 100000"
grep -v 'needed to benchmark' "$results" | sed 's/LRANGE_100 (first 100 elements)/LRANGE_100/' | awk -F, '
function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{ if (!($2 in seen)) { seen[$2] = 1; order[++nt] = $2 } n = ++cnt[$1, $2]; rps[$1, $2, n] = $3; cpu[$1, $2, n] = $4 }
END {
	printf "%-10s | %-6s | %-27s | %-11s | %-13s\n", "test", "server", "rps (median, min-max)", "CPU µs/req", "vs redis rps/CPU"
	for (o = 1; o <= nt; o++) {
		t = order[o]
		split("redis base new", ks, " ")
		for (s = 1; s <= 3; s++) {
			k = ks[s]; n = cnt[k, t]; lo = 1e18; hi = 0
			for (j = 1; j <= n; j++) { a[j] = rps[k, t, j]; if (a[j] < lo) lo = a[j]; if (a[j] > hi) hi = a[j]; c[j] = cpu[k, t, j] }
			mr[k] = median(a, n); mc[k] = median(c, n)
			ratio = (k == "redis") ? "" : sprintf("%.2fx / %.2fx", mr[k] / mr["redis"], mc["redis"] / mc[k])
			printf "%-10s | %-6s | %9.0f (%7.0f-%7.0f) | %11.3f | %s\n", t, k, mr[k], lo, hi, mc[k], ratio
		}
	}
}'
