#!/usr/bin/env bash
# CI: the container test. Builds the static binary and a scratch image from
# the Dockerfile, runs three nodes on a Docker network of the test's own,
# kills and partitions one under write load, and checks every acknowledged
# write. Needs Docker Engine (no registry: nothing is pulled) and Go. The
# test removes its containers, network and image itself.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v docker >/dev/null 2>&1; then
	echo "docker is not on PATH: the container test cannot run" >&2
	exit 1
fi
docker version --format 'docker {{.Server.Version}}'

echo "== go test -tags container ./test/container"
go test -tags container -count=1 -v -timeout 10m ./test/container
