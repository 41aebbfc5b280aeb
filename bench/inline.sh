#!/usr/bin/env bash
# Every default test of redis-benchmark, PING_INLINE included, against a
# data-cluster on its shared port (--addr, which tells the protocols apart
# by the first command) and on its RESP-only port (--resp-addr). Each run
# must finish every test without an error reply (redis-benchmark 7 stops
# at the first one and exits non-zero); the script exits non-zero
# otherwise. It ends by checking that a line-protocol client is still
# answered on the shared port.
#
# Usage: bench/inline.sh
# Environment: REQUESTS (per test, default 20000), DC_FLAGS (extra
#   data-cluster flags).
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-20000}
DC_FLAGS=${DC_FLAGS:-}

# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "building data-cluster…" >&2
go build -o "$work/data-cluster" ./cmd/data-cluster

port=$(free_port)
resp_port=$(free_port)
while [ "$resp_port" = "$port" ]; do resp_port=$(free_port); done
# shellcheck disable=SC2086
"$work/data-cluster" --addr "127.0.0.1:$port" --resp-addr "127.0.0.1:$resp_port" $DC_FLAGS \
	>/dev/null 2>>"$work/dc.log" &
pids+=("$!")
wait_port "$port"
wait_port "$resp_port"

# The tests redis-benchmark 7 runs by default.
tests=(PING_INLINE PING_MBULK SET GET INCR LPUSH RPUSH LPOP RPOP SADD HSET SPOP ZADD ZPOPMIN
	LRANGE_100 LRANGE_300 LRANGE_500 LRANGE_600 MSET)

failed=0
for p in "$port" "$resp_port"; do
	name="shared port (--addr)"
	[ "$p" = "$resp_port" ] && name="RESP-only port (--resp-addr)"
	echo "== redis-benchmark -p $p -q -n $REQUESTS: $name"
	raw="$work/bench-$p.raw"
	out="$work/bench-$p.txt"
	if ! redis-benchmark -p "$p" -q -n "$REQUESTS" >"$raw" 2>&1; then
		echo "redis-benchmark exited with an error" >&2
		failed=1
	fi
	# Progress lines end in '\r': one line each.
	tr '\r' '\n' <"$raw" >"$out"
	grep 'requests per second' "$out" || true
	for t in "${tests[@]}"; do
		if ! grep -q "^${t}.*: .* requests per second" "$out"; then
			echo "missing: $t" >&2
			failed=1
		fi
	done
	if grep -Eiq '^-?(ERR|error|WRONGTYPE|BUSY|NOAUTH)' "$out"; then
		echo "error replies:" >&2
		grep -Ei '^-?(ERR|error|WRONGTYPE|BUSY|NOAUTH)' "$out" | sort | uniq -c >&2
		failed=1
	fi
done

# The shared port still speaks the line protocol to a client whose first
# command is one of its own.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'SET user1 alice\nGET user1\n' >&3
read -r l1 <&3
read -r l2 <&3
exec 3<&-
if [ "$l1" != OK ] || [ "$l2" != alice ]; then
	echo "line protocol after the benchmark: got '$l1' '$l2', want 'OK' 'alice'" >&2
	failed=1
fi

if [ "$failed" = 0 ]; then
	echo "every test passed on both ports, without errors"
fi
exit "$failed"
