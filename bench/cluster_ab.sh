#!/usr/bin/env bash
# Compares two data-cluster builds, A and B, under the same
# redis-benchmark --cluster load (unpipelined unless PIPELINE says),
# alternating A and B round by round, each round on a fresh three-node
# cluster (3 shards × 3 replicas, --fsync everysec, ports picked free),
# with what the kernel counts for the nodes'
# processes around each run, per request: user and system CPU time
# (/proc/PID/stat), read and write system calls (syscr and syscw of
# /proc/PID/io, which count read(2)/readv and write(2)/writev alike), and
# context switches (voluntary and not, summed over the threads). Prints
# every run, then each build's medians. With RAFT=1 it also prints, for
# every run, the nodes' own counters (INFO: every group's Raft Ready
# cycles, log writes, fsyncs waited for (one shared by several groups is
# counted by each), appends sent and the entries in them, append answers,
# messages stepped; frames, socket writes and bytes to peers), summed over
# the three nodes, per request.
#
# Usage: A=/tmp/old B=/tmp/new bench/cluster_ab.sh
# Environment: A, B (data-cluster binaries; required), TEST (get or set,
#   default get), ROUNDS (3), REQUESTS (300000), CLIENTS (50), PIPELINE
#   (1), DC_FLAGS (extra flags for both builds), RAFT (0; 1: the nodes'
#   counters too), LOAD (0; N: N SETs at -P 16 from the same key range
#   before the measured run, outside its counters, so that a GET finds
#   keys and lookups work on a keyspace of that size). TEST=idle sends
#   nothing: each run waits IDLE_SECONDS (20) once the cluster is up and
#   prints the counters per second instead of per request (rps is 0).
set -euo pipefail
cd "$(dirname "$0")/.."

: "${A:?A=data-cluster binary}" "${B:?B=data-cluster binary}"
TEST=${TEST:-get}
ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-300000}
CLIENTS=${CLIENTS:-50}
PIPELINE=${PIPELINE:-1}
DC_FLAGS=${DC_FLAGS:-}
RAFT=${RAFT:-0}
LOAD=${LOAD:-0}
IDLE_SECONDS=${IDLE_SECONDS:-20}

# shellcheck source=bench/lib.sh
source bench/lib.sh

# counters pid…: user and system ticks, voluntary and involuntary context
# switches, read and write system calls, summed over the processes.
counters() {
	local p u=0 s=0 v=0 nv=0 r=0 w=0 a b
	for p in "$@"; do
		read -r a b < <(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12, $13}')
		u=$((u + a)) s=$((s + b))
		# One pass over the threads, of which some may end meanwhile.
		read -r a b < <(cat /proc/"$p"/task/*/status 2>/dev/null |
			awk '/^voluntary_ctxt/ {v += $2} /^nonvoluntary_ctxt/ {nv += $2} END {print v + 0, nv + 0}')
		v=$((v + a)) nv=$((nv + b))
		r=$((r + $(awk '/^syscr/ {print $2}' "/proc/$p/io")))
		w=$((w + $(awk '/^syscw/ {print $2}' "/proc/$p/io")))
	done
	echo "$u $s $v $nv $r $w"
}

# raft port…: the INFO counters of the nodes on these ports, summed, as
# "name value" lines.
raft() {
	local p
	for p in "$@"; do redis-cli -p "$p" info; done | tr -d '\r' | awk -F'[:,]' '
/^(group[0-9]+|peer_[^:]*):/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[2] ~ /^[0-9]+$/) s[(($1 ~ /^peer_/) ? "peer_" : "") kv[1]] += kv[2] } }
END { for (k in s) print k, s[k] }'
}

# round build binary: one run of build's binary on a fresh cluster.
round() {
	local build=$1 bin=$2 ports dcp before after out n=$REQUESTS
	start_cluster "$bin" "$build-$round"
	ports=("${cluster_ports[@]}") dcp=("${cluster_pids[@]}")
	if [ "$LOAD" -gt 0 ]; then
		redis-benchmark --cluster -p "${ports[0]}" -t set -n "$LOAD" -c "$CLIENTS" -P 16 -r 1000000 -d 16 -q >/dev/null 2>&1
	fi
	if [ "$RAFT" = 1 ]; then raft "${ports[@]}" >"$work/raft.before"; fi
	before=$(counters "${dcp[@]}")
	if [ "$TEST" = idle ]; then
		sleep "$IDLE_SECONDS"
		out=0 n=$IDLE_SECONDS
	else
		out=$(redis-benchmark --cluster -p "${ports[0]}" -t "$TEST" -n "$REQUESTS" -c "$CLIENTS" -P "$PIPELINE" -r 1000000 -d 16 --csv 2>/dev/null |
			awk -F'","' '/^"(GET|SET)"/ {print $2}')
	fi
	after=$(counters "${dcp[@]}")
	if [ "$RAFT" = 1 ]; then
		raft "${ports[@]}" >"$work/raft.after"
		awk -v b="$build" -v n="$n" 'NR == FNR { x[$1] = $2; next } { y[$1] = $2 }
END {
	printf "# %s per request:", b
	split("readies log_writes fsyncs apps_sent app_entries_sent app_resps_sent stepped peer_frames_sent peer_writes peer_bytes_sent", k, " ")
	for (i = 1; i in k; i++) printf " %s=%.3f", k[i], (y[k[i]] - x[k[i]]) / n
	printf "\n" }' "$work/raft.before" "$work/raft.after"
	fi
	kill "${dcp[@]}"
	wait "${dcp[@]}" 2>/dev/null || true
	awk -v b="$build" -v rps="$out" -v n="$n" -v hz="$(getconf CLK_TCK)" -v before="$before" -v after="$after" 'BEGIN {
		split(before, x, " "); split(after, y, " ")
		printf "%s,%s,%.2f,%.2f,%.3f,%.3f,%.3f,%.3f\n", b, rps, (y[1] - x[1]) * 1e6 / hz / n, (y[2] - x[2]) * 1e6 / hz / n,
			(y[3] - x[3]) / n, (y[4] - x[4]) / n, (y[5] - x[5]) / n, (y[6] - x[6]) / n }' | tee -a "$results"
}

results="$work/results.csv"
: >"$results"
per="per request"
if [ "$TEST" = idle ]; then per="per second, idle"; fi
echo "build,rps,user_us,sys_us,vcs,nvcs,reads,writes ($per)"
for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) = 1 ]; then
		round A "$A"
		round B "$B"
	else
		round B "$B"
		round A "$A"
	fi
done

echo
if [ "$TEST" = idle ]; then
	echo "an idle cluster for $IDLE_SECONDS s; $ROUNDS rounds alternating; A=$A B=$B; figures per second"
else
	echo "redis-benchmark --cluster -t $TEST -n $REQUESTS -c $CLIENTS -P $PIPELINE -r 1000000 -d 16 (after $LOAD SETs); $ROUNDS rounds alternating; A=$A B=$B"
fi
sort "$results" | awk -F, '
function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{ n = ++cnt[$1]; for (f = 2; f <= 8; f++) v[$1, f, n] = $f }
END {
	printf "%-5s | %8s | %8s | %8s | %8s | %6s | %6s | %6s | %6s\n", "build", "rps", "CPU µs", "user", "sys", "vcs", "nvcs", "reads", "writes"
	for (b in cnt) {
		for (f = 2; f <= 8; f++) { for (j = 1; j <= cnt[b]; j++) a[j] = v[b, f, j]; m[f] = median(a, cnt[b]) }
		for (j = 1; j <= cnt[b]; j++) a[j] = v[b, 3, j] + v[b, 4, j]
		printf "%-5s | %8.0f | %8.2f | %8.2f | %8.2f | %6.3f | %6.3f | %6.3f | %6.3f\n", b, m[2], median(a, cnt[b]), m[3], m[4], m[5], m[6], m[7], m[8]
	}
}'
