#!/usr/bin/env bash
# A client that pipelines GETS GETs of a SIZE-byte value and leaves the
# replies unread for HOLD: the server's resident memory before, while the
# replies wait and after they are read, redis-server beside data-cluster
# (bench/slowreader.go does the client's part and checks every reply).
# redis-server grows too: its normal class has no output limit by default.
#
# Usage: bench/slowreader.sh [data-cluster binary…]
#   With binaries (say one built from main), each is measured too, beside
#   the one built from this tree.
# Environment: GETS (300), SIZE (1048576), HOLD (3s), ROUNDS (3), DC_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."

GETS=${GETS:-300}
SIZE=${SIZE:-1048576}
HOLD=${HOLD:-3s}
ROUNDS=${ROUNDS:-3}

# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "building data-cluster and the client…" >&2
go build -o "$work/data-cluster" ./cmd/data-cluster
go build -o "$work/slowreader" bench/slowreader.go

bins=("$@")
printf "%-28s | %10s | %10s | %10s\n" "server" "before MiB" "held MiB" "after MiB"
printf "%s\n" "-----------------------------+------------+------------+-----------"
measure() {
	local name=$1 kind=$2
	for _ in $(seq 1 "$ROUNDS"); do
		start "$kind"
		local r
		r=$("$work/slowreader" -addr "127.0.0.1:$port" -pid "$pid" -gets "$GETS" -size "$SIZE" -hold "$HOLD")
		kill "$pid"
		wait "$pid" 2>/dev/null || true
		IFS=, read -r before held after <<<"$r"
		printf "%-28s | %10s | %10s | %10s\n" "$name" "$before" "$held" "$after"
	done
}
measure redis-server redis
for b in "${bins[@]}"; do
	cp "$b" "$work/data-cluster"
	measure "data-cluster $(basename "$b")" dc
done
go build -o "$work/data-cluster" ./cmd/data-cluster
measure "data-cluster (this tree)" dc
