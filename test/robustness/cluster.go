package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// nodeCount is the size of the cluster: every group has a replica on every
// node.
const nodeCount = 3

// cluster is nodeCount data-cluster processes on a network. Its methods
// are called from the run's goroutine only; the addresses may be read
// from any goroutine.
type cluster struct {
	net    network
	bin    string
	logDir string // node i's stderr goes to logDir/n<i>.log, across restarts
	nodes  []*node
}

// node is one process of the cluster, and how to start it again.
type node struct {
	id     string
	args   []string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the running process has exited
	paused bool
	log    *os.File
	faults string // the disk-fault control file (DATA_CLUSTER_DISK_FAULTS)
}

// startCluster starts the nodes with data dirs under dataDir and waits
// until each reports cluster_state:ok. Node i's disk-fault control file is
// logDir/n<i>.faults, empty to begin with.
func startCluster(nw network, bin, dataDir, logDir, fsync string) (*cluster, error) {
	c := &cluster{net: nw, bin: bin, logDir: logDir}
	var peers []string
	for i := range nodeCount {
		peers = append(peers, fmt.Sprintf("n%d=%s", i+1, nw.peerAddr(i)))
	}
	for i := range nodeCount {
		id := fmt.Sprintf("n%d", i+1)
		f, err := os.OpenFile(filepath.Join(logDir, id+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			c.close()
			return nil, err
		}
		faults := filepath.Join(logDir, id+".faults")
		if err := os.WriteFile(faults, nil, 0o644); err != nil {
			f.Close()
			c.close()
			return nil, err
		}
		c.nodes = append(c.nodes, &node{id: id, log: f, faults: faults, args: []string{
			"--node-id", id, "--addr", nw.clientAddr(i), "--peer-addr", nw.peerAddr(i),
			"--initial-cluster", strings.Join(peers, ","), "--data-dir", filepath.Join(dataDir, id),
			"--fsync", fsync,
			// Clients reach a namespace's node from 10.213.X.1, not
			// from its loopback.
			"--protected-mode", "no",
		}})
	}
	for i := range c.nodes {
		if err := c.start(i); err != nil {
			c.close()
			return nil, err
		}
	}
	for i := range c.nodes {
		if err := c.waitOK(i, 60*time.Second); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

// start starts node i's process.
func (c *cluster) start(i int) error {
	n := c.nodes[i]
	fmt.Fprintf(n.log, "==== robustness: starting %s at %s\n", n.id, time.Now().Format(time.RFC3339Nano))
	cmd := c.net.command(i, c.bin, n.args)
	cmd.Stdout, cmd.Stderr = n.log, n.log
	// Read by a binary built with -tags faults (internal/fsutil/faults.go).
	cmd.Env = append(os.Environ(), "DATA_CLUSTER_DISK_FAULTS="+n.faults,
		// A small in-memory Raft log: replicas that fall behind (a node
		// killed, paused or cut off) catch up from snapshots built from
		// the leader's keyspace while the checkers watch. Set in the
		// environment, not as a flag, so that --bin still runs builds
		// older than the flag, which ignore it.
		"DATA_CLUSTER_RAFT_LOG_MEMORY=64kb")
	// The node dies with the harness, whatever kills the harness.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %v", n.id, err)
	}
	n.cmd, n.paused = cmd, false
	exited := make(chan struct{})
	n.exited = exited
	go func() {
		cmd.Wait()
		close(exited)
	}()
	return nil
}

func (c *cluster) running(i int) bool {
	n := c.nodes[i]
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL to node i and waits until it has exited.
func (c *cluster) kill(i int) error {
	n := c.nodes[i]
	if !c.running(i) {
		return fmt.Errorf("%s is not running", n.id)
	}
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s did not exit within 10s of SIGKILL", n.id)
	}
	n.paused = false
	fmt.Fprintf(n.log, "==== robustness: killed %s (SIGKILL) at %s\n", n.id, time.Now().Format(time.RFC3339Nano))
	return nil
}

// setDiskFault writes node i's disk-fault control file: "" for none,
// "delay=<duration>" or "fail". It writes a temporary file and renames it,
// so that a sync never reads half a line.
func (c *cluster) setDiskFault(i int, fault string) error {
	n := c.nodes[i]
	tmp := n.faults + ".tmp"
	if fault != "" {
		fault += "\n"
	}
	if err := os.WriteFile(tmp, []byte(fault), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, n.faults); err != nil {
		return err
	}
	fmt.Fprintf(n.log, "==== robustness: disk fault of %s set to %q at %s\n", n.id, strings.TrimSpace(fault), time.Now().Format(time.RFC3339Nano))
	return nil
}

// waitExit waits until node i's process exits on its own and returns its
// exit status; ok is false if it is still running after timeout.
func (c *cluster) waitExit(i int, timeout time.Duration) (code int, ok bool) {
	n := c.nodes[i]
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-n.exited:
	case <-t.C:
		return 0, false
	}
	n.paused = false
	fmt.Fprintf(n.log, "==== robustness: %s exited on its own (%v) at %s\n", n.id, n.cmd.ProcessState, time.Now().Format(time.RFC3339Nano))
	return n.cmd.ProcessState.ExitCode(), true
}

// pause stops node i with SIGSTOP; resume continues it.
func (c *cluster) pause(i int) error {
	if err := c.nodes[i].cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return err
	}
	c.nodes[i].paused = true
	return nil
}

func (c *cluster) resume(i int) error {
	if err := c.nodes[i].cmd.Process.Signal(syscall.SIGCONT); err != nil {
		return err
	}
	c.nodes[i].paused = false
	return nil
}

// exitedEarly returns an error naming the nodes that exited although
// nobody killed them.
func (c *cluster) exitedEarly() error {
	var errs []error
	for i, n := range c.nodes {
		if n.cmd != nil && !c.running(i) && n.cmd.ProcessState != nil && !killedBySignal(n.cmd.ProcessState) {
			errs = append(errs, fmt.Errorf("%s exited by itself: %v (log %s)", n.id, n.cmd.ProcessState, n.log.Name()))
		}
	}
	return errors.Join(errs...)
}

func killedBySignal(ps *os.ProcessState) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

var stateOK = regexp.MustCompile(`(?m)^cluster_state:ok`)

// waitOK polls node i until it reports cluster_state:ok.
func (c *cluster) waitOK(i int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		if !c.running(i) {
			return fmt.Errorf("%s exited while waiting for cluster_state:ok: %v (log %s)", c.nodes[i].id, c.nodes[i].cmd.ProcessState, c.nodes[i].log.Name())
		}
		r, err := c.ask(i, "CLUSTER", "INFO")
		if err == nil && stateOK.MatchString(r.str) {
			return nil
		}
		last = fmt.Sprint(r.str, err)
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not cluster_state:ok within %v; last answer %q", c.nodes[i].id, timeout, last)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition
	}
}

// ask sends one command to node i on a new connection.
func (c *cluster) ask(i int, args ...string) (reply, error) {
	cn, err := dial(c.net.clientAddr(i), protoRESP, time.Second)
	if err != nil {
		return reply{}, err
	}
	defer cn.close()
	return cn.do1(time.Now().Add(2*time.Second), args...)
}

var leaderLine = regexp.MustCompile(`(?m)^group\d+:role=leader,`)

// leaderHeaviest returns the running, unpaused node that leads the most
// groups by its own INFO, ties broken by pick, and the counts it saw; -1 if
// none answers.
func (c *cluster) leaderHeaviest(pick func(n int) int) (int, string) {
	best, most := []int{}, 0
	var seen []string
	for i := range c.nodes {
		if !c.running(i) || c.nodes[i].paused {
			continue
		}
		r, err := c.ask(i, "INFO", "raft")
		if err != nil {
			continue
		}
		n := len(leaderLine.FindAllString(r.str, -1))
		seen = append(seen, fmt.Sprintf("%s leads %d", c.nodes[i].id, n))
		switch {
		case n > most:
			best, most = []int{i}, n
		case n == most:
			best = append(best, i)
		}
	}
	if len(best) == 0 {
		return -1, "no node answered INFO"
	}
	return best[pick(len(best))], strings.Join(seen, ", ")
}

// close kills every node and waits for them.
func (c *cluster) close() {
	for i, n := range c.nodes {
		if c.running(i) {
			n.cmd.Process.Signal(syscall.SIGKILL)
			select {
			case <-n.exited:
			case <-time.After(10 * time.Second):
			}
		}
		n.log.Close()
	}
}

// buildBinary builds the static data-cluster binary, with disk faults,
// from the module at root into dir.
func buildBinary(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "data-cluster")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	// -tags faults: the nodes' fsyncs obey their disk-fault control files.
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "faults", "-o", bin, "./cmd/data-cluster")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot finds the directory of go.mod from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 32 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", errors.New("go.mod not found above the working directory")
}
