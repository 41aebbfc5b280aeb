#!/usr/bin/env bash
# Persistence figures for data-cluster, side by side with redis-server:
#
#  1. SET throughput (redis-benchmark, unpipelined and -P 16) of data-cluster
#     in memory and with --fsync always / everysec / no, and of redis-server
#     without and with appendonly yes and the same appendfsync, one server
#     after the other in the same run.
#  2. Restart time (until data-cluster prints its banner, until redis-server
#     answers PING with loading:0) and peak RSS (/usr/bin/time -v) when
#     loading 1M and 10M keys written before the restart.
#
# Usage: bench/persistence.sh            (takes about 10 minutes)
#        ROUNDS=3 LOAD_KEYS=1000000 bench/persistence.sh
#        ROUNDS=3 LOAD_KEYS="" bench/persistence.sh      (throughput only)
#        ONLY='always|everysec' ROUNDS=3 LOAD_KEYS="" bench/persistence.sh
# ONLY, when set, is an extended regular expression: only the servers whose
# name in the table matches it run. OTHER="label=path ..." adds, for each
# data-cluster binary built elsewhere (another commit, say), the same four
# data-cluster rows named after label, measured in the same rounds (and a
# restart row for each, after this tree's):
#        git worktree add /tmp/old main && (cd /tmp/old && go build -o /tmp/dc-old ./cmd/data-cluster)
#        OTHER="main=/tmp/dc-old" ONLY=always ROUNDS=3 LOAD_KEYS="" bench/persistence.sh
# Installs redis-server, redis-tools and GNU time with apt-get when missing.
# The servers run one after the other on a free port of 127.0.0.1, or on
# PORT when set.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-200000}   # requests per redis-benchmark run
CLIENTS=${CLIENTS:-50}         # redis-benchmark -c
RANGE=${RANGE:-1000000}        # redis-benchmark -r: random keys among this many
VALUE=${VALUE:-16}             # redis-benchmark -d: value size
ROUNDS=${ROUNDS:-1}            # repeat the throughput table; the median (min-max) is shown
LOAD_KEYS=${LOAD_KEYS-"1000000 10000000"}
SHARDS=${SHARDS:-3}
ONLY=${ONLY:-}
OTHER=${OTHER:-}

# free_port prints a TCP port on 127.0.0.1 that nothing listens on (as in
# bench/lib.sh, whose work directory and cleanup this script does not use).
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}
PORT=${PORT:-$(free_port)}

install() {
	local sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq "$@"
}
command -v redis-server >/dev/null || install redis-server
command -v redis-benchmark >/dev/null && command -v redis-cli >/dev/null || install redis-tools
[ -x /usr/bin/time ] || install time

work=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "building data-cluster"
go build -o "$work/data-cluster" ./cmd/data-cluster
bin=$work/data-cluster

now_ms() { date +%s%3N; }

wait_banner() { # file
	for _ in $(seq 1 30000); do
		grep -q "listening" "$1" 2>/dev/null && return 0
		sleep 0.01
	done
	echo "no banner in $1" >&2
	return 1
}

wait_redis() { # port
	for _ in $(seq 1 60000); do
		if redis-cli -p "$1" info persistence 2>/dev/null | grep -q '^loading:0'; then
			return 0
		fi
		sleep 0.01
	done
	echo "redis-server on $1 did not load" >&2
	return 1
}

start_dc() { # args...
	"${dcbin:-$bin}" --addr "127.0.0.1:$PORT" --shards "$SHARDS" "$@" >"$work/out" 2>"$work/err" &
	pid=$!
	wait_banner "$work/out"
}

start_redis() { # args...
	redis-server --port "$PORT" --save '' --daemonize no --logfile "$work/redis.log" "$@" &
	pid=$!
	wait_redis "$PORT"
}

stop() { # the server started last, by its pid
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
	pid=""
}

set_rps() { # pipeline
	redis-benchmark -p "$PORT" -t set -n "$REQUESTS" -c "$CLIENTS" -r "$RANGE" -d "$VALUE" -P "$1" -q 2>/dev/null |
		tr '\r' '\n' | grep -o '^SET: [0-9.]* requests per second' | tail -1 | awk '{printf "%d", $2}'
}

# median prints the median of the numbers on its input, followed by their
# range when there are several: "24800 (23100-25900)".
median() {
	tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {
		m = a[int((NR+1)/2)]
		if (NR > 1) printf "%s (%s-%s)\n", m, a[1], a[NR]; else print m }'
}

configs=(
	"data-cluster in memory|dc|"
	"data-cluster --fsync always|dc|--fsync always"
	"data-cluster --fsync everysec|dc|--fsync everysec"
	"data-cluster --fsync no|dc|--fsync no"
	"redis-server in memory|redis|--appendonly no"
	"redis-server appendfsync always|redis|--appendonly yes --appendfsync always"
	"redis-server appendfsync everysec|redis|--appendonly yes --appendfsync everysec"
	"redis-server appendfsync no|redis|--appendonly yes --appendfsync no"
)
for o in $OTHER; do
	label=${o%%=*}
	path=${o#*=}
	configs+=(
		"$label in memory|dc:$path|"
		"$label --fsync always|dc:$path|--fsync always"
		"$label --fsync everysec|dc:$path|--fsync everysec"
		"$label --fsync no|dc:$path|--fsync no"
	)
done
declare -A p1 p16

echo
echo "== SET throughput: redis-benchmark -t set -n $REQUESTS -c $CLIENTS -r $RANGE -d $VALUE, $ROUNDS round(s); data-cluster with $SHARDS shards"
for round in $(seq 1 "$ROUNDS"); do
	for c in "${configs[@]}"; do
		IFS='|' read -r name kind args <<<"$c"
		if [ -n "$ONLY" ] && ! grep -Eq "$ONLY" <<<"$name"; then
			continue
		fi
		dir=$(mktemp -d -p "$work")
		if [ "${kind%%:*}" = dc ]; then
			dcbin=$bin
			[ "$kind" = dc ] || dcbin=${kind#dc:}
			if [ -n "$args" ]; then
				# shellcheck disable=SC2086
				start_dc --data-dir "$dir" $args
			else
				start_dc
			fi
		else
			# shellcheck disable=SC2086
			start_redis --dir "$dir" $args
		fi
		p1[$name]="${p1[$name]:-} $(set_rps 1)"
		p16[$name]="${p16[$name]:-} $(set_rps 16)"
		stop
		rm -rf "$dir"
	done
done
dcbin=$bin
printf "\n| %-36s | %22s | %22s |\n" "server" "SET/s -P 1" "SET/s -P 16"
printf "|%s|%s|%s|\n" "--------------------------------------" "------------------------" "------------------------"
for c in "${configs[@]}"; do
	IFS='|' read -r name _ _ <<<"$c"
	[ -n "${p1[$name]:-}" ] || continue
	printf "| %-36s | %22s | %22s |\n" "$name" "$(echo "${p1[$name]}" | median)" "$(echo "${p16[$name]}" | median)"
done

# fill N: writes N keys key:%012d with 16-byte values through redis-cli --pipe.
fill() {
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) { k = sprintf("key:%012d", i); v = sprintf("val:%012d", i);
		printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v } }' |
		redis-cli -p "$PORT" --pipe >/dev/null
}

# restart_timed KIND DIR ARGS...: restarts under /usr/bin/time -v and prints
# "ms_until_ready load_ms keys rss_kib" (load_ms as the server reports it,
# "-" when it does not).
restart_timed() {
	local kind=$1 dir=$2
	shift 2
	local t0 t1 keys child load
	t0=$(now_ms)
	if [ "$kind" = dc ]; then
		/usr/bin/time -v -o "$work/time" "${dcbin:-$bin}" --addr "127.0.0.1:$PORT" --shards "$SHARDS" --data-dir "$dir" "$@" >"$work/out" 2>"$work/err" &
		pid=$!
		wait_banner "$work/out"
	else
		/usr/bin/time -v -o "$work/time" redis-server --port "$PORT" --save '' --daemonize no --logfile "$work/redis.log" --dir "$dir" "$@" &
		pid=$!
		wait_redis "$PORT"
	fi
	t1=$(now_ms)
	keys=$(redis-cli -p "$PORT" dbsize)
	load=$(redis-cli -p "$PORT" info persistence | tr -d '\r' | awk -F: '/^last_load_time_ms/ {print $2}')
	# Stop the server itself (the child of time), then let time report.
	child=$(pgrep -P "$pid")
	kill -TERM "$child"
	wait "$pid" 2>/dev/null || true
	pid=""
	echo "$((t1 - t0)) ${load:--} $keys $(awk -F': ' '/Maximum resident/ {print $2}' "$work/time")"
}

echo
echo "== restart: keys written (16-byte keys and values), server stopped with SIGTERM, started again"
printf "\n| %-34s | %10s | %12s | %10s | %12s | %10s |\n" "server, keys" "keys back" "restart (ms)" "load (ms)" "peak RSS MiB" "disk MiB"
printf "|%s|%s|%s|%s|%s|%s|\n" "------------------------------------" "------------" "--------------" "------------" "--------------" "------------"
for n in $LOAD_KEYS; do
	for o in "data-cluster=$bin" $OTHER; do
		dcbin=${o#*=}
		dir=$(mktemp -d -p "$work")
		start_dc --data-dir "$dir" --fsync no
		fill "$n"
		stop
		read -r ms load keys rss < <(restart_timed dc "$dir")
		printf "| %-34s | %10s | %12s | %10s | %12s | %10s |\n" "${o%%=*}, $n" "$keys" "$ms" "$load" "$((rss / 1024))" "$(du -sm "$dir" | cut -f1)"
		rm -rf "$dir"
	done
	dcbin=$bin

	dir=$(mktemp -d -p "$work")
	start_redis --dir "$dir" --appendonly yes --appendfsync no
	fill "$n"
	redis-cli -p "$PORT" shutdown >/dev/null 2>&1 || true
	wait "$pid" 2>/dev/null || true
	pid=""
	read -r ms load keys rss < <(restart_timed redis "$dir" --appendonly yes --appendfsync no)
	printf "| %-34s | %10s | %12s | %10s | %12s | %10s |\n" "redis-server appendonly, $n" "$keys" "$ms" "$load" "$((rss / 1024))" "$(du -sm "$dir" | cut -f1)"
	rm -rf "$dir"
done
