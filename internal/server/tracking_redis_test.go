package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// trackScript drives four connections through client-side caching: 0 and
// 1 speak RESP3, 2 and 3 RESP2. Each step is a connection and a command
// ("$idN" stands for connection N's id). It was run against redis-server
// 7.0.15 and what each step gave recorded in trackCases: the sender's
// reply, with the pushes that came before it, and then, for each
// connection that was sent something else meanwhile, "[N]" and those
// bytes, found by a PING on every connection after each step (ids written
// as $idN again; not on a connection in MULTI, nor after CLIENT CACHING
// on its connection). TestTrackingRedis runs the same script here.
var trackScript = []struct {
	conn int
	args []string
}{
	// default mode
	{0, []string{"CLIENT", "TRACKING", "ON"}},
	{0, []string{"GET", "k1"}},
	{3, []string{"SET", "k1", "v"}},
	{3, []string{"SET", "k1", "v2"}},
	{0, []string{"GET", "k1"}},
	{0, []string{"MGET", "k1", "k2", "k3"}},
	{3, []string{"MSET", "k1", "a", "k2", "b"}},
	{0, []string{"CLIENT", "TRACKINGINFO"}},
	{0, []string{"CLIENT", "GETREDIR"}},
	{0, []string{"GET", "k3"}},
	{0, []string{"SET", "k3", "x"}},
	{0, []string{"CLIENT", "TRACKING", "ON", "NOLOOP"}},
	{0, []string{"GET", "k4"}},
	{0, []string{"SET", "k4", "y"}},
	{0, []string{"CLIENT", "TRACKINGINFO"}},
	{0, []string{"HGETALL", "k4"}},
	{3, []string{"DEL", "k4"}},
	{0, []string{"CLIENT", "TRACKING", "OFF"}},
	{0, []string{"CLIENT", "TRACKINGINFO"}},
	// broadcasting
	{1, []string{"CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "obj:"}},
	{3, []string{"SET", "user:1", "a"}},
	{3, []string{"SET", "other", "x"}},
	{3, []string{"DEL", "obj:9"}},
	{3, []string{"SET", "obj:9", "z"}},
	{3, []string{"MSET", "user:2", "a", "obj:1", "b", "user:0", "c", "other", "d"}},
	{1, []string{"CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "us"}},
	{1, []string{"CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "ab"}},
	{1, []string{"CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "cart:"}},
	{1, []string{"SET", "cart:1", "x"}},
	{1, []string{"CLIENT", "TRACKINGINFO"}},
	{1, []string{"CLIENT", "TRACKING", "ON"}},
	{1, []string{"CLIENT", "TRACKING", "OFF"}},
	{1, []string{"CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP"}},
	{1, []string{"SET", "mine", "1"}},
	{3, []string{"SET", "mine", "2"}},
	{1, []string{"CLIENT", "TRACKING", "OFF"}},
	// OPTIN
	{0, []string{"CLIENT", "TRACKING", "ON", "OPTIN"}},
	{0, []string{"GET", "o1"}},
	{3, []string{"SET", "o1", "x"}},
	{0, []string{"CLIENT", "CACHING", "YES"}},
	{0, []string{"CLIENT", "TRACKINGINFO"}},
	{0, []string{"GET", "o1"}},
	{3, []string{"SET", "o1", "y"}},
	{0, []string{"CLIENT", "CACHING", "YES"}},
	{0, []string{"PING"}},
	{0, []string{"GET", "o1"}},
	{3, []string{"SET", "o1", "z"}},
	{0, []string{"CLIENT", "CACHING", "YES"}},
	{0, []string{"GET", "o1"}},
	{3, []string{"SET", "o1", "w"}},
	{0, []string{"CLIENT", "CACHING", "YES"}},
	{0, []string{"CLIENT", "CACHING", "YES"}},
	{0, []string{"MGET", "o1", "o2"}},
	{3, []string{"MSET", "o1", "a", "o2", "b"}},
	{0, []string{"CLIENT", "CACHING", "NO"}},
	{0, []string{"CLIENT", "CACHING", "MAYBE"}},
	{0, []string{"CLIENT", "TRACKING", "ON", "OPTOUT"}},
	{0, []string{"CLIENT", "TRACKING", "OFF"}},
	// OPTOUT
	{0, []string{"CLIENT", "TRACKING", "ON", "OPTOUT"}},
	{0, []string{"CLIENT", "CACHING", "NO"}},
	{0, []string{"GET", "p1"}},
	{0, []string{"GET", "p2"}},
	{3, []string{"MSET", "p1", "a", "p2", "b"}},
	{0, []string{"CLIENT", "TRACKING", "OFF"}},
	// a RESP2 client redirecting to a subscribed one
	{2, []string{"SUBSCRIBE", "__redis__:invalidate"}},
	{3, []string{"CLIENT", "TRACKING", "ON", "REDIRECT", "$id2"}},
	{3, []string{"GET", "r1"}},
	{0, []string{"SET", "r1", "x"}},
	{3, []string{"CLIENT", "GETREDIR"}},
	{3, []string{"CLIENT", "TRACKINGINFO"}},
	{3, []string{"FLUSHALL"}},
	{3, []string{"CLIENT", "TRACKING", "OFF"}},
	// a RESP3 client and FLUSHDB
	{0, []string{"CLIENT", "TRACKING", "ON"}},
	{3, []string{"FLUSHDB"}},
	// reads in a transaction
	{0, []string{"MULTI"}},
	{0, []string{"GET", "m1"}},
	{0, []string{"EXEC"}},
	{3, []string{"SET", "m1", "x"}},
	// reads in scripts
	{0, []string{"EVAL", "return redis.call('get', KEYS[1])", "1", "s1"}},
	{3, []string{"SET", "s1", "x"}},
	{0, []string{"EVAL", "return redis.call('mget', KEYS[1], KEYS[2], KEYS[3])", "3", "s2", "s3", "s4"}},
	{3, []string{"MSET", "s2", "x", "s3", "y", "s4", "z"}},
	{0, []string{"CLIENT", "TRACKING", "OFF"}},
	// errors
	{0, []string{"CLIENT", "TRACKING", "ON", "PREFIX", "x"}},
	{0, []string{"CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"}},
	{0, []string{"CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"}},
	{0, []string{"CLIENT", "TRACKING", "ON", "REDIRECT", "999999"}},
	{0, []string{"CLIENT", "TRACKING", "ON", "REDIRECT", "abc"}},
	{0, []string{"CLIENT", "TRACKING", "ON", "REDIRECT", "$id1", "REDIRECT", "$id1"}},
	{0, []string{"CLIENT", "TRACKING", "MAYBE"}},
	{0, []string{"CLIENT", "TRACKING", "ON", "FOO"}},
	{0, []string{"CLIENT", "TRACKING", "ON", "PREFIX"}},
	{0, []string{"CLIENT", "CACHING", "YES"}},
	{0, []string{"CLIENT", "TRACKINGINFO", "x"}},
	{0, []string{"CLIENT", "TRACKING"}},
	{0, []string{"CLIENT", "GETREDIR"}},
	{0, []string{"CLIENT", "GETREDIR", "x"}},
}

// TestTrackingRedis runs trackScript and compares every step with
// redis-server 7.0.15's. With TRACKING_REDIS_ADDR set to a redis-server's
// address it records the steps instead and prints them (the server is
// flushed).
func TestTrackingRedis(t *testing.T) {
	if addr := os.Getenv("TRACKING_REDIS_ADDR"); addr != "" {
		got := runTrackScript(t, addr)
		for i, g := range got {
			fmt.Printf("\t%q, // %d %q\n", g, i, trackScript[i].args)
		}
		return
	}
	if len(trackCases) != len(trackScript) {
		t.Fatalf("%d recorded steps for %d", len(trackCases), len(trackScript))
	}
	ts := start(t, nil)
	got := runTrackScript(t, ts.addr)
	for i, g := range got {
		if g != trackCases[i] {
			t.Errorf("step %d %q on connection %d: got %q, want %q", i, trackScript[i].args, trackScript[i].conn, g, trackCases[i])
		}
	}
}

// rawConn is a connection that reads RESP2 and RESP3 replies as bytes.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	rd *bufio.Reader
}

func (c *rawConn) send(args ...string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, respCmd(args...)); err != nil {
		c.t.Fatal(err)
	}
}

// read returns one reply as its bytes, and whether it is a push.
func (c *rawConn) read() (string, bool) {
	c.t.Helper()
	var sb strings.Builder
	var one func()
	one = func() {
		line, err := c.rd.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (got %q)", err, sb.String()+line)
		}
		sb.WriteString(line)
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		switch line[0] {
		case '$', '=', '!':
			if n >= 0 {
				b := make([]byte, n+2)
				if _, err := io.ReadFull(c.rd, b); err != nil {
					c.t.Fatal(err)
				}
				sb.Write(b)
			}
		case '*', '>', '~':
			for range n {
				one()
			}
		case '%', '|':
			for range 2 * n {
				one()
			}
		}
	}
	one()
	s := sb.String()
	return s, s[0] == '>' || strings.HasPrefix(s, "*3\r\n$7\r\nmessage\r\n")
}

// runTrackScript runs trackScript against the server at addr.
func runTrackScript(t *testing.T, addr string) []string {
	conns := make([]*rawConn, 4)
	ids := make([]string, 4)
	for i := range conns {
		nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		nc.SetDeadline(time.Now().Add(30 * time.Second))
		c := &rawConn{t: t, nc: nc, rd: bufio.NewReader(nc)}
		conns[i] = c
		if i < 2 {
			c.send("HELLO", "3")
			c.read()
		}
		c.send("CLIENT", "ID")
		r, _ := c.read()
		ids[i] = strings.TrimSpace(r[1:])
	}
	conns[3].send("FLUSHALL")
	conns[3].read()
	norm := func(s string) string {
		for i, id := range ids {
			s = strings.ReplaceAll(s, ":"+id+"\r\n", ":$id"+strconv.Itoa(i)+"\r\n")
		}
		return s
	}
	var out []string
	inMulti := make([]bool, len(conns)) // no PING there: it would be queued
	for i, st := range trackScript {
		args := make([]string, len(st.args))
		for j, a := range st.args {
			if n, ok := strings.CutPrefix(a, "$id"); ok {
				k, _ := strconv.Atoi(n)
				a = ids[k]
			}
			args[j] = a
		}
		c := conns[st.conn]
		if os.Getenv("TRACKING_DEBUG") != "" {
			fmt.Println("step", i, args)
		}
		c.send(args...)
		var got strings.Builder
		for {
			r, push := c.read()
			got.WriteString(r)
			if !push {
				break
			}
		}
		switch strings.ToUpper(st.args[0]) {
		case "MULTI":
			inMulti[st.conn] = true
		case "EXEC", "DISCARD":
			inMulti[st.conn] = false
		}
		caching := strings.EqualFold(st.args[0], "client") && strings.EqualFold(st.args[1], "caching")
		for j, o := range conns {
			// A PING would be queued in MULTI, and would end what CLIENT
			// CACHING asks for the next command.
			if inMulti[j] || caching && j == st.conn {
				continue
			}
			mark := "s" + strconv.Itoa(i)
			o.send("PING", mark)
			var pushed strings.Builder
			for {
				r, _ := o.read()
				if r == "$"+strconv.Itoa(len(mark))+"\r\n"+mark+"\r\n" || strings.HasSuffix(r, "$4\r\npong\r\n$"+strconv.Itoa(len(mark))+"\r\n"+mark+"\r\n") {
					break
				}
				pushed.WriteString(r)
			}
			if pushed.Len() > 0 {
				fmt.Fprintf(&got, "[%d]%s", j, pushed.String())
			}
		}
		if strings.EqualFold(st.args[0], "client") && (strings.EqualFold(st.args[1], "getredir") || strings.EqualFold(st.args[1], "trackinginfo")) {
			out = append(out, norm(got.String()))
		} else {
			out = append(out, got.String())
		}
	}
	return out
}

// trackCases are trackScript's steps as redis-server 7.0.15 answered them.
var trackCases = []string{
	"+OK\r\n", // 0 ["CLIENT" "TRACKING" "ON"]
	"_\r\n",   // 1 ["GET" "k1"]
	"+OK\r\n[0]>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk1\r\n", // 2 ["SET" "k1" "v"]
	"+OK\r\n",                      // 3 ["SET" "k1" "v2"]
	"$2\r\nv2\r\n",                 // 4 ["GET" "k1"]
	"*3\r\n$2\r\nv2\r\n_\r\n_\r\n", // 5 ["MGET" "k1" "k2" "k3"]
	"+OK\r\n[0]>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk1\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk2\r\n", // 6 ["MSET" "k1" "a" "k2" "b"]
	"%3\r\n$5\r\nflags\r\n~1\r\n$2\r\non\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n",              // 7 ["CLIENT" "TRACKINGINFO"]
	":0\r\n", // 8 ["CLIENT" "GETREDIR"]
	"_\r\n",  // 9 ["GET" "k3"]
	"+OK\r\n[0]>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk3\r\n", // 10 ["SET" "k3" "x"]
	"+OK\r\n", // 11 ["CLIENT" "TRACKING" "ON" "NOLOOP"]
	"_\r\n",   // 12 ["GET" "k4"]
	"+OK\r\n", // 13 ["SET" "k4" "y"]
	"%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$6\r\nnoloop\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n", // 14 ["CLIENT" "TRACKINGINFO"]
	"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",                                  // 15 ["HGETALL" "k4"]
	":1\r\n[0]>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk4\r\n",                                                  // 16 ["DEL" "k4"]
	"+OK\r\n", // 17 ["CLIENT" "TRACKING" "OFF"]
	"%3\r\n$5\r\nflags\r\n~1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n", // 18 ["CLIENT" "TRACKINGINFO"]
	"+OK\r\n", // 19 ["CLIENT" "TRACKING" "ON" "BCAST" "PREFIX" "user:" "PREFIX" "obj:"]
	"+OK\r\n[1]>2\r\n$10\r\ninvalidate\r\n*1\r\n$6\r\nuser:1\r\n", // 20 ["SET" "user:1" "a"]
	"+OK\r\n", // 21 ["SET" "other" "x"]
	":0\r\n",  // 22 ["DEL" "obj:9"]
	"+OK\r\n[1]>2\r\n$10\r\ninvalidate\r\n*1\r\n$5\r\nobj:9\r\n",                                                                  // 23 ["SET" "obj:9" "z"]
	"+OK\r\n[1]>2\r\n$10\r\ninvalidate\r\n*1\r\n$5\r\nobj:1\r\n>2\r\n$10\r\ninvalidate\r\n*2\r\n$6\r\nuser:0\r\n$6\r\nuser:2\r\n", // 24 ["MSET" "user:2" "a" "obj:1" "b" "user:0" "c" "other" "d"]
	"-ERR Prefix 'us' overlaps with an existing prefix 'user:'. Prefixes for a single client must not overlap.\r\n",               // 25 ["CLIENT" "TRACKING" "ON" "BCAST" "PREFIX" "us"]
	"-ERR Prefix 'a' overlaps with another provided prefix 'ab'. Prefixes for a single client must not overlap.\r\n",              // 26 ["CLIENT" "TRACKING" "ON" "BCAST" "PREFIX" "a" "PREFIX" "ab"]
	"+OK\r\n", // 27 ["CLIENT" "TRACKING" "ON" "BCAST" "PREFIX" "cart:"]
	"+OK\r\n[1]>2\r\n$10\r\ninvalidate\r\n*1\r\n$6\r\ncart:1\r\n",                                                                                        // 28 ["SET" "cart:1" "x"]
	"%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$5\r\nbcast\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*3\r\n$5\r\ncart:\r\n$4\r\nobj:\r\n$5\r\nuser:\r\n", // 29 ["CLIENT" "TRACKINGINFO"]
	"-ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.\r\n",              // 30 ["CLIENT" "TRACKING" "ON"]
	"+OK\r\n", // 31 ["CLIENT" "TRACKING" "OFF"]
	"+OK\r\n", // 32 ["CLIENT" "TRACKING" "ON" "BCAST" "NOLOOP"]
	"+OK\r\n", // 33 ["SET" "mine" "1"]
	"+OK\r\n[1]>2\r\n$10\r\ninvalidate\r\n*1\r\n$4\r\nmine\r\n", // 34 ["SET" "mine" "2"]
	"+OK\r\n", // 35 ["CLIENT" "TRACKING" "OFF"]
	"+OK\r\n", // 36 ["CLIENT" "TRACKING" "ON" "OPTIN"]
	"_\r\n",   // 37 ["GET" "o1"]
	"+OK\r\n", // 38 ["SET" "o1" "x"]
	"+OK\r\n", // 39 ["CLIENT" "CACHING" "YES"]
	"%3\r\n$5\r\nflags\r\n~3\r\n$2\r\non\r\n$5\r\noptin\r\n$11\r\ncaching-yes\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n", // 40 ["CLIENT" "TRACKINGINFO"]
	"$1\r\nx\r\n", // 41 ["GET" "o1"]
	"+OK\r\n",     // 42 ["SET" "o1" "y"]
	"+OK\r\n",     // 43 ["CLIENT" "CACHING" "YES"]
	"+PONG\r\n",   // 44 ["PING"]
	"$1\r\ny\r\n", // 45 ["GET" "o1"]
	"+OK\r\n",     // 46 ["SET" "o1" "z"]
	"+OK\r\n",     // 47 ["CLIENT" "CACHING" "YES"]
	"$1\r\nz\r\n", // 48 ["GET" "o1"]
	"+OK\r\n[0]>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\no1\r\n", // 49 ["SET" "o1" "w"]
	"+OK\r\n",                // 50 ["CLIENT" "CACHING" "YES"]
	"+OK\r\n",                // 51 ["CLIENT" "CACHING" "YES"]
	"*2\r\n$1\r\nw\r\n_\r\n", // 52 ["MGET" "o1" "o2"]
	"+OK\r\n[0]>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\no1\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\no2\r\n", // 53 ["MSET" "o1" "a" "o2" "b"]
	"-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n",                    // 54 ["CLIENT" "CACHING" "NO"]
	"-ERR syntax error\r\n", // 55 ["CLIENT" "CACHING" "MAYBE"]
	"-ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.\r\n", // 56 ["CLIENT" "TRACKING" "ON" "OPTOUT"]
	"+OK\r\n", // 57 ["CLIENT" "TRACKING" "OFF"]
	"+OK\r\n", // 58 ["CLIENT" "TRACKING" "ON" "OPTOUT"]
	"+OK\r\n", // 59 ["CLIENT" "CACHING" "NO"]
	"_\r\n",   // 60 ["GET" "p1"]
	"_\r\n",   // 61 ["GET" "p2"]
	"+OK\r\n[0]>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\np2\r\n", // 62 ["MSET" "p1" "a" "p2" "b"]
	"+OK\r\n", // 63 ["CLIENT" "TRACKING" "OFF"]
	"*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n", // 64 ["SUBSCRIBE" "__redis__:invalidate"]
	"+OK\r\n", // 65 ["CLIENT" "TRACKING" "ON" "REDIRECT" "$id2"]
	"$-1\r\n", // 66 ["GET" "r1"]
	"+OK\r\n[2]*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$2\r\nr1\r\n", // 67 ["SET" "r1" "x"]
	":$id2\r\n", // 68 ["CLIENT" "GETREDIR"]
	"*6\r\n$5\r\nflags\r\n*1\r\n$2\r\non\r\n$8\r\nredirect\r\n:$id2\r\n$8\r\nprefixes\r\n*0\r\n", // 69 ["CLIENT" "TRACKINGINFO"]
	"+OK\r\n[2]*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n",                    // 70 ["FLUSHALL"]
	"+OK\r\n", // 71 ["CLIENT" "TRACKING" "OFF"]
	"+OK\r\n", // 72 ["CLIENT" "TRACKING" "ON"]
	"+OK\r\n[0]>2\r\n$10\r\ninvalidate\r\n_\r\n", // 73 ["FLUSHDB"]
	"+OK\r\n",     // 74 ["MULTI"]
	"+QUEUED\r\n", // 75 ["GET" "m1"]
	"*1\r\n_\r\n", // 76 ["EXEC"]
	"+OK\r\n[0]>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nm1\r\n", // 77 ["SET" "m1" "x"]
	"_\r\n", // 78 ["EVAL" "return redis.call('get', KEYS[1])" "1" "s1"]
	"+OK\r\n[0]>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\ns1\r\n", // 79 ["SET" "s1" "x"]
	"*3\r\n_\r\n_\r\n_\r\n",                                   // 80 ["EVAL" "return redis.call('mget', KEYS[1], KEYS[2], KEYS[3])" "3" "s2" "s3" "s4"]
	"+OK\r\n[0]>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\ns2\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\ns3\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\ns4\r\n", // 81 ["MSET" "s2" "x" "s3" "y" "s4" "z"]
	"+OK\r\n", // 82 ["CLIENT" "TRACKING" "OFF"]
	"-ERR PREFIX option requires BCAST mode to be enabled\r\n",     // 83 ["CLIENT" "TRACKING" "ON" "PREFIX" "x"]
	"-ERR OPTIN and OPTOUT are not compatible with BCAST\r\n",      // 84 ["CLIENT" "TRACKING" "ON" "BCAST" "OPTIN"]
	"-ERR You can't specify both OPTIN mode and OPTOUT mode\r\n",   // 85 ["CLIENT" "TRACKING" "ON" "OPTIN" "OPTOUT"]
	"-ERR The client ID you want redirect to does not exist\r\n",   // 86 ["CLIENT" "TRACKING" "ON" "REDIRECT" "999999"]
	"-ERR value is not an integer or out of range\r\n",             // 87 ["CLIENT" "TRACKING" "ON" "REDIRECT" "abc"]
	"-ERR A client can only redirect to a single other client\r\n", // 88 ["CLIENT" "TRACKING" "ON" "REDIRECT" "$id1" "REDIRECT" "$id1"]
	"-ERR syntax error\r\n", // 89 ["CLIENT" "TRACKING" "MAYBE"]
	"-ERR syntax error\r\n", // 90 ["CLIENT" "TRACKING" "ON" "FOO"]
	"-ERR syntax error\r\n", // 91 ["CLIENT" "TRACKING" "ON" "PREFIX"]
	"-ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled\r\n", // 92 ["CLIENT" "CACHING" "YES"]
	"-ERR wrong number of arguments for 'client|trackinginfo' command\r\n",                                             // 93 ["CLIENT" "TRACKINGINFO" "x"]
	"-ERR wrong number of arguments for 'client|tracking' command\r\n",                                                 // 94 ["CLIENT" "TRACKING"]
	":-1\r\n", // 95 ["CLIENT" "GETREDIR"]
	"-ERR wrong number of arguments for 'client|getredir' command\r\n", // 96 ["CLIENT" "GETREDIR" "x"]
}
