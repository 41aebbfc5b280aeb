//go:build container

// Package container tests data-cluster as it ships: the static binary in
// the scratch image of the repository's Dockerfile, three nodes in three
// containers on a Docker network of their own, one node killed or cut off
// from the others while clients write, and every acknowledged write read
// back afterwards.
//
// It needs a Docker Engine and the go command, and is built only with the
// container tag:
//
//	go test -tags container -count=1 -v -timeout 10m ./test/container
//
// Containers advertise their names (dc-…-n1:7001), which resolve only
// inside the test's network, so the test talks to each node through the
// client port Docker publishes on 127.0.0.1, with plain clients: a node
// forwards every command to its group's leader.
package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// The ports every node listens on inside its container.
const (
	clientPort = "7001"
	peerPort   = "17001"
)

// Bounds of the test's steps.
const (
	buildTimeout   = 5 * time.Minute
	dockerTimeout  = time.Minute
	readyTimeout   = time.Minute // until every node says cluster_state:ok
	recoverTimeout = time.Minute // until writes flow again after a fault
	verifyTimeout  = time.Minute // reading back every acknowledged write
	pollEvery      = 20 * time.Millisecond
)

// Load shape: writers per surviving node, writes acknowledged before the
// fault, and writes acknowledged after it (and after the last failed one)
// that count as "writes flow again". With keys spread over every group, a
// few hundred writes in a row without an error reach each group many times.
const (
	writersPerNode = 4
	warmWrites     = 500
	flowingWrites  = 1000
)

// TestCluster builds the image once, then runs each fault against a fresh
// three-node cluster.
func TestCluster(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker is not on PATH")
	}
	suffix := uniqueSuffix(t)
	image := buildImage(t, suffix)
	t.Run("Kill", func(t *testing.T) { testKill(t, image, suffix+"-k") })
	t.Run("Partition", func(t *testing.T) { testPartition(t, image, suffix+"-p") })
}

// testKill kills the node leading most groups while the other two take
// writes, waits until writes flow again, and reads every acknowledged
// write back from both survivors; then it restarts the killed node on its
// data volume and reads them back from it too.
func testKill(t *testing.T, image, suffix string) {
	c := startCluster(t, image, suffix)
	victim := c.busiestLeader(t)
	survivors := c.others(victim)
	t.Logf("killing %s (%s); writing through %s", c.names[victim], c.ids[victim], c.list(survivors))

	l := startLoad(t, suffix, c.clientsOf(survivors))
	defer l.stop()
	waitFor(t, readyTimeout, fmt.Sprintf("%d writes acknowledged before the kill", warmWrites), func() bool {
		return l.acked() >= warmWrites
	}, l.describe)

	killed := time.Now()
	mustDocker(t, dockerTimeout, "kill", c.names[victim])
	waitFor(t, recoverTimeout, fmt.Sprintf("%d writes in a row acknowledged after the kill", flowingWrites), func() bool {
		return l.flowingSince(killed) >= flowingWrites
	}, l.describe)
	recovered := time.Now()
	l.stop()
	acks := l.snapshot()
	t.Logf("writes flowed again within %v of the kill; longest gap between acknowledgements %v; %s",
		recovered.Sub(killed).Round(time.Millisecond), longestGap(acks, killed, recovered).Round(time.Millisecond), l.describe())

	for _, i := range survivors {
		c.waitState(t, i, "ok")
		verify(t, c.clients[i], c.names[i], acks)
	}

	t.Logf("restarting %s", c.names[victim])
	mustDocker(t, dockerTimeout, "start", c.names[victim])
	c.connect(t, victim) // Docker may publish the port anew
	c.waitState(t, victim, "ok")
	verify(t, c.clients[victim], c.names[victim], acks)
}

// testPartition cuts the node leading most groups off the network while
// the other two take writes, waits until writes flow again, reconnects it,
// waits until writes flow through the heal, and reads every acknowledged
// write back from all three nodes.
func testPartition(t *testing.T, image, suffix string) {
	c := startCluster(t, image, suffix)
	victim := c.busiestLeader(t)
	survivors := c.others(victim)
	t.Logf("partitioning %s (%s); writing through %s", c.names[victim], c.ids[victim], c.list(survivors))

	l := startLoad(t, suffix, c.clientsOf(survivors))
	defer l.stop()
	waitFor(t, readyTimeout, fmt.Sprintf("%d writes acknowledged before the partition", warmWrites), func() bool {
		return l.acked() >= warmWrites
	}, l.describe)

	cut := time.Now()
	mustDocker(t, dockerTimeout, "network", "disconnect", c.network, c.names[victim])
	waitFor(t, recoverTimeout, fmt.Sprintf("%d writes in a row acknowledged during the partition", flowingWrites), func() bool {
		return l.flowingSince(cut) >= flowingWrites
	}, l.describe)
	t.Logf("writes flowed again within %v of the partition; %s", time.Since(cut).Round(time.Millisecond), l.describe())

	healed := time.Now()
	mustDocker(t, dockerTimeout, "network", "connect", c.network, c.names[victim])
	waitFor(t, recoverTimeout, fmt.Sprintf("%d writes in a row acknowledged after the heal", flowingWrites), func() bool {
		return l.flowingSince(healed) >= flowingWrites
	}, l.describe)
	// The healed node must rejoin while writes go on: find its leaders
	// again and see that cluster_state is ok from its side.
	c.connect(t, victim)
	c.waitState(t, victim, "ok")
	done := time.Now()
	l.stop()
	acks := l.snapshot()
	t.Logf("longest gap between acknowledgements from the partition on %v; %s",
		longestGap(acks, cut, done).Round(time.Millisecond), l.describe())

	for i := range c.names {
		c.waitState(t, i, "ok")
		verify(t, c.clients[i], c.names[i], acks)
	}
}

// uniqueSuffix names this run's image, network and containers.
func uniqueSuffix(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(b))
}

// buildImage builds the static binary into a directory of its own, builds
// the repository's Dockerfile with that directory as the context, and
// returns the image's tag. The image is removed when the test ends.
func buildImage(t *testing.T, suffix string) string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found from the test's directory: %v", err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "data-cluster"), "./cmd/data-cluster")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	tag := "data-cluster-test:" + suffix
	t.Cleanup(func() {
		if out, err := docker(buildTimeout, "rmi", "-f", tag); err != nil {
			t.Logf("removing image %s: %v\n%s", tag, err, out)
		}
	})
	mustDocker(t, buildTimeout, "build", "-q", "-t", tag, "-f", filepath.Join(root, "Dockerfile"), dir)
	return tag
}

// cluster is three containers running one node each, and a client for
// each through its published port.
type cluster struct {
	image   string
	suffix  string
	network string
	ids     [3]string // node ids: n1, n2, n3
	names   [3]string // container names, also their host names
	initial string    // --initial-cluster
	clients [3]*redis.Client
}

// startCluster creates a network and three nodes on it, and waits until
// every node says cluster_state:ok. Everything it creates is removed when
// the test ends, after the nodes' logs are printed if it failed.
func startCluster(t *testing.T, image, suffix string) *cluster {
	c := &cluster{image: image, suffix: suffix, network: "dc-test-" + suffix}
	var peers []string
	for i := range c.names {
		c.ids[i] = fmt.Sprintf("n%d", i+1)
		c.names[i] = fmt.Sprintf("dc-%s-%s", suffix, c.ids[i])
		peers = append(peers, c.ids[i]+"="+c.names[i]+":"+peerPort)
	}
	c.initial = strings.Join(peers, ",")

	mustDocker(t, dockerTimeout, "network", "create", c.network)
	t.Cleanup(func() {
		if out, err := docker(dockerTimeout, "network", "rm", c.network); err != nil {
			t.Logf("removing network %s: %v\n%s", c.network, err, out)
		}
	})
	t.Cleanup(func() {
		// -v: the anonymous volumes of /data go with their containers.
		args := append([]string{"rm", "-f", "-v"}, c.names[:]...)
		if out, err := docker(dockerTimeout, args...); err != nil && !strings.Contains(out, "No such container") {
			t.Logf("removing containers: %v\n%s", err, out)
		}
	})
	t.Cleanup(func() {
		for _, cl := range c.clients {
			if cl != nil {
				cl.Close()
			}
		}
		if t.Failed() {
			c.dumpLogs(t)
		}
	})

	for i := range c.names {
		mustDocker(t, dockerTimeout, "run", "-d",
			"--network", c.network, "--name", c.names[i],
			"-p", "127.0.0.1::"+clientPort,
			c.image,
			"--node-id", c.ids[i],
			"--addr", "0.0.0.0:"+clientPort,
			"--peer-addr", "0.0.0.0:"+peerPort,
			"--advertise-addr", c.names[i]+":"+clientPort,
			"--initial-cluster", c.initial,
			"--data-dir", "/data",
			// Clients reach a container through Docker's port
			// forwarding, never from its loopback.
			"--protected-mode", "no")
	}
	for i := range c.names {
		c.connect(t, i)
	}
	for i := range c.names {
		c.waitState(t, i, "ok")
	}
	return c
}

// connect (re)makes the client of node i from the host port Docker
// publishes its client port on.
func (c *cluster) connect(t *testing.T, i int) {
	out := mustDocker(t, dockerTimeout, "port", c.names[i], clientPort+"/tcp")
	var addr string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "127.0.0.1:") {
			addr = line
			break
		}
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatalf("docker port %s %s: no 127.0.0.1 address in %q", c.names[i], clientPort, out)
	}
	if c.clients[i] != nil {
		c.clients[i].Close()
	}
	c.clients[i] = newClient(addr)
}

// newClient returns a plain client that never retries on its own, so that
// every acknowledgement the test records is one reply to one command.
func newClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:                     addr,
		MaxRetries:               -1,
		DialTimeout:              2 * time.Second,
		ReadTimeout:              5 * time.Second,
		WriteTimeout:             5 * time.Second,
		PoolSize:                 writersPerNode + 2,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

var stateLine = regexp.MustCompile(`(?m)^cluster_state:(\w+)`)

// waitState waits until node i's CLUSTER INFO shows cluster_state:want.
func (c *cluster) waitState(t *testing.T, i int, want string) {
	t.Helper()
	var last string
	waitFor(t, readyTimeout, fmt.Sprintf("%s: cluster_state:%s", c.names[i], want), func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		info, err := c.clients[i].ClusterInfo(ctx).Result()
		if err != nil {
			last = err.Error()
			return false
		}
		m := stateLine.FindStringSubmatch(info)
		if m == nil {
			last = "no cluster_state in " + info
			return false
		}
		last = "cluster_state:" + m[1]
		return m[1] == want
	}, func() string { return "last answer: " + last })
}

var leaderLine = regexp.MustCompile(`(?m)^group\d+:role=leader,`)

// busiestLeader returns the node leading most groups, as each node's INFO
// reports its own replicas' roles.
func (c *cluster) busiestLeader(t *testing.T) int {
	best, most := -1, -1
	var counts []string
	for i, cl := range c.clients {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		info, err := cl.Info(ctx).Result()
		cancel()
		if err != nil {
			t.Fatalf("%s: INFO: %v", c.names[i], err)
		}
		n := len(leaderLine.FindAllString(info, -1))
		counts = append(counts, fmt.Sprintf("%s leads %d", c.ids[i], n))
		if n > most {
			best, most = i, n
		}
	}
	t.Logf("groups led: %s", strings.Join(counts, ", "))
	if most < 1 {
		t.Fatalf("no node says it leads a group although every node said cluster_state:ok")
	}
	return best
}

func (c *cluster) others(victim int) []int {
	var out []int
	for i := range c.names {
		if i != victim {
			out = append(out, i)
		}
	}
	return out
}

func (c *cluster) clientsOf(nodes []int) []*redis.Client {
	var out []*redis.Client
	for _, i := range nodes {
		out = append(out, c.clients[i])
	}
	return out
}

func (c *cluster) list(nodes []int) string {
	var out []string
	for _, i := range nodes {
		out = append(out, c.names[i])
	}
	return strings.Join(out, " and ")
}

// dumpLogs prints the state and the last lines of every container's log.
func (c *cluster) dumpLogs(t *testing.T) {
	if out, err := docker(dockerTimeout, "ps", "-a", "--filter", "name=dc-"+c.suffix, "--format", "{{.Names}} {{.Status}} {{.Ports}}"); err == nil {
		t.Logf("containers:\n%s", out)
	}
	for _, name := range c.names {
		out, err := docker(dockerTimeout, "logs", "--tail", "150", name)
		if err != nil {
			t.Logf("docker logs %s: %v", name, err)
		}
		t.Logf("---- last lines of %s ----\n%s", name, out)
	}
}

// ack is one write a node acknowledged.
type ack struct {
	key, val   string
	start, end time.Time
}

// load runs writers against a set of nodes, each SETting keys of its own
// with unique values, and records every acknowledged write. Its methods
// are safe for concurrent use; stop ends the writers.
type load struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	acks    []ack          // in the order acknowledged
	errs    map[string]int // failed writes by kind
	lastErr time.Time      // start of the last failed write
}

// startLoad starts writersPerNode writers on each client. Their keys start
// with prefix.
func startLoad(t *testing.T, prefix string, clients []*redis.Client) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel, errs: map[string]int{}}
	t.Cleanup(l.stop)
	for ci, cl := range clients {
		for w := range writersPerNode {
			name := fmt.Sprintf("%s:c%d:w%d", prefix, ci, w)
			l.wg.Go(func() { l.write(ctx, cl, name) })
		}
	}
	return l
}

// write SETs name:0, name:1, … through cl until ctx ends.
func (l *load) write(ctx context.Context, cl *redis.Client, name string) {
	for seq := 0; ctx.Err() == nil; seq++ {
		key := fmt.Sprintf("%s:%d", name, seq)
		val := fmt.Sprintf("%s=%d@%d", name, seq, time.Now().UnixNano())
		start := time.Now()
		err := cl.Set(ctx, key, val, 0).Err()
		end := time.Now()
		if ctx.Err() != nil {
			return // the outcome of the last write is not known
		}
		l.mu.Lock()
		if err == nil {
			l.acks = append(l.acks, ack{key: key, val: val, start: start, end: end})
		} else {
			l.errs[errKind(err)]++
			if start.After(l.lastErr) {
				l.lastErr = start
			}
		}
		l.mu.Unlock()
		if err != nil {
			// Do not spin on a refused connection.
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

// errKind names a failed write: the error code of a server's reply, or
// the kind of network failure.
func errKind(err error) string {
	var re redis.Error
	if errors.As(err, &re) {
		code, _, _ := strings.Cut(re.Error(), " ")
		return code
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return "net " + oe.Op
	}
	return "other: " + err.Error()
}

// stop ends the writers and waits for them. It may be called again.
func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

func (l *load) acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acks)
}

// flowingSince counts the acknowledged writes started after both t and
// the last failed write.
func (l *load) flowingSince(t time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastErr.After(t) {
		t = l.lastErr
	}
	n := 0
	for i := len(l.acks) - 1; i >= 0 && l.acks[i].end.After(t); i-- {
		if l.acks[i].start.After(t) {
			n++
		}
	}
	return n
}

// snapshot returns a copy of the acknowledged writes.
func (l *load) snapshot() []ack {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.acks)
}

// describe sums up the load for logs and failures.
func (l *load) describe() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	kinds := make([]string, 0, len(l.errs))
	for k, n := range l.errs {
		kinds = append(kinds, fmt.Sprintf("%s×%d", k, n))
	}
	slices.Sort(kinds)
	errs := "none"
	if len(kinds) > 0 {
		errs = strings.Join(kinds, ", ")
	}
	return fmt.Sprintf("%d writes acknowledged, failed writes: %s", len(l.acks), errs)
}

// longestGap is the longest time between consecutive acknowledgements
// within [from, to].
func longestGap(acks []ack, from, to time.Time) time.Duration {
	ends := make([]time.Time, 0, len(acks))
	for _, a := range acks {
		if !a.end.Before(from) && !a.end.After(to) {
			ends = append(ends, a.end)
		}
	}
	slices.SortFunc(ends, func(a, b time.Time) int { return a.Compare(b) })
	var gap time.Duration
	prev := from
	for _, e := range ends {
		gap = max(gap, e.Sub(prev))
		prev = e
	}
	return max(gap, to.Sub(prev))
}

// verify reads every acknowledged key through cl and fails the test for
// each one missing or holding another value. Batches that fail as a whole
// (a connection lost, an election) are read again until verifyTimeout.
func verify(t *testing.T, cl *redis.Client, name string, acks []ack) {
	t.Helper()
	const batch = 500
	deadline := time.Now().Add(verifyTimeout)
	var missing, wrong []string
	for lo := 0; lo < len(acks); lo += batch {
		part := acks[lo:min(lo+batch, len(acks))]
		for {
			cmds, err := readBatch(cl, part)
			if err == nil {
				for i, cmd := range cmds {
					switch v, err := cmd.Result(); {
					case errors.Is(err, redis.Nil):
						missing = append(missing, part[i].key)
					case v != part[i].val:
						wrong = append(wrong, fmt.Sprintf("%s: got %q, want %q", part[i].key, v, part[i].val))
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: reading back acknowledged writes %d-%d: %v", name, lo, lo+len(part)-1, err)
			}
			time.Sleep(100 * time.Millisecond) // a retry after an error, not a synchronisation
		}
	}
	if len(missing) > 0 || len(wrong) > 0 {
		t.Errorf("%s: of %d acknowledged writes, %d are missing and %d hold another value; first missing: %v; first wrong: %v",
			name, len(acks), len(missing), len(wrong), missing[:min(10, len(missing))], wrong[:min(10, len(wrong))])
		return
	}
	t.Logf("%s: all %d acknowledged writes read back", name, len(acks))
}

// readBatch GETs the keys of part in one pipeline. It fails if any GET
// failed other than with a nil reply.
func readBatch(cl *redis.Client, part []ack) ([]*redis.StringCmd, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pipe := cl.Pipeline()
	cmds := make([]*redis.StringCmd, len(part))
	for i, a := range part {
		cmds[i] = pipe.Get(ctx, a.key)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
	}
	return cmds, nil
}

// waitFor polls cond until it holds or timeout passes; then it fails the
// test with what and, when given, detail's account of the state.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool, detail func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("no %s within %v", what, timeout)
			if detail != nil {
				msg += ": " + detail()
			}
			t.Fatal(msg)
		}
		time.Sleep(pollEvery)
	}
}

// docker runs the docker command with args, bounded by timeout, and
// returns its combined output, trimmed.
func docker(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// mustDocker is docker that fails the test on an error.
func mustDocker(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	out, err := docker(timeout, args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}
