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

# free_port prints a TCP port on 127.0.0.1 that nothing listens on.
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
