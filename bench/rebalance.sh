#!/usr/bin/env bash
# What moving replicas costs a serving data-cluster, how long a cluster
# takes to re-create the replicas of a node that died, and how long a node
# joining takes to hold its share of the keys. Four nodes on
# loopback, SHARDS groups of three replicas (so every group is missing from
# exactly one node), --fsync everysec:
#
#  1. Steady state: KEYS keys loaded with `redis-benchmark --cluster -t set
#     -P 16`, then `redis-benchmark --cluster -t set,get -c CLIENTS -P 1`
#     (sized to last about DURATION seconds): requests/s and p99.
#  2. During moves: the same redis-benchmark run in the background while
#     `data-cluster cluster move` moves, one after another, a replica of a
#     group to the node that does not hold it, group after group, until the
#     load ends (the first round moves every group at least once).
#     --placement manual, so only the script moves replicas. Each move is
#     timed from the command's start until it reports the move done (it
#     polls every 500 ms, so a time is up to half a second more than the
#     move took).
#     Parts 1 and 2 alternate for ROUNDS rounds and end with a steady run;
#     on two cores a steady run varies by tens of percent (snapshots, GC),
#     so the medians are compared, and each run during moves with the
#     steady runs around it. The goal is at least 0.70 of the steady
#     throughput.
#     After each round `data-cluster cluster rebalance` (timed) gives every
#     node one preferred leadership again, since redis-benchmark sends a
#     node's clients to one group only.
#  3. Re-replication: every node restarted on its data dir with
#     --placement auto --node-down-after NODE_DOWN_AFTER, then the node
#     leading the most groups is killed with SIGKILL and CLUSTER STATUS is
#     polled on the others until no data group has a replica on it and
#     none is moving. No client load meanwhile.
#  4. A node joining (JOIN=0 skips it): the nodes of part 3 stopped, a
#     fresh cluster of four nodes with --placement auto (new data dirs and
#     ports) loaded with KEYS keys as in part 1, then n5 started with
#     --join and n1's peer address (same --fsync, --node-down-after and
#     DC_FLAGS) while the same set,get load runs in the background (after
#     a steady run of it before the join, for reference; JOIN_LOAD=0: no
#     load). CLUSTER STATUS is polled on n1 from the start of the n5
#     process until n5 is in the table, and until the cluster is balanced
#     again: every node follows one table in which nothing moves, n5 holds
#     data replicas, every node's replicas and preferred leaderships are
#     within one of the others', and the metadata group has grown onto n5;
#     then one `data-cluster cluster rebalance --no-wait` must answer
#     balanced (it would take a step if one were left). Reported: those
#     times, the placement epochs, the placement steps the nodes logged,
#     the keys n5 holds, and the throughput during the join against the
#     steady run before it and part 1's steady median.
#
# After parts 2, 3 and 4 every group's replicas are checked to hold the
# same number of keys (INFO's groupN:…,applied=…,keys=…), and DBSIZE before
# the kill to equal DBSIZE after the re-replication (with JOIN_LOAD=0,
# DBSIZE before the join to equal DBSIZE after it too).
#
# redis-benchmark --cluster (7.0) gives the clients of each node one hash
# tag, of a slot the node serves when the run starts: keys are
# key:{tag}:N, so a node leading two groups loads only one of them, and
# a run after leaders moved writes keys under new tags (DBSIZE grows).
#
# Usage: bench/rebalance.sh                                  (about 5 minutes)
#        KEYS=100000 DURATION=5 ROUNDS=1 bench/rebalance.sh   (a quick check)
# Environment: KEYS (keys loaded, and the -r of every run; 1000000),
#   DURATION (seconds the set,get run should last; 20), REQUESTS (requests
#   per test of the set,get run; empty: sized from a calibration run and
#   DURATION), ROUNDS (3), CLIENTS (50), VALUE_SIZE (16), SHARDS (4),
#   MOVE_FROM (alternate: a follower's replica, then the leader's, in turn;
#   follower; leader), MOVE_TIMEOUT (300s, --wait-timeout of each move),
#   MOVE_GAP (seconds to wait after each move before the next; 0),
#   NODE_DOWN_AFTER (5s), KILL_NODE (n1…n4; empty: the node leading the
#   most groups), HEAL_TIMEOUT (seconds, 900), JOIN (1; 0 skips part 4),
#   JOIN_LOAD (1; 0: no client load during the join), JOIN_TIMEOUT
#   (seconds from n5's start until balanced, 900), DC_FLAGS (extra flags
#   for every node), LOGS_DIR (a directory to copy the nodes' logs to at
#   exit; part 4's are n1-part4.log…n5-part4.log).
# Installs redis-server and redis-tools with apt-get when missing. The
# commands run are printed on stderr, prefixed with '+'; the report goes
# to stdout. Exits 1 when something went wrong (listed under "problems").
set -euo pipefail
cd "$(dirname "$0")/.."

KEYS=${KEYS:-1000000}
DURATION=${DURATION:-20}
REQUESTS=${REQUESTS:-}
CLIENTS=${CLIENTS:-50}
VALUE_SIZE=${VALUE_SIZE:-16}
SHARDS=${SHARDS:-4}
MOVE_FROM=${MOVE_FROM:-alternate}
MOVE_TIMEOUT=${MOVE_TIMEOUT:-300s}
MOVE_GAP=${MOVE_GAP:-0}
NODE_DOWN_AFTER=${NODE_DOWN_AFTER:-5s}
KILL_NODE=${KILL_NODE:-}
HEAL_TIMEOUT=${HEAL_TIMEOUT:-900}
JOIN=${JOIN:-1}
JOIN_LOAD=${JOIN_LOAD:-1}
JOIN_TIMEOUT=${JOIN_TIMEOUT:-900}
ROUNDS=${ROUNDS:-3}
DC_FLAGS=${DC_FLAGS:-""}
LOGS_DIR=${LOGS_DIR:-}
NODES=4

case $MOVE_FROM in alternate | follower | leader) ;; *)
	echo "MOVE_FROM must be alternate, follower or leader, not '$MOVE_FROM'" >&2
	exit 2
	;;
esac

# shellcheck source=bench/lib.sh
source bench/lib.sh

for tool in python3 go; do
	need "$tool" || {
		echo "$tool is needed" >&2
		exit 1
	}
done

# On a failure, the end of every node's log goes to stderr before the work
# directory is removed.
reported=0
on_exit() {
	local rc=$?
	if [ "$rc" != 0 ] && [ "$reported" = 0 ]; then
		for f in "$work"/n*.log; do
			[ -f "$f" ] || continue
			echo "== last lines of $(basename "$f")" >&2
			tail -n 20 "$f" >&2
		done
	fi
	if [ -n "$LOGS_DIR" ]; then
		{ mkdir -p "$LOGS_DIR" && cp "$work"/n*.log "$LOGS_DIR"/; } 2>/dev/null || true
	fi
	cleanup
}
trap on_exit EXIT

# show prints a command as it is run (a last argument "&": in the background).
show() {
	local a s=""
	for a in "$@"; do
		if [[ $a =~ ^[][A-Za-z0-9_./:=,@%+{}-]+$ || $a == "&" ]]; then s+=" $a"; else s+=" $(printf '%q' "$a")"; fi
	done
	echo "+$s" >&2
}
say() { echo "== $*" >&2; }
# elapsed prints the seconds from $1 to $2 (EPOCHREALTIME values).
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

problems=() # what went wrong in the server or the run, for the report

cat >"$work/dc.py" <<'EOF'
# Helpers of bench/rebalance.sh: CLUSTER STATUS and INFO over RESP.
import json, os, signal, socket, sys, time

def cmd(port, *args, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
    try:
        req = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            req += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(req)
        f = s.makefile("rb")
        line = f.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed")
        t, body = line[:1], line[1:-2].decode()
        if t == b"-":
            raise RuntimeError(body)
        if t == b"+":
            return body
        if t == b":":
            return int(body)
        if t == b"$":
            n = int(body)
            if n < 0:
                return None
            data = f.read(n + 2)
            if len(data) != n + 2:
                raise ConnectionError("connection closed")
            return data[:-2].decode()
        raise RuntimeError("unexpected reply %r" % line)
    finally:
        s.close()

def status(port, timeout=5.0):
    return json.loads(cmd(port, "CLUSTER", "STATUS", timeout=timeout))

def settled(st):
    """Agreed, nothing moving, every data group led by its preferred replica."""
    if not st["agreed"] or (st.get("meta") or {}).get("moving"):
        return False
    for g in st["groups"]:
        reps = g["replicas"]
        if g["moving"] or any(r["leaving"] for r in reps) or not g["leader"] or g["leader"] != reps[0]["node"]:
            return False
    return True

def wait_settled(ports, timeout):
    """Waits until every node follows the same table and it is settled;
    exits 1 (printing why) after timeout seconds."""
    end = time.time() + float(timeout)
    why = ""
    while time.time() < end:
        try:
            sts = [status(p) for p in ports]
            epochs = {st["epoch"] for st in sts}
            if len(epochs) != 1:
                why = "nodes follow epochs %s" % sorted(epochs)
            elif not all(settled(st) for st in sts):
                why = "not settled: " + "; ".join(
                    "g%d leader=%s replicas=%s moving=%s" % (g["group"], g["leader"] or "-",
                        ",".join(r["node"] + ("-" if r["leaving"] else "") for r in g["replicas"]), g["moving"])
                    for g in sts[0]["groups"])
            else:
                return 0
        except Exception as e:
            why = str(e)
        time.sleep(0.2)
    print(why)
    return 1

def next_move(path, index, policy):
    """Picks move number index (0-based) from `cluster status --json`: group
    index mod the groups, to the node that holds none of its replicas."""
    st = json.load(open(path))["status"]
    groups = sorted(st["groups"], key=lambda g: g["group"])
    g = groups[index % len(groups)]
    holders = [r["node"] for r in g["replicas"]]
    missing = [n["id"] for n in st["nodes"] if n["id"] not in holders]
    if not missing or not g["leader"] or g["moving"]:
        raise SystemExit("group %d cannot move now: replicas %s, leader %r, moving %s" % (g["group"], holders, g["leader"], g["moving"]))
    followers = [h for h in holders if h != g["leader"]]
    take_leader = policy == "leader" or (policy == "alternate" and index % 2 == 1)
    src = g["leader"] if take_leader else followers[(index // len(groups)) % len(followers)]
    print(g["group"], src, missing[0], "leader" if take_leader else "follower")

def leaders(port):
    """Prints each node's id and how many data groups it leads, most first."""
    st = status(port)
    count = {n["id"]: 0 for n in st["nodes"]}
    for g in st["groups"]:
        if g["leader"]:
            count[g["leader"]] = count.get(g["leader"], 0) + 1
    for node, c in sorted(count.items(), key=lambda kv: (-kv[1], kv[0])):
        print(node, c)

def raft_info(port):
    out = {}
    for line in cmd(port, "INFO").splitlines():
        if line.startswith("group") and ":" in line:
            name, fields = line.split(":", 1)
            kv = dict(f.split("=", 1) for f in fields.split(","))
            out[int(name[5:])] = kv
    return out

def keys_agree(nodes, timeout=20.0):
    """Waits until every group's replicas have applied the same index, then
    prints each group's keys per replica; exits 1 if they differ."""
    ids = dict(reversed(n.split("=", 1)) for n in nodes)
    ports = list(ids)
    end = time.time() + timeout
    while True:
        infos = {}
        for p in ports:
            for g, kv in raft_info(p).items():
                infos.setdefault(g, []).append((p, int(kv["applied"]), int(kv["keys"]), kv["role"]))
        same_applied = all(len({a for _, a, _, _ in reps}) == 1 for reps in infos.values())
        if same_applied or time.time() > end:
            break
        time.sleep(0.2)
    rc = 0
    for g in sorted(infos):
        reps = infos[g]
        keys = {k for _, _, k, _ in reps}
        ok = len(keys) == 1
        if not ok:
            rc = 1
        print("group %d: %s%s" % (g, " ".join("%s=%d (applied %d)" % (ids[p], k, a) for p, a, k, _ in reps),
                                  "" if ok else "  MISMATCH"))
    if not same_applied:
        print("replicas had not applied the same index after %.0f s" % timeout)
    return rc

def heal(ports, dead, pid, timeout, down_after):
    """Kills pid with SIGKILL and polls CLUSTER STATUS on ports (the other
    nodes) until no data group has a replica on dead and none is moving.
    Prints key=value lines: seconds from the kill to each event."""
    ports = ports.split(",")
    t0 = time.time()
    os.kill(int(pid), signal.SIGKILL)
    ev = {}
    group_done = {}
    first_epoch = None
    affected = None  # groups with a replica on dead at the first answer
    i = 0
    def mark(name):
        if name not in ev:
            ev[name] = time.time() - t0
            print("  %6.2f s  %s" % (ev[name], name.replace("_", " ")), file=sys.stderr)
    while time.time() - t0 < float(timeout):
        try:
            st = status(ports[i % len(ports)])
        except Exception as e:
            i += 1
            time.sleep(0.05)
            continue
        node = {n["id"]: n for n in st["nodes"]}.get(dead)
        if node and node["down"]:
            mark("marked_down")
        if all(g["leader"] and g["leader"] != dead for g in st["groups"]):
            mark("leaders_elsewhere")
        if first_epoch is None:
            first_epoch = st["epoch"]
            affected = {g["group"] for g in st["groups"] if dead in [r["node"] for r in g["replicas"]]}
        if st["epoch"] != first_epoch or any(g["moving"] for g in st["groups"]):
            mark("first_move_started")
        left = 0
        for g in st["groups"]:
            if dead in [r["node"] for r in g["replicas"]] or g["moving"]:
                left += 1
            elif g["group"] in affected and g["group"] not in group_done:
                group_done[g["group"]] = time.time() - t0
        if left == 0 and "first_move_started" in ev:
            mark("fully_replicated")
            break
        time.sleep(0.1)
    for k, v in ev.items():
        print("%s=%.2f" % (k, v))
    print("groups_done=%s" % ",".join("g%d:%.2f" % kv for kv in sorted(group_done.items(), key=lambda kv: kv[1])))
    print("epoch_at_first_answer=%s" % first_epoch)
    return 0 if "fully_replicated" in ev else 1

def alive(pid):
    """Whether process pid runs (a zombie does not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

def log_lines(path, msg):
    """(seconds since the epoch, line) of the lines of the node log path
    whose message is msg, text or JSON format; the time is None when it
    cannot be read."""
    import re
    from datetime import datetime
    out = []
    want = re.compile(r'msg"?[=:]"%s"' % re.escape(msg))
    try:
        f = open(path, errors="replace")
    except OSError:
        return out
    with f:
        for line in f:
            if not want.search(line):
                continue
            m = re.search(r'time"?[=:]"?([0-9][0-9T:.+\-Z]*)', line)
            t = None
            if m:
                try:
                    t = datetime.fromisoformat(m.group(1)).timestamp()
                except ValueError:
                    pass
            out.append((t, line))
    return out

def unbalanced(st, new):
    """Why the table of st is not yet balanced with node new in it, or ""
    when it is: nothing moving, new holds data replicas, replicas and
    preferred leaderships spread within one over the usable nodes, and the
    metadata group grown to min(5, usable nodes) replicas."""
    nodes = {n["id"]: n for n in st["nodes"]}
    if new not in nodes:
        return "%s not in the table" % new
    if not st["agreed"]:
        return "table not agreed"
    meta = st.get("meta") or {}
    if meta.get("moving"):
        return "the metadata group is moving"
    mv = [str(g["group"]) for g in st["groups"] if g["moving"] or any(r["leaving"] for r in g["replicas"])]
    if mv:
        return "groups moving: " + ",".join(mv)
    if nodes[new]["replicas"] == 0:
        return "no data replica on %s" % new
    usable = [n for n in st["nodes"] if not n["down"] and not n["draining"]]
    reps = [n["replicas"] for n in usable]
    leads = [n["leads"] for n in usable]
    per = " ".join("%s:%d/%d" % (n["id"], n["replicas"], n["leads"]) for n in usable)
    if max(reps) - min(reps) > 1:
        return "replicas/leaderships per node: " + per
    if max(leads) - min(leads) > 1:
        return "replicas/leaderships per node: " + per
    mr = len([r for r in meta.get("replicas", []) if not r["leaving"]])
    if mr < min(5, len(usable)):
        return "%d metadata replicas" % mr
    return ""

def join_watch(members, newport, new, go, timeout, logs, newlog):
    """Once CLUSTER STATUS on the first of members (the founding nodes)
    answers, creates go + ".ready" and waits for the file go to hold "pid
    t0": node new was started with --join as process pid at t0. Then polls
    CLUSTER STATUS on that member, and on new until it answers, until the
    table is balanced (see unbalanced) as every node, new included, reports
    it at one epoch. Prints key=value lines: seconds from t0 to each event;
    from the logs matching logs (a glob), each placement step and when its
    move was done; from newlog (new's log), when it was admitted, started
    serving and read the table."""
    import glob, re
    members = members.split(",")
    timeout = float(timeout)
    status(members[0])
    open(go + ".ready", "w").close()
    end = time.time() + 60
    while not os.path.exists(go):
        if time.time() > end:
            print("why=the node was not started")
            return 1
        time.sleep(0.002)
    pid, t0 = open(go).read().split()
    pid, t0 = int(pid), float(t0)
    ev = {}
    def mark(name, at=None):
        if name not in ev:
            ev[name] = (time.time() if at is None else at) - t0
            print("  %6.2f s  %s" % (ev[name], name.replace("_", " ")), file=sys.stderr)
    first_epoch = last_epoch = None
    why = ""
    st = None
    polls, slowest = 0, 0.0
    while time.time() - t0 < timeout:
        if not alive(pid):
            mark("exited")
            break
        if "serving" not in ev:
            try:
                status(newport, timeout=1)
                mark("serving")
            except Exception:
                pass
        try:
            asked = time.time()
            st = status(members[0])
            polls, slowest = polls + 1, max(slowest, time.time() - asked)
        except Exception as e:
            why = "%s: %s" % (members[0], e)
            time.sleep(0.05)
            continue
        now = time.time()
        if new not in [n["id"] for n in st["nodes"]]:
            why = "%s not in the table" % new
            time.sleep(0.05)
            continue
        mark("listed", now)
        if first_epoch is None:
            first_epoch = st["epoch"]
        last_epoch = st["epoch"]
        if {n["id"]: n for n in st["nodes"]}[new]["replicas"] > 0:
            mark("data_replica_listed", now)
        why = unbalanced(st, new)
        if not why:
            try:
                sts = [status(p) for p in members + [newport]]
                epochs = {s["epoch"] for s in sts}
                whys = [w for w in (unbalanced(s, new) for s in sts) if w]
                if len(epochs) != 1:
                    why = "nodes follow epochs %s" % sorted(epochs)
                elif whys:
                    why = whys[0]
                else:
                    last_epoch = sts[0]["epoch"]
                    mark("balanced", now)
                    break
            except Exception as e:
                why = str(e)
        time.sleep(0.1)
    for k, v in ev.items():
        print("%s=%.2f" % (k, v))
    print("polls=%d" % polls)
    print("slowest_poll=%.2f" % slowest)
    print("epoch_listed=%s" % first_epoch)
    print("epoch_end=%s" % last_epoch)
    # The steps, and when the move each started was done ("move done" is
    # logged by the node that ends it in the table).
    steps, done = [], []
    for path in sorted(glob.glob(logs)):
        who = os.path.basename(path).split("-")[0].split(".")[0]
        for t, line in log_lines(path, "placement step"):
            if t is None or t >= t0 - 1:
                m = re.search(r'step"?[=:]"((?:[^"\\]|\\.)*)"', line)
                steps.append((t, who, m.group(1) if m else line.strip()))
        for t, line in log_lines(path, "move done"):
            m = re.search(r'group"?[=:](-?[0-9]+)', line)
            if t is not None and t >= t0 - 1 and m:
                done.append((t, int(m.group(1))))
    steps.sort(key=lambda s: (s[0] is None, s[0] or 0))
    done.sort()
    for t, who, what in steps:
        end = "-"
        m = re.match(r"move group (-?[0-9]+)'s replica", what)
        if m and t is not None:
            for i, (td, g) in enumerate(done):
                if g == int(m.group(1)) and td >= t:
                    end = "%.2f" % (td - t0)
                    del done[i]
                    break
        print("step=%s|%s|%s|%s" % ("-" if t is None else "%.2f" % (t - t0), end, who, what))
    for name, msg in (("admitted", "admitted to the cluster"), ("started", "cluster node started"),
                      ("table_read", "placement table read")):
        for t, _ in log_lines(newlog, msg)[:1]:
            if t is not None:
                print("%s=%.2f" % (name, t - t0))
    if st is not None:
        print("counts=%s" % " ".join("%s:%d/%d" % (n["id"], n["replicas"], n["leads"]) for n in st["nodes"]))
        meta = st.get("meta") or {}
        print("meta=%s" % ",".join(r["node"] for r in meta.get("replicas", []) if not r["leaving"]))
    if "balanced" not in ev:
        print("why=%s" % why)
    return 0 if "balanced" in ev else 1

def node_keys(port):
    """Prints the keys of a node's data replicas: the total, then group=keys."""
    info = raft_info(port)
    print(sum(int(kv["keys"]) for kv in info.values()),
          " ".join("group%d=%s" % (g, info[g]["keys"]) for g in sorted(info)))

if __name__ == "__main__":
    what, args = sys.argv[1], sys.argv[2:]
    if what == "wait-settled":
        sys.exit(wait_settled(args[0].split(","), args[1]))
    if what == "next-move":
        next_move(args[0], int(args[1]), args[2])
    elif what == "leaders":
        leaders(args[0])
    elif what == "keys-agree":
        sys.exit(keys_agree(args[0].split(",")))  # id=port,…
    elif what == "heal":
        sys.exit(heal(*args))
    elif what == "join-watch":
        sys.exit(join_watch(*args))
    elif what == "node-keys":
        node_keys(args[0])
    elif what == "epoch":
        print(status(args[0])["epoch"])
    else:
        raise SystemExit("unknown " + what)
EOF
dc() { python3 "$work/dc.py" "$@"; }

say "building data-cluster"
show go build -o "$work/data-cluster" ./cmd/data-cluster
go build -o "$work/data-cluster" ./cmd/data-cluster
DC=$work/data-cluster

# Four client ports and four peer ports, all different, below the kernel's
# ephemeral range (32768 up, here), so that no outgoing connection takes
# one between the check and the bind, nor while the nodes restart.
used=" "
ports=() peers=()
pick() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))
		case $used in *" $p "*) continue ;; esac
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		echo "$p"
		return
	done
}
for i in $(seq 0 $((NODES - 1))); do
	p=$(pick)
	used+="$p "
	ports+=("$p")
	q=$(pick)
	used+="$q "
	peers+=("$q")
done
initial=""
for i in $(seq 0 $((NODES - 1))); do initial+="${initial:+,}n$((i + 1))=127.0.0.1:${peers[i]}"; done
all_ports=$(IFS=,; echo "${ports[*]}")
all_nodes="" # n1=port,…
for i in $(seq 0 $((NODES - 1))); do all_nodes+="${all_nodes:+,}n$((i + 1))=${ports[i]}"; done
P1=${ports[0]}

node_pids=()
gen="" # part 4's nodes have their data dirs and logs under $work/n1-part4…
# start_node i flags…: starts node n(i+1) with the common flags and those given.
start_node() {
	local i=$1
	shift
	local cmd=("$DC" --node-id "n$((i + 1))" --addr "127.0.0.1:${ports[i]}" --peer-addr "127.0.0.1:${peers[i]}"
		--initial-cluster "$initial" --shards "$SHARDS" --replicas 3 --data-dir "$work/n$((i + 1))$gen" --fsync everysec "$@")
	# shellcheck disable=SC2206
	cmd+=($DC_FLAGS)
	show "${cmd[@]}"
	"${cmd[@]}" >/dev/null 2>>"$work/n$((i + 1))$gen.log" &
	node_pids[i]=$!
	pids+=($!)
}
# stop_node i: SIGTERM, and wait for the process to end.
stop_node() {
	show kill "${node_pids[$1]}"
	kill "${node_pids[$1]}" 2>/dev/null || true
	wait "${node_pids[$1]}" 2>/dev/null || true
}
# wait_settled ports: until every node follows the same settled table.
wait_settled() {
	local why
	if ! why=$(dc wait-settled "$1" 60); then
		echo "the cluster did not settle within 60 s: $why" >&2
		problems+=("the cluster did not settle within 60 s after ${2:-start}: $why")
	fi
}
dbsize() { redis-cli -p "$P1" dbsize | tr -d '\r'; }

# bench_cmd requests pipeline tests: redis-benchmark --cluster with the
# common flags, into the array bcmd.
bench_cmd() {
	bcmd=(redis-benchmark --cluster -p "$P1" -t "$3" -r "$KEYS" -n "$1" -c "$CLIENTS" -P "$2" -d "$VALUE_SIZE" --csv)
}
# rates file: "SET_rps SET_p99 GET_rps GET_p99" from a --csv output.
rates() {
	awk -F'","' '/^"(SET|GET)"/ { gsub(/"/, ""); split($0, f, ","); r[f[1]] = f[2]; p[f[1]] = f[7] }
		END { printf "%s %s %s %s\n", (r["SET"] == "" ? 0 : r["SET"]), (p["SET"] == "" ? 0 : p["SET"]), (r["GET"] == "" ? 0 : r["GET"]), (p["GET"] == "" ? 0 : p["GET"]) }' "$1"
}
# errors_of file: the errors redis-benchmark printed, counted. It exits at
# the first error other than MOVED, ASK and CLUSTERDOWN.
errors_of() {
	grep -v '^"' "$1" | grep -i 'error' | sed 's/^[[:space:]]*//' | sort | uniq -c | sort -rn | head -5 || true
}
# complete file tests…: whether a --csv output has a line for every test.
complete() {
	local f=$1 t
	shift
	for t in "$@"; do grep -q "^\"$t\"" "$f" || return 1; done
}

say "starting 4 nodes, $SHARDS groups × 3 replicas, --placement manual"
for i in $(seq 0 $((NODES - 1))); do start_node "$i" --placement manual; done
for p in "${ports[@]}"; do wait_port "$p"; done
for p in "${ports[@]}"; do wait_ok "$p"; done
wait_settled "$all_ports" start

say "loading $KEYS keys"
load=(redis-benchmark --cluster -p "$P1" -t set -r "$KEYS" -n "$KEYS" -c "$CLIENTS" -P 16 -d "$VALUE_SIZE" --csv)
show "${load[@]}"
t0=$EPOCHREALTIME
"${load[@]}" >"$work/load.csv" 2>&1
t1=$EPOCHREALTIME
load_s=$(elapsed "$t0" "$t1")
read -r load_rps _ _ _ < <(rates "$work/load.csv")
keys_loaded=$(dbsize)
say "loaded in $load_s s ($load_rps SET/s): DBSIZE $keys_loaded"
load_err=$(errors_of "$work/load.csv")
[ -z "$load_err" ] || problems+=("redis-benchmark errors while loading: $load_err")
complete "$work/load.csv" SET || problems+=("the load did not finish")

if [ -z "$REQUESTS" ]; then
	bench_cmd 30000 1 set,get
	show "${bcmd[@]}"
	"${bcmd[@]}" >"$work/cal.csv" 2>&1
	read -r s _ g _ < <(rates "$work/cal.csv")
	# set,get runs the SETs, then the GETs, n each: n/s + n/g = DURATION.
	REQUESTS=$(awk -v s="$s" -v g="$g" -v d="$DURATION" 'BEGIN { n = (s > 0 && g > 0) ? d / (1 / s + 1 / g) : 100000; n = int(n / 1000 + 0.5) * 1000; print (n < 1000 ? 1000 : n) }')
	say "calibration: SET $s/s, GET $g/s; $REQUESTS requests per test for about $DURATION s"
fi

# leads_now: how many groups each node leads, as n1:1,n2:1,…
leads_now() { dc leaders "$P1" | sort | awk '{ printf "%s%s:%s", (NR > 1 ? "," : ""), $1, $2 }'; }
# rebalance when: `data-cluster cluster rebalance`, timed, into rebalances.txt.
: >"$work/rebalances.txt"
rebalance() {
	local rb=("$DC" cluster rebalance --addr "127.0.0.1:$P1" --wait-timeout "$MOVE_TIMEOUT") t0 steps
	say "rebalance $1"
	show "${rb[@]}"
	t0=$EPOCHREALTIME
	if "${rb[@]}" >"$work/rebalance.out" 2>&1; then
		steps=$(grep -vcx balanced "$work/rebalance.out" || true)
		echo "$1: $steps step(s) in $(elapsed "$t0" "$EPOCHREALTIME") s$(awk '$0 != "balanced" { printf "%s %s", (n++ ? ";" : ":"), $0 }' "$work/rebalance.out")" >>"$work/rebalances.txt"
	else
		echo "$1: failed: $(tr '\n' ' ' <"$work/rebalance.out")" >>"$work/rebalances.txt"
		problems+=("cluster rebalance $1 failed: $(tr '\n' ' ' <"$work/rebalance.out")")
	fi
	sed 's/^/   /' "$work/rebalance.out" >&2
	wait_settled "$all_ports" "the rebalance $1"
}
runs="$work/runs.txt" # kind round secs set_rps set_p99 get_rps get_p99 leads
: >"$runs"
# record kind round secs: adds the run in $work/kind-round.csv to runs.txt.
record() {
	local f="$work/$1-$2.csv"
	complete "$f" SET GET || problems+=("the $1 run of round $2 ended early: $(errors_of "$f" | tr '\n' ' ')")
	echo "$1 $2 $3 $(rates "$f") $(cat "$work/$1-$2.leads")" >>"$runs"
}
run_steady() { # round
	leads_now >"$work/steady-$1.leads"
	local t0
	bench_cmd "$REQUESTS" 1 set,get
	say "round $1: steady state"
	show "${bcmd[@]}"
	t0=$EPOCHREALTIME
	"${bcmd[@]}" >"$work/steady-$1.csv" 2>&1 || true
	record steady "$1" "$(elapsed "$t0" "$EPOCHREALTIME")"
}

: >"$work/moves.txt" # index round group from to role seconds load_running
move_err=""
i=0 # moves so far, in all rounds
# run_moves round: the same load in the background, and moves one after
# another until it ends (at least one per group in the first round).
run_moves() {
	local r=$1 t0 t1 bench_pid loaded first=$i
	leads_now >"$work/moves-$r.leads"
	bench_cmd "$REQUESTS" 1 set,get
	say "round $r: the same load while replicas move (MOVE_FROM=$MOVE_FROM)"
	show "${bcmd[@]}" "&"
	local t_load=$EPOCHREALTIME
	"${bcmd[@]}" >"$work/moves-$r.csv" 2>&1 &
	bench_pid=$!
	pids+=("$bench_pid")
	sleep 1
	while [ -z "$move_err" ]; do
		if ! kill -0 "$bench_pid" 2>/dev/null && { [ "$r" -gt 1 ] || [ $((i - first)) -ge "$SHARDS" ]; }; then break; fi
		if ! "$DC" cluster status --addr "127.0.0.1:$P1" --json >"$work/status.json" 2>"$work/next.err"; then
			move_err="cluster status before move $((i + 1)): $(cat "$work/next.err")"
			break
		fi
		if ! read -r g from to role < <(dc next-move "$work/status.json" "$i" "$MOVE_FROM" 2>"$work/next.err"); then
			move_err="choosing move $((i + 1)): $(cat "$work/next.err")"
			break
		fi
		mv=("$DC" cluster move --addr "127.0.0.1:$P1" --wait-timeout "$MOVE_TIMEOUT" "$g" "$from" "$to")
		show "${mv[@]}"
		t0=$EPOCHREALTIME
		if ! "${mv[@]}" >"$work/move.out" 2>&1; then
			move_err="move $((i + 1)) (group $g $from → $to): $(tr '\n' ' ' <"$work/move.out")"
			break
		fi
		t1=$EPOCHREALTIME
		loaded=yes
		kill -0 "$bench_pid" 2>/dev/null || loaded=no
		i=$((i + 1))
		echo "$i $r $g $from $to $role $(elapsed "$t0" "$t1") $loaded" >>"$work/moves.txt"
		say "move $i: group $g $from → $to ($role) in $(elapsed "$t0" "$t1") s"
		[ "$MOVE_GAP" = 0 ] || sleep "$MOVE_GAP"
	done
	local moves_end=$EPOCHREALTIME
	wait "$bench_pid" || true
	record moves "$r" "$(elapsed "$t_load" "$EPOCHREALTIME")"
	echo "round $r: $((i - first)) moves from 1 s to $(elapsed "$t_load" "$moves_end") s after the load started; the load ran $(elapsed "$t_load" "$EPOCHREALTIME") s" >>"$work/windows.txt"
	if [ -n "$move_err" ]; then
		echo "$move_err" >&2
		problems+=("$move_err")
		return
	fi
	wait_settled "$all_ports" "the moves of round $r"
	# Balanced preferred leaders again: redis-benchmark loads only one
	# group per node leading any.
	rebalance "after the moves of round $r"
}

for r in $(seq 1 "$ROUNDS"); do
	run_steady "$r"
	run_moves "$r"
	[ -z "$move_err" ] || break
done
run_steady $((ROUNDS + 1))
agree_moves=$(dc keys-agree "$all_nodes") || problems+=("replicas disagree after the moves: $(grep MISMATCH <<<"$agree_moves" | tr '\n' ';')")

say "part 3: rebalance, restart with --placement auto --node-down-after $NODE_DOWN_AFTER, kill a node"
rebalance "before the restart"

for i in $(seq 0 $((NODES - 1))); do stop_node "$i"; done
t0=$EPOCHREALTIME
for i in $(seq 0 $((NODES - 1))); do start_node "$i" --placement auto --node-down-after "$NODE_DOWN_AFTER"; done
for p in "${ports[@]}"; do wait_port "$p"; done
for p in "${ports[@]}"; do wait_ok "$p"; done
restart_s=$(elapsed "$t0" "$EPOCHREALTIME")
wait_settled "$all_ports" "the restart"
keys_before_kill=$(dbsize)
say "restarted in $restart_s s (until every node said cluster_state:ok); DBSIZE $keys_before_kill"

victim=$KILL_NODE
if [ -z "$victim" ]; then read -r victim _ < <(dc leaders "$P1"); fi
vi=$((${victim#n} - 1))
led=$(dc leaders "$P1" | awk -v n="$victim" '$1 == n { print $2 }')
survivors=() surv_nodes=""
for i in $(seq 0 $((NODES - 1))); do
	[ "$i" = "$vi" ] && continue
	survivors+=("${ports[i]}")
	surv_nodes+="${surv_nodes:+,}n$((i + 1))=${ports[i]}"
done
surv=$(IFS=,; echo "${survivors[*]}")
P1=${survivors[0]}
epoch_before=$(dc epoch "$P1")
disown "${node_pids[vi]}" 2>/dev/null || true # no "Killed" notice from the shell
show kill -9 "${node_pids[vi]}"
say "killing $victim (pid ${node_pids[vi]}, leading $led of $SHARDS groups); polling CLUSTER STATUS on $surv"
heal_ok=1
dc heal "$surv" "$victim" "${node_pids[vi]}" "$HEAL_TIMEOUT" "$NODE_DOWN_AFTER" >"$work/heal.txt" || heal_ok=0
get() { sed -n "s/^$1=//p" "$work/heal.txt"; }
[ "$heal_ok" = 1 ] || problems+=("not fully replicated ${HEAL_TIMEOUT} s after the kill of $victim")
wait_settled "$surv" "the re-replication"
keys_after_heal=$(dbsize)
[ "$keys_after_heal" = "$keys_before_kill" ] || problems+=("DBSIZE was $keys_before_kill before the kill of $victim and $keys_after_heal after the re-replication")
agree_heal=$(dc keys-agree "$surv_nodes") || problems+=("replicas disagree after the re-replication: $(grep MISMATCH <<<"$agree_heal" | tr '\n' ';')")
epoch_after=$(dc epoch "$P1")

# Part 4: a node joins a fresh cluster holding the keys, with automatic
# placement, and takes its share of the replicas.
if [ "$JOIN" != 0 ]; then
	say "part 4: a fresh cluster of $NODES nodes with --placement auto and $KEYS keys, then n$((NODES + 1)) joins it"
	for i in $(seq 0 $((NODES - 1))); do [ "$i" = "$vi" ] || stop_node "$i"; done
	gen=-part4
	# New ports for the founders and the node joining.
	ports=() peers=()
	for i in $(seq 0 "$NODES"); do
		p=$(pick)
		used+="$p "
		ports+=("$p")
		q=$(pick)
		used+="$q "
		peers+=("$q")
	done
	initial=""
	for i in $(seq 0 $((NODES - 1))); do initial+="${initial:+,}n$((i + 1))=127.0.0.1:${peers[i]}"; done
	founders=$(IFS=,; echo "${ports[*]:0:NODES}")
	new=n$((NODES + 1))
	NP=${ports[NODES]}
	all5_ports="$founders,$NP"
	all5_nodes=""
	for i in $(seq 0 "$NODES"); do all5_nodes+="${all5_nodes:+,}n$((i + 1))=${ports[i]}"; done
	P1=${ports[0]}
	for i in $(seq 0 $((NODES - 1))); do start_node "$i" --placement auto --node-down-after "$NODE_DOWN_AFTER"; done
	for p in "${ports[@]:0:NODES}"; do wait_port "$p"; done
	for p in "${ports[@]:0:NODES}"; do wait_ok "$p"; done
	wait_settled "$founders" "the start of part 4"

	load=(redis-benchmark --cluster -p "$P1" -t set -r "$KEYS" -n "$KEYS" -c "$CLIENTS" -P 16 -d "$VALUE_SIZE" --csv)
	show "${load[@]}"
	t0=$EPOCHREALTIME
	"${load[@]}" >"$work/join-keys.csv" 2>&1
	jload_s=$(elapsed "$t0" "$EPOCHREALTIME")
	e=$(errors_of "$work/join-keys.csv")
	[ -z "$e" ] || problems+=("redis-benchmark errors while loading part 4's keys: $e")
	complete "$work/join-keys.csv" SET || problems+=("the load of part 4's keys did not finish")
	jkeys_loaded=$(dbsize)
	say "loaded in $jload_s s: DBSIZE $jkeys_loaded"
	jleads=$(leads_now)
	if [ "$JOIN_LOAD" != 0 ]; then
		bench_cmd "$REQUESTS" 1 set,get
		say "part 4: steady state before the join"
		show "${bcmd[@]}"
		t0=$EPOCHREALTIME
		"${bcmd[@]}" >"$work/join-steady.csv" 2>&1 || true
		jsteady_s=$(elapsed "$t0" "$EPOCHREALTIME")
		complete "$work/join-steady.csv" SET GET || problems+=("part 4's steady run ended early: $(errors_of "$work/join-steady.csv" | tr '\n' ' ')")
	fi
	keys_before_join=$(dbsize)
	epoch_before_join=$(dc epoch "$P1")

	if [ "$JOIN_LOAD" != 0 ]; then
		say "part 4: the same load while $new joins"
		show "${bcmd[@]}" "&"
		t_jload=$EPOCHREALTIME
		"${bcmd[@]}" >"$work/join-load.csv" 2>&1 &
		jbench_pid=$!
		pids+=("$jbench_pid")
		sleep 1
	fi
	jcmd=("$DC" --node-id "$new" --addr "127.0.0.1:$NP" --peer-addr "127.0.0.1:${peers[NODES]}" --join "127.0.0.1:${peers[0]}"
		--data-dir "$work/$new$gen" --fsync everysec --placement auto --node-down-after "$NODE_DOWN_AFTER")
	# shellcheck disable=SC2206
	jcmd+=($DC_FLAGS)
	# The watcher polls from the start of the node: it is started first,
	# and the node once it says it is ready.
	dc join-watch "$founders" "$NP" "$new" "$work/join.go" "$JOIN_TIMEOUT" "$work/n*$gen.log" "$work/$new$gen.log" >"$work/join.txt" &
	watch_pid=$!
	pids+=("$watch_pid")
	for _ in $(seq 1 300); do
		[ -e "$work/join.go.ready" ] || ! kill -0 "$watch_pid" 2>/dev/null && break
		sleep 0.1
	done
	say "starting $new with --join n1's peer address; polling CLUSTER STATUS on n1"
	show "${jcmd[@]}" "&"
	t_join=$EPOCHREALTIME
	"${jcmd[@]}" >/dev/null 2>>"$work/$new$gen.log" &
	node_pids[NODES]=$!
	pids+=($!)
	echo "${node_pids[NODES]} $t_join" >"$work/join.go.tmp"
	mv "$work/join.go.tmp" "$work/join.go"
	join_ok=1
	wait "$watch_pid" || join_ok=0
	jget() { sed -n "s/^$1=//p" "$work/join.txt"; }
	if [ "$(jget exited)" != "" ]; then
		problems+=("$new exited $(jget exited) s after its start: $(tail -n 3 "$work/$new$gen.log" | tr '\n' ' ')")
	elif [ "$join_ok" = 0 ]; then
		problems+=("the cluster was not balanced ${JOIN_TIMEOUT} s after $new started: $(jget why)")
	fi
	if [ "$JOIN_LOAD" != 0 ]; then
		wait "$jbench_pid" || true
		t_jload_end=$EPOCHREALTIME
		complete "$work/join-load.csv" SET GET || problems+=("the load during the join ended early: $(errors_of "$work/join-load.csv" | tr '\n' ' ')")
	fi
	# The last check: the planner has no step left (CLUSTER REBALANCE takes
	# the next step if there is one, so it runs only once, here).
	jrb=("$DC" cluster rebalance --no-wait --addr "127.0.0.1:$P1")
	show "${jrb[@]}"
	jrebalance=$("${jrb[@]}" 2>&1 | tr '\n' ' ' | sed 's/ $//') || true
	[ "$jrebalance" = balanced ] || problems+=("CLUSTER REBALANCE after the join answered '$jrebalance', not balanced")
	if [ -n "$(jget exited)" ]; then
		wait_settled "$founders" "the join"
		agree_join=$(dc keys-agree "${all5_nodes%,"$new"=*}") || problems+=("replicas disagree after the join: $(grep MISMATCH <<<"$agree_join" | tr '\n' ';')")
		new_keys="$new exited"
	else
		wait_settled "$all5_ports" "the join"
		agree_join=$(dc keys-agree "$all5_nodes") || problems+=("replicas disagree after the join: $(grep MISMATCH <<<"$agree_join" | tr '\n' ';')")
		new_keys=$(dc node-keys "$NP")
	fi
	keys_after_join=$(dbsize)
	if [ "$JOIN_LOAD" = 0 ] && [ "$keys_after_join" != "$keys_before_join" ]; then
		problems+=("DBSIZE was $keys_before_join before the join and $keys_after_join after")
	fi
	epoch_after_join=$(dc epoch "$P1")
fi

# The report.
down_after_s=$(awk -v d="$NODE_DOWN_AFTER" 'BEGIN { v = d + 0; if (d ~ /ms$/) v /= 1000; else if (d ~ /m$/) v *= 60; else if (d ~ /h$/) v *= 3600; print v }')

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(redis-benchmark --version | awk '{print $1, $2}'); data-cluster $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
echo "data-cluster: $NODES nodes, $SHARDS groups × 3 replicas, --fsync everysec, --placement manual $DC_FLAGS"
echo "load: $keys_loaded keys (DBSIZE) from $KEYS SETs -P 16 -d $VALUE_SIZE in $load_s s ($load_rps/s)"
echo "runs: redis-benchmark --cluster -t set,get -r $KEYS -n $REQUESTS -c $CLIENTS -P 1 -d $VALUE_SIZE; $ROUNDS rounds of steady, then during moves, and a last steady"
echo
awk '
function both(set, get) { return (set > 0 && get > 0) ? 2 / (1 / set + 1 / get) : 0 }
function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return n == 0 ? 0 : (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
{ n++; kind[n] = $1; round[n] = $2; secs[n] = $3; set[n] = $4; set99[n] = $5; get[n] = $6; get99[n] = $7; leads[n] = $8; bo[n] = both($4, $6)
  if ($1 == "steady") steady_of[$2] = n }
END {
	printf "%-9s | %5s | %8s | %8s | %8s | %8s | %9s | %-9s | %s\n", "run", "secs", "SET/s", "SET p99", "GET/s", "GET p99", "set+get/s", "x steady", "groups led at its start"
	print "----------+-------+----------+----------+----------+----------+-----------+-----------+------------------------"
	for (i = 1; i <= n; i++) {
		x = ""
		if (kind[i] == "moves") {
			a = steady_of[round[i]]; b = steady_of[round[i] + 1]
			ref = (b ? (bo[a] + bo[b]) / 2 : bo[a])
			if (ref > 0) { x = sprintf("%.2f", bo[i] / ref); paired = paired " " x }
		}
		printf "%-9s | %5.1f | %8.0f | %8.3f | %8.0f | %8.3f | %9.0f | %-9s | %s\n", kind[i] " " round[i], secs[i], set[i], set99[i], get[i], get99[i], bo[i], x, leads[i]
	}
	print ""
	printf "%-21s | %8s | %8s | %8s | %8s | %9s\n", "median of the runs", "SET/s", "SET p99", "GET/s", "GET p99", "set+get/s"
	print "----------------------+----------+----------+----------+----------+----------"
	for (k = 1; k <= 2; k++) {
		name = (k == 1) ? "steady" : "moves"; c = 0
		for (i = 1; i <= n; i++) if (kind[i] == name) { c++; A[c] = set[i]; B[c] = set99[i]; C[c] = get[i]; D[c] = get99[i]; E[c] = bo[i] }
		m[k, 1] = median(A, c); m[k, 2] = median(B, c); m[k, 3] = median(C, c); m[k, 4] = median(D, c); m[k, 5] = median(E, c)
		printf "%-21s | %8.0f | %8.3f | %8.0f | %8.3f | %9.0f\n", (k == 1 ? "steady" : "during moves") " (" c " runs)", m[k, 1], m[k, 2], m[k, 3], m[k, 4], m[k, 5]
	}
	printf "%-21s | %8s | %8s | %8s | %8s | %9s\n", "during moves / steady", r(m[2, 1], m[1, 1]), r(m[2, 2], m[1, 2]), r(m[2, 3], m[1, 3]), r(m[2, 4], m[1, 4]), r(m[2, 5], m[1, 5])
	t = m[1, 5] > 0 ? m[2, 5] / m[1, 5] : 0
	print ""
	print "(p99 in ms; set+get/s: 2n over the time of the SET and the GET test; x steady: set+get/s of a run during moves"
	print " over the mean of the steady runs just before and after it)"
	printf "throughput during moves: %.2f of steady state (medians of set+get/s; per round:%s); goal at least 0.70: %s\n", t, paired, (t >= 0.70 ? "met" : "NOT met")
}
function r(x, y) { return y > 0 ? sprintf("%.2fx", x / y) : "-" }' "$runs"
[ -z "$move_err" ] || echo "the moves stopped early (see the problems below): the runs 'during moves' are not"
echo
nmoves=$(wc -l <"$work/moves.txt")
echo "moves: $nmoves, one after another (MOVE_FROM=$MOVE_FROM, MOVE_GAP=$MOVE_GAP s); time from \`cluster move\` to its \"move done\""
sed 's/^/  /' "$work/windows.txt"
printf "%-4s | %-5s | %-5s | %-10s | %-8s | %7s | %s\n" "move" "round" "group" "from → to" "replica" "seconds" "load running at its end"
echo "-----+-------+-------+------------+----------+---------+------------------------"
while read -r n r g from to role secs loaded; do
	printf "%-4s | %-5s | %-5s | %-10s | %-8s | %7s | %s\n" "$n" "$r" "$g" "$from → $to" "$role" "$secs" "$loaded"
done <"$work/moves.txt"
if [ "$nmoves" -gt 0 ]; then
	awk '{ print $7 }' "$work/moves.txt" | sort -g | awk '{ a[NR] = $1; s += $1 }
		END { printf "per move: mean %.2f s, median %.2f s, min %.2f s, max %.2f s\n", s / NR, (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2), a[1], a[NR] }'
fi
echo "replica key counts after the moves:"
sed 's/^/  /' <<<"$agree_moves"
echo
echo "data-cluster cluster rebalance (--placement manual; no client load):"
sed 's/^/  /' "$work/rebalances.txt"
echo "restart of all 4 nodes on their data dirs with --placement auto --node-down-after $NODE_DOWN_AFTER: cluster_state:ok on every node after $restart_s s"
echo
echo "re-replication: kill -9 of $victim (leading $led of $SHARDS groups), no client load, --node-down-after $NODE_DOWN_AFTER"
printf "  %-58s %8s s\n" "every group led by a live node (per CLUSTER STATUS)" "$(get leaders_elsewhere)"
printf "  %-58s %8s s\n" "$victim marked down" "$(get marked_down)"
printf "  %-58s %8s s\n" "first re-replication move in the table" "$(get first_move_started)"
done_s=$(get fully_replicated)
printf "  %-58s %8s s\n" "no data group on $victim and none moving (kill → full)" "${done_s:-timeout}"
if [ -n "$done_s" ]; then
	printf "  %-58s %8s s\n" "the same minus --node-down-after ($NODE_DOWN_AFTER)" "$(awk -v a="$done_s" -v b="$down_after_s" 'BEGIN { printf "%.2f", a - b }')"
fi
echo "  groups re-replicated at (s after the kill): $(get groups_done | tr ',' ' ')"
echo "  placement epoch $epoch_before → $epoch_after; DBSIZE $keys_before_kill before, $keys_after_heal after"
echo "  replica key counts after the re-replication:"
sed 's/^/    /' <<<"$agree_heal"

if [ "$JOIN" != 0 ]; then
	echo
	jnote="no client load"
	[ "$JOIN_LOAD" = 0 ] || jnote="the set,get load running"
	echo "join: $new started with --join (n1's peer address) into a fresh cluster of $NODES nodes with --placement auto --node-down-after $NODE_DOWN_AFTER"
	echo "  holding $jkeys_loaded keys (DBSIZE after $KEYS SETs -P 16, loaded in $jload_s s), groups led at its start: $jleads; $jnote"
	echo "  seconds from the start of the $new process (from the nodes' logs, or polling CLUSTER STATUS every 0.1 s):"
	jline() { printf "  %-62s %8s s\n" "$1" "${2:--}"; }
	sed -n 's/^step=//p' "$work/join.txt" >"$work/join-steps.txt"
	jline "$new admitted (its log: \"admitted to the cluster\")" "$(jget admitted)"
	jline "$new serving (its log: \"cluster node started\")" "$(jget started)"
	jline "$new following the table (its log: \"placement table read\")" "$(jget table_read)"
	jline "$new in the table per n1's CLUSTER STATUS (polled)" "$(jget listed)"
	jline "$new answering CLUSTER STATUS (polled)" "$(jget serving)"
	jline "first placement step (a node's log)" "$(awk -F'|' 'NR == 1 { print $1 }' "$work/join-steps.txt")"
	jline "$new holding a data replica per n1's CLUSTER STATUS (polled)" "$(jget data_replica_listed)"
	jline "last move done (a node's log)" "$(awk -F'|' '$2 != "-" { t = $2 } END { print t }' "$work/join-steps.txt")"
	jdone=$(jget balanced)
	jline "balanced, every node agreeing (polled; see below)" "${jdone:-timeout}"
	echo "  (balanced: nothing moving, $new holding data replicas, every node's data replicas and preferred"
	echo "   leaderships within one of the others', the metadata group on min(5, nodes) nodes;"
	echo "   n1 answered $(jget polls) polls, the slowest in $(jget slowest_poll) s)"
	echo "  final \`data-cluster cluster rebalance --no-wait\`: $jrebalance"
	nsteps=$(wc -l <"$work/join-steps.txt")
	echo "  placement epoch $epoch_before_join before $new started, $(jget epoch_listed) at the first poll listing it, $epoch_after_join at the end ($((epoch_after_join - epoch_before_join)) table changes)"
	echo "  placement steps: $nsteps (seconds from the start of $new: step → move done; node logging the step)"
	while IFS='|' read -r at end who what; do
		printf "    %7s → %7s  %-3s %s\n" "$at" "$end" "$who" "$what"
	done <"$work/join-steps.txt"
	echo "  data replicas/preferred leaderships per node at the end: $(jget counts); metadata group on $(jget meta)"
	read -r nk ngroups <<<"$new_keys"
	echo "  keys on $new at the end: $nk (${ngroups:-none}); DBSIZE $keys_before_join before the join, $keys_after_join after"
	if [ "$JOIN_LOAD" != 0 ]; then
		read -r s1 p1 g1 q1 < <(rates "$work/join-steady.csv")
		read -r s2 p2 g2 q2 < <(rates "$work/join-load.csv")
		ref1=$(awk '$1 == "steady" && $4 > 0 && $6 > 0 { print 2 / (1 / $4 + 1 / $6) }' "$runs" | sort -g | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2); else print 0 }')
		echo "  the load: redis-benchmark as in part 1, started $(elapsed "$t_jload" "$t_join") s before $new; it ended $(elapsed "$t_join" "$t_jload_end") s after $new started,"
		echo "  so the join ($new's start → balanced) covered ${jdone:-?} s of its $(elapsed "$t_jload" "$t_jload_end") s"
		printf "  %-26s | %5s | %8s | %8s | %8s | %8s | %9s\n" "run" "secs" "SET/s" "SET p99" "GET/s" "GET p99" "set+get/s"
		echo "  ---------------------------+-------+----------+----------+----------+----------+----------"
		awk -v name="steady, before the join" -v secs="$jsteady_s" -v s="$s1" -v p="$p1" -v g="$g1" -v q="$q1" 'BEGIN { printf "  %-26s | %5.1f | %8.0f | %8.3f | %8.0f | %8.3f | %9.0f\n", name, secs, s, p, g, q, (s > 0 && g > 0) ? 2 / (1 / s + 1 / g) : 0 }'
		awk -v name="during the join" -v secs="$(elapsed "$t_jload" "$t_jload_end")" -v s="$s2" -v p="$p2" -v g="$g2" -v q="$q2" 'BEGIN { printf "  %-26s | %5.1f | %8.0f | %8.3f | %8.0f | %8.3f | %9.0f\n", name, secs, s, p, g, q, (s > 0 && g > 0) ? 2 / (1 / s + 1 / g) : 0 }'
		awk -v s1="$s1" -v g1="$g1" -v s2="$s2" -v g2="$g2" -v m="$ref1" 'BEGIN {
			a = (s1 > 0 && g1 > 0) ? 2 / (1 / s1 + 1 / g1) : 0; b = (s2 > 0 && g2 > 0) ? 2 / (1 / s2 + 1 / g2) : 0
			printf "  set+get/s of the run during the join: %s of the steady run before it, %s of part 1'"'"'s steady median (%.0f)\n", (a > 0 ? sprintf("%.2f", b / a) : "-"), (m > 0 ? sprintf("%.2f", b / m) : "-"), m }'
	fi
	echo "  replica key counts after the join:"
	awk '{ print "    " $0 }' <<<"$agree_join"
fi

# What the nodes logged at WARN or ERROR, by message.
warn=$(cat "$work"/n*.log | grep -E 'level=(WARN|ERROR)' | sed -E 's/^.*(level=[A-Z]+) msg=("[^"]*"|[^ ]*).*$/\1 \2/' | sort | uniq -c | sort -rn | head -15 || true)
errs=""
for f in "$work"/steady-*.csv "$work"/moves-*.csv "$work"/join-steady.csv "$work"/join-load.csv; do
	[ -f "$f" ] || continue
	e=$(errors_of "$f")
	[ -z "$e" ] || errs+="  $(basename "$f" .csv):"$'\n'"$e"$'\n'
done
echo
if [ -n "$errs" ]; then
	echo "redis-benchmark errors (CLUSTERDOWN is retried after a second; any other error ends the run):"
	echo "$errs"
fi
if [ -n "$warn" ]; then
	echo "node log lines at WARN or ERROR, by message (count level msg):"
	sed 's/^/  /' <<<"$warn"
fi
if [ ${#problems[@]} -gt 0 ]; then
	echo
	echo "problems:"
	for p in "${problems[@]}"; do echo "  - $p"; done
	reported=1
	exit 1
fi
