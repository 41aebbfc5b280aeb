#!/usr/bin/env bash
# Compares a three-node data-cluster with a Redis Cluster on this machine,
# every process on loopback:
#
#   data-cluster  3 nodes (ports 7001-7003, peers 17001-17003), 3 shards of
#                 3 replicas each, --fsync everysec (or FSYNC): a write is acknowledged
#                 once a majority of its shard's replicas logged it
#   redis         6 redis-server (ports 30001-30006): 3 masters with one
#                 replica each, --appendonly yes --appendfsync everysec (or FSYNC);
#                 replication is asynchronous
#
#  1. Throughput and latency: the same `redis-benchmark --cluster` runs
#     (SET, then GET; -P 1 and -P 16) against each, alternating which goes
#     first round by round. Prints medians with min–max, the ratios
#     data-cluster/redis, and the CPU time all of a cluster's processes
#     spent per request (utime+stime from /proc/PID/stat).
#  2. Failover window: bench/failover writes through go-redis's
#     ClusterClient (state reloaded every 100 ms), SIGKILLs a node, and
#     reports when every shard took writes again. data-cluster loses the
#     node leading most shards; Redis loses a master, whose replica takes
#     over after --cluster-node-timeout (REDIS_NODE_TIMEOUT ms).
#
# Each run's figures go to stderr as it ends, the summary to stdout.
#
# redis-benchmark --cluster notices the end of a run on a 250 ms timer, so
# a run should last seconds: rates from runs under 2 s are marked '*'.
#
# Usage: bench/cluster.sh                         (about 10 minutes)
#        ROUNDS=1 REQUESTS=20000 REQUESTS_PIPELINED=50000 bench/cluster.sh
#                                                 (a quick check of the script)
# Environment: ROUNDS (3), REQUESTS (per unpipelined run, 200000),
#   REQUESTS_PIPELINED (per pipelined run, 1000000), CLIENTS (50),
#   PIPELINES ("1 16"), KEYSPACE (1000000), VALUE_SIZE (16),
#   FSYNC (everysec; always or no: both clusters' fsync policy),
#   REDIS_NODE_TIMEOUT (15000, Redis's default), FAILOVER (1; 0 skips
#   part 2), DC_FLAGS (extra data-cluster flags), DC_BIN (a data-cluster
#   binary to run instead of building this tree's, e.g. another commit's
#   build to compare with in the same session).
# Installs redis-server and redis-tools with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-200000}
REQUESTS_PIPELINED=${REQUESTS_PIPELINED:-1000000}
CLIENTS=${CLIENTS:-50}
PIPELINES=${PIPELINES:-"1 16"}
KEYSPACE=${KEYSPACE:-1000000}
VALUE_SIZE=${VALUE_SIZE:-16}
FSYNC=${FSYNC:-everysec}
REDIS_NODE_TIMEOUT=${REDIS_NODE_TIMEOUT:-15000}
FAILOVER=${FAILOVER:-1}
DC_FLAGS=${DC_FLAGS:-""}
DC_BIN=${DC_BIN:-""}

DC_PORTS=(7001 7002 7003)
DC_PEERS=(17001 17002 17003)
REDIS_PORTS=(30001 30002 30003 30004 30005 30006)

# shellcheck source=bench/lib.sh
source bench/lib.sh

for p in "${DC_PORTS[@]}" "${DC_PEERS[@]}" "${REDIS_PORTS[@]}"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		echo "port $p is in use; this benchmark needs ports ${DC_PORTS[*]} ${DC_PEERS[*]} ${REDIS_PORTS[*]}" >&2
		exit 1
	fi
done

echo "building data-cluster and bench/failover…" >&2
if [ -n "$DC_BIN" ]; then
	cp "$DC_BIN" "$work/data-cluster"
else
	CGO_ENABLED=0 go build -o "$work/data-cluster" ./cmd/data-cluster
fi
go build -o "$work/failover" ./bench/failover

echo "starting data-cluster: 3 nodes…" >&2
dc_pids=()
initial="n1=127.0.0.1:${DC_PEERS[0]},n2=127.0.0.1:${DC_PEERS[1]},n3=127.0.0.1:${DC_PEERS[2]}"
for i in 0 1 2; do
	# shellcheck disable=SC2086
	"$work/data-cluster" --node-id "n$((i + 1))" --addr "127.0.0.1:${DC_PORTS[i]}" --peer-addr "127.0.0.1:${DC_PEERS[i]}" \
		--initial-cluster "$initial" --data-dir "$work/dc-n$((i + 1))" --fsync "$FSYNC" $DC_FLAGS \
		>/dev/null 2>"$work/dc-n$((i + 1)).log" &
	pids+=($!)
	dc_pids+=($!)
done

echo "starting redis: 6 redis-server in cluster mode…" >&2
redis_pids=()
for p in "${REDIS_PORTS[@]}"; do
	mkdir -p "$work/redis-$p"
	redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes.conf \
		--cluster-node-timeout "$REDIS_NODE_TIMEOUT" --appendonly yes --appendfsync "$FSYNC" --save '' \
		--dir "$work/redis-$p" --logfile "$work/redis-$p.log" &
	pids+=($!)
	redis_pids+=($!)
done
for p in "${REDIS_PORTS[@]}"; do wait_port "$p"; done
redis_nodes=()
for p in "${REDIS_PORTS[@]}"; do redis_nodes+=("127.0.0.1:$p"); done
redis-cli --cluster create "${redis_nodes[@]}" --cluster-replicas 1 --cluster-yes >"$work/redis-create.log" 2>&1 || {
	cat "$work/redis-create.log" >&2
	exit 1
}
for p in "${REDIS_PORTS[@]}"; do wait_ok "$p"; done
# Every master has its replica attached before the first request.
for p in "${REDIS_PORTS[@]}"; do
	if redis-cli -p "$p" role | head -1 | grep -qx master; then
		for _ in $(seq 1 600); do
			redis-cli -p "$p" info replication | tr -d '\r' | grep -q '^slave0:.*state=online' && break
			sleep 0.05
		done
	fi
done
for p in "${DC_PORTS[@]}"; do wait_ok "$p"; done
wait_spread "${DC_PORTS[@]}"

clk_tck=$(getconf CLK_TCK)

results="$work/results.csv" # server,test,pipeline,rps,p50,p99,cpu_us_per_request,requests,faults_per_request,client_cpu_us_per_request
: >"$results"
run() { # server port test pipeline
	local server=$1 port=$2 t=$3 p=$4 n=$REQUESTS before after out
	[ "$p" -gt 1 ] && n=$REQUESTS_PIPELINED
	local procs=("${dc_pids[@]}")
	[ "$server" = redis ] && procs=("${redis_pids[@]}")
	before=$(cpu_ticks "${procs[@]}")
	faults_before=$(minor_faults "${procs[@]}")
	# The subshell's `times` gives its child's CPU time: redis-benchmark's.
	out=$(
		redis-benchmark --cluster -p "$port" -t "$t" -n "$n" -c "$CLIENTS" -P "$p" -r "$KEYSPACE" -d "$VALUE_SIZE" --csv 2>>"$work/benchmark.err"
		times >"$work/times"
	)
	after=$(cpu_ticks "${procs[@]}")
	faults=$(($(minor_faults "${procs[@]}") - faults_before))
	client=$(awk -v n="$n" 'function sec(x, a) { sub(/s$/, "", x); split(x, a, "m"); return a[1] * 60 + a[2] }
		NR == 2 { printf "%.2f", (sec($1) + sec($2)) * 1e6 / n }' "$work/times")
	awk -F'","' -v s="$server" -v p="$p" -v cpu="$((after - before))" -v hz="$clk_tck" -v n="$n" -v faults="$faults" -v client="$client" '
		/^"(SET|GET)"/ { gsub(/"/, ""); split($0, f, ","); printf "%s,%s,%s,%s,%s,%s,%.2f,%d,%.3f,%s\n", s, f[1], p, f[2], f[5], f[7], cpu * 1e6 / hz / n, n, faults / n, client }' \
		<<<"$out" | tee -a "$results" | awk -F, '{ printf "  %-12s %s -P %s: %s rps, p50 %s ms, p99 %s ms, CPU %s µs/req (client %s), %s page faults/req\n", $1, $2, $3, $4, $5, $6, $7, $10, $9 }' >&2
}

for round in $(seq 1 "$ROUNDS"); do
	for p in $PIPELINES; do
		for t in set get; do
			echo "round $round: $t -P $p" >&2
			if [ $((round % 2)) = 1 ]; then
				run redis "${REDIS_PORTS[0]}" "$t" "$p"
				run data-cluster "${DC_PORTS[0]}" "$t" "$p"
			else
				run data-cluster "${DC_PORTS[0]}" "$t" "$p"
				run redis "${REDIS_PORTS[0]}" "$t" "$p"
			fi
		done
	done
done

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(redis-server --version | awk '{print $1, $2, $3}'); data-cluster ${DC_BIN:-$(git rev-parse --short HEAD 2>/dev/null || echo '?')}"
echo "redis-benchmark --cluster -c $CLIENTS -n $REQUESTS (-P 1), $REQUESTS_PIPELINED (pipelined) -r $KEYSPACE -d $VALUE_SIZE, $ROUNDS rounds alternating"
echo "data-cluster: 3 nodes, 3 shards × 3 replicas, --fsync $FSYNC $DC_FLAGS; redis: 3 masters + 3 replicas, appendfsync $FSYNC"
echo "CPU: µs of user+system time of all the cluster's processes per request; client: redis-benchmark's; faults: the cluster's minor page faults per request"
echo
sort -t, -k2,2 -k3,3n "$results" | awk -F, '
function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
function ratio(d, r) { return r > 0 ? sprintf("%5.2fx", d / r) : "    -" }
{
	k = $2 " -P" $3; keys[k] = 1; order[k] = $2 "," sprintf("%03d", $3)
	n = ++cnt[$1, k]; rps[$1, k, n] = $4; p50[$1, k, n] = $5; p99[$1, k, n] = $6; cpu[$1, k, n] = $7; flt[$1, k, n] = $9; cli[$1, k, n] = $10
	if ($4 > 0 && $8 / $4 < 2) short[$1, k] = 1
}
END {
	printf "%-9s | %-26s | %-26s | %6s | %-23s | %-23s | %-27s | %-13s | %s\n", "test", "redis rps (median, min-max)", "data-cluster rps", "ratio", "p50 ms redis/dc (ratio)", "p99 ms redis/dc (ratio)", "CPU µs/req redis/dc (ratio)", "client µs/req", "faults/req redis/dc"
	printf "%s\n", "----------+----------------------------+----------------------------+--------+-------------------------+-------------------------+----------------------------+---------------+--------------------"
	m = 0; for (k in keys) sorted[++m] = order[k] "|" k
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (sorted[j] < sorted[i]) { t = sorted[i]; sorted[i] = sorted[j]; sorted[j] = t }
	for (i = 1; i <= m; i++) {
		split(sorted[i], parts, "|"); k = parts[2]
		for (s = 1; s <= 2; s++) {
			srv = (s == 1) ? "redis" : "data-cluster"; n = cnt[srv, k]
			lo = 1e18; hi = 0
			for (j = 1; j <= n; j++) { a[j] = rps[srv, k, j]; if (a[j] < lo) lo = a[j]; if (a[j] > hi) hi = a[j]; b[j] = p50[srv, k, j]; c[j] = p99[srv, k, j]; d[j] = cpu[srv, k, j]; e[j] = flt[srv, k, j]; g[j] = cli[srv, k, j] }
			med[s] = median(a, n); mn[s] = lo; mx[s] = hi; m50[s] = median(b, n); m99[s] = median(c, n); mcpu[s] = median(d, n); mflt[s] = median(e, n); mcli[s] = median(g, n)
			mark[s] = short[srv, k] ? "*" : " "; anyshort = anyshort || short[srv, k]
		}
		printf "%-9s | %8.0f%s(%7.0f-%7.0f) | %8.0f%s(%7.0f-%7.0f) | %s | %6.3f / %6.3f (%s) | %6.3f / %6.3f (%s) | %5.1f / %5.1f (%s) | %5.1f / %5.1f | %5.3f / %5.3f\n", k, med[1], mark[1], mn[1], mx[1], med[2], mark[2], mn[2], mx[2], ratio(med[2], med[1]), m50[1], m50[2], ratio(m50[2], m50[1]), m99[1], m99[2], ratio(m99[2], m99[1]), mcpu[1], mcpu[2], ratio(mcpu[2], mcpu[1]), mcli[1], mcli[2], mflt[1], mflt[2]
	}
	if (anyshort) print "* a run took under 2 s: its rate is coarse (redis-benchmark --cluster ends runs on a 250 ms tick); raise REQUESTS / REQUESTS_PIPELINED"
}'
if grep -qi error "$work/benchmark.err" 2>/dev/null; then
	echo
	echo "redis-benchmark reported errors (first lines):"
	grep -i error "$work/benchmark.err" | sort | uniq -c | sort -rn | head -5
fi

[ "$FAILOVER" = 1 ] || exit 0

echo
best=0 most=-1
for i in 0 1 2; do
	n=$(leads "${DC_PORTS[i]}")
	if [ "$n" -gt "$most" ]; then best=$i most=$n; fi
done
echo "failover, data-cluster: SIGKILL n$((best + 1)) (port ${DC_PORTS[best]}, leading $most of 3 shards) under write load"
"$work/failover" -addrs "127.0.0.1:${DC_PORTS[0]},127.0.0.1:${DC_PORTS[1]},127.0.0.1:${DC_PORTS[2]}" \
	-pid "${dc_pids[best]}" -timeout 60s | tee "$work/failover-dc.txt" || true

victim=""
for i in "${!REDIS_PORTS[@]}"; do
	if redis-cli -p "${REDIS_PORTS[i]}" role | head -1 | grep -qx master; then
		victim=$i
		break
	fi
done
echo
echo "failover, redis: SIGKILL the master on port ${REDIS_PORTS[victim]} under write load (cluster-node-timeout $REDIS_NODE_TIMEOUT ms)"
"$work/failover" -addrs "$(IFS=,; echo "${redis_nodes[*]}")" \
	-pid "${redis_pids[victim]}" -timeout "$((REDIS_NODE_TIMEOUT / 1000 * 4 + 30))s" | tee "$work/failover-redis.txt" || true

echo
echo "failover window (until every shard took writes again): data-cluster $(grep -o 'window_ms=[-0-9]*' "$work/failover-dc.txt" | cut -d= -f2) ms, redis $(grep -o 'window_ms=[-0-9]*' "$work/failover-redis.txt" | cut -d= -f2) ms"
