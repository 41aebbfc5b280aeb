package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/data-cluster/data-cluster/internal/cluster"
)

// adminPollInterval is how often the waits of `data-cluster cluster` ask for
// CLUSTER STATUS. Tests shorten it.
var adminPollInterval = 500 * time.Millisecond

// adminPeerTimeout bounds the dial and the request with which `cluster status`
// asks each of the other nodes for its own view (--timeout, when shorter,
// wins).
const adminPeerTimeout = 2 * time.Second

// adminMaxBulk bounds a bulk string in a reply; adminMaxArray the length of
// an array; adminMaxDepth the nesting of arrays.
const (
	adminMaxBulk  = 64 << 20
	adminMaxArray = 1 << 20
	adminMaxDepth = 8
)

// adminMaxRepeats is how many times in a row rebalance accepts the same step
// before it gives up: a step that keeps coming back is not taking effect.
const adminMaxRepeats = 3

// adminCommand is one subcommand of `data-cluster cluster`.
type adminCommand struct {
	name    string
	args    string // the positional arguments, for the usage text
	nargs   int
	summary string   // one line, for the list of subcommands
	detail  []string // lines of the subcommand's own usage text
	json    bool     // takes --json
	noWait  bool     // takes --no-wait
	run     func(a *admin, ctx context.Context, args []string) error
}

// adminCommands lists the subcommands in the order the usage text shows them.
var adminCommands = []adminCommand{
	{
		name: "status", summary: "show the nodes, the groups, their replicas and how far each lags",
		json: true, run: (*admin).status,
		detail: []string{
			"Asks --addr for CLUSTER STATUS, then every other node with a known address",
			"(with the same password and TLS settings) for its own view, and prints the",
			"nodes and the groups. A replica is shown as its node, '*' when it leads the",
			"group, '-' when it is leaving, '+' when it is joining (not yet a voter), and",
			"its lag in parentheses: the leader's commit index minus the replica's",
			"applied index, in log entries, '?' when unknown. A node that does not answer",
			"is shown as unreachable; that is not an error.",
			"",
			"With --json, prints one JSON object:",
			`  "status": the answering node's CLUSTER STATUS object;`,
			`  "nodes":  each other node's id mapped to its own CLUSTER STATUS object,`,
			"            or null when it has no address or did not answer;",
			`  "lag":    each group ("0", "1", …, "meta") mapped to an object of`,
			"            replica node id to lag, null when unknown.",
		},
	},
	{
		name: "move", args: "GROUP FROM TO", nargs: 3,
		summary: "move GROUP's replica (a group number, or meta) from node FROM to node TO",
		noWait:  true, run: (*admin).move,
		detail: []string{
			"Sends CLUSTER MOVE, then waits until the group is no longer moving and TO",
			"holds the replica instead of FROM. GROUP is a group number, or meta for the",
			"placement group.",
		},
	},
	{
		name: "add-node", args: "NODE PEER-ADDR", nargs: 2,
		summary: "admit node NODE, whose peer address is PEER-ADDR, before it starts",
		run:     (*admin).addNode,
		detail: []string{
			"Sends CLUSTER ADDNODE: NODE joins the node table, holding nothing. Start it",
			"with --join and any member's peer address (or its own table follows once it",
			"connects); automatic placement, rebalance or move then give it replicas.",
			"Starting a node with --join admits it too; add-node lets an operator admit",
			"it first, from anywhere the client port is reachable.",
		},
	},
	{
		name: "remove-node", args: "NODE", nargs: 1,
		summary: "drain NODE (its replicas move to other nodes), then remove it",
		noWait:  true, run: (*admin).removeNode,
		detail: []string{
			"Sends CLUSTER FORGET: NODE's replicas move to other nodes, then NODE leaves",
			"the node table. Waits until it has left, printing how many replicas it still",
			"holds as that changes. Point --addr at a node that stays.",
		},
	},
	{
		name: "set-shards", args: "N", nargs: 1,
		summary: "change the number of shard groups to N, moving slots while serving",
		noWait:  true, run: (*admin).setShards,
		detail: []string{
			"Sends CLUSTER SETSHARDS: groups are added (each with as many replicas as the",
			"others, on the nodes holding the fewest), slots move between groups key by",
			"key while clients read and write them, and groups left with no slot are",
			"removed. Every slot ends where a cluster founded with N groups puts it.",
			"Waits until that is done, printing each migration as it starts.",
		},
	},
	{
		name: "set-replicas", args: "N", nargs: 1,
		summary: "change the number of replicas of every shard group to N",
		noWait:  true, run: (*admin).setReplicas,
		detail: []string{
			"Sends CLUSTER SETREPLICAS: groups with fewer replicas gain them, one at a",
			"time, as learners that catch up from a snapshot before they vote, on the",
			"nodes holding the fewest; groups with more lose followers, on nodes down or",
			"being removed first. N is at most the number of nodes. Waits until every",
			"group has N replicas, printing how many groups have them as that changes.",
		},
	},
	{
		name: "rebalance", summary: "move replicas, one at a time, until every node holds a fair share",
		noWait: true, run: (*admin).rebalance,
		detail: []string{
			"Repeats: wait until no group is moving, send CLUSTER REBALANCE, print the",
			"step it took, until the answer is \"balanced\". With --no-wait, sends one",
			"CLUSTER REBALANCE and prints its answer.",
		},
	},
}

// adminOptions are the flags of a `data-cluster cluster` subcommand.
type adminOptions struct {
	addr          string
	user          string
	password      string
	tls           bool
	tlsCA         string
	tlsCert       string
	tlsKey        string
	tlsServerName string
	insecure      bool
	timeout       time.Duration
	waitTimeout   time.Duration
	json          bool
	noWait        bool
}

// register defines the flags every subcommand takes on fs.
func (o *adminOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "client address (host:port) of the node to ask")
	fs.StringVar(&o.user, "user", "", "user name to send with AUTH; empty: AUTH with the password only")
	fs.StringVar(&o.password, "password", "", "password to send with AUTH (default: $REDISCLI_AUTH); empty: no AUTH")
	fs.BoolVar(&o.tls, "tls", false, "connect with TLS")
	fs.StringVar(&o.tlsCA, "tls-ca", "", "PEM `file` of the CA certificates that verify the server (default: the system's)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "PEM `file` with a client certificate chain, for servers that ask for one (with --tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM `file` with the client certificate's private key")
	fs.StringVar(&o.tlsServerName, "tls-server-name", "", "name to verify the server's certificate against (default: the host of each address)")
	fs.BoolVar(&o.insecure, "insecure-skip-verify", false, "do not verify the server's certificate (for tests only)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of each connection attempt and each request")
	fs.DurationVar(&o.waitTimeout, "wait-timeout", 10*time.Minute, "how long to wait for each move or removal to finish")
}

// validate checks the flags and returns the TLS client configuration, nil
// without --tls.
func (o adminOptions) validate() (*tls.Config, error) {
	if o.timeout <= 0 {
		return nil, fmt.Errorf("invalid value %v for --timeout: must be positive", o.timeout)
	}
	if o.waitTimeout <= 0 {
		return nil, fmt.Errorf("invalid value %v for --wait-timeout: must be positive", o.waitTimeout)
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return nil, fmt.Errorf("invalid value %q for --addr: %v", o.addr, err)
	}
	if o.user != "" && o.password == "" {
		return nil, errors.New("--user needs --password (or REDISCLI_AUTH)")
	}
	if !o.tls {
		if o.tlsCA != "" || o.tlsCert != "" || o.tlsKey != "" || o.tlsServerName != "" || o.insecure {
			return nil, errors.New("--tls-ca, --tls-cert, --tls-key, --tls-server-name and --insecure-skip-verify need --tls")
		}
		return nil, nil
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         o.tlsServerName,
		InsecureSkipVerify: o.insecure,
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("cannot load --tls-cert %s and --tls-key %s: %v", o.tlsCert, o.tlsKey, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if o.tlsCA != "" {
		pem, err := os.ReadFile(o.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("cannot read --tls-ca: %v", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", o.tlsCA)
		}
	}
	return cfg, nil
}

// runAdmin runs `data-cluster cluster` with args (those after "cluster") and
// returns the process exit status: 0 on success, 1 when a node answered with
// an error, could not be reached or a wait timed out, 2 for invalid usage.
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		adminUsage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		adminUsage(stderr)
		return exitOK
	}
	i := slices.IndexFunc(adminCommands, func(c adminCommand) bool { return c.name == args[0] })
	if i < 0 {
		fmt.Fprintf(stderr, "data-cluster cluster: unknown command %q\n\n", args[0])
		adminUsage(stderr)
		return exitUsage
	}
	cmd := adminCommands[i]

	var opts adminOptions
	fs := flag.NewFlagSet("data-cluster cluster "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts.register(fs)
	if cmd.json {
		fs.BoolVar(&opts.json, "json", false, "print one JSON object instead of tables")
	}
	if cmd.noWait {
		fs.BoolVar(&opts.noWait, "no-wait", false, "return once the node has accepted the request")
	}
	fs.Usage = func() {
		usage := "data-cluster cluster " + cmd.name + " [flags]"
		if cmd.args != "" {
			usage += " " + cmd.args
		}
		fmt.Fprintf(stderr, "Usage: %s\n\n", usage)
		for _, l := range cmd.detail {
			fmt.Fprintln(stderr, l)
		}
		fmt.Fprintf(stderr, "\nFlags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(pos) != cmd.nargs {
		if cmd.nargs == 0 {
			fmt.Fprintf(stderr, "data-cluster cluster %s: unexpected argument %q\n", cmd.name, pos[0])
		} else {
			fmt.Fprintf(stderr, "data-cluster cluster %s: want %s, got %q\n", cmd.name, cmd.args, pos)
		}
		fs.Usage()
		return exitUsage
	}
	if what, ok := map[string]string{"set-shards": "shards", "set-replicas": "replicas"}[cmd.name]; ok {
		if n, err := strconv.Atoi(pos[0]); err != nil || n < 1 {
			fmt.Fprintf(stderr, "data-cluster cluster %s: invalid number of %s %q: want a positive integer\n", cmd.name, what, pos[0])
			return exitUsage
		}
	}
	if cmd.name == "move" && !validGroup(pos[0]) {
		fmt.Fprintf(stderr, "data-cluster cluster move: invalid group %q: want a group number or meta\n", pos[0])
		return exitUsage
	}
	password := false
	fs.Visit(func(f *flag.Flag) { password = password || f.Name == "password" })
	if !password {
		opts.password = os.Getenv("REDISCLI_AUTH")
	}
	tlsCfg, err := opts.validate()
	if err != nil {
		fmt.Fprintf(stderr, "data-cluster cluster %s: %v\n", cmd.name, err)
		return exitUsage
	}

	a := &admin{opts: opts, tls: tlsCfg, stdout: stdout}
	defer a.close()
	if err := cmd.run(a, ctx, pos); err != nil {
		if errors.Is(err, context.Canceled) {
			err = errors.New("interrupted")
		}
		fmt.Fprintf(stderr, "data-cluster: %v\n", err)
		return exitError
	}
	return exitOK
}

// adminUsage prints the usage text of `data-cluster cluster`.
func adminUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: data-cluster cluster <command> [flags] [arguments]\n\n")
	fmt.Fprintf(w, "Administers a running cluster through one node's client port, so it works\n")
	fmt.Fprintf(w, "with --requirepass and TLS.\n\nCommands:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range adminCommands {
		line := c.name
		if c.args != "" {
			line += " " + c.args
		}
		if c.json {
			line += " [--json]"
		}
		if c.noWait {
			line += " [--no-wait]"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", line, c.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nExit status: 0 on success, 1 when a node answers with an error, cannot be\n")
	fmt.Fprintf(w, "reached or a wait times out, 2 for invalid usage.\n")
	fmt.Fprintf(w, "\nFlags of every command (%s* environment variables do not apply):\n", envPrefix)
	fs := flag.NewFlagSet("data-cluster cluster", flag.ContinueOnError)
	fs.SetOutput(w)
	new(adminOptions).register(fs)
	fs.PrintDefaults()
	fmt.Fprintf(w, "\nRun 'data-cluster cluster <command> -h' for more about a command.\n")
}

// parseInterspersed parses fs from args, letting flags come before, between
// or after the positional arguments, which it returns. After "--" every
// argument is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// validGroup reports whether s names a group: "meta" or a group number.
func validGroup(s string) bool {
	if s == "meta" {
		return true
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0
}

// admin runs one subcommand. It keeps one connection to --addr, dialled on
// first use and again after a failure. It is used by one goroutine.
type admin struct {
	opts   adminOptions
	tls    *tls.Config // nil without --tls
	stdout io.Writer
	conn   *adminConn // to opts.addr; nil until dialled
}

// close closes the connection to --addr.
func (a *admin) close() {
	if a.conn != nil {
		a.conn.close()
		a.conn = nil
	}
}

// do sends one command to --addr and returns its reply. An error reply is
// returned as an adminError; after any other error the connection is closed.
func (a *admin) do(ctx context.Context, args ...string) (adminReply, error) {
	if a.conn == nil {
		c, err := a.dial(ctx, a.opts.addr, a.opts.timeout)
		if err != nil {
			return adminReply{}, err
		}
		a.conn = c
	}
	r, err := a.conn.do(ctx, args...)
	var srvErr adminError
	if err != nil && !errors.As(err, &srvErr) {
		a.close()
		return r, fmt.Errorf("%s: %w", a.opts.addr, err)
	}
	return r, err
}

// dial connects to addr, with TLS when asked, and sends AUTH when there is a
// password. Each step is bounded by timeout.
func (a *admin) dial(ctx context.Context, addr string, timeout time.Duration) (*adminConn, error) {
	d := &net.Dialer{Timeout: timeout}
	var nc net.Conn
	var err error
	if a.tls != nil {
		td := &tls.Dialer{NetDialer: d, Config: a.tls}
		nc, err = td.DialContext(ctx, "tcp", addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %w", addr, err)
	}
	c := &adminConn{nc: nc, rd: bufio.NewReader(nc), timeout: timeout}
	if a.opts.password != "" {
		args := []string{"AUTH", a.opts.password}
		if a.opts.user != "" {
			args = []string{"AUTH", a.opts.user, a.opts.password}
		}
		if _, err := c.do(ctx, args...); err != nil {
			c.close()
			var srvErr adminError
			if errors.As(err, &srvErr) {
				return nil, err
			}
			return nil, fmt.Errorf("%s: %w", addr, err)
		}
	}
	return c, nil
}

// adminError is an error reply, its text without the leading '-', for
// example "ERR unknown node n9" or "WRONGPASS invalid username-password pair".
type adminError string

// Error returns the reply's text.
func (e adminError) Error() string { return string(e) }

// retryable reports whether a wait may ask again after err: a connection
// that failed, or a node busy electing a leader or loading.
func retryable(err error) bool {
	var srvErr adminError
	if !errors.As(err, &srvErr) {
		return true
	}
	code, _, _ := strings.Cut(string(srvErr), " ")
	switch code {
	case "TRYAGAIN", "CLUSTERDOWN", "BUSY", "LOADING", "MASTERDOWN":
		return true
	}
	return false
}

// adminConn is a RESP connection to one node. It is used by one goroutine.
type adminConn struct {
	nc      net.Conn
	rd      *bufio.Reader
	timeout time.Duration // of each request
}

// close closes the connection.
func (c *adminConn) close() { c.nc.Close() }

// do sends one command and reads its reply within c.timeout, or until ctx
// ends. An error reply is returned as an adminError.
func (c *adminConn) do(ctx context.Context, args ...string) (adminReply, error) {
	c.nc.SetDeadline(time.Now().Add(c.timeout))
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := fmt.Appendf(nil, "*%d\r\n", len(args))
	for _, s := range args {
		buf = fmt.Appendf(buf, "$%d\r\n%s\r\n", len(s), s)
	}
	r, err := c.write(buf)
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return r, err
}

// write writes a request and reads the reply.
func (c *adminConn) write(req []byte) (adminReply, error) {
	if _, err := c.nc.Write(req); err != nil {
		return adminReply{}, err
	}
	r, err := readAdminReply(c.rd, 0)
	if err != nil {
		return r, err
	}
	if r.typ == '-' {
		return r, adminError(r.str)
	}
	return r, nil
}

// adminReply is one RESP2 reply.
type adminReply struct {
	typ   byte   // '+', '-', ':', '$' or '*'
	str   string // of a simple string, an error or a bulk string
	num   int64  // of an integer
	elems []adminReply
	null  bool // a null bulk string or array
}

// errAdminProtocol is wrapped by the errors of readAdminReply for bytes that
// are not a RESP2 reply.
var errAdminProtocol = errors.New("malformed reply")

// readAdminReply reads one reply, nested at depth.
func readAdminReply(rd *bufio.Reader, depth int) (adminReply, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		if err == io.EOF && line != "" {
			err = io.ErrUnexpectedEOF
		}
		return adminReply{}, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return adminReply{}, fmt.Errorf("%w: %q", errAdminProtocol, line)
	}
	r := adminReply{typ: line[0]}
	body := line[1 : len(line)-2]
	switch r.typ {
	case '+', '-':
		r.str = body
		return r, nil
	}
	n, err := strconv.ParseInt(body, 10, 64)
	if err != nil {
		return r, fmt.Errorf("%w: %q", errAdminProtocol, line)
	}
	switch r.typ {
	case ':':
		r.num = n
	case '$':
		if n == -1 {
			r.null = true
			return r, nil
		}
		if n < 0 || n > adminMaxBulk {
			return r, fmt.Errorf("%w: bulk length %d", errAdminProtocol, n)
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(rd, b); err != nil {
			return r, unexpectedEOF(err)
		}
		if b[n] != '\r' || b[n+1] != '\n' {
			return r, fmt.Errorf("%w: bulk string not followed by CRLF", errAdminProtocol)
		}
		r.str = string(b[:n])
	case '*':
		if n == -1 {
			r.null = true
			return r, nil
		}
		if n < 0 || n > adminMaxArray || depth >= adminMaxDepth {
			return r, fmt.Errorf("%w: array of %d at depth %d", errAdminProtocol, n, depth)
		}
		for range n {
			e, err := readAdminReply(rd, depth+1)
			if err != nil {
				return r, unexpectedEOF(err)
			}
			r.elems = append(r.elems, e)
		}
	default:
		return r, fmt.Errorf("%w: unknown type %q", errAdminProtocol, r.typ)
	}
	return r, nil
}

// unexpectedEOF turns io.EOF inside a reply into io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// text returns the string a reply holds, for commands that answer with a
// simple or a bulk string.
func (r adminReply) text() (string, error) {
	if (r.typ == '+' || r.typ == '$') && !r.null {
		return r.str, nil
	}
	return "", fmt.Errorf("%w: want a string, got type %q", errAdminProtocol, r.typ)
}

// The JSON object of CLUSTER STATUS, one node's view of the cluster, as the
// node writes it.
type (
	clusterStatus = cluster.StatusReport
	nodeStatus    = cluster.NodeStatus
	groupStatus   = cluster.GroupStatus
	replicaStatus = cluster.ReplicaStatus
	localStatus   = cluster.LocalStatus
)

// groups returns the meta group, if any, then the data groups.
func statusGroups(s *clusterStatus) []*groupStatus {
	var gs []*groupStatus
	if s.Meta != nil {
		gs = append(gs, s.Meta)
	}
	for i := range s.Groups {
		gs = append(gs, &s.Groups[i])
	}
	return gs
}

// group returns group g (-1: meta), or nil.
func statusGroup(s *clusterStatus, g int) *groupStatus {
	for _, gs := range statusGroups(s) {
		if gs.Group == g {
			return gs
		}
	}
	return nil
}

// node returns the node with id, or nil.
func statusNode(s *clusterStatus, id string) *nodeStatus {
	for i := range s.Nodes {
		if s.Nodes[i].ID == id {
			return &s.Nodes[i]
		}
	}
	return nil
}

// moving returns the names of the groups that are moving.
func statusMoving(s *clusterStatus) []string {
	var names []string
	for _, g := range statusGroups(s) {
		if g.Moving {
			names = append(names, groupName(g.Group))
		}
	}
	return names
}

// groupName returns how group g is written: its number, or "meta" for -1.
func groupName(g int) string {
	if g < 0 {
		return "meta"
	}
	return strconv.Itoa(g)
}

// fetchStatus sends CLUSTER STATUS with do and returns the parsed object and
// its JSON text.
func fetchStatus(ctx context.Context, do func(context.Context, ...string) (adminReply, error)) (*clusterStatus, json.RawMessage, error) {
	r, err := do(ctx, "CLUSTER", "STATUS")
	if err != nil {
		return nil, nil, err
	}
	text, err := r.text()
	if err != nil {
		return nil, nil, fmt.Errorf("CLUSTER STATUS: %w", err)
	}
	var st clusterStatus
	if err := json.Unmarshal([]byte(text), &st); err != nil {
		return nil, nil, fmt.Errorf("CLUSTER STATUS: %w: %v", errAdminProtocol, err)
	}
	return &st, json.RawMessage(text), nil
}

// peerView is what one of the other nodes answered to CLUSTER STATUS.
type peerView struct {
	st  *clusterStatus  // nil when it was not asked or did not answer
	raw json.RawMessage // st's JSON text
	err error           // why it did not answer; nil when not asked
}

// peerViews asks every node of st other than the answering one, and with an
// address, for CLUSTER STATUS, all at once, and returns their answers by
// node id.
func (a *admin) peerViews(ctx context.Context, st *clusterStatus) map[string]*peerView {
	timeout := min(a.opts.timeout, adminPeerTimeout)
	views := make(map[string]*peerView)
	var wg sync.WaitGroup
	for _, n := range st.Nodes {
		if n.ID == st.Node {
			continue
		}
		v := &peerView{}
		views[n.ID] = v
		if n.Addr == "" {
			continue
		}
		wg.Go(func() {
			c, err := a.dial(ctx, n.Addr, timeout)
			if err != nil {
				v.err = err
				return
			}
			defer c.close()
			pst, raw, err := fetchStatus(ctx, c.do)
			switch {
			case err != nil:
				v.err = err
			case pst.Node != n.ID:
				v.err = fmt.Errorf("%s answered as node %q", n.Addr, pst.Node)
			default:
				v.st, v.raw = pst, raw
			}
		})
	}
	wg.Wait()
	return views
}

// adminLag maps group name → replica node id → lag; nil is unknown.
type adminLag map[string]map[string]*uint64

// computeLag computes each replica's lag: the commit index of the group's
// leader, from the leader node's own view, minus the applied index of the
// replica, from its node's own view. views holds each node's view by id,
// the answering node's included; a view may be nil. A replica ahead of the
// leader's view (views are taken one after the other) has lag 0.
func computeLag(st *clusterStatus, views map[string]*clusterStatus) adminLag {
	local := func(node string, g int) *localStatus {
		if v := views[node]; v != nil {
			if gs := statusGroup(v, g); gs != nil {
				return gs.Local
			}
		}
		return nil
	}
	lag := make(adminLag)
	for _, g := range statusGroups(st) {
		m := make(map[string]*uint64)
		lag[groupName(g.Group)] = m
		var leader *localStatus
		if g.Leader != "" {
			leader = local(g.Leader, g.Group)
		}
		for _, r := range g.Replicas {
			m[r.Node] = nil
			l := local(r.Node, g.Group)
			if leader == nil || l == nil {
				continue
			}
			d := uint64(0)
			if leader.Commit > l.Applied {
				d = leader.Commit - l.Applied
			}
			m[r.Node] = &d
		}
	}
	return lag
}

// status runs `cluster status`.
func (a *admin) status(ctx context.Context, _ []string) error {
	st, raw, err := fetchStatus(ctx, a.do)
	if err != nil {
		return err
	}
	peers := a.peerViews(ctx, st)
	views := map[string]*clusterStatus{st.Node: st}
	for id, v := range peers {
		views[id] = v.st
	}
	lag := computeLag(st, views)
	if a.opts.json {
		out := struct {
			Status json.RawMessage            `json:"status"`
			Nodes  map[string]json.RawMessage `json:"nodes"`
			Lag    adminLag                   `json:"lag"`
		}{raw, make(map[string]json.RawMessage), lag}
		for id, v := range peers {
			out.Nodes[id] = v.raw // nil is written as null
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return writeStatus(a.stdout, st, peers, views, lag)
}

// writeStatus prints st as tables: the nodes, then the groups.
func writeStatus(w io.Writer, st *clusterStatus, peers map[string]*peerView, views map[string]*clusterStatus, lag adminLag) error {
	agreed := "no"
	if st.Agreed {
		agreed = "yes"
	}
	fmt.Fprintf(w, "epoch %d, agreed %s, answered by %s, moves in flight %d\n", st.Epoch, agreed, st.Node, len(statusMoving(st)))
	fmt.Fprintf(w, "shard groups %d", len(st.Groups))
	if st.Shards > 0 && st.Shards != len(st.Groups) || st.Reshaping {
		fmt.Fprintf(w, ", changing to %d", st.Shards)
	}
	if m := st.Migration; m != nil {
		fmt.Fprintf(w, ", moving %d slots from group %d to group %d", m.Slots, m.From, m.To)
	}
	fmt.Fprintf(w, "\n\n")

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\tADDR\tPEER\tSTATE\tREPLICAS\tLEADS\n")
	for _, n := range st.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", n.ID, orDash(n.Addr), orDash(n.PeerAddr), nodeState(n, peers[n.ID]), n.Replicas, n.Leads)
	}
	fmt.Fprintf(tw, "\nGROUP\tSLOTS\tLEADER\tREPLICAS\tMOVING\n")
	for _, g := range statusGroups(st) {
		var leader *localStatus
		if v := views[g.Leader]; g.Leader != "" && v != nil {
			if lg := statusGroup(v, g.Group); lg != nil {
				leader = lg.Local
			}
		}
		var reps []string
		for _, r := range g.Replicas {
			s := r.Node
			if r.Node == g.Leader {
				s += "*"
			}
			if r.Leaving {
				s += "-"
			}
			if leader != nil && !slices.Contains(leader.Voters, r.ID) {
				s += "+"
			}
			if d := lag[groupName(g.Group)][r.Node]; d != nil {
				s += "(" + strconv.FormatUint(*d, 10) + ")"
			} else {
				s += "(?)"
			}
			reps = append(reps, s)
		}
		moving := "no"
		if g.Moving {
			moving = "yes"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", groupName(g.Group), g.Slots, orDash(g.Leader), strings.Join(reps, " "), moving)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	sep := "\n"
	for _, n := range st.Nodes {
		if p := peers[n.ID]; p != nil && p.err != nil {
			if _, err := fmt.Fprintf(w, "%s%s unreachable: %v\n", sep, n.ID, p.err); err != nil {
				return err
			}
			sep = ""
		}
	}
	return nil
}

// nodeState returns the STATE column of node n: down, or up, draining or
// unreachable (when the node did not answer), or both of the last two.
func nodeState(n nodeStatus, p *peerView) string {
	var states []string
	if n.Down {
		states = append(states, "down")
	}
	if n.Draining {
		states = append(states, "draining")
	}
	if !n.Down && p != nil && p.err != nil {
		states = append(states, "unreachable")
	}
	if len(states) == 0 {
		return "up"
	}
	return strings.Join(states, ",")
}

// orDash returns s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// wait asks --addr for CLUSTER STATUS every adminPollInterval until done
// returns true or an error, or --wait-timeout passes. Errors of a connection
// and errors a node returns while it elects a leader are retried; what is
// waited for is named in the timeout error.
func (a *admin) wait(ctx context.Context, what string, done func(*clusterStatus) (bool, error)) error {
	wctx, cancel := context.WithTimeout(ctx, a.opts.waitTimeout)
	defer cancel()
	tick := time.NewTicker(adminPollInterval)
	defer tick.Stop()
	var last error
	for {
		st, _, err := fetchStatus(wctx, a.do)
		if err == nil {
			ok, err := done(st)
			if ok || err != nil {
				return err
			}
			last = nil
		} else if wctx.Err() == nil {
			if !retryable(err) {
				return err
			}
			last = err
		}
		select {
		case <-tick.C:
			continue
		case <-wctx.Done():
		}
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted while waiting for %s", what)
		}
		err = fmt.Errorf("timed out after %v waiting for %s", a.opts.waitTimeout, what)
		if last != nil {
			err = fmt.Errorf("%w (last error: %v)", err, last)
		}
		return err
	}
}

// move runs `cluster move GROUP FROM TO`.
func (a *admin) move(ctx context.Context, args []string) error {
	group, from, to := args[0], args[1], args[2]
	g := -1
	if group != "meta" {
		g, _ = strconv.Atoi(group)
		group = strconv.Itoa(g)
	}
	if _, err := a.do(ctx, "CLUSTER", "MOVE", group, from, to); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "move started: group %s from %s to %s\n", group, from, to)
	if a.opts.noWait {
		return nil
	}
	seen := false // the group was seen moving
	err := a.wait(ctx, "group "+group+" to finish moving", func(st *clusterStatus) (bool, error) {
		gs := statusGroup(st, g)
		if gs == nil {
			return false, fmt.Errorf("group %s is not in the placement table of %s", group, st.Node)
		}
		if gs.Moving {
			seen = true
			return false, nil
		}
		i := slices.IndexFunc(gs.Replicas, func(r replicaStatus) bool { return r.Node == from })
		j := slices.IndexFunc(gs.Replicas, func(r replicaStatus) bool { return r.Node == to })
		if i < 0 && j >= 0 {
			return true, nil
		}
		if seen {
			return false, fmt.Errorf("the move of group %s ended but its replicas are %s", group, replicaNodes(gs))
		}
		return false, nil // not started yet
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "move done")
	return nil
}

// replicaNodes lists the nodes of g's replicas.
func replicaNodes(g *groupStatus) string {
	var ids []string
	for _, r := range g.Replicas {
		ids = append(ids, r.Node)
	}
	return strings.Join(ids, " ")
}

// addNode runs `cluster add-node NODE PEER-ADDR`.
func (a *admin) addNode(ctx context.Context, args []string) error {
	if _, err := a.do(ctx, "CLUSTER", "ADDNODE", args[0], args[1]); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "node %s admitted at %s; start it with --join and a member's peer address\n", args[0], args[1])
	return nil
}

// setShards runs `cluster set-shards N`.
func (a *admin) setShards(ctx context.Context, args []string) error {
	if _, err := a.do(ctx, "CLUSTER", "SETSHARDS", args[0]); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "changing to %s shard groups\n", args[0])
	if a.opts.noWait {
		return nil
	}
	last := ""
	err := a.wait(ctx, args[0]+" shard groups", func(st *clusterStatus) (bool, error) {
		now := ""
		if m := st.Migration; m != nil {
			now = fmt.Sprintf("moving %d slots from group %d to group %d", m.Slots, m.From, m.To)
		}
		if now != last && now != "" {
			fmt.Fprintln(a.stdout, now)
		}
		last = now
		return !st.Reshaping && strconv.Itoa(len(st.Groups)) == args[0], nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s shard groups\n", args[0])
	return nil
}

// setReplicas runs `cluster set-replicas N`.
func (a *admin) setReplicas(ctx context.Context, args []string) error {
	if _, err := a.do(ctx, "CLUSTER", "SETREPLICAS", args[0]); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "changing to %s replicas per group\n", args[0])
	if a.opts.noWait {
		return nil
	}
	want, _ := strconv.Atoi(args[0])
	last := -1
	err := a.wait(ctx, args[0]+" replicas in every group", func(st *clusterStatus) (bool, error) {
		done := 0
		for _, g := range st.Groups {
			staying := 0
			for _, r := range g.Replicas {
				if !r.Leaving {
					staying++
				}
			}
			if staying == want && !g.Moving {
				done++
			}
		}
		if done != last {
			last = done
			fmt.Fprintf(a.stdout, "%d of %d groups have %d replicas\n", done, len(st.Groups), want)
		}
		return done == len(st.Groups), nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s replicas per group\n", args[0])
	return nil
}

// removeNode runs `cluster remove-node NODE`.
func (a *admin) removeNode(ctx context.Context, args []string) error {
	node := args[0]
	if _, err := a.do(ctx, "CLUSTER", "FORGET", node); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "removing node %s\n", node)
	if a.opts.noWait {
		return nil
	}
	last := -1
	err := a.wait(ctx, "node "+node+" to leave", func(st *clusterStatus) (bool, error) {
		if statusNode(st, node) == nil {
			return true, nil
		}
		var held []string
		for _, g := range statusGroups(st) {
			if slices.ContainsFunc(g.Replicas, func(r replicaStatus) bool { return r.Node == node }) {
				held = append(held, groupName(g.Group))
			}
		}
		if len(held) != last {
			last = len(held)
			fmt.Fprintf(a.stdout, "node %s holds %d replicas", node, len(held))
			if len(held) > 0 {
				fmt.Fprintf(a.stdout, " (groups %s)", strings.Join(held, ", "))
			}
			fmt.Fprintln(a.stdout)
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "node %s removed\n", node)
	return nil
}

// rebalance runs `cluster rebalance`.
func (a *admin) rebalance(ctx context.Context, _ []string) error {
	var prev string
	repeats := 0
	for {
		if !a.opts.noWait {
			err := a.wait(ctx, "the moves in flight to finish", func(st *clusterStatus) (bool, error) {
				return len(statusMoving(st)) == 0, nil
			})
			if err != nil {
				return err
			}
		}
		r, err := a.do(ctx, "CLUSTER", "REBALANCE")
		if err != nil {
			return err
		}
		step, err := r.text()
		if err != nil {
			return fmt.Errorf("CLUSTER REBALANCE: %w", err)
		}
		fmt.Fprintln(a.stdout, step)
		if a.opts.noWait || step == "balanced" {
			return nil
		}
		if step == prev {
			repeats++
		} else {
			prev, repeats = step, 1
		}
		if repeats >= adminMaxRepeats {
			return fmt.Errorf("rebalance is not making progress: the same step %d times in a row", repeats)
		}
	}
}
