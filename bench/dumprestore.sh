#!/usr/bin/env bash
# Round trips of every type through a real redis-server, both ways:
#
#  1. Fills a redis-server with strings, hashes, sets, sorted sets and lists
#     in each of their encodings (CONFIG SET forces the larger ones), some
#     with an expiry, and streams: with deleted entries, fields that differ
#     between entries, several nodes, none, consumer groups with consumers
#     and pending entries.
#  2. Redis → data-cluster: DUMP each key from Redis with redis-cli, RESTORE
#     it into data-cluster, and compare the contents key by key.
#  3. data-cluster → Redis: adds keys made in data-cluster in each of its
#     encodings (and streams with groups), DUMPs every key from data-cluster,
#     RESTOREs it into an empty redis-server that checks every payload
#     (sanitize-dump-payload yes), and compares again.
#  4. data-cluster import: takes an RDB file of the first redis-server with
#     redis-cli --rdb, imports it into an empty data-cluster, and compares
#     every key, its expiry and the number of keys.
#
# Usage: bench/dumprestore.sh       (a few seconds; installs redis-server and
#        redis-tools with apt-get when missing; servers on free ports)
# Exits 0 when every comparison matched, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

go build -o "$work/data-cluster" ./cmd/data-cluster
echo "redis: $(redis-server --version)"

RP=$(free_port)
redis-server --port "$RP" --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
wait_port "$RP"

# start_dc starts an empty data-cluster on a free port and sets DP to it.
start_dc() {
	DP=$(free_port)
	"$work/data-cluster" --addr "127.0.0.1:$DP" --shards 3 >/dev/null 2>>"$work/dc.log" &
	pids+=($!)
	wait_port "$DP"
}

r() { redis-cli -p "$RP" "$@" >/dev/null; }
lua() { redis-cli -p "$RP" eval "$1" 1 "$2" >/dev/null; }

# 1. Redis's data, every encoding of every type.
r set s:raw "hello world"
r set s:int 12345
r set s:bigint 123456789012345
r set s:empty ""
lua "redis.call('set', KEYS[1], string.rep('abcdefgh', 5000))" s:lzf
lua "local t = {} for i=1,3000 do t[i] = string.char(33 + (i*7919) % 90) end redis.call('set', KEYS[1], table.concat(t))" s:noise
r set s:ttl "expires" px 3600000
r hset h:lp f1 v1 n 12 neg -5 big 1234567890123
lua "for i=1,500 do redis.call('hset', KEYS[1], 'field:'..i, 'value:'..i) end" h:ht
r hset h:long f "$(printf 'v%.0s' $(seq 1 100))"
r sadd st:int 1 -2 300 70000 5000000000
lua "for i=1,2000 do redis.call('sadd', KEYS[1], i) end" st:ht-int
r sadd st:ht a b c 1 2
lua "for i=1,3000 do redis.call('sadd', KEYS[1], 'member:'..i) end" st:big
r zadd z:lp 1 a 2.5 b -3 c 1e20 d inf e -inf f 0.125 g
lua "for i=1,1000 do redis.call('zadd', KEYS[1], i*0.5, 'm'..i) end" z:sl
r rpush l:small a 1 -300 hello
lua "for i=1,20000 do redis.call('rpush', KEYS[1], 'element-'..i) end" l:big
lua "for i=1,50 do redis.call('rpush', KEYS[1], string.rep('x', i*100)) end" l:wide
r rpush l:ttl a b c
r pexpire l:ttl 3600000
r config set hash-max-listpack-entries 0
r hset h:forced a 1 b 2
r config set hash-max-listpack-entries 128
r config set zset-max-listpack-entries 0
r zadd z:forced 1 a 2 b
r config set zset-max-listpack-entries 128
r config set set-max-intset-entries 0
r sadd st:forced 1 2 3
r config set set-max-intset-entries 512
r config set list-max-listpack-size 3
lua "for i=1,100 do redis.call('rpush', KEYS[1], i) end" l:forced
r config set list-max-listpack-size -2
r xadd x:del 1-1 a 1 b hello
r xadd x:del 1-2 a 2 b world
r xadd x:del 2-0 a -3 b 1234567890123
r xadd x:del 2-5 a 4 b x
r xdel x:del 1-2 2-5
r xadd x:fields 5-1 name alice age 30
r xadd x:fields 5-2 name bob age 31
r xadd x:fields 6-0 other field
r xadd x:fields 7-0 name carol age 32 note "$(printf 'seventy%.0s' $(seq 1 10))"
r config set stream-node-max-entries 2
lua "for i=1,9 do redis.call('xadd', KEYS[1], '10-'..i, 'n', i, 's', 'v'..i) end" x:nodes
r config set stream-node-max-entries 100
lua "for i=1,1000 do redis.call('xadd', KEYS[1], '*', 'field', 'value:'..i, 'n', i*1000) end" x:big
r xgroup create x:empty g '$' mkstream
lua "for i=1,8 do redis.call('xadd', KEYS[1], i..'-0', 'job', i) end" x:groups
r xgroup create x:groups g1 0
r xgroup create x:groups 42 '$'
r xgroup create x:groups late 3-0
r xreadgroup group g1 alice count 2 streams x:groups '>'
r xreadgroup group g1 bob count 3 streams x:groups '>'
r xack x:groups g1 1-0
r xclaim x:groups g1 bob 0 2-0
r xgroup createconsumer x:groups g1 carol
r xreadgroup group late 7 count 1 streams x:groups '>'
r xdel x:groups 4-0 8-0

# content port key prints what key holds, in an order that does not depend
# on the server: type, then the value or the sorted elements (scores as
# %.17g, as awk reads them); a stream's XINFO STREAM FULL, all of it (its
# entries, groups, pending entries with their delivery times and counts,
# consumers with their seen times) but the size of its radix tree, which
# depends on how its nodes were cut.
content() {
	local p=$1 k=$2 t
	t=$(redis-cli -p "$p" type "$k")
	echo "type $t"
	case $t in
	string) redis-cli -p "$p" --raw get "$k" | sha1sum ;;
	hash) redis-cli -p "$p" --raw hgetall "$k" | paste - - | sort | sha1sum ;;
	set) redis-cli -p "$p" --raw smembers "$k" | sort | sha1sum ;;
	zset) redis-cli -p "$p" --raw zrange "$k" 0 -1 withscores | paste - - |
		awk -F'\t' '{ printf "%s %.17g\n", $1, $2 }' | sha1sum ;;
	list) redis-cli -p "$p" --raw lrange "$k" 0 -1 | sha1sum ;;
	stream) redis-cli -p "$p" --raw xinfo stream "$k" full count 0 |
		awk 'skip { skip = 0; next } /^radix-tree-(keys|nodes)$/ { skip = 1; next } { print }' | sha1sum ;;
	esac
}

# expiring ttl prints yes for a PTTL of a key with an expiry, else no.
expiring() { if [ "$1" -gt 0 ]; then echo yes; else echo no; fi; }

failed=0
# compare src dst what: every key of the server on port src has the same
# content on the server on port dst, and an expiry on both or neither.
compare() {
	local src=$1 dst=$2 what=$3 n=0 bad=0 k
	while IFS= read -r k; do
		n=$((n + 1))
		if [ "$(content "$src" "$k")" != "$(content "$dst" "$k")" ]; then
			echo "  $what: $k differs" >&2
			bad=$((bad + 1))
		fi
		local a b
		a=$(redis-cli -p "$src" pttl "$k")
		b=$(redis-cli -p "$dst" pttl "$k")
		if [ "$(expiring "$a")" != "$(expiring "$b")" ]; then
			echo "  $what: $k: PTTL $a on one, $b on the other" >&2
			bad=$((bad + 1))
		fi
	done < <(redis-cli -p "$src" --raw keys '*' | sort)
	local ns nd
	ns=$(redis-cli -p "$src" dbsize)
	nd=$(redis-cli -p "$dst" dbsize)
	if [ "$ns" != "$nd" ]; then
		echo "  $what: $ns keys on one, $nd on the other" >&2
		bad=$((bad + 1))
	fi
	if [ "$bad" = 0 ]; then
		echo "$what: $n keys compared, all equal"
	else
		echo "$what: $n keys compared, $bad differences" >&2
		failed=1
	fi
}

# move src dst: DUMP every key of src and RESTORE it into dst with its PTTL.
move() {
	local src=$1 dst=$2 k ttl
	while IFS= read -r k; do
		redis-cli -p "$src" --raw dump "$k" | head -c -1 >"$work/payload"
		ttl=$(redis-cli -p "$src" pttl "$k")
		[ "$ttl" -gt 0 ] || ttl=0
		reply=$(redis-cli -p "$dst" -x restore "$k" "$ttl" <"$work/payload")
		if [ "$reply" != OK ]; then
			echo "  RESTORE $k on port $dst: $reply" >&2
			failed=1
		fi
	done < <(redis-cli -p "$src" --raw keys '*')
}

# 2. Redis → data-cluster.
start_dc
move "$RP" "$DP"
compare "$RP" "$DP" "Redis → data-cluster (DUMP, RESTORE)"

# compare must see a changed element, a lost expiry and an acknowledged
# pending entry.
redis-cli -p "$DP" lset l:big 100 changed >/dev/null
redis-cli -p "$DP" persist s:ttl >/dev/null
redis-cli -p "$DP" xack x:groups g1 3-0 >/dev/null
compare "$RP" "$DP" "self-check" >/dev/null 2>"$work/self"
if [ "$(grep -c -e 'l:big differs' -e 's:ttl: PTTL' -e 'x:groups differs' "$work/self")" != 3 ]; then
	echo "self-check: compare did not see the 3 differences made:" >&2
	cat "$work/self" >&2
	exit 1
fi
echo "self-check: compare sees a changed list element, a lost expiry and an acknowledged stream entry"
failed=0
for k in l:big x:groups; do
	redis-cli -p "$RP" --raw dump "$k" | head -c -1 | redis-cli -p "$DP" -x restore "$k" 0 replace >/dev/null
done
redis-cli -p "$DP" pexpire s:ttl 3600000 >/dev/null

# 3. data-cluster → Redis, with keys in data-cluster's own encodings too.
d() { redis-cli -p "$DP" "$@" >/dev/null; }
d sadd dc:set-lp a b c 1
d config set set-max-listpack-entries 0
d sadd dc:set-ht a b c
d config set set-max-listpack-entries 128
d config set hash-max-listpack-entries 0
d hset dc:hash-ht f v g w
d config set hash-max-listpack-entries 128
d config set zset-max-listpack-entries 0
d zadd dc:zset-tree 1 a 2 b 3 c
d config set zset-max-listpack-entries 128
d config set list-max-listpack-size 2
d rpush dc:list-nodes a b c d e f g
d config set list-max-listpack-size -2
d set dc:long "$(printf 'y%.0s' $(seq 1 70000))"
d config set stream-node-max-entries 3
for i in $(seq 10); do d xadd dc:stream "*" n "$i" text "entry $i"; done
d xadd dc:stream "*" other field
d config set stream-node-max-entries 100
d xgroup create dc:stream g '0'
d xgroup create dc:stream h '$'
d xreadgroup group g c1 count 4 streams dc:stream '>'
d xreadgroup group g c2 count 3 streams dc:stream '>'
d xgroup createconsumer dc:stream g idle
d xack dc:stream g "$(redis-cli -p "$DP" --raw xrange dc:stream - + count 1 | head -1)"
d xdel dc:stream "$(redis-cli -p "$DP" --raw xrevrange dc:stream + - count 1 | head -1)"
d xgroup create dc:empty g '$' mkstream
d eval "for i=1,3000 do redis.call('xadd', KEYS[1], '*', 'member', 'member:'..i, 'n', i) end" 1 dc:stream-big
RP2=$(free_port)
redis-server --port "$RP2" --save '' --appendonly no --sanitize-dump-payload yes --dir "$work" >"$work/redis2.log" 2>&1 &
pids+=($!)
wait_port "$RP2"
move "$DP" "$RP2"
compare "$DP" "$RP2" "data-cluster → Redis (DUMP, RESTORE)"
checked=$(redis-cli -p "$RP2" info stats | tr -d '\r' | sed -n 's/^dump_payload_sanitizations://p')
echo "  redis-server with sanitize-dump-payload yes: dump_payload_sanitizations $checked"

# 4. An RDB file of Redis, imported.
redis-cli -p "$RP" --rdb "$work/dump.rdb" >/dev/null 2>&1
start_dc
"$work/data-cluster" import --rdb "$work/dump.rdb" --addr "127.0.0.1:$DP" || failed=1
compare "$RP" "$DP" "data-cluster import --rdb"
while IFS= read -r k; do
	a=$(redis-cli -p "$RP" pexpiretime "$k")
	b=$(redis-cli -p "$DP" pexpiretime "$k")
	if [ "$a" != "$b" ]; then
		echo "  import: $k: PEXPIRETIME $a in Redis, $b in data-cluster" >&2
		failed=1
	fi
done < <(redis-cli -p "$RP" --raw keys '*')

if [ "$failed" = 0 ]; then
	echo "PASS"
else
	echo "FAIL" >&2
fi
exit "$failed"
