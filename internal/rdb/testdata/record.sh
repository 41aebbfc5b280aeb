#!/usr/bin/env bash
# record.sh writes the DUMP payloads in redis-7.0/, one NAME.hex per key (and
# for each stream NAME.xinfo, Redis's reply to XINFO STREAM FULL), from
# a redis-server of its own on PORT (7393 by default), which it starts with
# DEBUG enabled (for quicklist-packed-threshold) and shuts down after.
# The tests of internal/rdb know what each key holds.
set -euo pipefail
cd "$(dirname "$0")"
PORT=${PORT:-7393}
DIR=$(mktemp -d)
if redis-cli -p "$PORT" ping >/dev/null 2>&1; then
	echo "record.sh: port $PORT is in use; choose another with PORT=N" >&2
	exit 1
fi
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
redis-server --port "$PORT" --save '' --appendonly no --daemonize yes --dir "$DIR" \
	--enable-debug-command yes >/dev/null
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
r() { redis-cli -p "$PORT" "$@" >/dev/null; }
lua() { r eval "$1" 1 "$2"; }
# resp prints the reply to a command as the server sent it.
resp() {
	local LC_ALL=C a
	exec 3<>"/dev/tcp/127.0.0.1/$PORT"
	{
		printf '*%d\r\n' "$#"
		for a in "$@"; do printf '$%d\r\n%s\r\n' "${#a}" "$a"; done
		printf 'QUIT\r\n'
	} >&3
	head -c -5 <&3 # without QUIT's +OK
	exec 3<&-
}

r set s:raw hello
r set s:empty ""
r set s:i8 -12
r set s:i16 12345
r set s:i32 -1234567
r set s:big 12345678901
r set s:lzf "$(printf 'abcdefgh%.0s' $(seq 1 20))"
lua "redis.call('set', KEYS[1], string.rep('0123456789', 7000))" s:long
r hset h:lp f1 v1 n 12 neg -5 big 1234567890123 s "hello world"
lua "for i=1,100 do redis.call('hset', KEYS[1], 'field:'..i, 'value:'..i) end" h:lplzf
lua "for i=1,300 do redis.call('hset', KEYS[1], 'field:'..i, 'value:'..i) end" h:ht
r sadd st:int 1 -2 300 70000 5000000000
r sadd st:int16 1 -2 300
lua "for i=1,500 do redis.call('sadd', KEYS[1], i) end" st:intlzf
r sadd st:ht a b 1
lua "for i=1,1000 do redis.call('sadd', KEYS[1], i) end" st:htint
r zadd z:lp 1 a 2.5 b -3 c 1e20 d inf e 0.1 f
lua "for i=1,200 do redis.call('zadd', KEYS[1], i*1.5, 'm'..i) end" z:sl
r rpush l:small a 1 -300 hello
lua "for i=1,2000 do redis.call('rpush', KEYS[1], 'element-'..i) end" l:big
r config set list-max-listpack-size 2
r rpush l:multi a b c d e
r config set list-max-listpack-size -2
r debug quicklist-packed-threshold 10
r rpush l:plain x "this is a long element of 34 bytes" y
r debug quicklist-packed-threshold 1073741824

# Streams: deleted entries, fields that differ between entries, several
# nodes, an empty stream with a group, groups with consumers and pending
# entries (their delivery and seen times are the recording's), groups whose
# entries-read is unknown (-1).
r xadd x:del 1-1 a 1 b hello
r xadd x:del 1-2 a 2 b world
r xadd x:del 2-0 a -3 b 1234567890123
r xadd x:del 2-5 a 4 b x
r xdel x:del 1-2 2-5
r xadd x:fields 5-1 name alice age 30
r xadd x:fields 5-2 name bob age 31
r xadd x:fields 6-0 other field
r xadd x:fields 7-0 name carol age 32 note "$(printf 'a value of seventy bytes%.0s' 1 2 3)"
r xadd x:fields 7-1 name dave age -33000
r config set stream-node-max-entries 2
for i in $(seq 7); do r xadd x:nodes "10-$i" n "$i" s "v$i"; done
r config set stream-node-max-entries 100
lua "for i=1,250 do redis.call('xadd', KEYS[1], '100-'..i, 'field', 'value:'..i, 'n', i*1000) end" x:big
r xgroup create x:empty g '$' mkstream
for i in $(seq 6); do r xadd x:groups "$i-0" job "$i"; done
r xgroup create x:groups g1 0
r xgroup create x:groups 42 '$'
r xgroup create x:groups late 3-0
r xreadgroup group g1 alice count 2 streams x:groups '>'
r xreadgroup group g1 bob count 3 streams x:groups '>'
r xack x:groups g1 1-0
r xclaim x:groups g1 bob 0 2-0
r xgroup createconsumer x:groups g1 carol
r xreadgroup group late 7 count 1 streams x:groups '>'
r xdel x:groups 4-0
r xadd x:groups 7-0 job 7

for k in $(redis-cli -p "$PORT" --raw keys '*'); do
	redis-cli -p "$PORT" --raw dump "$k" | head -c -1 | xxd -p | tr -d '\n' >"redis-7.0/${k//:/-}.hex"
	echo >>"redis-7.0/${k//:/-}.hex"
done
# Redis's own XINFO STREAM FULL of each stream, as it answered (RESP2).
for k in $(redis-cli -p "$PORT" --raw --scan --pattern 'x:*'); do
	resp xinfo stream "$k" full >"redis-7.0/${k//:/-}.xinfo"
done
redis-cli -p "$PORT" --raw info server | grep -E '^redis_version' | tr -d '\r' >redis-7.0/VERSION

# An RDB file as redis-cli --rdb takes it: LFU counters, a function
# library, a key with an expiry, keys in databases 0 and 2.
r flushall
r config set maxmemory-policy allkeys-lfu
r function load "#!lua name=lib
redis.register_function('f', function() return 1 end)"
r set str hello
r set int 42
r set ttl value pxat 4102444800000
r hset hash f v n 1
r sadd set a b c
r sadd intset 1 2 3
r zadd zset 1 a 2 b
r rpush list a b c
lua "for i=1,300 do redis.call('sadd', KEYS[1], 'member:'..i) end" bigset
r xadd stream 1-1 f v
r xadd stream 1-2 f w
r xgroup create stream g 0
r xreadgroup group g c count 1 streams stream '>'
r -n 2 set other db2
redis-cli -p "$PORT" --rdb redis-7.0/dump.rdb >/dev/null
