package cluster

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/data-cluster/data-cluster/internal/script"
)

// Libraries of the tests: lib and libV2 are one library, libOther takes
// lib's function name.
const (
	fnLib      = "#!lua name=lib\nredis.register_function('addto', function(keys, args) return 1 end)"
	fnLibV2    = "#!lua name=lib\nredis.register_function('addto', function(keys, args) return 2 end)"
	fnLibOther = "#!lua name=lib2\nredis.register_function('addto', function(keys, args) return 2 end)"
	fnLibBad   = "#!lua name=bad\nredis.register_function('f', function() return 1 end"
)

// Replies of redis-server 7.0.15 to FUNCTION LIST with fnLib loaded, and
// to FUNCTION STATS with it and with no library.
const (
	fnListLib   = "*1\r\n*6\r\n$12\r\nlibrary_name\r\n$3\r\nlib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n*6\r\n$4\r\nname\r\n$5\r\naddto\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n"
	fnStatsLib  = "*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:1\r\n"
	fnStatsNone = "*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:0\r\n$15\r\nfunctions_count\r\n:0\r\n"
)

// TestClusterFunctions loads, replaces, deletes, dumps, flushes and
// restores function libraries on one node and checks that every node
// agrees at once (FUNCTION LIST, STATS, FCALL), that bad changes get
// Redis's errors and propose nothing, and that concurrent changes on
// several nodes are all kept.
func TestClusterFunctions(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	rc := make([]*rawConn, 3)
	for i := range rc {
		rc[i] = dialRaw(t, serveNode(t, tn, i, ServerConfig{}))
	}
	rc[0].send("FUNCTION", "LOAD", fnLib)
	rc[0].expect("$3\r\nlib\r\n")
	for i, c := range rc {
		c.send("FCALL", "addto", "0")
		c.expect(":1\r\n")
		c.send("FUNCTION", "LIST")
		c.expect(fnListLib)
		c.send("FUNCTION", "STATS")
		c.expect(fnStatsLib)
		if got := tn.nodes[i].cfg.Scripts.Funcs.Get("addto"); got == nil {
			t.Fatalf("node %d's engine lacks addto after FUNCTION LIST", i)
		}
	}

	// Bad changes get Redis's errors on any node and propose nothing.
	dg := fnDigest(t, tn)
	local := script.New(script.DefaultConfig()).Funcs
	_, compileErr := local.Load(fnLibBad, false)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"FUNCTION", "LOAD", fnLib}, "-ERR Library 'lib' already exists\r\n"},
		{[]string{"FUNCTION", "LOAD", fnLibOther}, "-ERR Function addto already exists\r\n"},
		{[]string{"FUNCTION", "LOAD", "return 1"}, "-ERR Missing library metadata\r\n"},
		{[]string{"FUNCTION", "LOAD", fnLibBad}, "-" + compileErr.Error() + "\r\n"},
		{[]string{"FUNCTION", "DELETE", "nope"}, "-ERR Library not found\r\n"},
		{[]string{"FUNCTION", "RESTORE", "garbage"}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"FCALL", "nope", "0"}, "-ERR Function not found\r\n"},
	} {
		for _, c := range rc {
			c.send(tc.args...)
			c.expect(tc.want)
		}
	}
	if !strings.HasPrefix(compileErr.Error(), "ERR Error compiling function: user_function:2:") {
		t.Errorf("a compile error: got %q", compileErr)
	}
	if got := fnDigest(t, tn); got != dg {
		t.Fatalf("bad changes changed the libraries: digest %d, was %d", got, dg)
	}

	// A library replaced on node 1: node 0 calls the new code once it
	// has listed the libraries; node 2 once its poll has seen them.
	rc[1].send("FUNCTION", "LOAD", "REPLACE", fnLibV2)
	rc[1].expect("$3\r\nlib\r\n")
	rc[1].send("FCALL", "addto", "0")
	rc[1].expect(":2\r\n")
	rc[0].send("FUNCTION", "LIST", "WITHCODE")
	rc[0].expect(strings.Replace(fnListLib, "*6", "*8", 1) + fmt.Sprintf("$12\r\nlibrary_code\r\n$%d\r\n%s\r\n", len(fnLibV2), fnLibV2))
	rc[0].send("FCALL", "addto", "0")
	rc[0].expect(":2\r\n")
	eventually(t, "node 2 to load the replaced library", func() bool {
		rc[2].send("FCALL", "addto", "0")
		return rc[2].reply()[0] == ":2"
	})

	// DUMP, FLUSH, RESTORE, each on another node.
	rc[2].send("FUNCTION", "DUMP")
	dump := rc[2].bulk()
	rc[0].send("FUNCTION", "FLUSH")
	rc[0].expect("+OK\r\n")
	rc[1].send("FUNCTION", "STATS")
	rc[1].expect(fnStatsNone)
	rc[1].send("FUNCTION", "LIST")
	rc[1].expect("*0\r\n")
	rc[2].send("FUNCTION", "RESTORE", dump)
	rc[2].expect("+OK\r\n")
	rc[0].send("FCALL", "addto", "0")
	rc[0].expect(":2\r\n")
	rc[1].send("FUNCTION", "RESTORE", dump)
	rc[1].expect("-ERR Library lib already exists\r\n")
	rc[1].send("FUNCTION", "RESTORE", dump, "REPLACE")
	rc[1].expect("+OK\r\n")
	rc[0].send("FUNCTION", "DELETE", "lib")
	rc[0].expect("+OK\r\n")
	rc[2].send("FUNCTION", "LIST")
	rc[2].expect("*0\r\n")
	eventually(t, "node 1 to drop the deleted library", func() bool {
		rc[1].send("FCALL", "addto", "0")
		return rc[1].reply()[0] == "-ERR Function not found"
	})

	// Libraries loaded at once on every node are all kept.
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range tn.nodes {
		wg.Go(func() {
			for j := range 4 {
				name := fmt.Sprintf("n%dl%d", i, j)
				code := "#!lua name=" + name + "\nredis.register_function('" + name + "', function() return '" + name + "' end)"
				if _, err := (functions{tn.nodes[i]}).Load(code, false); err != nil {
					errs <- fmt.Errorf("loading %s on node %d: %w", name, i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, c := range rc {
		c.send("FUNCTION", "STATS")
		got := strings.Join(c.reply(), " ")
		if want := "libraries_count :12 functions_count :12"; !strings.Contains(got, want) {
			t.Fatalf("FUNCTION STATS on node %d after concurrent loads: got %q, want %q", i, got, want)
		}
		c.send("FCALL", "n2l3", "0")
		c.expect("$4\r\nn2l3\r\n")
	}
}

// fnDigest returns the digest of the cluster's libraries, read
// linearizably through node 0.
func fnDigest(t *testing.T, tn *testNodes) uint64 {
	t.Helper()
	_, dg, err := tn.nodes[0].readMeta(Read, functionsKey)
	if err != nil {
		t.Fatal(err)
	}
	return dg
}

// TestClusterFunctionsRestartJoin checks that the libraries survive the
// restart of every node, the metadata group's log compacted into
// snapshots meanwhile, and that a node that joins later loads them.
func TestClusterFunctionsRestartJoin(t *testing.T) {
	seed := testSeed(t)
	c := newMemCluster(t, seed, 3, 2, func(cfg *NodeConfig) {
		cfg.Group.SnapshotEntries, cfg.Group.CompactKeep = 5, 1
	})
	fc := functions{c.node("n1")}
	for i := range 12 {
		code := fmt.Sprintf("#!lua name=lib%d\nredis.register_function('f%d', function() return %d end)", i, i, i)
		if _, err := fc.Load(code, false); err != nil {
			t.Fatalf("seed %d: FUNCTION LOAD lib%d: %v", seed, i, err)
		}
	}
	if err := (functions{c.node("n2")}).Delete("lib0"); err != nil {
		t.Fatalf("seed %d: FUNCTION DELETE lib0: %v", seed, err)
	}
	has := func(id string) func() bool {
		return func() bool {
			n := c.node(id)
			libs, _ := n.cfg.Scripts.Funcs.Count()
			return libs == 11 && n.cfg.Scripts.Funcs.Get("f11") != nil && n.cfg.Scripts.Funcs.Get("f0") == nil
		}
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		eventually(t, id+" to load the libraries", has(id))
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		c.stop(id)
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		c.start(id)
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		eventually(t, id+" to load the libraries again after a restart", has(id))
	}
	c.join("n4", "n1")
	eventually(t, "n4, joined, to load the libraries", has("n4"))
}

// TestClusterFunctionsOffer checks what becomes of the libraries a node
// kept in its own data directory: the first offered to a cluster that has
// none become the cluster's; any offered later are ignored.
func TestClusterFunctionsOffer(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	ok, err := tn.nodes[1].offerFunctions([]string{fnLib})
	if err != nil || !ok {
		t.Fatalf("offering a library to a cluster without any: got %v, %v, want true", ok, err)
	}
	for i, n := range tn.nodes {
		eventually(t, fmt.Sprintf("node %d to load the offered library", i), func() bool { return n.cfg.Scripts.Funcs.Get("addto") != nil })
	}
	dg := fnDigest(t, tn)
	ok, err = tn.nodes[2].offerFunctions([]string{fnLibOther})
	if err != nil || ok {
		t.Fatalf("offering a library to a cluster that has some: got %v, %v, want false", ok, err)
	}
	if got := fnDigest(t, tn); got != dg {
		t.Fatalf("an ignored offer changed the libraries: digest %d, was %d", got, dg)
	}
	if tn.nodes[2].cfg.Scripts.Funcs.Get("addto").Lib.Name != "lib" {
		t.Fatal("node 2 runs its own library instead of the cluster's")
	}
}
