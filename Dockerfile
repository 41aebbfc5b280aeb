# An image holding only the static data-cluster binary. Nothing is pulled:
# the image starts from scratch and the binary is built beforehand, so the
# build context must hold it as ./data-cluster:
#
#   CGO_ENABLED=0 go build -o data-cluster ./cmd/data-cluster
#   docker build -t data-cluster .
#
# (or any directory holding only the binary as the context, with
# `docker build -f Dockerfile DIR`). Without CGO_ENABLED=0 the binary links
# against libc, which scratch lacks, and the container fails to start.
#
# Every flag can be given as an argument or as DATA_CLUSTER_<NAME>; see
# docker-compose.yml for a three-node cluster.
FROM scratch

COPY data-cluster /data-cluster

# Data lives in /data; mount a volume there to keep it across containers.
VOLUME /data
ENV DATA_CLUSTER_DATA_DIR=/data

# Defaults for a container, which flags override: clients on port 7001 of
# every IPv4 interface. A cluster node also needs --node-id, --peer-addr (e.g.
# 0.0.0.0:17001), --initial-cluster and --advertise-addr (a name or address
# clients can reach).
ENV DATA_CLUSTER_ADDR=0.0.0.0:7001
# 7001: clients (RESP and the line protocol); 17001: the other nodes.
EXPOSE 7001 17001

ENTRYPOINT ["/data-cluster"]
