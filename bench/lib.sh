# Shared by the benchmark scripts: source it after `cd` to the repository.
# It installs redis-server and redis-tools when missing, makes a work
# directory that is removed on exit with every process listed in pids, and
# defines free_port, wait_port and wait_ok.

need() { command -v "$1" >/dev/null 2>&1; }
if ! need redis-server || ! need redis-benchmark || ! need redis-cli; then
	echo "installing redis-server and redis-tools…" >&2
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >&2
fi

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# free_port prints a TCP port on 127.0.0.1 that nothing listens on, below
# the kernel's ephemeral ports (32768 on): a port handed out for outgoing
# connections could be taken before the server picked it binds.
# A port is handed out once per run: the servers given the ports before
# have not always bound them yet.
given_ports=$work/ports
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 10000))
		if ! grep -qx "$p" "$given_ports" 2>/dev/null && ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p" >>"$given_ports"
			echo "$p"
			return
		fi
	done
}

# wait_port waits until a server answers PING on port $1, or exits.
wait_port() {
	for _ in $(seq 1 200); do
		if redis-cli -p "$1" ping >/dev/null 2>&1; then return 0; fi
		sleep 0.05
	done
	echo "server on port $1 did not start" >&2
	exit 1
}

# wait_ok port: until the cluster node on port $1 says cluster_state:ok (up
# to 5 minutes), or exits.
wait_ok() {
	for _ in $(seq 1 3000); do
		if redis-cli -p "$1" cluster info 2>/dev/null | tr -d '\r' | grep -qx 'cluster_state:ok'; then return 0; fi
		sleep 0.1
	done
	echo "the node on port $1 never said cluster_state:ok" >&2
	exit 1
}

# rps_table "TEST …": reads "server,test,rps,p50,p99" lines of several
# rounds (servers redis and data-cluster) and prints, for each test in the
# order given, each server's median requests per second with its min–max,
# the ratio data-cluster/redis, and the median p50 and p99 of each.
rps_table() {
	awk -F, -v order="$1" '
function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{ k = $2; keys[k] = 1; n = ++cnt[$1, k]; rps[$1, k, n] = $3; p50[$1, k, n] = $4; p99[$1, k, n] = $5 }
END {
	printf "%-10s | %-28s | %-28s | %6s | %-17s | %-17s\n", "test", "redis rps (median, min-max)", "data-cluster rps", "ratio", "p50 ms redis/dc", "p99 ms redis/dc"
	printf "%s\n", "-----------+------------------------------+------------------------------+--------+-------------------+------------------"
	n_order = split(order, tests, " ")
	for (o = 1; o <= n_order; o++) {
		k = tests[o]; if (!(k in keys)) continue
		for (s = 1; s <= 2; s++) {
			srv = (s == 1) ? "redis" : "data-cluster"; n = cnt[srv, k]
			lo = 1e18; hi = 0
			for (j = 1; j <= n; j++) { a[j] = rps[srv, k, j]; if (a[j] < lo) lo = a[j]; if (a[j] > hi) hi = a[j]; b[j] = p50[srv, k, j]; c[j] = p99[srv, k, j] }
			med[s] = median(a, n); mn[s] = lo; mx[s] = hi; m50[s] = median(b, n); m99[s] = median(c, n)
		}
		printf "%-10s | %9.0f (%7.0f-%7.0f) | %9.0f (%7.0f-%7.0f) | %5.2fx | %7.3f / %7.3f | %7.3f / %7.3f\n", k, med[1], mn[1], mx[1], med[2], mn[2], mx[2], med[2] / med[1], m50[1], m50[2], m99[1], m99[2]
	}
}'
}

# start kind: starts a fresh redis-server (kind redis, no persistence) or
# "$work/data-cluster" with $DC_FLAGS (any other kind) on a free port, sets
# port and pid, and waits until it answers. Not in a subshell, so that the
# cleanup trap knows the server.
start() {
	port=$(free_port)
	if [ "$1" = redis ]; then
		redis-server --port "$port" --save '' --appendonly no --dir "$work" --logfile "$work/redis-$port.log" >/dev/null &
	else
		# shellcheck disable=SC2086
		"$work/data-cluster" --addr "127.0.0.1:$port" ${DC_FLAGS:-} >/dev/null 2>>"$work/dc.log" &
	fi
	pid=$!
	pids+=("$pid")
	wait_port "$port"
}

# start_cluster binary name: starts a fresh three-node data-cluster of
# binary on free ports (3 shards × 3 replicas, --fsync everysec, plus
# $DC_FLAGS), node i's data in $work/name-ni and its log in
# $work/name-ni.log; sets cluster_ports (client ports) and cluster_pids,
# and waits until every node answers and leads one shard. Not in a
# subshell, so that the cleanup trap knows the nodes.
start_cluster() {
	local bin=$1 name=$2 peers=() i initial
	cluster_ports=() cluster_pids=()
	for i in 1 2 3; do
		cluster_ports+=("$(free_port)")
		peers+=("$(free_port)")
	done
	initial="n1=127.0.0.1:${peers[0]},n2=127.0.0.1:${peers[1]},n3=127.0.0.1:${peers[2]}"
	for i in 1 2 3; do
		# shellcheck disable=SC2086
		"$bin" --node-id "n$i" --addr "127.0.0.1:${cluster_ports[i - 1]}" --peer-addr "127.0.0.1:${peers[i - 1]}" \
			--initial-cluster "$initial" --data-dir "$work/$name-n$i" --fsync everysec ${DC_FLAGS:-} \
			>/dev/null 2>"$work/$name-n$i.log" &
		pids+=($!)
		cluster_pids+=($!)
	done
	for i in 0 1 2; do wait_ok "${cluster_ports[i]}"; done
	wait_spread "${cluster_ports[@]}"
}

# rb_csv server port test command…: runs redis-benchmark of command with
# $REQUESTS, $CLIENTS, $PIPELINE and $RANGE and appends
# "server,test,rps,p50,p99" to $results. The CSV is read by its quoted
# fields, so that a command holding commas (a script) is read right.
rb_csv() {
	local server=$1 port=$2 test=$3
	shift 3
	redis-benchmark -p "$port" -n "$REQUESTS" -c "$CLIENTS" -P "$PIPELINE" -r "$RANGE" --csv "$@" 2>/dev/null |
		awk -F'","' -v s="$server" -v t="$test" 'NR > 1 { print s "," t "," $2 "," $5 "," $7 }' >>"$results"
}

# cpu_ticks pid…: the CPU time (user + system) the processes have used, in
# clock ticks (getconf CLK_TCK a second).
cpu_ticks() {
	local p total=0
	# Fields after "(comm) " (a name that may hold spaces): utime is the
	# 12th, stime the 13th.
	for p in "$@"; do total=$((total + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done
	echo "$total"
}

# minor_faults pid…: the page faults the processes have taken that needed
# no disk read (minflt, the 10th field of /proc/PID/stat): on a virtual
# machine each is costly, and a heap that grows or is given back and taken
# again pays them.
minor_faults() {
	local p total=0
	for p in "$@"; do total=$((total + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $8}'))); done
	echo "$total"
}

# leads port: how many shards the data-cluster node on port leads.
leads() { redis-cli -p "$1" info | tr -d '\r' | grep -c '^group[0-9]*:role=leader' || true; }

# wait_spread port…: waits (up to 20 s) until each data-cluster node on
# these ports leads one shard. The shards' leaders move to their preferred
# nodes about a second after the first election: runs started before
# would be redirected meanwhile.
wait_spread() {
	local p spread
	for _ in $(seq 1 200); do
		spread=1
		for p in "$@"; do
			[ "$(leads "$p")" = 1 ] || spread=0
		done
		[ "$spread" = 1 ] && return 0
		sleep 0.1
	done
}

# requests_for size: the requests of a run of values of size bytes:
# $REQUESTS, else 100000, or 20000 for values of 10 kB or more.
requests_for() {
	local n=100000
	if [ "$1" -ge 10000 ]; then n=20000; fi
	echo "${REQUESTS:-$n}"
}

# cpu_table "server…" width: reads "server,test,rps,cpu µs per request"
# lines of several rounds and prints, for each test in the order met (its
# column width characters wide), each server's median requests per second
# with its min–max and median CPU per request, and for the servers after
# the first their ratios to it.
cpu_table() {
	awk -F, -v servers="$1" -v width="$2" '
function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{ if (!($2 in seen)) { seen[$2] = 1; order[++nt] = $2 } n = ++cnt[$1, $2]; rps[$1, $2, n] = $3; cpu[$1, $2, n] = $4 }
END {
	ns = split(servers, srv, " ")
	printf "%-" width "s", "test"
	for (s = 1; s <= ns; s++) printf " | %-45s", srv[s] ": rps (median, min-max), cpu µs/req"
	printf "\n"
	for (t = 1; t <= nt; t++) {
		k = order[t]; printf "%-" width "s", k
		for (s = 1; s <= ns; s++) {
			n = cnt[srv[s], k]; lo = 1e18; hi = 0
			for (j = 1; j <= n; j++) { a[j] = rps[srv[s], k, j]; c[j] = cpu[srv[s], k, j]; if (a[j] < lo) lo = a[j]; if (a[j] > hi) hi = a[j] }
			m = median(a, n); mc = median(c, n)
			if (s == 1) { base = m; basec = mc }
			if (s == 1) printf " | %8.0f (%7.0f-%7.0f)        %6.2f       ", m, lo, hi, mc
			else printf " | %8.0f (%7.0f-%7.0f) %5.2fx %6.2f %5.2fx", m, lo, hi, m / base, mc, mc / basec
		}
		printf "\n"
	}
}'
}
