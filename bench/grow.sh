#!/usr/bin/env bash
# A cluster of three real nodes holding KEYS keys changes shape under
# redis-benchmark load, each change timed and its load compared with a
# steady run:
#
#  1. steady: three nodes (--placement auto, --node-down-after
#     NODE_DOWN_AFTER, --fsync everysec), KEYS keys loaded with
#     `redis-benchmark --cluster -t set -P 16`, MARKS marker keys with known
#     values, then `redis-benchmark --cluster -t set,get -c CLIENTS -P 1`
#     sized to last about PHASE seconds: requests/s and p99;
#  2. grow: the same load in the background while n4 and n5 start with
#     --join, and `data-cluster cluster rebalance` takes the planner's
#     steps until it answers balanced: timed from n4's start;
#  3. remove: the same load while `data-cluster cluster remove-node n5`
#     drains n5 and removes it: timed until it has left;
#  4. replace a dead node: the same load while n4 is killed with SIGKILL,
#     n6 starts with --join and `data-cluster cluster remove-node n4`
#     drains the dead node (its replicas re-created from the others), then
#     `rebalance` until balanced: timed from the kill.
#
# Then every marker key is read back through n1, and every group's
# replicas are checked to hold the same number of keys.
#
# Usage: bench/grow.sh                       (about 5 minutes with 1M keys)
#        KEYS=100000 PHASE=10 bench/grow.sh  (a quick check)
# Environment: KEYS (1000000), MARKS (10000), PHASE (seconds each load
#   should last; 30), CLIENTS (50), VALUE_SIZE (16), NODE_DOWN_AFTER (5s),
#   TIMEOUT (--wait-timeout of each admin command; 600s).
# Installs redis-server and redis-tools with apt-get when missing. Commands
# go to stderr prefixed with '+', the report to stdout. Exits 1 when
# something went wrong (listed under "problems").
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=${KEYS:-1000000}
MARKS=${MARKS:-10000}
PHASE=${PHASE:-30}
CLIENTS=${CLIENTS:-50}
VALUE_SIZE=${VALUE_SIZE:-16}
NODE_DOWN_AFTER=${NODE_DOWN_AFTER:-5s}
TIMEOUT=${TIMEOUT:-600s}

# shellcheck source=bench/lib.sh
source bench/lib.sh

show() { echo "+ $*" >&2; }
say() { echo "== $*" >&2; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
problems=()

show go build -o "$work/data-cluster" ./cmd/data-cluster
go build -o "$work/data-cluster" ./cmd/data-cluster
DC=$work/data-cluster

ports=() peers=()
for _ in 1 2 3 4 5 6; do
	ports+=("$(free_port)")
	peers+=("$(free_port)")
done
initial="n1=127.0.0.1:${peers[0]},n2=127.0.0.1:${peers[1]},n3=127.0.0.1:${peers[2]}"
P1=${ports[0]}
node_pids=()

# start_node i flags…: starts node n(i+1) with the common flags and those given.
start_node() {
	local i=$1
	shift
	local cmd=("$DC" --node-id "n$((i + 1))" --addr "127.0.0.1:${ports[i]}" --peer-addr "127.0.0.1:${peers[i]}"
		--data-dir "$work/n$((i + 1))" --fsync everysec --placement auto --node-down-after "$NODE_DOWN_AFTER" "$@")
	show "${cmd[@]}"
	"${cmd[@]}" >/dev/null 2>>"$work/n$((i + 1)).log" &
	node_pids[i]=$!
	pids+=($!)
}
admin() {
	show data-cluster cluster "$@"
	"$DC" cluster "$1" --addr "127.0.0.1:$P1" --wait-timeout "$TIMEOUT" "${@:2}" >&2
}
# rates file: "SET_rps SET_p99 GET_rps GET_p99" from a --csv output.
rates() {
	awk -F'","' '/^"(SET|GET)"/ { gsub(/"/, ""); split($0, f, ","); r[f[1]] = f[2]; p[f[1]] = f[7] }
		END { printf "%s %s %s %s\n", (r["SET"] == "" ? 0 : r["SET"]), (p["SET"] == "" ? 0 : p["SET"]), (r["GET"] == "" ? 0 : r["GET"]), (p["GET"] == "" ? 0 : p["GET"]) }' "$1"
}
requests=0
# load file: the set,get load, requests per test, into file (--csv).
load() {
	local cmd=(redis-benchmark --cluster -p "$P1" -t "set,get" -r "$KEYS" -n "$requests" -c "$CLIENTS" -P 1 -d "$VALUE_SIZE" --csv)
	show "${cmd[@]}"
	"${cmd[@]}" >"$1" 2>&1
}
# groups_consistent: every group's replicas hold as many keys (INFO of
# every node, keys=… of each local replica).
groups_consistent() {
	local p
	for p in "$@"; do redis-cli -p "$p" info 2>/dev/null | tr -d '\r' | grep -o '^group[0-9]*:.*keys=[0-9]*' || true; done |
		sed 's/^\(group[0-9]*\):.*keys=\([0-9]*\)$/\1 \2/' | sort | awk '
			{ if ($1 in k && k[$1] != $2) bad = bad " " $1 "(" k[$1] "≠" $2 ")"; k[$1] = $2 }
			END { if (bad != "") { print "replicas differ:" bad; exit 1 } }'
}

say "starting n1, n2, n3"
for i in 0 1 2; do start_node "$i" --initial-cluster "$initial"; done
for i in 0 1 2; do
	wait_port "${ports[i]}"
	wait_ok "${ports[i]}"
done

say "loading $KEYS keys and $MARKS marker keys"
cmd=(redis-benchmark --cluster -p "$P1" -t set -r "$KEYS" -n "$KEYS" -c "$CLIENTS" -P 16 -d "$VALUE_SIZE" --csv)
show "${cmd[@]}"
"${cmd[@]}" >"$work/fill.csv" 2>&1
# RESP, not inline commands: an inline SET would speak the line protocol.
seq 1 "$MARKS" | awk '{ k = "mark:" $1; printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length($1), $1 }' >"$work/marks.txt"
show "redis-cli -p $P1 --pipe < marks.txt"
redis-cli -p "$P1" --pipe <"$work/marks.txt" >&2
keys_before=$(redis-cli -p "$P1" dbsize | tr -d '\r')
say "DBSIZE $keys_before"

say "calibrating the load"
requests=20000
load "$work/calib.csv"
read -r s_rps _ g_rps _ < <(rates "$work/calib.csv")
requests=$(awk -v s="$s_rps" -v g="$g_rps" -v d="$PHASE" 'BEGIN { r = int(d / (1 / s + 1 / g)); print (r < 20000 ? 20000 : r) }')

say "steady state"
load "$work/steady.csv"
read -r steady_set steady_set_p99 steady_get steady_get_p99 < <(rates "$work/steady.csv")

# phase name what…: the load in the background while what runs; the time
# what took goes to phase_s[name].
declare -A phase_s phase_csv
phase() {
	local name=$1
	shift
	say "$name under load"
	load "$work/$name.csv" &
	local lp=$!
	pids+=("$lp")
	local t0=$EPOCHREALTIME
	if ! "$@"; then problems+=("$name failed"); fi
	phase_s[$name]=$(elapsed "$t0" "$EPOCHREALTIME")
	wait "$lp" || problems+=("the load during $name failed: $(grep -iv '^"' "$work/$name.csv" | head -3 | tr '\n' ' ')")
	phase_csv[$name]=$work/$name.csv
}

grow() {
	start_node 3 --join "127.0.0.1:${peers[0]}"
	wait_port "${ports[3]}"
	start_node 4 --join "127.0.0.1:${peers[0]}"
	wait_port "${ports[4]}"
	admin rebalance
}
remove() { admin remove-node n5; }
replace() {
	show kill -9 "${node_pids[3]}"
	kill -9 "${node_pids[3]}"
	wait "${node_pids[3]}" 2>/dev/null || true
	start_node 5 --join "127.0.0.1:${peers[0]}"
	wait_port "${ports[5]}"
	admin remove-node n4
	admin rebalance
}
phase grow grow
phase remove remove
phase replace replace

say "checking"
live=("$P1" "${ports[1]}" "${ports[2]}" "${ports[5]}")
sleep 1 # replicas apply the last entries of the load
if ! why=$(groups_consistent "${live[@]}"); then problems+=("$why"); fi
seq 1 "$MARKS" | awk '{ printf "GET mark:%d\n", $1 }' | redis-cli -p "$P1" | tr -d '\r' >"$work/marks.out"
if ! seq 1 "$MARKS" | cmp -s - "$work/marks.out"; then
	problems+=("marker keys read back wrong: $(seq 1 "$MARKS" | diff - "$work/marks.out" | grep -c '^[<>]') lines differ")
fi
keys_after=$(redis-cli -p "$P1" dbsize | tr -d '\r')
[ "$keys_after" -ge "$keys_before" ] || problems+=("DBSIZE $keys_after after the changes, $keys_before before")
status=$("$DC" cluster status --addr "127.0.0.1:$P1" 2>&1 || true)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo "data-cluster: 3 nodes, 3 groups × 3 replicas, --fsync everysec, --placement auto; $KEYS keys of $VALUE_SIZE bytes loaded (DBSIZE $keys_before)"
echo "load: redis-benchmark --cluster -t set,get -c $CLIENTS -P 1 -r $KEYS -n $requests (about $PHASE s)"
echo
printf '%-44s %10s %9s %10s %9s %8s %8s\n' phase "SET/s" "p99 ms" "GET/s" "p99 ms" "×steady" "took s"
printf '%-44s %10s %9s %10s %9s %8s %8s\n' "steady" "$steady_set" "$steady_set_p99" "$steady_get" "$steady_get_p99" 1.00 -
for name in grow remove replace; do
	read -r s sp g gp < <(rates "${phase_csv[$name]}")
	case $name in
	grow) what="grow: n4, n5 join, rebalanced" ;;
	remove) what="remove: n5 drained and removed" ;;
	replace) what="replace: n4 killed, n6 joins, n4 removed" ;;
	esac
	printf '%-44s %10s %9s %10s %9s %8s %8s\n' "$what" "$s" "$sp" "$g" "$gp" "$(ratio "$(awk -v a="$s" -v b="$g" 'BEGIN { print a + b }')" "$(awk -v a="$steady_set" -v b="$steady_get" 'BEGIN { print a + b }')")" "${phase_s[$name]}"
done
echo
echo "DBSIZE after: $keys_after; $MARKS marker keys read back"
echo "$status"
if [ ${#problems[@]} -gt 0 ]; then
	echo "problems:"
	printf '  - %s\n' "${problems[@]}"
	exit 1
fi
