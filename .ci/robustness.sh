#!/usr/bin/env bash
# CI: the robustness suite against real processes (test/robustness, build
# tag robustness). Builds the static binary, puts three nodes in network
# namespaces of the test's own, and for fixed seeds kills, pauses and
# partitions them, slows their fsyncs and makes them fail (a binary built
# with -tags faults) under register, counter, transfer and queue
# workloads, then checks every history (porcupine, counter bounds, bank
# totals, queue deliveries). Needs root
# and iproute2 (installed here if `ip` is missing); the test removes its
# namespaces, links and processes itself. Each run's output directory is
# printed and kept under $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v ip >/dev/null 2>&1; then
	echo "ip (iproute2) is not on PATH: installing it"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
fi
ip -V

echo "== go test -tags faults ./internal/fsutil (the disk-fault layer itself)"
go test -tags faults -count=1 ./internal/fsutil

echo "== go test -tags robustness ./test/robustness"
go test -tags robustness -count=1 -v -timeout 15m ./test/robustness
