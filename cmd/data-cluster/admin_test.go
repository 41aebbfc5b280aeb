package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/testutil"
)

// adminFake is a RESP server whose replies come from a scripted handler. It
// records every command it receives.
type adminFake struct {
	addr string

	mu     sync.Mutex // guards handle's state and cmds
	handle func(args []string) string
	cmds   []string // each command, its arguments joined by spaces
}

// startAdminFake serves handle on 127.0.0.1:0, with TLS when cfg is not nil,
// until the test ends. handle runs under f.mu and returns a whole RESP reply.
func startAdminFake(t *testing.T, cfg *tls.Config, handle func(args []string) string) *adminFake {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	f := &adminFake{addr: ln.Addr().String(), handle: handle}
	var wg sync.WaitGroup
	conns := make(map[net.Conn]bool)
	var connsMu sync.Mutex
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			connsMu.Lock()
			conns[c] = true
			connsMu.Unlock()
			wg.Go(func() { f.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		connsMu.Lock()
		for c := range conns {
			c.Close()
		}
		connsMu.Unlock()
		wg.Wait()
	})
	return f
}

// serve answers the commands of one connection until it closes.
func (f *adminFake) serve(c net.Conn) {
	defer c.Close()
	var buf []byte
	chunk := make([]byte, 4096)
	for {
		args, n, err := resp.ReadCommand(buf, nil, resp.DefaultLimits())
		if err != nil {
			return
		}
		if n == 0 {
			m, err := c.Read(chunk)
			if err != nil {
				return
			}
			buf = append(buf, chunk[:m]...)
			continue
		}
		strs := make([]string, len(args))
		for i, a := range args {
			strs[i] = string(a)
		}
		buf = buf[n:]
		f.mu.Lock()
		f.cmds = append(f.cmds, strings.Join(strs, " "))
		reply := f.handle(strs)
		f.mu.Unlock()
		if _, err := io.WriteString(c, reply); err != nil {
			return
		}
	}
}

// commands returns the commands received so far.
func (f *adminFake) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cmds...)
}

// bulk returns s as a RESP bulk string.
func bulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

// runAdminTest runs `data-cluster args...` and returns its exit status and
// output.
func runAdminTest(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// fastAdminPolls makes the waits poll every millisecond for one test.
func fastAdminPolls(t *testing.T) {
	old := adminPollInterval
	adminPollInterval = time.Millisecond
	t.Cleanup(func() { adminPollInterval = old })
}

// adminCluster builds the CLUSTER STATUS replies of a three-node cluster:
// n1 (answering, at addr1), n2 (at addr2) and n3 (at addr3). Group 0 is led
// by n1 on n1, n2, n3; group 1 is moving, led by n2, with n3 leaving and n1
// joining; meta is led by n1 on n1 and n2.
func adminCluster(addr1, addr2, addr3 string) (n1, n2 string) {
	nodes := fmt.Sprintf(`[
		{"id":"n1","name":"%040x","addr":%q,"peer_addr":"127.0.0.1:17001","connected":true,"down":false,"draining":false,"replicas":2,"leads":1},
		{"id":"n2","name":"%040x","addr":%q,"peer_addr":"127.0.0.1:17002","connected":true,"down":false,"draining":false,"replicas":2,"leads":1},
		{"id":"n3","name":"%040x","addr":%q,"peer_addr":"127.0.0.1:17003","connected":false,"down":false,"draining":true,"replicas":2,"leads":0},
		{"id":"n4","name":"%040x","addr":"","peer_addr":"","connected":false,"down":true,"draining":false,"replicas":0,"leads":0}]`,
		1, addr1, 2, addr2, 3, addr3, 4)
	groups := func(local0, local1, localMeta string) string {
		return fmt.Sprintf(`"groups":[
			{"group":0,"slots":8192,"leader":"n1","moving":false,
			 "replicas":[{"node":"n1","id":1,"leaving":false},{"node":"n2","id":2,"leaving":false},{"node":"n3","id":3,"leaving":false}],
			 "local":%s},
			{"group":1,"slots":8192,"leader":"n2","moving":true,
			 "replicas":[{"node":"n2","id":4,"leaving":false},{"node":"n3","id":5,"leaving":true},{"node":"n1","id":6,"leaving":false}],
			 "local":%s}],
			"meta":{"group":-1,"slots":0,"leader":"n1","moving":false,
			 "replicas":[{"node":"n1","id":7,"leaving":false},{"node":"n2","id":8,"leaving":false}],
			 "local":%s}`, local0, local1, localMeta)
	}
	local := func(replica int, role string, commit, applied int, voters string) string {
		return fmt.Sprintf(`{"replica":%d,"role":%q,"term":3,"commit":%d,"applied":%d,"voters":%s,"learners":[]}`,
			replica, role, commit, applied, voters)
	}
	n1 = fmt.Sprintf(`{"node":"n1","epoch":7,"agreed":true,"nodes":%s,%s}`, nodes, groups(
		local(1, "leader", 100, 100, "[1,2,3]"),
		local(6, "learner", 40, 30, "[4,5]"),
		local(7, "leader", 12, 12, "[7,8]")))
	n2 = fmt.Sprintf(`{"node":"n2","epoch":7,"agreed":true,"nodes":%s,%s}`, nodes, groups(
		local(2, "follower", 99, 97, "[1,2,3]"),
		local(4, "leader", 50, 50, "[4,5]"),
		local(8, "follower", 12, 15, "[7,8]")))
	return n1, n2
}

// startAdminCluster starts fakes for n1 and n2 of adminCluster; n3's address,
// addr3, refuses connections.
func startAdminCluster(t *testing.T, cfg *tls.Config) (n1, n2 *adminFake, addr3 string) {
	t.Helper()
	var st1, st2 string
	status := func(st *string) func([]string) string {
		return func(args []string) string {
			if strings.Join(args, " ") == "CLUSTER STATUS" {
				return bulk(*st)
			}
			return "-ERR unexpected command\r\n"
		}
	}
	n1 = startAdminFake(t, cfg, status(&st1))
	n2 = startAdminFake(t, cfg, status(&st2))
	addr3 = testutil.FreeAddr(t)
	st1, st2 = adminCluster(n1.addr, n2.addr, addr3)
	return n1, n2, addr3
}

func TestAdminStatus(t *testing.T) {
	n1, n2, addr3 := startAdminCluster(t, nil)
	code, out, errOut := runAdminTest(t, "cluster", "status", "--addr", n1.addr)
	if code != exitOK {
		t.Fatalf("got exit %d, want 0; stderr %q", code, errOut)
	}
	// The addresses' widths vary: compare words, then check the alignment.
	want := fmt.Sprintf(`epoch 7, agreed yes, answered by n1, moves in flight 1
shard groups 2

ID ADDR PEER STATE REPLICAS LEADS
n1 %s 127.0.0.1:17001 up 2 1
n2 %s 127.0.0.1:17002 up 2 1
n3 %s 127.0.0.1:17003 draining,unreachable 2 0
n4 - - down 0 0

GROUP SLOTS LEADER REPLICAS MOVING
meta 0 n1 n1*(0) n2(0) no
0 8192 n1 n1*(0) n2(3) n3(?) no
1 8192 n2 n2*(0) n3-(?) n1+(20) yes

n3 unreachable: cannot connect to %s: dial tcp %s: connect: connection refused
`, n1.addr, n2.addr, addr3, addr3, addr3)
	lines := strings.Split(out, "\n")
	var words []string
	for _, l := range lines {
		words = append(words, strings.Join(strings.Fields(l), " "))
	}
	if got := strings.Join(words, "\n"); got != want {
		t.Errorf("got\n%s\nwant (spaces squeezed)\n%s", out, want)
	}
	for _, block := range [][]string{lines[3:8], lines[9:13]} {
		last := strings.LastIndex(block[0], " ") + 1 // where the last column starts
		for _, l := range block[1:] {
			if len(l) <= last || l[last-1] != ' ' || l[last] == ' ' {
				t.Errorf("last column of %q does not start at %d, as in %q", l, last, block[0])
			}
		}
	}
	if got := n2.commands(); len(got) != 1 || got[0] != "CLUSTER STATUS" {
		t.Errorf("n2 got %q, want one CLUSTER STATUS", got)
	}
}

func TestAdminStatusJSON(t *testing.T) {
	n1, _, _ := startAdminCluster(t, nil)
	code, out, errOut := runAdminTest(t, "cluster", "status", "--json", "--addr", n1.addr)
	if code != exitOK {
		t.Fatalf("got exit %d, want 0; stderr %q", code, errOut)
	}
	var got struct {
		Status clusterStatus                 `json:"status"`
		Nodes  map[string]*clusterStatus     `json:"nodes"`
		Lag    map[string]map[string]*uint64 `json:"lag"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.Status.Node != "n1" || got.Status.Epoch != 7 {
		t.Errorf("got status of %q at epoch %d, want n1 at 7", got.Status.Node, got.Status.Epoch)
	}
	if len(got.Nodes) != 3 || got.Nodes["n2"] == nil || got.Nodes["n2"].Node != "n2" ||
		got.Nodes["n3"] != nil || got.Nodes["n4"] != nil {
		t.Errorf("got nodes %v, want n2's status and null for n3 and n4", got.Nodes)
	}
	lag := func(g, n string) string {
		if v := got.Lag[g][n]; v != nil {
			return fmt.Sprint(*v)
		}
		return "null"
	}
	for _, c := range []struct{ group, node, want string }{
		{"0", "n1", "0"}, {"0", "n2", "3"}, {"0", "n3", "null"},
		{"1", "n2", "0"}, {"1", "n1", "20"}, {"1", "n3", "null"},
		{"meta", "n1", "0"}, {"meta", "n2", "0"},
	} {
		if g := lag(c.group, c.node); g != c.want {
			t.Errorf("lag of group %s on %s: got %s, want %s", c.group, c.node, g, c.want)
		}
	}
}

func TestAdminLag(t *testing.T) {
	group := func(leader string, local *localStatus) *clusterStatus {
		return &clusterStatus{Groups: []groupStatus{{
			Group: 0, Leader: leader, Local: local,
			Replicas: []replicaStatus{{Node: "a", ID: 1}, {Node: "b", ID: 2}},
		}}}
	}
	tests := []struct {
		name   string
		leader string
		views  map[string]*clusterStatus
		want   string // lags of a and b
	}{
		{"both known", "a", map[string]*clusterStatus{
			"a": group("a", &localStatus{Commit: 10, Applied: 9}),
			"b": group("a", &localStatus{Commit: 8, Applied: 4}),
		}, "1 6"},
		{"replica ahead of the leader's view", "a", map[string]*clusterStatus{
			"a": group("a", &localStatus{Commit: 10, Applied: 10}),
			"b": group("a", &localStatus{Commit: 12, Applied: 12}),
		}, "0 0"},
		{"no leader", "", map[string]*clusterStatus{
			"a": group("", &localStatus{Commit: 10, Applied: 10}),
			"b": group("", &localStatus{Commit: 10, Applied: 10}),
		}, "? ?"},
		{"leader not reached", "b", map[string]*clusterStatus{
			"a": group("b", &localStatus{Commit: 10, Applied: 10}),
			"b": nil,
		}, "? ?"},
		{"replica holds no local view", "a", map[string]*clusterStatus{
			"a": group("a", &localStatus{Commit: 10, Applied: 7}),
			"b": group("a", nil),
		}, "3 ?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lag := computeLag(group(tt.leader, nil), tt.views)
			var got []string
			for _, n := range []string{"a", "b"} {
				if d := lag["0"][n]; d != nil {
					got = append(got, fmt.Sprint(*d))
				} else {
					got = append(got, "?")
				}
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("got %s, want %s", g, tt.want)
			}
		})
	}
}

// movingGroup returns a CLUSTER STATUS reply with one data group whose
// replicas are on nodes.
func movingGroup(moving bool, nodes ...string) string {
	var reps []string
	for i, n := range nodes {
		reps = append(reps, fmt.Sprintf(`{"node":%q,"id":%d,"leaving":false}`, n, i+1))
	}
	return bulk(fmt.Sprintf(`{"node":"n1","epoch":1,"agreed":true,"nodes":[{"id":"n1"},{"id":"n4"}],
		"groups":[{"group":2,"slots":100,"leader":"n1","moving":%t,"replicas":[%s],"local":null}],
		"meta":{"group":-1,"slots":0,"leader":"n1","moving":false,"replicas":[],"local":null}}`,
		moving, strings.Join(reps, ",")))
}

func TestAdminMove(t *testing.T) {
	fastAdminPolls(t)
	// The move begins with CLUSTER MOVE and ends after three polls.
	statuses := 0
	moved := false
	f := startAdminFake(t, nil, func(args []string) string {
		switch strings.Join(args, " ") {
		case "CLUSTER MOVE 2 n1 n4":
			moved = true
			return "+OK\r\n"
		case "CLUSTER STATUS":
			if !moved {
				return movingGroup(false, "n1", "n2")
			}
			statuses++
			if statuses < 3 {
				return movingGroup(true, "n1", "n2", "n4")
			}
			return movingGroup(false, "n2", "n4")
		}
		return "-ERR unexpected\r\n"
	})
	code, out, errOut := runAdminTest(t, "cluster", "move", "--addr", f.addr, "2", "n1", "n4")
	if code != exitOK {
		t.Fatalf("got exit %d, want 0; stderr %q", code, errOut)
	}
	if want := "move started: group 2 from n1 to n4\nmove done\n"; out != want {
		t.Errorf("got output %q, want %q", out, want)
	}
	if got := f.commands(); len(got) != 4 || got[0] != "CLUSTER MOVE 2 n1 n4" {
		t.Errorf("got commands %q, want CLUSTER MOVE then three CLUSTER STATUS", got)
	}
}

func TestAdminMoveNoWait(t *testing.T) {
	f := startAdminFake(t, nil, func(args []string) string { return "+OK\r\n" })
	code, out, errOut := runAdminTest(t, "cluster", "move", "--addr", f.addr, "meta", "n1", "n4", "--no-wait")
	if code != exitOK {
		t.Fatalf("got exit %d, want 0; stderr %q", code, errOut)
	}
	if want := "move started: group meta from n1 to n4\n"; out != want {
		t.Errorf("got output %q, want %q", out, want)
	}
	if got := f.commands(); len(got) != 1 || got[0] != "CLUSTER MOVE meta n1 n4" {
		t.Errorf("got commands %q, want only CLUSTER MOVE meta n1 n4", got)
	}
}

func TestAdminMoveTimeout(t *testing.T) {
	fastAdminPolls(t)
	f := startAdminFake(t, nil, func(args []string) string {
		if args[1] == "MOVE" {
			return "+OK\r\n"
		}
		return movingGroup(true, "n1", "n2", "n4")
	})
	code, out, errOut := runAdminTest(t, "cluster", "move", "--addr", f.addr, "--wait-timeout", "30ms", "2", "n1", "n4")
	if code != exitError {
		t.Errorf("got exit %d, want 1", code)
	}
	if want := "move started: group 2 from n1 to n4\n"; out != want {
		t.Errorf("got output %q, want %q", out, want)
	}
	if want := "data-cluster: timed out after 30ms waiting for group 2 to finish moving\n"; errOut != want {
		t.Errorf("got stderr %q, want %q", errOut, want)
	}
}

func TestAdminMoveInterrupted(t *testing.T) {
	fastAdminPolls(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := startAdminFake(t, nil, func(args []string) string {
		if args[1] == "MOVE" {
			return "+OK\r\n"
		}
		cancel() // as SIGINT would, while the client waits
		return movingGroup(true, "n1", "n2", "n4")
	})
	var out, errOut strings.Builder
	code := run(ctx, []string{"cluster", "move", "--addr", f.addr, "2", "n1", "n4"}, &out, &errOut)
	if code != exitError {
		t.Errorf("got exit %d, want 1", code)
	}
	if want := "data-cluster: interrupted while waiting for group 2 to finish moving\n"; errOut.String() != want {
		t.Errorf("got stderr %q, want %q", errOut.String(), want)
	}
}

func TestAdminMoveEndsElsewhere(t *testing.T) {
	fastAdminPolls(t)
	statuses := 0
	f := startAdminFake(t, nil, func(args []string) string {
		if args[1] == "MOVE" {
			return "+OK\r\n"
		}
		statuses++
		if statuses == 1 {
			return movingGroup(true, "n1", "n2", "n4")
		}
		return movingGroup(false, "n1", "n2")
	})
	code, _, errOut := runAdminTest(t, "cluster", "move", "--addr", f.addr, "2", "n1", "n4")
	if code != exitError {
		t.Errorf("got exit %d, want 1", code)
	}
	if want := "data-cluster: the move of group 2 ended but its replicas are n1 n2\n"; errOut != want {
		t.Errorf("got stderr %q, want %q", errOut, want)
	}
}

func TestAdminRemoveNode(t *testing.T) {
	fastAdminPolls(t)
	// n3 holds meta and groups 0 and 1; after FORGET it drops a replica every
	// two polls, then leaves the table.
	statuses := 0
	forgot := false
	f := startAdminFake(t, nil, func(args []string) string {
		switch strings.Join(args, " ") {
		case "CLUSTER FORGET n3":
			forgot = true
			return "+OK\r\n"
		case "CLUSTER STATUS":
			if !forgot {
				break
			}
			held := 3 - statuses/2 // -1: n3 has left
			statuses++
			nodes := `{"id":"n1"},{"id":"n2"},{"id":"n3","draining":true}`
			if held < 0 {
				nodes = `{"id":"n1"},{"id":"n2"}`
			}
			g := func(n int, on bool) string {
				reps := `{"node":"n1","id":1},{"node":"n2","id":2}`
				if on {
					reps += `,{"node":"n3","id":3,"leaving":true}`
				}
				return fmt.Sprintf(`{"group":%d,"leader":"n1","moving":%t,"replicas":[%s]}`, n, on, reps)
			}
			return bulk(fmt.Sprintf(`{"node":"n1","nodes":[%s],"groups":[%s,%s],"meta":%s}`,
				nodes, g(0, held >= 2), g(1, held >= 1), g(-1, held >= 3)))
		}
		return "-ERR unexpected\r\n"
	})
	code, out, errOut := runAdminTest(t, "cluster", "remove-node", "--addr", f.addr, "n3")
	if code != exitOK {
		t.Fatalf("got exit %d, want 0; stderr %q", code, errOut)
	}
	want := `removing node n3
node n3 holds 3 replicas (groups meta, 0, 1)
node n3 holds 2 replicas (groups 0, 1)
node n3 holds 1 replicas (groups 1)
node n3 holds 0 replicas
node n3 removed
`
	if out != want {
		t.Errorf("got output\n%s\nwant\n%s", out, want)
	}
}

func TestAdminRebalance(t *testing.T) {
	fastAdminPolls(t)
	// Each step moves a group for two polls.
	steps := []string{"move group 2's replica from n1 to n4", "move group 0's replica from n2 to n4", "balanced"}
	movingPolls := 0
	f := startAdminFake(t, nil, func(args []string) string {
		switch strings.Join(args, " ") {
		case "CLUSTER REBALANCE":
			step := steps[0]
			steps = steps[1:]
			if step != "balanced" {
				movingPolls = 2
			}
			return bulk(step)
		case "CLUSTER STATUS":
			if movingPolls > 0 {
				movingPolls--
				return movingGroup(true, "n1", "n2", "n4")
			}
			return movingGroup(false, "n2", "n4")
		}
		return "-ERR unexpected\r\n"
	})
	code, out, errOut := runAdminTest(t, "cluster", "rebalance", "--addr", f.addr)
	if code != exitOK {
		t.Fatalf("got exit %d, want 0; stderr %q", code, errOut)
	}
	if want := "move group 2's replica from n1 to n4\nmove group 0's replica from n2 to n4\nbalanced\n"; out != want {
		t.Errorf("got output %q, want %q", out, want)
	}
	want := []string{
		"CLUSTER STATUS", "CLUSTER REBALANCE",
		"CLUSTER STATUS", "CLUSTER STATUS", "CLUSTER STATUS", "CLUSTER REBALANCE",
		"CLUSTER STATUS", "CLUSTER STATUS", "CLUSTER STATUS", "CLUSTER REBALANCE",
	}
	if got := f.commands(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got commands %q, want %q", got, want)
	}
}

func TestAdminRebalanceNoWait(t *testing.T) {
	f := startAdminFake(t, nil, func(args []string) string { return bulk("move group 1's replica from n1 to n2") })
	code, out, errOut := runAdminTest(t, "cluster", "rebalance", "--no-wait", "--addr", f.addr)
	if code != exitOK {
		t.Fatalf("got exit %d, want 0; stderr %q", code, errOut)
	}
	if want := "move group 1's replica from n1 to n2\n"; out != want {
		t.Errorf("got output %q, want %q", out, want)
	}
	if got := f.commands(); len(got) != 1 || got[0] != "CLUSTER REBALANCE" {
		t.Errorf("got commands %q, want one CLUSTER REBALANCE", got)
	}
}

func TestAdminRebalanceStuck(t *testing.T) {
	fastAdminPolls(t)
	f := startAdminFake(t, nil, func(args []string) string {
		if args[1] == "REBALANCE" {
			return bulk("move group 1's replica from n1 to n2")
		}
		return movingGroup(false, "n1")
	})
	code, _, errOut := runAdminTest(t, "cluster", "rebalance", "--addr", f.addr)
	if code != exitError {
		t.Errorf("got exit %d, want 1", code)
	}
	if want := "data-cluster: rebalance is not making progress: the same step 3 times in a row\n"; errOut != want {
		t.Errorf("got stderr %q, want %q", errOut, want)
	}
}

func TestAdminAuth(t *testing.T) {
	// authed answers CLUSTER REBALANCE once AUTH admin s3cret (or, without a
	// user, AUTH s3cret) was the connection's first command.
	f := startAdminFake(t, nil, func(args []string) string {
		switch strings.Join(args, " ") {
		case "AUTH admin s3cret", "AUTH s3cret":
			return "+OK\r\n"
		case "AUTH admin wrong", "AUTH wrong":
			return "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
		case "CLUSTER REBALANCE":
			return bulk("balanced")
		}
		return "-ERR unexpected\r\n"
	})
	tests := []struct {
		name    string
		env     string
		args    []string
		code    int
		stderr  string
		command string // the first command sent
	}{
		{"user and password", "", []string{"--user", "admin", "--password", "s3cret"}, exitOK, "", "AUTH admin s3cret"},
		{"password only", "", []string{"--password", "s3cret"}, exitOK, "", "AUTH s3cret"},
		{"REDISCLI_AUTH", "s3cret", nil, exitOK, "", "AUTH s3cret"},
		{"flag wins", "wrong", []string{"--password", "s3cret"}, exitOK, "", "AUTH s3cret"},
		{"no password", "", nil, exitOK, "", "CLUSTER REBALANCE"},
		{"wrong password", "", []string{"--user", "admin", "--password", "wrong"}, exitError,
			"data-cluster: WRONGPASS invalid username-password pair or user is disabled.\n", "AUTH admin wrong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("REDISCLI_AUTH", tt.env)
			before := len(f.commands())
			args := append([]string{"cluster", "rebalance", "--no-wait", "--addr", f.addr}, tt.args...)
			code, out, errOut := runAdminTest(t, args...)
			if code != tt.code || errOut != tt.stderr {
				t.Errorf("got exit %d, stderr %q; want %d, %q", code, errOut, tt.code, tt.stderr)
			}
			if tt.code == exitOK && out != "balanced\n" {
				t.Errorf("got output %q, want %q", out, "balanced\n")
			}
			if got := f.commands()[before:]; len(got) == 0 || got[0] != tt.command {
				t.Errorf("got commands %q, want %q first", got, tt.command)
			}
		})
	}
}

func TestAdminServerError(t *testing.T) {
	f := startAdminFake(t, nil, func(args []string) string { return "-ERR unknown node n9\r\n" })
	for _, args := range [][]string{
		{"status"},
		{"move", "1", "n1", "n9"},
		{"remove-node", "n9"},
		{"rebalance"},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, out, errOut := runAdminTest(t, append([]string{"cluster", args[0], "--addr", f.addr}, args[1:]...)...)
			if code != exitError || out != "" || errOut != "data-cluster: ERR unknown node n9\n" {
				t.Errorf("got exit %d, stdout %q, stderr %q; want 1, nothing, the server's error", code, out, errOut)
			}
		})
	}
}

func TestAdminUnreachable(t *testing.T) {
	addr := testutil.FreeAddr(t)
	code, _, errOut := runAdminTest(t, "cluster", "status", "--addr", addr, "--timeout", "2s")
	if code != exitError || !strings.HasPrefix(errOut, "data-cluster: cannot connect to "+addr+": ") {
		t.Errorf("got exit %d, stderr %q; want 1, cannot connect", code, errOut)
	}
}

func TestAdminMalformedReply(t *testing.T) {
	f := startAdminFake(t, nil, func(args []string) string { return bulk("not json") })
	code, _, errOut := runAdminTest(t, "cluster", "status", "--addr", f.addr)
	if code != exitError || !strings.Contains(errOut, "CLUSTER STATUS: malformed reply") {
		t.Errorf("got exit %d, stderr %q; want 1, malformed reply", code, errOut)
	}
}

func TestAdminUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string // in stderr
	}{
		{nil, exitUsage, "Commands:\n  status"},
		{[]string{"-h"}, exitOK, "remove-node NODE"},
		{[]string{"help"}, exitOK, "rebalance [--no-wait]"},
		{[]string{"bogus"}, exitUsage, `unknown command "bogus"`},
		{[]string{"status", "-h"}, exitOK, `"lag":`},
		{[]string{"status", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"status", "--no-wait"}, exitUsage, "flag provided but not defined: -no-wait"},
		{[]string{"move", "1", "n1"}, exitUsage, `want GROUP FROM TO, got ["1" "n1"]`},
		{[]string{"move", "one", "n1", "n2"}, exitUsage, `invalid group "one"`},
		{[]string{"move", "-1", "n1", "n2"}, exitUsage, "flag provided but not defined: -1"},
		{[]string{"move", "--", "-1", "n1", "n2"}, exitUsage, `invalid group "-1"`},
		{[]string{"remove-node"}, exitUsage, "want NODE, got []"},
		{[]string{"rebalance", "--timeout", "0s"}, exitUsage, "--timeout"},
		{[]string{"rebalance", "--wait-timeout", "-1s"}, exitUsage, "--wait-timeout"},
		{[]string{"rebalance", "--addr", "nowhere"}, exitUsage, "--addr"},
		{[]string{"rebalance", "--user", "admin"}, exitUsage, "--user needs --password"},
		{[]string{"rebalance", "--tls-ca", "ca.pem"}, exitUsage, "need --tls"},
		{[]string{"rebalance", "--tls", "--tls-cert", "c.pem"}, exitUsage, "--tls-cert and --tls-key go together"},
		{[]string{"rebalance", "--tls", "--tls-ca", "/nonexistent/ca.pem"}, exitUsage, "cannot read --tls-ca"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Setenv("REDISCLI_AUTH", "")
			code, out, errOut := runAdminTest(t, append([]string{"cluster"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.want) || out != "" {
				t.Errorf("got exit %d, stdout %q, stderr %q; want %d, nothing, %q", code, out, errOut, tt.code, tt.want)
			}
		})
	}
}

func TestAdminTLS(t *testing.T) {
	cert, key, pool := writeCert(t, t.TempDir())
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	// The servers ask for a client certificate signed by the test CA.
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	n1, n2, _ := startAdminCluster(t, cfg)

	code, out, errOut := runAdminTest(t, "cluster", "status", "--addr", n1.addr,
		"--tls", "--tls-ca", cert, "--tls-cert", cert, "--tls-key", key)
	if code != exitOK {
		t.Fatalf("got exit %d, want 0; stderr %q", code, errOut)
	}
	if !strings.Contains(out, "n1*(0) n2(3) n3(?)") {
		t.Errorf("got output\n%s\nwant n2's lag, read over TLS", out)
	}
	if got := n2.commands(); len(got) != 1 {
		t.Errorf("n2 got %q, want one CLUSTER STATUS", got)
	}

	// Without the CA the server's certificate is not trusted; without a
	// client certificate the server refuses the handshake.
	for _, args := range [][]string{
		{"--tls", "--tls-cert", cert, "--tls-key", key},
		{"--tls", "--tls-ca", cert},
	} {
		code, _, errOut := runAdminTest(t, append([]string{"cluster", "status", "--addr", n1.addr}, args...)...)
		if code != exitError || !strings.HasPrefix(errOut, "data-cluster: ") {
			t.Errorf("%q: got exit %d, stderr %q; want 1 and an error", args, code, errOut)
		}
	}
}

func TestAdminReadReply(t *testing.T) {
	tests := []struct {
		in   string
		want string // the reply's shape, or the error
	}{
		{"+OK\r\n", "+OK"},
		{"-ERR no\r\n", "-ERR no"},
		{":42\r\n", ":42"},
		{"$5\r\nhello\r\n", "$hello"},
		{"$-1\r\n", "null"},
		{"*2\r\n$1\r\na\r\n:1\r\n", "*[$a :1]"},
		{"*-1\r\n", "null"},
		{"$5\r\nhelloXX", "malformed reply"},
		{"$5\r\nhel", "unexpected EOF"},
		{"*2\r\n:1\r\n", "unexpected EOF"},
		{"?x\r\n", "malformed reply"},
		{":x\r\n", "malformed reply"},
		{"+OK\n", "malformed reply"},
		{strings.Repeat("*1\r\n", adminMaxDepth+1) + ":1\r\n", "malformed reply"},
	}
	var shape func(r adminReply) string
	shape = func(r adminReply) string {
		switch {
		case r.null:
			return "null"
		case r.typ == ':':
			return fmt.Sprintf(":%d", r.num)
		case r.typ == '*':
			var es []string
			for _, e := range r.elems {
				es = append(es, shape(e))
			}
			return "*[" + strings.Join(es, " ") + "]"
		}
		return string(r.typ) + r.str
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := readAdminReply(bufio.NewReader(strings.NewReader(tt.in)), 0)
			got := ""
			if err != nil {
				got = err.Error()
				if !errors.Is(err, errAdminProtocol) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("error %v is neither malformed nor unexpected EOF", err)
				}
			} else {
				got = shape(r)
			}
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAdminSetShards(t *testing.T) {
	fastAdminPolls(t)
	// After SETSHARDS 3, the status shows two migrations of two polls
	// each, then three groups.
	set := false
	statuses := 0
	f := startAdminFake(t, nil, func(args []string) string {
		switch strings.Join(args, " ") {
		case "CLUSTER SETSHARDS 3":
			set = true
			return "+OK\r\n"
		case "CLUSTER STATUS":
			if !set {
				break
			}
			statuses++
			groups := `{"group":0},{"group":1}`
			mig, reshaping := "null", true
			switch {
			case statuses <= 2:
				mig = `{"from":0,"to":2,"slots":2000}`
				groups += `,{"group":2}`
			case statuses <= 4:
				mig = `{"from":1,"to":2,"slots":3000}`
				groups += `,{"group":2}`
			default:
				groups += `,{"group":2}`
				reshaping = false
			}
			return bulk(fmt.Sprintf(`{"node":"n1","groups":[%s],"shards":3,"migration":%s,"reshaping":%t}`, groups, mig, reshaping))
		}
		return "-ERR unexpected\r\n"
	})
	code, out, errOut := runAdminTest(t, "cluster", "set-shards", "--addr", f.addr, "3")
	if code != exitOK {
		t.Fatalf("got exit %d, want 0; stderr %q", code, errOut)
	}
	want := `changing to 3 shard groups
moving 2000 slots from group 0 to group 2
moving 3000 slots from group 1 to group 2
3 shard groups
`
	if out != want {
		t.Errorf("got output\n%s\nwant\n%s", out, want)
	}
	for _, bad := range []string{"0", "x", "1.5"} {
		if code, _, errOut := runAdminTest(t, "cluster", "set-shards", "--addr", f.addr, bad); code != exitUsage ||
			!strings.Contains(errOut, "invalid number of shards") {
			t.Errorf("set-shards %s: exit %d, stderr %q", bad, code, errOut)
		}
	}
}

func TestAdminSetReplicas(t *testing.T) {
	fastAdminPolls(t)
	// After SETREPLICAS 2, group 1 gains a replica on the second poll and
	// group 0, after a move, on the fourth.
	set := false
	statuses := 0
	f := startAdminFake(t, nil, func(args []string) string {
		switch strings.Join(args, " ") {
		case "CLUSTER SETREPLICAS 2":
			set = true
			return "+OK\r\n"
		case "CLUSTER SETREPLICAS 9":
			return "-ERR 9 replicas, want 1 to 3 (the nodes not being removed)\r\n"
		case "CLUSTER STATUS":
			if !set {
				break
			}
			statuses++
			one, two := `{"node":"n1"}`, `{"node":"n1"},{"node":"n2"}`
			g0, g1 := one, one
			moving0 := false
			switch {
			case statuses == 3:
				g0, g1, moving0 = `{"node":"n1"},{"node":"n2"},{"node":"n3","leaving":true}`, two, true
			case statuses >= 4:
				g0, g1 = two, two
			case statuses == 2:
				g1 = two
			}
			return bulk(fmt.Sprintf(`{"node":"n1","groups":[{"group":0,"moving":%t,"replicas":[%s]},{"group":1,"replicas":[%s]}],"replicas":2}`,
				moving0, g0, g1))
		}
		return "-ERR unexpected\r\n"
	})
	code, out, errOut := runAdminTest(t, "cluster", "set-replicas", "--addr", f.addr, "2")
	if code != exitOK {
		t.Fatalf("got exit %d, want 0; stderr %q", code, errOut)
	}
	want := `changing to 2 replicas per group
0 of 2 groups have 2 replicas
1 of 2 groups have 2 replicas
2 of 2 groups have 2 replicas
2 replicas per group
`
	if out != want {
		t.Errorf("got output\n%s\nwant\n%s", out, want)
	}
	for _, bad := range []string{"0", "x", "2.5"} {
		if code, _, errOut := runAdminTest(t, "cluster", "set-replicas", "--addr", f.addr, bad); code != exitUsage ||
			!strings.Contains(errOut, "invalid number of replicas") {
			t.Errorf("set-replicas %s: exit %d, stderr %q", bad, code, errOut)
		}
	}
	code, _, errOut = runAdminTest(t, "cluster", "set-replicas", "--addr", f.addr, "9")
	if code != exitError || !strings.Contains(errOut, "want 1 to 3") {
		t.Errorf("set-replicas 9: exit %d, stderr %q", code, errOut)
	}
}

func TestAdminAddNode(t *testing.T) {
	f := startAdminFake(t, nil, func(args []string) string {
		switch strings.Join(args, " ") {
		case "CLUSTER ADDNODE n4 127.0.0.1:17004":
			return "+OK\r\n"
		case "CLUSTER ADDNODE n1 127.0.0.1:17009":
			return "-ERR node n1 is already in the cluster (at 127.0.0.1:17001)\r\n"
		}
		return "-ERR unexpected\r\n"
	})
	code, out, errOut := runAdminTest(t, "cluster", "add-node", "--addr", f.addr, "n4", "127.0.0.1:17004")
	if code != exitOK || !strings.Contains(out, "node n4 admitted at 127.0.0.1:17004") {
		t.Fatalf("got exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runAdminTest(t, "cluster", "add-node", "--addr", f.addr, "n1", "127.0.0.1:17009")
	if code != exitError || !strings.Contains(errOut, "already in the cluster") {
		t.Fatalf("adding a member again: exit %d, stderr %q", code, errOut)
	}
}
