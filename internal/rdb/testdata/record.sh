#!/usr/bin/env bash
# record.sh writes the DUMP payloads in redis-7.0/, one NAME.hex per key, from
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

for k in $(redis-cli -p "$PORT" --raw keys '*'); do
	redis-cli -p "$PORT" --raw dump "$k" | head -c -1 | xxd -p | tr -d '\n' >"redis-7.0/${k//:/-}.hex"
	echo >>"redis-7.0/${k//:/-}.hex"
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
r -n 2 set other db2
redis-cli -p "$PORT" --rdb redis-7.0/dump.rdb >/dev/null
