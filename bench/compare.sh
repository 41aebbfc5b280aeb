#!/usr/bin/env bash
# Compares data-cluster with redis-server side by side on this machine: the
# same redis-benchmark client, the same run, alternating servers round by
# round. Prints medians with min–max, the ratio data-cluster/redis, and the
# resident bytes per key after the same fill.
#
# Usage: bench/compare.sh [rounds]        (default 3 rounds per server)
# Environment: REQUESTS (per test, default 200000), CLIENTS (50),
#   PIPELINES ("1 16 64"), KEYSPACE (1000000), VALUE_SIZE (16),
#   FILL_REQUESTS (3000000), DC_FLAGS (extra data-cluster flags).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
REQUESTS=${REQUESTS:-200000}
CLIENTS=${CLIENTS:-50}
PIPELINES=${PIPELINES:-"1 16 64"}
KEYSPACE=${KEYSPACE:-1000000}
VALUE_SIZE=${VALUE_SIZE:-16}
FILL_REQUESTS=${FILL_REQUESTS:-3000000}
# 50 clients × 64 pipelined commands are 3200 in flight: give the router
# room for them, or part of every P64 run would be answered BUSY.
DC_FLAGS=${DC_FLAGS:-"--router-queue 8192 --shard-queue 8192"}

# shellcheck source=bench/lib.sh
source bench/lib.sh

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

echo "building data-cluster…" >&2
go build -o "$work/data-cluster" ./cmd/data-cluster

RP=$(free_port)
redis-server --port "$RP" --save '' --appendonly no --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
RPID=$!
DP=$(free_port)
# shellcheck disable=SC2086
"$work/data-cluster" --addr "127.0.0.1:$DP" $DC_FLAGS >/dev/null 2>"$work/dc.log" &
pids+=($!)
DPID=$!
wait_port "$RP"
wait_port "$DP"

results="$work/results.csv" # server,test,pipeline,rps,p50,p99
: >"$results"
run() { # server port test pipeline
	redis-benchmark -p "$2" -t "$3" -n "$REQUESTS" -c "$CLIENTS" -P "$4" -r "$KEYSPACE" -d "$VALUE_SIZE" --csv 2>/dev/null |
		awk -F'","' -v s="$1" -v p="$4" 'NR > 1 { gsub(/"/, ""); split($0, f, ","); print s "," f[1] "," p "," f[2] "," f[5] "," f[7] }' >>"$results"
}

for round in $(seq 1 "$ROUNDS"); do
	for p in $PIPELINES; do
		for t in set get; do
			echo "round $round: $t -P $p" >&2
			run redis "$RP" "$t" "$p"
			run data-cluster "$DP" "$t" "$p"
		done
	done
done

# Bytes per key: the same fill into a freshly started server of each kind,
# resident memory growth over the keys stored. Fresh processes, because
# neither server gives all freed memory back to the system at once.
bytes_per_key() { # kind
	local port pid before after keys
	port=$(free_port)
	if [ "$1" = redis ]; then
		redis-server --port "$port" --save '' --appendonly no --dir "$work" --logfile "$work/redis-fill.log" &
	else
		# shellcheck disable=SC2086
		"$work/data-cluster" --addr "127.0.0.1:$port" $DC_FLAGS >/dev/null 2>>"$work/dc.log" &
	fi
	pid=$!
	pids+=("$pid")
	wait_port "$port"
	before=$(rss_kb "$pid")
	redis-benchmark -p "$port" -t set -n "$FILL_REQUESTS" -c "$CLIENTS" -P 16 -r "$KEYSPACE" -d "$VALUE_SIZE" -q >/dev/null 2>&1
	sleep 1
	after=$(rss_kb "$pid")
	keys=$(redis-cli -p "$port" dbsize)
	kill "$pid"
	awk -v a="$after" -v b="$before" -v k="$keys" 'BEGIN { printf "%.1f %d %.1f", (a - b) * 1024 / k, k, a / 1024 }'
}
echo "filling fresh servers for bytes per key…" >&2
read -r r_bpk r_keys r_rss <<<"$(bytes_per_key redis)"
read -r d_bpk d_keys d_rss <<<"$(bytes_per_key data-cluster)"

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(redis-server --version | awk '{print $1, $2, $3}'); data-cluster $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "redis-benchmark -c $CLIENTS -n $REQUESTS -r $KEYSPACE -d $VALUE_SIZE, $ROUNDS rounds alternating; data-cluster flags: $DC_FLAGS"
echo
sort -t, -k2,2 -k3,3n "$results" | awk -F, '
function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{
	k = $2 " -P" $3; keys[k] = 1; order[k] = $2 "," sprintf("%03d", $3)
	n = ++cnt[$1, k]; rps[$1, k, n] = $4; p50[$1, k, n] = $5; p99[$1, k, n] = $6
}
END {
	printf "%-10s | %-28s | %-28s | %6s | %-17s | %-17s\n", "test", "redis rps (median, min-max)", "data-cluster rps", "ratio", "p50 ms redis/dc", "p99 ms redis/dc"
	printf "%s\n", "-----------+------------------------------+------------------------------+--------+-------------------+------------------"
	m = 0; for (k in keys) sorted[++m] = order[k] "|" k
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (sorted[j] < sorted[i]) { t = sorted[i]; sorted[i] = sorted[j]; sorted[j] = t }
	for (i = 1; i <= m; i++) {
		split(sorted[i], parts, "|"); k = parts[2]
		for (s = 1; s <= 2; s++) {
			srv = (s == 1) ? "redis" : "data-cluster"; n = cnt[srv, k]
			lo = 1e18; hi = 0
			for (j = 1; j <= n; j++) { a[j] = rps[srv, k, j]; if (a[j] < lo) lo = a[j]; if (a[j] > hi) hi = a[j]; b[j] = p50[srv, k, j]; c[j] = p99[srv, k, j] }
			med[s] = median(a, n); mn[s] = lo; mx[s] = hi; m50[s] = median(b, n); m99[s] = median(c, n)
		}
		printf "%-10s | %9.0f (%7.0f-%7.0f) | %9.0f (%7.0f-%7.0f) | %5.2fx | %7.3f / %7.3f | %7.3f / %7.3f\n", k, med[1], mn[1], mx[1], med[2], mn[2], mx[2], med[2] / med[1], m50[1], m50[2], m99[1], m99[2]
	}
}'
echo
printf "bytes per key after %s SETs over %s keys (%s-byte values): redis %s B/key (%s keys, RSS %s MiB), data-cluster %s B/key (%s keys, RSS %s MiB), ratio %s\n" \
	"$FILL_REQUESTS" "$KEYSPACE" "$VALUE_SIZE" "$r_bpk" "$r_keys" "$r_rss" "$d_bpk" "$d_keys" "$d_rss" \
	"$(awk -v d="$d_bpk" -v r="$r_bpk" 'BEGIN { printf "%.2fx", d / r }')"
