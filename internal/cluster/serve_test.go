package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/data-cluster/data-cluster/internal/placement"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/slot"
)

// serveNode serves node i of tn on 127.0.0.1:0 and returns the address.
func serveNode(t testing.TB, tn *testNodes, i int, cfg ServerConfig) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Limits == (resp.Limits{}) {
		cfg.Limits = resp.DefaultLimits()
	}
	srv := NewServer(tn.nodes[i], cfg)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		<-done
	})
	return ln.Addr().String()
}

// With WholeKeyspace, a node's DBSIZE, KEYS, SCAN and RANDOMKEY cover the
// whole cluster (TestServerKeyspace checks the default).
func TestServerCommands(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addr := serveNode(t, tn, 1, ServerConfig{WholeKeyspace: true})
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
	defer rc.Close()

	var want []string
	pipe := rc.Pipeline()
	for i := range 500 {
		k := fmt.Sprintf("key:%03d", i)
		want = append(want, k)
		pipe.Set(ctx, k, i, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("pipeline of 500 SETs: %v", err)
	}
	if n, err := rc.DBSize(ctx).Result(); err != nil || n != 500 {
		t.Fatalf("DBSIZE: got %d, %v, want 500", n, err)
	}
	keys, err := rc.Keys(ctx, "key:*").Result()
	if err != nil || !slices.Equal(keys, want) {
		t.Fatalf("KEYS: got %d keys (%v), want the 500 sorted", len(keys), err)
	}
	var scanned []string
	var cursor uint64
	for range 10000 {
		var ks []string
		ks, cursor, err = rc.Scan(ctx, cursor, "key:*", 37).Result()
		if err != nil {
			t.Fatalf("SCAN: %v", err)
		}
		scanned = append(scanned, ks...)
		if cursor == 0 {
			break
		}
	}
	slices.Sort(scanned)
	scanned = slices.Compact(scanned)
	if !slices.Equal(scanned, want) {
		t.Fatalf("SCAN visited %d distinct keys, want 500", len(scanned))
	}
	if k, err := rc.RandomKey(ctx).Result(); err != nil || !strings.HasPrefix(k, "key:") {
		t.Fatalf("RANDOMKEY: got %q, %v", k, err)
	}

	for _, tt := range []struct {
		args []any
		want string
	}{
		{[]any{"mset", "a", "1", "b", "2"}, "CROSSSLOT Keys in request don't hash to the same slot"},
		{[]any{"watch", "a", "b"}, "CROSSSLOT Keys in request don't hash to the same slot"},
		{[]any{"geosearchstore", "a", "b", "fromlonlat", "0", "0", "byradius", "1", "km"}, "CROSSSLOT Keys in request don't hash to the same slot"},
		{[]any{"georadius", "a", "0", "0", "1", "km", "store", "b"}, "CROSSSLOT Keys in request don't hash to the same slot"},
		{[]any{"georadiusbymember", "a", "m", "1", "km", "storedist", "b"}, "CROSSSLOT Keys in request don't hash to the same slot"},
		{[]any{"nosuchcommand", "x"}, "ERR unknown command 'nosuchcommand', with args beginning with: 'x' "},
		{[]any{"get"}, "ERR wrong number of arguments for 'get' command"},
		{[]any{"select", "1"}, "ERR SELECT is not allowed in cluster mode"},
		{[]any{"copy", "{b}1", "{b}2", "db", "1"}, "ERR Copying to another database is not allowed in cluster mode"},
		{[]any{"select", "-1"}, "ERR SELECT is not allowed in cluster mode"},
		{[]any{"select", "x"}, "ERR value is not an integer or out of range"},
		{[]any{"select", "01"}, "ERR value is not an integer or out of range"},
		{[]any{"select", "4294967296"}, "ERR value is out of range, value must between -2147483648 and 2147483647"},
		{[]any{"cluster", "nosuch"}, "ERR unknown subcommand 'nosuch'. Try CLUSTER HELP."},
		{[]any{"cluster", "countkeysinslot", "99999"}, "ERR Invalid slot"},
	} {
		if err := rc.Do(ctx, tt.args...).Err(); err == nil || err.Error() != tt.want {
			t.Errorf("%v: got %v, want %q", tt.args, err, tt.want)
		}
	}
	// A transaction across slots is refused whole; in one slot it runs.
	_, err = rc.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "{x}1", "a", 0)
		p.Set(ctx, "{y}1", "b", 0)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") && !strings.Contains(err.Error(), "EXECABORT") {
		t.Fatalf("MULTI across slots: got %v, want CROSSSLOT, then EXECABORT", err)
	}
	if n, _ := rc.Exists(ctx, "{x}1").Result(); n != 0 {
		t.Fatal("part of an aborted transaction ran")
	}
	s := slot.Of([]byte("key:007"))
	if n, err := rc.ClusterCountKeysInSlot(ctx, int(s)).Result(); err != nil || n < 1 {
		t.Fatalf("COUNTKEYSINSLOT %d: got %d, %v", s, n, err)
	}
	if ks, err := rc.ClusterGetKeysInSlot(ctx, int(s), 10).Result(); err != nil || !slices.Contains(ks, "key:007") {
		t.Fatalf("GETKEYSINSLOT %d: got %v, %v", s, ks, err)
	}
	if err := rc.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := rc.DBSize(ctx).Result(); n != 0 {
		t.Fatalf("DBSIZE after FLUSHALL: %d", n)
	}

	// RESP3 through HELLO.
	r3 := redis.NewClient(&redis.Options{Addr: addr, Protocol: 3})
	defer r3.Close()
	if err := r3.Set(ctx, "k3", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := r3.Get(ctx, "k3").Result(); err != nil || v != "v" {
		t.Fatalf("RESP3 GET: got %q, %v", v, err)
	}
	for args, want := range map[[2]string]string{
		{"HELLO", "4"}:     "NOPROTO unsupported protocol version",
		{"HELLO", "three"}: "ERR Protocol version is not an integer or out of range",
	} {
		if err := rc.Do(ctx, args[0], args[1]).Err(); err == nil || err.Error() != want {
			t.Fatalf("%s %s: got %v, want %q", args[0], args[1], err, want)
		}
	}

	// The line protocol.
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	fmt.Fprintf(nc, "SET b 2\nSET a 1\nLIST\nGET a\nBOGUS\n")
	br := bufio.NewReader(nc)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []string{"OK", "OK", "a,b,k3", "1", "ERR unknown command 'BOGUS'"} {
		got, err := br.ReadString('\n')
		if err != nil || strings.TrimSuffix(got, "\n") != want {
			t.Fatalf("line protocol: got %q, %v, want %q", got, err, want)
		}
	}
}

func TestServerAuthAndLimits(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	addr := serveNode(t, tn, 0, ServerConfig{Password: "s3cret"})
	ctx := context.Background()
	noauth := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1})
	defer noauth.Close()
	if err := noauth.Get(ctx, "a").Err(); err == nil || err.Error() != "NOAUTH Authentication required." {
		t.Fatalf("GET before AUTH: got %v", err)
	}
	wrong := redis.NewClient(&redis.Options{Addr: addr, Password: "nope", Protocol: 2, MaxRetries: -1})
	defer wrong.Close()
	if err := wrong.Ping(ctx).Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") {
		t.Fatalf("wrong password: got %v", err)
	}
	ok := redis.NewClient(&redis.Options{Addr: addr, Password: "s3cret", MaxRetries: -1, PoolSize: 1})
	defer ok.Close()
	if err := ok.Set(ctx, "a", "1", 0).Err(); err != nil {
		t.Fatalf("SET after AUTH: %v", err)
	}
	// With --max-clients 2, a third client is refused.
	limited := serveNode(t, tn, 0, ServerConfig{MaxClients: 2})
	for range 2 {
		c, err := net.Dial("tcp", limited)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "*1\r\n$4\r\nPING\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if l, _ := bufio.NewReader(c).ReadString('\n'); l != "+PONG\r\n" {
			t.Fatalf("PING: got %q", l)
		}
	}
	c3, err := net.Dial("tcp", limited)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	c3.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c3).ReadString('\n')
	if line != "-ERR max number of clients reached\r\n" {
		t.Fatalf("third client: got %q, want the max-clients error", line)
	}

	// A query buffer limit below the first read buffer (16 KiB) holds: a
	// 16,000-byte line closes its client unanswered, while a pipeline of
	// short commands longer than the limit is served.
	qb := serveNode(t, tn, 0, ServerConfig{QueryBuffer: 2048})
	long, err := net.Dial("tcp", qb)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close()
	long.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { io.WriteString(long, "SET long "+strings.Repeat("x", 16000)+"\n") }()
	if got, err := io.ReadAll(long); len(got) != 0 || err != nil && !isConnReset(err) {
		t.Fatalf("16,000-byte line over a 2048-byte limit: got %q, %v; want the connection closed", got, err)
	}
	short, err := net.Dial("tcp", qb)
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	short.SetDeadline(time.Now().Add(10 * time.Second))
	var pipeline strings.Builder
	for i := range 500 {
		fmt.Fprintf(&pipeline, "SET q%d v\n", i)
	}
	pipeline.WriteString("GET long\n")
	if _, err := io.WriteString(short, pipeline.String()); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(short)
	for i := range 501 {
		want := "OK\n"
		if i == 500 {
			want = "ERR key not found\n"
		}
		if got, err := rd.ReadString('\n'); got != want {
			t.Fatalf("reply %d of the pipeline: got %q, %v; want %q", i, got, err, want)
		}
	}
}

// isConnReset reports whether err is a connection reset by the peer, which
// a server closing a client that is still sending may cause.
func isConnReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

// WATCH aborts EXEC when a watched key changed, and optimistic increments
// through every node lose no update.
func TestServerWatch(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	var addrs []string
	for i := range 3 {
		addrs = append(addrs, serveNode(t, tn, i, ServerConfig{}))
	}
	ctx := context.Background()
	a := redis.NewClient(&redis.Options{Addr: addrs[0], Protocol: 2})
	defer a.Close()
	b := redis.NewClient(&redis.Options{Addr: addrs[1], Protocol: 2})
	defer b.Close()

	err := a.Watch(ctx, func(tx *redis.Tx) error {
		if err := b.Set(ctx, "{w}k", "changed", 0).Err(); err != nil {
			return err
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "{w}k", "mine", 0)
			return nil
		})
		return err
	}, "{w}k")
	if err != redis.TxFailedErr {
		t.Fatalf("EXEC after the watched key changed: got %v, want the transaction aborted", err)
	}
	if v, _ := a.Get(ctx, "{w}k").Result(); v != "changed" {
		t.Fatalf("after the aborted transaction: got %q, want changed", v)
	}
	err = a.Watch(ctx, func(tx *redis.Tx) error {
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "{w}k", "mine", 0)
			return nil
		})
		return err
	}, "{w}k")
	if err != nil {
		t.Fatalf("EXEC with the watched key unchanged: %v", err)
	}
	if err := a.Watch(ctx, func(*redis.Tx) error { return nil }, "{w}k", "{v}k"); err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT") {
		t.Fatalf("WATCH across slots: got %v, want CROSSSLOT", err)
	}

	// Lost updates: 6 clients, 2 per node, 25 optimistic increments each.
	const clients, incrs = 6, 25
	errs := make(chan error, clients)
	for c := range clients {
		rc := redis.NewClient(&redis.Options{Addr: addrs[c%3], Protocol: 2})
		defer rc.Close()
		go func() {
			for range incrs {
				for {
					err := rc.Watch(ctx, func(tx *redis.Tx) error {
						n, err := tx.Get(ctx, "{w}n").Int()
						if err != nil && err != redis.Nil {
							return err
						}
						_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
							p.Set(ctx, "{w}n", n+1, 0)
							return nil
						})
						return err
					}, "{w}n")
					if err == nil {
						break
					}
					if err != redis.TxFailedErr {
						errs <- err
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n, err := a.Get(ctx, "{w}n").Int(); err != nil || n != clients*incrs {
		t.Fatalf("after %d optimistic increments: got %d, %v", clients*incrs, n, err)
	}
}

// With Redirects, a node answers MOVED for a key whose group another node
// leads, serves the keys of the groups it leads, and after ASKING sends a
// command to its slot's group as usual when nothing moves.
// respDo returns a function that sends one command to addr over one
// connection and returns its reply's first line (and a bulk string's
// value).
func respDo(t *testing.T, addr string) func(args ...string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := bufio.NewReader(c)
	return func(args ...string) string {
		t.Helper()
		var w resp.Writer
		w.AppendArray(len(args))
		for _, a := range args {
			w.AppendBulkString(a)
		}
		if _, err := c.Write(w.Bytes()); err != nil {
			t.Fatal(err)
		}
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "$") && line != "$-1\r\n" {
			rest, _ := r.ReadString('\n')
			line += rest
		}
		return line
	}
}

func TestServerRedirects(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	n := tn.nodes[0]
	addr := serveNode(t, tn, 0, ServerConfig{Redirects: true})
	do := respDo(t, addr)
	var local, remote string
	for i := 0; local == "" || remote == ""; i++ {
		k := fmt.Sprintf("key:%d", i)
		v := n.v()
		l := n.Leader(v, v.table.GroupOfKey([]byte(k)))
		switch {
		case l == v.self && local == "":
			local = k
		case l >= 0 && l != v.self && remote == "":
			remote = k
		}
		if i > 10000 {
			t.Fatal("no key led here and another led elsewhere")
		}
	}
	if got := do("SET", local, "v"); got != "+OK\r\n" {
		t.Fatalf("SET of a key led here: %q", got)
	}
	v := n.v()
	s := slot.Of([]byte(remote))
	want := fmt.Sprintf("-MOVED %d %s\r\n", s, n.ClientAddr(v, n.Leader(v, v.table.GroupOf(s))))
	if got := do("SET", remote, "v"); got != want {
		t.Fatalf("SET of a key led elsewhere: %q, want %q", got, want)
	}
	if got := do("ASKING"); got != "+OK\r\n" {
		t.Fatalf("ASKING: %q", got)
	}
	if got := do("SET", remote, "w"); got != "+OK\r\n" {
		t.Fatalf("SET after ASKING, nothing moving: %q", got)
	}
	if got := do("GET", remote); got != want {
		t.Fatalf("GET once ASKING is spent: %q, want %q", got, want)
	}
	if got := do("READONLY"); got != "+OK\r\n" {
		t.Fatalf("READONLY: %q", got)
	}
	eventually(t, "a READONLY read of the replica here", func() bool { return do("GET", remote) == "$1\r\nw\r\n" })
}

// By default DBSIZE, KEYS, SCAN, RANDOMKEY and INFO's keyspace on a node
// cover the groups it is the master of in CLUSTER SLOTS, as on a Redis
// Cluster node, so that over the nodes every key counts once; on a
// READONLY connection they cover the node's replicas, and FLUSHALL empties
// every group.
func TestServerKeyspace(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	ctx := context.Background()
	var rcs []*redis.Client
	for i := range tn.nodes {
		rc := redis.NewClient(&redis.Options{Addr: serveNode(t, tn, i, ServerConfig{}), Protocol: 2})
		defer rc.Close()
		rcs = append(rcs, rc)
	}
	var want []string
	pipe := rcs[0].Pipeline()
	for i := range 300 {
		k := fmt.Sprintf("key:%03d", i)
		want = append(want, k)
		pipe.Set(ctx, k, i, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("pipeline of 300 SETs: %v", err)
	}
	dbKeys := regexp.MustCompile(`(?m)^db0:keys=(\d+),`)
	// covered checks what node i answers against the keys of the groups
	// it is the master of now, and returns them; "" when they agree.
	covered := func(i int) ([]string, string) {
		rc, n := rcs[i], tn.nodes[i]
		v := n.v()
		var mine []string
		for _, k := range want {
			if n.master(v, v.table.GroupOfKey([]byte(k))) == v.self {
				mine = append(mine, k)
			}
		}
		if got, err := rc.DBSize(ctx).Result(); err != nil || got != int64(len(mine)) {
			return nil, fmt.Sprintf("node %d: DBSIZE %d, %v, want %d", i, got, err, len(mine))
		}
		keys, err := rc.Keys(ctx, "*").Result()
		if err != nil || !slices.Equal(keys, mine) {
			return nil, fmt.Sprintf("node %d: KEYS gave %d keys, %v, want its %d sorted", i, len(keys), err, len(mine))
		}
		var scanned []string
		var cursor uint64
		for range 1000 {
			var ks []string
			if ks, cursor, err = rc.Scan(ctx, cursor, "", 7).Result(); err != nil {
				return nil, fmt.Sprintf("node %d: SCAN: %v", i, err)
			}
			scanned = append(scanned, ks...)
			if cursor == 0 {
				break
			}
		}
		slices.Sort(scanned)
		if !slices.Equal(slices.Compact(scanned), mine) {
			return nil, fmt.Sprintf("node %d: SCAN visited %d distinct keys, want its %d", i, len(scanned), len(mine))
		}
		info, err := rc.Info(ctx, "keyspace").Result()
		if m := dbKeys.FindStringSubmatch(info); err != nil || len(mine) > 0 && (m == nil || m[1] != strconv.Itoa(len(mine))) || len(mine) == 0 && m != nil {
			return nil, fmt.Sprintf("node %d: INFO keyspace %q, %v, want keys=%d", i, info, err, len(mine))
		}
		k, err := rc.RandomKey(ctx).Result()
		if len(mine) == 0 && err != redis.Nil || len(mine) > 0 && (err != nil || !slices.Contains(mine, k)) {
			return nil, fmt.Sprintf("node %d: RANDOMKEY %q, %v, not one of its %d keys", i, k, err, len(mine))
		}
		return mine, ""
	}
	check := func() string {
		var all []string
		for i := range rcs {
			mine, msg := covered(i)
			if msg != "" {
				return msg
			}
			all = append(all, mine...)
		}
		slices.Sort(all)
		if !slices.Equal(all, want) {
			return fmt.Sprintf("the nodes cover %d keys between them, want each of the %d once", len(all), len(want))
		}
		return ""
	}
	// Leaders may still be moving to their preferred nodes.
	deadline := time.Now().Add(10 * time.Second)
	for msg := check(); msg != ""; msg = check() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}

	ro := redis.NewClient(&redis.Options{Addr: rcs[1].Options().Addr, Protocol: 2,
		OnConnect: func(ctx context.Context, cn *redis.Conn) error { return cn.ReadOnly(ctx).Err() }})
	defer ro.Close()
	eventually(t, "a READONLY DBSIZE to count node 1's replicas", func() bool {
		n, err := ro.DBSize(ctx).Result()
		return err == nil && n == int64(len(want))
	})
	if keys, err := ro.Keys(ctx, "*").Result(); err != nil || !slices.Equal(keys, want) {
		t.Fatalf("READONLY KEYS: %d keys, %v, want the %d", len(keys), err, len(want))
	}

	// CONFIG SET cluster-keyspace cluster: the whole cluster, on that node.
	if v := rcs[0].ConfigGet(ctx, "cluster-keyspace").Val()["cluster-keyspace"]; v != "node" {
		t.Fatalf("CONFIG GET cluster-keyspace: %q, want node", v)
	}
	if err := rcs[0].ConfigSet(ctx, "cluster-keyspace", "cluster").Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := rcs[0].DBSize(ctx).Result(); err != nil || n != int64(len(want)) {
		t.Fatalf("DBSIZE with cluster-keyspace cluster: %d, %v, want %d", n, err, len(want))
	}
	if info := rcs[0].Info(ctx, "keyspace").Val(); !strings.Contains(info, "db0:keys=300,") {
		t.Fatalf("INFO keyspace with cluster-keyspace cluster: %q", info)
	}
	err := rcs[0].ConfigSet(ctx, "cluster-keyspace", "all").Err()
	if want := "ERR CONFIG SET failed (possibly related to argument 'cluster-keyspace') - argument(s) must be one of the following: node, cluster"; err == nil || err.Error() != want {
		t.Fatalf("CONFIG SET cluster-keyspace all: %v, want %q", err, want)
	}

	if err := rcs[2].FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for i, rc := range rcs {
		if n, err := rc.Keys(ctx, "*").Result(); err != nil || len(n) != 0 {
			t.Fatalf("KEYS on node %d after FLUSHALL on node 2: %d keys, %v", i, len(n), err)
		}
	}
}

// handMove is a migration of one slot a test runs by hand, as the mover
// does, on nodes whose movers are kept off: the slot of key moves from its
// group to the next one.
type handMove struct {
	t        *testing.T
	n        *Node
	s        uint16
	from, to int
}

// startHandMove writes the values given (key, value, …) to the slot of
// key's group, then starts moving the slot: the table's migration, home
// at the target, away at the source.
func startHandMove(t *testing.T, tn *testNodes, key string, kv ...string) *handMove {
	t.Helper()
	for _, n := range tn.nodes {
		n.moving.Store(true) // no mover: the test moves the keys
	}
	n := tn.nodes[0]
	m := &handMove{t: t, n: n, s: slot.Of([]byte(key))}
	m.from = n.Table().GroupOf(m.s)
	m.to = (m.from + 1) % len(n.Table().Groups())
	for i := 0; i+1 < len(kv); i += 2 {
		m.call(m.from, "SET", kv[i], kv[i+1])
	}
	tb, err := n.changeTable(func(t *placement.Table) (*placement.Table, error) {
		return t.Migrate(m.from, m.to, []placement.Range{{Start: m.s, End: m.s}})
	})
	if err != nil {
		t.Fatal(err)
	}
	ep, ss := strconv.FormatUint(tb.Epoch(), 10), strconv.Itoa(int(m.s))
	m.ok(m.to, string(cmdComing), "tok", ep, ss, ss)
	m.ok(m.from, string(cmdAway), "tok", ep, strconv.Itoa(m.to), ss, ss)
	return m
}

// done ends the import at the target, as the mover does once no key of
// the slot is left at the source, and gives the slot to the target.
func (m *handMove) done() {
	m.t.Helper()
	ss := strconv.Itoa(int(m.s))
	m.ok(m.to, string(cmdDone), "tok", ss, ss)
	if _, err := m.n.changeTable(func(t *placement.Table) (*placement.Table, error) { return t.Assign() }); err != nil {
		m.t.Fatal(err)
	}
}

// call runs a command on group g, again while it fails.
func (m *handMove) call(g int, args ...string) string {
	m.t.Helper()
	for try := 0; ; try++ {
		r, err := m.n.call(g, Write, args)
		if err == nil {
			return string(r)
		}
		if try == 50 {
			m.t.Fatalf("%q on group %d: %v", args[0], g, err)
		}
	}
}

// ok runs a command that must answer +OK.
func (m *handMove) ok(g int, args ...string) {
	m.t.Helper()
	if r := m.call(g, args...); r != "+OK\r\n" {
		m.t.Fatalf("%q on group %d: %q", args[0], g, r)
	}
}

// export freezes key at the source and returns its data.
func (m *handMove) export(key string) []byte {
	m.t.Helper()
	data, _, ok := parseBulk([]byte(m.call(m.from, string(cmdExport), "tok", key)))
	if !ok {
		m.t.Fatal("export answered no data")
	}
	return data
}

// TestServerAsk moves one key of a slot by hand, as the mover does, and
// checks what a client of Redirects servers is told meanwhile, following
// MOVED as a cluster client does: ASK for the key that moved and for a key
// in neither group, the key itself for one still at the source, the moved
// key after ASKING, and no ASK once the slot is the target's.
func TestServerAsk(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	conns := map[string]func(args ...string) string{} // by client address
	for i, n := range tn.nodes {
		v := n.v()
		conns[n.ClientAddr(v, v.self)] = respDo(t, serveNode(t, tn, i, ServerConfig{Redirects: true}))
	}
	n := tn.nodes[0]
	// get sends a command to the first node, then to each node a MOVED
	// names, and returns the last reply.
	get := func(args ...string) string {
		t.Helper()
		do := conns[n.ClientAddr(n.v(), 0)]
		for range 5 {
			r := do(args...)
			f := strings.Fields(r)
			if len(f) != 3 || f[0] != "-MOVED" || conns[f[2]] == nil {
				return r
			}
			do = conns[f[2]]
		}
		return "MOVED more than 5 times" // tables still differ between nodes
	}
	moved, stays, absent := "{ask}moved", "{ask}stays", "{ask}absent"
	m := startHandMove(t, tn, moved, moved, "v1", stays, "v2")
	s, to := m.s, m.to
	m.ok(to, string(cmdImport), "tok", string(m.export(moved)))
	m.ok(m.from, string(cmdForget), "tok", moved)

	// ask checks that key is answered ASK to the target group's leader,
	// then sends ASKING and cmd there and returns the reply.
	asks := 0
	ask := func(key string, cmd ...string) string {
		t.Helper()
		var r, want string
		eventually(t, "ASK for "+key, func() bool {
			v := n.v()
			l := n.Leader(v, to)
			if l < 0 {
				return false // a leader change under way
			}
			want = fmt.Sprintf("-ASK %d %s\r\n", s, n.ClientAddr(v, l))
			r = get("GET", key)
			return r == want
		})
		asks++
		do := conns[strings.Fields(want)[2]]
		if r := do("ASKING"); r != "+OK\r\n" {
			t.Fatalf("ASKING: %q", r)
		}
		return do(cmd...)
	}
	if r := ask(moved, "GET", moved); r != "$2\r\nv1\r\n" {
		t.Fatalf("GET of the moved key after ASKING: %q", r)
	}
	if r := get("GET", stays); r != "$2\r\nv2\r\n" {
		t.Fatalf("GET of the key still at the source: %q", r)
	}
	if r := ask(absent, "SET", absent, "v3"); r != "+OK\r\n" {
		t.Fatalf("SET of a new key after ASKING: %q", r)
	}
	if r := ask(absent, "GET", absent); r != "$2\r\nv3\r\n" {
		t.Fatalf("GET of the new key after ASKING: %q", r)
	}
	t.Logf("%d ASK replies followed", asks)

	// The slot is the target's: no more ASK.
	m.done()
	eventually(t, "the moved key from its new group", func() bool { return get("GET", moved) == "$2\r\nv1\r\n" })
}

// A node whose table is older than a migration sends a command on the
// moving slot to the group that held the slot before, which is now its
// target. Until the import is done, the target runs only what the source
// sends on: the command goes to the source, which still holds the key, and
// no increment is lost, whether the key is still at the source, copied
// and frozen, or moved.
func TestMigrationTargetRunsWhatTheSourceSendsOn(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	key := "{home}ctr"
	m := startHandMove(t, tn, key, key, "5")
	want := 5
	incr := func(g int, what string) {
		t.Helper()
		want++
		if r := m.call(g, "INCR", key); r != fmt.Sprintf(":%d\r\n", want) {
			t.Fatalf("INCR sent to group %d %s: %q, want :%d", g, what, r, want)
		}
	}
	incr(m.to, "while the key is at the source")
	incr(m.from, "while the key is at the source")
	data := m.export(key)
	m.ok(m.to, string(cmdImport), "tok", string(data))
	if r := m.call(m.to, "GET", key); r != fmt.Sprintf("$1\r\n%d\r\n", want) {
		t.Fatalf("GET sent to the target while the source holds the key frozen: %q, want %d", r, want)
	}
	m.ok(m.from, string(cmdForget), "tok", key)
	incr(m.to, "once the key moved")
	incr(m.from, "once the key moved")
	m.done()
	incr(m.to, "once the slot is the target's")
	incr(m.from, "once the slot is the target's")
	if r := m.call(m.from, "GET", key); r != fmt.Sprintf("$2\r\n%d\r\n", want) {
		t.Fatalf("GET at the end: %q, want %d", r, want)
	}
}

// TestServerExecFrozen sends a transaction on a key whose slot is moving
// and that a mover has frozen and never lets go: the transaction cannot
// run anywhere before its time is up, and EXEC answers one error, not an
// array of the commands' errors that a client would take for their
// answers. The key keeps its value.
func TestServerExecFrozen(t *testing.T) {
	tn := newTestNodes(t, testSeed(t), nil)
	do := respDo(t, serveNode(t, tn, 0, ServerConfig{}))
	key := "{frozen}k"
	m := startHandMove(t, tn, key, key, "v")
	m.export(key)
	for _, c := range [][]string{{"MULTI"}, {"SET", key, "w"}, {"GET", key}} {
		do(c...)
	}
	if r := do("EXEC"); !strings.HasPrefix(r, "-TRYAGAIN") && !strings.HasPrefix(r, "-CLUSTERDOWN") {
		t.Fatalf("EXEC of a transaction on a frozen key: %q, want one TRYAGAIN or CLUSTERDOWN error", r)
	}
	if data := m.export(key); !strings.Contains(string(data), "v") || strings.Contains(string(data), "w") {
		t.Fatalf("the frozen key after the transaction: %q", data)
	}
}
