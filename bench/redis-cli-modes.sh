#!/usr/bin/env bash
# redis-cli's inspection modes against data-cluster: --stat, --bigkeys,
# --memkeys, --hotkeys (with --maxmemory-policy allkeys-lfu), --latency,
# --latency-history, --latency-dist and --scan --pattern, on a keyspace of
# every type. --hotkeys runs first: the other scans read every key, which
# counts as an access, as in Redis. Each mode's output is printed, and checked for what it must
# show; the script fails at the first mode that does not work.
#
# Usage: bench/redis-cli-modes.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "building data-cluster…" >&2
go build -o "$work/data-cluster" ./cmd/data-cluster
DC_FLAGS="--maxmemory-policy allkeys-lfu" start data-cluster
P=$port

# A keyspace of every type; key:1 is read 300 times, key:2 40 times.
{
	for i in $(seq 1 50); do
		printf 'SET key:%d %s\n' "$i" "$(head -c "$i" /dev/zero | tr '\0' v)"
		echo "HSET hash:$((i % 5)) f$i v"
		echo "RPUSH list:$((i % 3)) e$i"
		echo "SADD set:1 m$i"
		echo "ZADD zset:1 $i m$i"
		echo "XADD stream:1 * f $i"
		echo "PFADD hll:1 e$i"
	done
	for _ in $(seq 1 300); do echo "GET key:1"; done
	for _ in $(seq 1 40); do echo "GET key:2"; done
} | redis-cli -p "$P" >/dev/null

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# run_for seconds args…: runs redis-cli for that long with a line-buffered
# stdout (the interval modes never end by themselves).
run_for() {
	local secs=$1
	shift
	timeout "$secs" stdbuf -oL redis-cli -p "$P" "$@" 2>&1 | tr '\r' '\n' || true
}

echo "== redis-cli --stat"
out=$(run_for 2.5 --stat -i 1)
echo "$out"
echo "$out" | grep -Eq '^62 +[0-9.]+[KMG]? +1 +0 ' || fail "--stat: no line with 62 keys, 1 client, 0 blocked"

echo "== redis-cli --hotkeys"
out=$(redis-cli -p "$P" --hotkeys 2>&1)
echo "$out" | sed -n '/summary/,$p'
echo "$out" | grep -Eq "hot key found with counter: [0-9]+.*keyname: \"key:1\"" || fail "--hotkeys: key:1 is not hot"

echo "== redis-cli --bigkeys"
out=$(redis-cli -p "$P" --bigkeys 2>&1)
echo "$out" | sed -n '/summary/,$p'
for want in "Sampled 62 keys" "51 strings with" "Biggest stream found '\"stream:1\"' has 50 entries" "1 zsets with 50 members"; do
	echo "$out" | grep -qF "$want" || fail "--bigkeys: no \"$want\""
done

echo "== redis-cli --memkeys"
out=$(redis-cli -p "$P" --memkeys 2>&1)
echo "$out" | sed -n '/summary/,$p'
echo "$out" | grep -Eq "Biggest stream found '\"stream:1\"' has [0-9]+ bytes" || fail "--memkeys: no stream size"

echo "== redis-cli --latency"
out=$(run_for 2 --latency)
echo "$out" | tail -1
echo "$out" | grep -Eq '^[0-9]+ [0-9]+ [0-9.]+ [0-9]+$' || fail "--latency: no 'min max avg samples' line"

echo "== redis-cli --latency-history"
out=$(run_for 3.5 --latency-history -i 1)
echo "$out" | grep -v '^$' | tail -2
[ "$(echo "$out" | grep -Ec '^[0-9]+ [0-9]+ [0-9.]+ [0-9]+$')" -ge 2 ] || fail "--latency-history: fewer than 2 intervals"

echo "== redis-cli --latency-dist"
out=$(timeout 2.5 script -qc "redis-cli -p $P --latency-dist -i 1" /dev/null 2>&1 || true)
echo "$out" | grep -aq 'milliseconds' || fail "--latency-dist: no legend"
echo "(a colour chart; legend shown)"

echo "== redis-cli --scan --pattern 'key:1*'"
out=$(redis-cli -p "$P" --scan --pattern 'key:1*' | sort)
echo "$out" | tr '\n' ' '
echo
[ "$(echo "$out" | wc -l)" -eq 11 ] || fail "--scan: want 11 keys (key:1, key:10 … key:19)"

echo "every mode works"
