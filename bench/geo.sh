#!/usr/bin/env bash
# GEOSEARCH, data-cluster side by side with redis-server on this machine.
#
# Both servers get the same POINTS random points (a fixed seed), spread
# evenly over a box of ±5° around (14, 37.5) in one key, loaded with
# redis-cli --pipe. Then, alternating servers round by round,
# `redis-benchmark -P 16 -c 50 -n REQUESTS` of
#   GEOSEARCH geo FROMLONLAT 14 37.5 BYRADIUS RADIUS km
# which returns about 30 members with the defaults (the count each server
# returns is printed and must be equal). Medians with min–max, and the
# ratio data-cluster/redis.
#
# Usage: bench/geo.sh [rounds]     (default 3 rounds per server)
# Environment: REQUESTS (per run, default 200000), CLIENTS (50), PIPELINE
#   (16), POINTS (100000), RADIUS (10, in km), DC_FLAGS (extra data-cluster
#   flags).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-16}
POINTS=${POINTS:-100000}
RADIUS=${RADIUS:-10}
# Every search reads the one key, so one shard: give its queue room for the
# 800 commands in flight, or part of every run would be answered BUSY.
DC_FLAGS=${DC_FLAGS:-"--router-queue 8192 --shard-queue 8192"}

# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "building data-cluster…" >&2
go build -o "$work/data-cluster" ./cmd/data-cluster

# The points, as RESP GEOADD commands of 100 points each.
awk -v n="$POINTS" 'BEGIN {
	srand(42)
	for (i = 0; i < n; i += 100) {
		m = (n - i < 100) ? n - i : 100
		printf "*%d\r\n$6\r\nGEOADD\r\n$3\r\ngeo\r\n", 2 + 3 * m
		for (j = i; j < i + m; j++) {
			lon = sprintf("%.6f", 9 + rand() * 10); lat = sprintf("%.6f", 32.5 + rand() * 10); name = "p" j
			printf "$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(lon), lon, length(lat), lat, length(name), name
		}
	}
}' >"$work/points.resp"

query=(GEOSEARCH geo FROMLONLAT 14 37.5 BYRADIUS "$RADIUS" km)
start redis
RP=$port
start data-cluster
DP=$port
for p in "$RP" "$DP"; do
	redis-cli -p "$p" --pipe <"$work/points.resp" >/dev/null
done
r_card=$(redis-cli -p "$RP" zcard geo)
d_card=$(redis-cli -p "$DP" zcard geo)
r_found=$(redis-cli -p "$RP" "${query[@]}" | wc -l)
d_found=$(redis-cli -p "$DP" "${query[@]}" | wc -l)
r_sum=$(redis-cli -p "$RP" "${query[@]}" withdist | md5sum | cut -c1-12)
d_sum=$(redis-cli -p "$DP" "${query[@]}" withdist | md5sum | cut -c1-12)

results="$work/results.txt" # server rps
: >"$results"
run() { # server port
	redis-benchmark -p "$2" -n "$REQUESTS" -c "$CLIENTS" -P "$PIPELINE" --csv "${query[@]}" 2>/dev/null |
		awk -F'","' -v s="$1" 'NR > 1 { gsub(/"/, ""); split($0, f, ","); print s, f[2] }' >>"$results"
}
for round in $(seq 1 "$ROUNDS"); do
	echo "round $round: ${query[*]} -P $PIPELINE" >&2
	run redis "$RP"
	run data-cluster "$DP"
done

echo
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(redis-server --version | awk '{print $1, $2, $3}'); data-cluster $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes')"
echo "redis-benchmark -P $PIPELINE -c $CLIENTS -n $REQUESTS ${query[*]}, $ROUNDS rounds alternating; data-cluster flags: $DC_FLAGS"
echo "points: redis $r_card, data-cluster $d_card; members found: redis $r_found, data-cluster $d_found; reply WITHDIST md5: redis $r_sum, data-cluster $d_sum"
awk '
function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{ n = ++cnt[$1]; v[$1, n] = $2; if (!($1 in lo) || $2 < lo[$1]) lo[$1] = $2; if ($2 > hi[$1]) hi[$1] = $2 }
END {
	for (s = 1; s <= 2; s++) { srv = (s == 1) ? "redis" : "data-cluster"; for (j = 1; j <= cnt[srv]; j++) a[j] = v[srv, j]; med[s] = median(a, cnt[srv]) }
	printf "GEOSEARCH rps (median, min-max): redis %.0f (%.0f-%.0f), data-cluster %.0f (%.0f-%.0f), ratio %.2fx\n", med[1], lo["redis"], hi["redis"], med[2], lo["data-cluster"], hi["data-cluster"], med[2] / med[1]
}' "$results"
