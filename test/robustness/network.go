package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// network is where the nodes live: their addresses, how their processes
// are started, and how links between them are cut. Its methods are called
// from the run's goroutine only.
type network interface {
	// name describes the network for reports.
	name() string
	// clientAddr and peerAddr are node i's addresses.
	clientAddr(i int) string
	peerAddr(i int) string
	// command returns the command that runs bin with args as node i.
	command(i int, bin string, args []string) *exec.Cmd
	// canCut reports whether cut works.
	canCut() bool
	// cut stops all traffic between nodes a and b, both ways.
	cut(a, b int) error
	// heal undoes every cut.
	heal() error
	// close removes whatever the network made. It may be called again.
	close() error
}

// Network modes of Config.Net.
const (
	netNetns    = "netns"
	netLoopback = "loopback"
)

// errNoNetns means network namespaces could not be made here.
var errNoNetns = errors.New("network namespaces are not available")

// loopback puts every node on 127.0.0.1 with ports of its own. Links
// cannot be cut: partitions are not tested.
type loopback struct{ client, peer []string }

func newLoopback(n int) (*loopback, error) {
	l := &loopback{}
	for range n {
		c, err := freePort()
		if err != nil {
			return nil, err
		}
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		l.client, l.peer = append(l.client, c), append(l.peer, p)
	}
	return l, nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (l *loopback) name() string            { return "loopback (127.0.0.1; no partitions)" }
func (l *loopback) clientAddr(i int) string { return l.client[i] }
func (l *loopback) peerAddr(i int) string   { return l.peer[i] }
func (l *loopback) command(_ int, bin string, args []string) *exec.Cmd {
	return exec.Command(bin, args...)
}
func (l *loopback) canCut() bool       { return false }
func (l *loopback) cut(_, _ int) error { return errors.New("loopback network: links cannot be cut") }
func (l *loopback) heal() error        { return nil }
func (l *loopback) close() error       { return nil }

// netns puts node i in a network namespace of its own, with address
// 10.213.X.(11+i) on a veth whose other end is a port of a bridge. The
// bridge lives in a further namespace of the harness (the hub), not in the
// root namespace: there, bridged frames would pass through the host's
// iptables FORWARD chain (br_netfilter), which Docker sets to DROP. A veth
// from the root namespace into the bridge carries 10.213.X.1, so the
// harness's clients reach every node directly.
//
// A cut is a pair of blackhole routes, one in each node's namespace to the
// other's address: packets are dropped silently, as on a real partition,
// and TCP connections hang until someone times them out. Clients in the
// root namespace still reach every node.
//
// Every name carries the harness's pid ("dcrb-<pid>-n1", root link
// "dcr<pid>"), so concurrent runs do not collide, and a run can remove
// what a killed run left behind (sweepStale).
type netns struct {
	pid    int
	subnet int // X in 10.213.X.0/24
	n      int
	cuts   [][2]int
	made   []string // namespaces made, to delete
	link   string   // the root end of the hub's uplink, once made
}

const netnsPrefix = "dcrb-"

func (ns *netns) nsName(i int) string { return fmt.Sprintf("%s%d-n%d", netnsPrefix, ns.pid, i+1) }
func (ns *netns) hubName() string     { return fmt.Sprintf("%s%d-hub", netnsPrefix, ns.pid) }
func (ns *netns) ip(i int) string     { return fmt.Sprintf("10.213.%d.%d", ns.subnet, 11+i) }

// ipCmd runs ip with args, bounded in time.
func ipCmd(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func ipOut(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	return string(out), err
}

// newNetns makes the namespaces, the bridge and the links for n nodes. On
// an error it removes what it made and returns an error wrapping
// errNoNetns when namespaces cannot be made at all.
func newNetns(n int) (*netns, error) {
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("%w: the ip command (iproute2) is not on PATH", errNoNetns)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: making namespaces needs root (euid %d)", errNoNetns, os.Geteuid())
	}
	sweepStale()
	ns := &netns{pid: os.Getpid(), n: n}
	if err := ns.pickSubnet(); err != nil {
		return nil, err
	}
	if err := ns.setup(); err != nil {
		ns.close()
		return nil, fmt.Errorf("%w: %v", errNoNetns, err)
	}
	return ns, nil
}

// pickSubnet chooses a 10.213.X.0/24 that no address of the root
// namespace is in.
func (ns *netns) pickSubnet() error {
	out, err := ipOut("-4", "-o", "addr", "show")
	if err != nil {
		return fmt.Errorf("%w: ip addr show: %v", errNoNetns, err)
	}
	for try := range 250 {
		x := 1 + (ns.pid+try)%250
		if !strings.Contains(out, fmt.Sprintf(" 10.213.%d.", x)) {
			ns.subnet = x
			return nil
		}
	}
	return errors.New("no free subnet in 10.213.0.0/16")
}

func (ns *netns) setup() error {
	hub := ns.hubName()
	if err := ipCmd("netns", "add", hub); err != nil {
		return err
	}
	ns.made = append(ns.made, hub)
	steps := [][]string{
		{"-n", hub, "link", "add", "br0", "type", "bridge"},
		{"-n", hub, "link", "set", "br0", "up"},
	}
	for i := range ns.n {
		name := ns.nsName(i)
		if err := ipCmd("netns", "add", name); err != nil {
			return err
		}
		ns.made = append(ns.made, name)
		port := fmt.Sprintf("p%d", i+1)
		steps = append(steps,
			[]string{"-n", hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", name},
			[]string{"-n", hub, "link", "set", port, "master", "br0", "up"},
			[]string{"-n", name, "addr", "add", ns.ip(i) + "/24", "dev", "eth0"},
			[]string{"-n", name, "link", "set", "eth0", "up"},
			[]string{"-n", name, "link", "set", "lo", "up"},
		)
	}
	ns.link = fmt.Sprintf("dcr%d", ns.pid)
	steps = append(steps,
		[]string{"link", "add", ns.link, "type", "veth", "peer", "name", "up0", "netns", hub},
		[]string{"-n", hub, "link", "set", "up0", "master", "br0", "up"},
		[]string{"addr", "add", fmt.Sprintf("10.213.%d.1/24", ns.subnet), "dev", ns.link},
		[]string{"link", "set", ns.link, "up"},
	)
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			return err
		}
	}
	// The links are up: check that the root namespace reaches every
	// node's address before any node starts.
	for i := range ns.n {
		if err := ns.probe(i); err != nil {
			return err
		}
	}
	return nil
}

// probe checks that the root namespace reaches node i's address: nothing
// listens there yet, so a refused connection (a reset from the node's
// namespace) proves the path.
func (ns *netns) probe(i int) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(ns.ip(i), "9"), time.Second)
		if c != nil {
			c.Close()
			return nil
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s in namespace %s is not reachable from the root namespace: %v", ns.ip(i), ns.nsName(i), err)
		}
		time.Sleep(50 * time.Millisecond) // a retry while the links come up (duplicate address detection)
	}
}

func (ns *netns) name() string {
	return fmt.Sprintf("netns (%s…; 10.213.%d.0/24)", ns.hubName(), ns.subnet)
}
func (ns *netns) clientAddr(i int) string { return net.JoinHostPort(ns.ip(i), "7001") }
func (ns *netns) peerAddr(i int) string   { return net.JoinHostPort(ns.ip(i), "17001") }
func (ns *netns) command(i int, bin string, args []string) *exec.Cmd {
	// ip netns exec execs the binary in place: the pid is the node's.
	return exec.Command("ip", append([]string{"netns", "exec", ns.nsName(i), bin}, args...)...)
}
func (ns *netns) canCut() bool { return true }

func (ns *netns) cut(a, b int) error {
	for _, p := range [][2]int{{a, b}, {b, a}} {
		if err := ipCmd("-n", ns.nsName(p[0]), "route", "add", "blackhole", ns.ip(p[1])+"/32"); err != nil {
			return err
		}
		ns.cuts = append(ns.cuts, p)
	}
	return nil
}

func (ns *netns) heal() error {
	var first error
	for _, p := range ns.cuts {
		if err := ipCmd("-n", ns.nsName(p[0]), "route", "del", "blackhole", ns.ip(p[1])+"/32"); err != nil && first == nil {
			first = err
		}
	}
	ns.cuts = nil
	return first
}

func (ns *netns) close() error {
	var errs []error
	if ns.link != "" {
		// Deleting the root end removes the pair at once; the hub's
		// removal would take it only later, asynchronously.
		if err := ipCmd("link", "del", ns.link); err != nil {
			errs = append(errs, err)
		}
		ns.link = ""
	}
	for _, name := range ns.made {
		if err := ipCmd("netns", "del", name); err != nil {
			errs = append(errs, err)
		}
	}
	ns.made = nil
	return errors.Join(errs...)
}

var staleName = regexp.MustCompile(`^` + netnsPrefix + `(\d+)-`)

// sweepStale removes the namespaces and links of harness runs whose
// process is gone (a run killed before its cleanup).
func sweepStale() {
	out, err := ipOut("netns", "list")
	if err != nil {
		return
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m := staleName.FindStringSubmatch(f[0])
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if err := syscall.Kill(pid, 0); pid == os.Getpid() || !errors.Is(err, syscall.ESRCH) {
			continue // its run is alive
		}
		_ = ipCmd("link", "del", fmt.Sprintf("dcr%d", pid)) // it may be gone already
		if err := ipCmd("netns", "del", f[0]); err == nil {
			fmt.Fprintf(os.Stderr, "robustness: removed namespace %s left by a dead run (pid %d)\n", f[0], pid)
		}
	}
}
