#!/usr/bin/env bash
# Hashes, sets, sorted sets and lists, data-cluster side by side with
# redis-server on this machine in one run: the speed and memory goals of
# issues #14 and #15.
#
#  1. Throughput: `redis-benchmark -t
#     sadd,hset,spop,zadd,zpopmin,lpush,rpop,lrange_100 -P 16 -c 50 -r 100000
#     -n REQUESTS` against each server, alternating servers round by round,
#     each run on an empty keyspace. redis-benchmark sends `SADD myset
#     element:__rand_int__`, `HSET myhash element:__rand_int__ <3 bytes>`,
#     `SPOP myset`, `ZADD myzset __rand_int__ element:__rand_int__`,
#     `ZPOPMIN myzset`, `LPUSH mylist <3 bytes>`, `RPOP mylist` and, after
#     another REQUESTS LPUSHes, `LRANGE mylist 0 99`: one key each, so one
#     shard does all the work. Medians with min–max, and the ratio
#     data-cluster/redis (goal ≥ 1.0). Each test is its own redis-benchmark
#     run, so that each server's CPU time (user + system, from
#     /proc/<pid>/stat) per request is measured too, and the ratio
#     redis/data-cluster of those (≥ 1.0: data-cluster spends no more CPU
#     per request): when others load the machine, requests/s swing with
#     the CPU a server gets, the CPU it spends per request far less. Also
#     redis-benchmark's own CPU time per request against each server (the
#     shell's `times`): at -P 16 the client, one thread, is busy all the
#     time, so requests/s follow 1 / its CPU per request.
#  2. Resident memory per element: for each data set, a fresh server of each
#     kind, RSS (VmRSS) read SETTLE seconds after it answers, then the data set loaded
#     pipelined by bench/loadcoll.go, RSS read again SETTLE seconds later;
#     (after − before) / elements (goal: ratio ≤ 1.0). Data sets: KEYS
#     hashes of 10 fields (field:<j> = value:<i>), KEYS sets of 10 integers
#     below 1000 (intsets), one hash of BIG fields, one sorted set of BIG
#     members (member:<i>, scattered integer scores), LISTS lists of
#     LIST_ELEMS elements of 16 bytes (pushed 100 at a time, every list in
#     turn). Also each server's own
#     figures: INFO's used_memory growth per element, and MEMORY USAGE of
#     one key per element.
#
# Usage: bench/collections.sh [rounds]     (default 3 rounds per server)
# Environment: REQUESTS (per test, default 1000000), CLIENTS (50),
#   PIPELINE (16), RANGE (100000, redis-benchmark -r), KEYS (100000),
#   BIG (1000000), LISTS (1000), LIST_ELEMS (1000), SETTLE (3 seconds),
#   TESTS (the redis-benchmark tests), DATASETS (the memory data sets, from
#   "hashes sets bighash bigzset lists"), MEM_RUNS (1: fresh servers per data
#   set and kind, the median reported), DC_FLAGS (extra data-cluster flags),
#   METRICS_PORT (when set, data-cluster's --metrics-addr port for the
#   throughput runs, to profile them).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
REQUESTS=${REQUESTS:-1000000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-16}
RANGE=${RANGE:-100000}
KEYS=${KEYS:-100000}
BIG=${BIG:-1000000}
LISTS=${LISTS:-1000}
LIST_ELEMS=${LIST_ELEMS:-1000}
SETTLE=${SETTLE:-3}
TESTS=${TESTS:-sadd,hset,spop,zadd,zpopmin,lpush,rpop,lrange_100}
MEM_RUNS=${MEM_RUNS:-1}
# 50 clients × 16 pipelined commands are 800 in flight, all for one key and
# so one shard: give its queue room for them, or part of every run would be
# answered BUSY.
DC_FLAGS=${DC_FLAGS:-"--router-queue 8192 --shard-queue 8192"}
METRICS_PORT=${METRICS_PORT:-}

# shellcheck source=bench/lib.sh
source bench/lib.sh

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
used_memory() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" {print $2}'; }

echo "building data-cluster and bench/loadcoll.go…" >&2
go build -o "$work/data-cluster" ./cmd/data-cluster
go build -o "$work/loadcoll" bench/loadcoll.go

# start kind [metrics]: starts a fresh server of kind redis or data-cluster
# on a free port, sets port and pid, and waits until it answers. Not in a
# subshell, so that the cleanup trap knows the server.
start() {
	local extra=()
	port=$(free_port)
	if [ "$1" = redis ]; then
		redis-server --port "$port" --save '' --appendonly no --dir "$work" --logfile "$work/redis-$port.log" >/dev/null &
	else
		if [ -n "$METRICS_PORT" ] && [ "${2:-}" = metrics ]; then extra=(--metrics-addr "127.0.0.1:$METRICS_PORT"); fi
		# shellcheck disable=SC2086
		"$work/data-cluster" --addr "127.0.0.1:$port" "${extra[@]}" $DC_FLAGS >/dev/null 2>>"$work/dc.log" &
	fi
	pid=$!
	pids+=("$pid")
	wait_port "$port"
}

start redis
RP=$port RPID=$pid
start data-cluster metrics
DP=$port DPID=$pid

hz=$(getconf CLK_TCK)

results="$work/results.csv" # server,test,rps,p50,p99,cpu-µs/request
: >"$results"
run() { # server port pid
	local t c0 c1 out
	redis-cli -p "$2" flushall >/dev/null
	# One test at a time, in order, so that each has its server's CPU time
	# per request: on a shared machine a steadier figure than requests/s.
	for t in ${TESTS//,/ }; do
		c0=$(cpu_ticks "$3")
		# `times` in the same subshell: the CPU time of its child,
		# redis-benchmark, on its last line ("0m1.234s 0m0.567s").
		out=$(redis-benchmark -p "$2" -t "$t" -n "$REQUESTS" -c "$CLIENTS" -P "$PIPELINE" -r "$RANGE" --csv 2>/dev/null; times)
		c1=$(cpu_ticks "$3")
		client=$(echo "$out" | tail -n 1 | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); sub(/s$/, "", p[2]); t += p[1] * 60 + p[2] } printf "%.3f", t }')
		# LRANGE's run also pushes REQUESTS elements first: its CPU time
		# is shared out over every request of the run.
		echo "$out" | head -n -2 | awk -F'","' -v s="$1" -v cpu="$((c1 - c0))" -v hz="$hz" -v n="$REQUESTS" -v client="$client" '
			NR > 1 { gsub(/"/, ""); split($0, f, ","); line[++k] = s "," f[1] "," f[2] "," f[5] "," f[7] }
			END { for (i = 1; i <= k; i++) printf "%s,%.3f,%.3f\n", line[i], cpu * 1e6 / hz / (n * k), client * 1e6 / (n * k) }' >>"$results"
	done
}
for round in $(seq 1 "$ROUNDS"); do
	echo "round $round: $TESTS -P $PIPELINE" >&2
	run redis "$RP" "$RPID"
	run data-cluster "$DP" "$DPID"
done
# The hash redis-benchmark filled must read back alike from both servers.
for port in "$RP" "$DP"; do
	redis-cli -p "$port" flushall >/dev/null
	redis-benchmark -p "$port" -t hset -n 20000 -c 1 -P 16 -r 1000 -q >/dev/null 2>&1
done
r_hlen=$(redis-cli -p "$RP" hlen myhash)
d_hlen=$(redis-cli -p "$DP" hlen myhash)
r_field=$(redis-cli -p "$RP" hget myhash element:000000000001)
d_field=$(redis-cli -p "$DP" hget myhash element:000000000001)

# measure kind dataset: loads dataset into a fresh server and appends to
# $mem "dataset kind bytes/element elements rss-MiB used_memory/element
# memory-usage/element".
mem="$work/memory.txt"
: >"$mem"
measure() {
	local before after ubefore uafter n key per_key usage args
	start "$1"
	# Settled as after loading: data-cluster gives back what starting it
	# left free (--idle-release) within two seconds.
	sleep "$SETTLE"
	before=$(rss_kb "$pid")
	ubefore=$(used_memory "$port")
	case $2 in
	hashes) args=(-kind hashes -keys "$KEYS" -elems 10) key=hash:7 per_key=10 ;;
	sets) args=(-kind sets -keys "$KEYS" -elems 10) key=set:7 per_key=10 ;;
	bighash) args=(-kind bighash -elems "$BIG") key=bighash per_key=$BIG ;;
	bigzset) args=(-kind bigzset -elems "$BIG") key=bigzset per_key=$BIG ;;
	lists) args=(-kind lists -keys "$LISTS" -elems "$LIST_ELEMS") key=list:7 per_key=$LIST_ELEMS ;;
	esac
	n=$("$work/loadcoll" -addr "127.0.0.1:$port" "${args[@]}" 2>>"$work/load.log")
	sleep "$SETTLE"
	after=$(rss_kb "$pid")
	uafter=$(used_memory "$port")
	usage=$(redis-cli -p "$port" memory usage "$key")
	kill "$pid"
	awk -v d="$2" -v k="$1" -v a="$after" -v b="$before" -v n="$n" -v ua="$uafter" -v ub="$ubefore" -v u="$usage" -v pk="$per_key" \
		'BEGIN { printf "%s %s %.1f %d %.1f %.1f %.1f\n", d, k, (a - b) * 1024 / n, n, a / 1024, (ua - ub) / n, u / pk }' >>"$mem"
}
for ds in ${DATASETS:-hashes sets bighash bigzset lists}; do
	for run in $(seq 1 "$MEM_RUNS"); do
		for kind in redis data-cluster; do
			echo "memory: $ds into a fresh $kind ($run of $MEM_RUNS)…" >&2
			measure "$kind" "$ds"
		done
	done
done

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(redis-server --version | awk '{print $1, $2, $3}'); data-cluster $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes')"
echo "redis-benchmark -t $TESTS -P $PIPELINE -c $CLIENTS -r $RANGE -n $REQUESTS, $ROUNDS rounds alternating, each on an empty keyspace; data-cluster flags: $DC_FLAGS"
echo
# The LPUSH that fills the list for LRANGE is not a test of its own.
grep -v 'needed to benchmark' "$results" | sed 's/LRANGE_100 (first 100 elements)/LRANGE_100/' | sort -t, -k2,2 | awk -F, '
function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{ k = $2; keys[k] = 1; n = ++cnt[$1, k]; rps[$1, k, n] = $3; p50[$1, k, n] = $4; p99[$1, k, n] = $5; cpu[$1, k, n] = $6; ccpu[$1, k, n] = $7 }
END {
	printf "%-10s | %-28s | %-28s | %6s | %-17s | %-17s | %-25s | %s\n", "test", "redis rps (median, min-max)", "data-cluster rps", "ratio", "p50 ms redis/dc", "p99 ms redis/dc", "CPU µs/request redis/dc", "client CPU µs/request redis/dc"
	printf "%s\n", "-----------+------------------------------+------------------------------+--------+-------------------+-------------------+---------------------------+-------------------------------"
	n_order = split("SADD HSET SPOP ZADD ZPOPMIN LPUSH RPOP LRANGE_100", order, " ")
	for (o = 1; o <= n_order; o++) {
		k = order[o]; if (!(k in keys)) continue
		for (s = 1; s <= 2; s++) {
			srv = (s == 1) ? "redis" : "data-cluster"; n = cnt[srv, k]
			lo = 1e18; hi = 0
			for (j = 1; j <= n; j++) { a[j] = rps[srv, k, j]; if (a[j] < lo) lo = a[j]; if (a[j] > hi) hi = a[j]; b[j] = p50[srv, k, j]; c[j] = p99[srv, k, j]; d[j] = cpu[srv, k, j]; e[j] = ccpu[srv, k, j] }
			med[s] = median(a, n); mn[s] = lo; mx[s] = hi; m50[s] = median(b, n); m99[s] = median(c, n); mcpu[s] = median(d, n); mc[s] = median(e, n)
		}
		printf "%-10s | %9.0f (%7.0f-%7.0f) | %9.0f (%7.0f-%7.0f) | %5.2fx | %7.3f / %7.3f | %7.3f / %7.3f | %5.3f / %5.3f (%5.2fx) | %5.3f / %5.3f\n", k, med[1], mn[1], mx[1], med[2], mn[2], mx[2], med[2] / med[1], m50[1], m50[2], m99[1], m99[2], mcpu[1], mcpu[2], (mcpu[2] > 0 ? mcpu[1] / mcpu[2] : 0), mc[1], mc[2]
	}
}'
echo
echo "HSET myhash element:__rand_int__ (20000 HSETs over 1000 fields): HLEN redis $r_hlen, data-cluster $d_hlen; HGET of one field: redis '$r_field', data-cluster '$d_field'"
echo
echo "resident bytes per element (RSS growth / elements; fresh server each; RSS read ${SETTLE}s after loading; median of $MEM_RUNS, with min-max):"
printf "%-48s | %-29s | %-29s | %6s | %-21s | %-21s\n" "data set" "redis B/elem (RSS, min-max)" "data-cluster B/elem" "ratio" "used_memory redis/dc" "MEMORY USAGE redis/dc"
printf "%s\n" "-------------------------------------------------+-------------------------------+-------------------------------+--------+-----------------------+----------------------"
awk -v keys="$KEYS" -v big="$BIG" -v lists="$LISTS" -v lelems="$LIST_ELEMS" '
function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{ ds = $1; srv = $2; r = ++runs[ds, srv]; all[ds, srv, r] = $3; n[ds] = $4; rss[ds, srv] = $5; um[ds, srv] = $6; mu[ds, srv] = $7 }
END {
	for (k in runs) {
		split(k, p, SUBSEP); m = runs[k]; lo = 1e18; hi = 0
		for (j = 1; j <= m; j++) { a[j] = all[p[1], p[2], j]; if (a[j] < lo) lo = a[j]; if (a[j] > hi) hi = a[j] }
		bpe[k] = median(a, m); mn[k] = lo; mx[k] = hi
	}
	name["hashes"] = keys " hashes of 10 short fields"; name["sets"] = keys " sets of 10 small integers"; name["bighash"] = "one hash of " big " fields"; name["bigzset"] = "one sorted set of " big " members"
	name["lists"] = lists " lists of " lelems " elements of 16 bytes"
	split("hashes sets bighash bigzset lists", order, " ")
	for (o = 1; o <= 5; o++) {
		d = order[o]; if (!((d, "redis") in bpe)) continue
		printf "%-48s | %6.1f (%5.1f-%5.1f) %5.1f MiB | %6.1f (%5.1f-%5.1f) %5.1f MiB | %5.2fx | %9.1f / %9.1f | %9.1f / %9.1f\n", name[d] " (" n[d] " elements)", bpe[d, "redis"], mn[d, "redis"], mx[d, "redis"], rss[d, "redis"], bpe[d, "data-cluster"], mn[d, "data-cluster"], mx[d, "data-cluster"], rss[d, "data-cluster"], bpe[d, "data-cluster"] / bpe[d, "redis"], um[d, "redis"], um[d, "data-cluster"], mu[d, "redis"], mu[d, "data-cluster"]
	}
}' "$mem"
