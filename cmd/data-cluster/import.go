package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/rdb"
	"github.com/data-cluster/data-cluster/internal/slot"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// Bounds of the import's flags.
const (
	maxImportPipeline = 10000
	importRetries     = 50 // TRYAGAIN, CLUSTERDOWN, BUSY, LOADING: 100 ms apart
	importRedirects   = 5  // MOVED and ASK for one key
	importErrorsShown = 10
)

// runImport runs `data-cluster import` with args (those after "import"):
// it reads an RDB file and sends each key to the server as RESTORE key ttl
// payload REPLACE ABSTTL, pipelined. It returns 0 when every key was
// restored, 1 when the file or the server failed or a key was refused, 2
// for invalid flags.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var (
		file, addr, password string
		pipeline             int
		allDBs               bool
	)
	fs := flag.NewFlagSet("data-cluster import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&file, "rdb", "", "RDB `file` to import, as redis-cli --rdb or Redis's SAVE writes it (required)")
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "address of the server, or of any node of a cluster (MOVED replies are followed)")
	fs.StringVar(&password, "password", "", "password of AUTH, when the server has --requirepass")
	fs.IntVar(&pipeline, "pipeline", 64, fmt.Sprintf("most RESTORE commands sent to one node before their replies are read (1-%d)", maxImportPipeline))
	fs.BoolVar(&allDBs, "all-dbs", false, "load the keys of every database into database 0; without it a key of another database stops the import")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: data-cluster import --rdb FILE [flags]\n\n")
		fmt.Fprintf(stderr, "Reads a Redis RDB file and restores each of its keys on a server with\n")
		fmt.Fprintf(stderr, "RESTORE key ttl payload REPLACE ABSTTL, replacing keys of the same name.\n")
		fmt.Fprintf(stderr, "Flags only: the %s* environment variables do not apply to import.\n\nFlags:\n", envPrefix)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "data-cluster import: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	case file == "":
		fmt.Fprintf(stderr, "data-cluster import: --rdb FILE is required\n")
		return exitUsage
	case pipeline < 1 || pipeline > maxImportPipeline:
		fmt.Fprintf(stderr, "data-cluster import: invalid value %d for --pipeline: 1 to %d\n", pipeline, maxImportPipeline)
		return exitUsage
	}
	im := &importer{addr: addr, password: password, window: pipeline, allDBs: allDBs,
		conns: map[string]*importConn{}, stderr: stderr}
	defer im.close()
	start := time.Now()
	err := im.run(ctx, file)
	if err == nil {
		err = im.drainAll(ctx)
	}
	im.report(stdout, file, time.Since(start))
	if err != nil {
		fmt.Fprintf(stderr, "data-cluster import: %v\n", err)
		return exitError
	}
	if im.failed > 0 {
		fmt.Fprintf(stderr, "data-cluster import: %d keys were refused\n", im.failed)
		return exitError
	}
	return exitOK
}

// importer sends the keys of a file to a server or a cluster. It is used by
// one goroutine.
type importer struct {
	addr, password string
	window         int
	allDBs         bool
	conns          map[string]*importConn
	slots          [slot.Count]string // a slot's node, learnt from MOVED; "" for addr
	stderr         io.Writer

	version  int
	redisVer string
	funcs    int
	restored int
	kinds    [storage.KindStream + 1]int
	expired  int
	failed   int
}

// importCmd is a RESTORE to send, with its own copy of the arguments.
type importCmd struct {
	args      [][]byte
	kind      storage.Kind
	redirects int
	retries   int
	ask       string // the node an ASK named, for the next send only
}

// importConn is a connection to one node and the commands written to it
// whose replies are not read yet.
type importConn struct {
	nc      net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	pending []*importCmd
}

func (im *importer) run(ctx context.Context, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	rd, err := rdb.NewReader(f, st.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	im.version = rd.Version()
	for {
		e, err := rd.Next()
		im.funcs = rd.Functions()
		im.redisVer = rd.Aux()["redis-ver"]
		if err == io.EOF {
			if im.funcs > 0 {
				fmt.Fprintf(im.stderr, "data-cluster import: skipped %d function libraries: the import restores keys only; load them with FUNCTION LOAD\n", im.funcs)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w (%d keys restored before it)", file, err, im.restored)
		}
		if e.DB != 0 && !im.allDBs {
			if err := im.drainAll(ctx); err != nil {
				return err
			}
			return fmt.Errorf("%s: key %q is in database %d, and data-cluster has database 0 only: --all-dbs loads every database into 0 (%d keys of database 0 were restored)",
				file, e.Key, e.DB, im.restored)
		}
		if e.ExpireAt != 0 && e.ExpireAt <= time.Now().UnixMilli() {
			im.expired++
			continue
		}
		args := [][]byte{[]byte("RESTORE"), append([]byte(nil), e.Key...), strconv.AppendInt(nil, e.ExpireAt, 10),
			append([]byte(nil), e.Payload...), []byte("REPLACE"), []byte("ABSTTL")}
		switch {
		case e.Idle >= 0:
			args = append(args, []byte("IDLETIME"), strconv.AppendInt(nil, e.Idle, 10))
		case e.Freq >= 0:
			args = append(args, []byte("FREQ"), strconv.AppendInt(nil, int64(e.Freq), 10))
		}
		if err := im.send(ctx, &importCmd{args: args, kind: e.Value.Kind()}); err != nil {
			return err
		}
	}
}

// send writes cmd to the node of its key's slot, reading the replies of
// that node's commands once the window is full.
func (im *importer) send(ctx context.Context, cmd *importCmd) error {
	addr := im.slots[slot.Of(cmd.args[1])]
	if addr == "" {
		addr = im.addr
	}
	asking := cmd.ask != ""
	if asking {
		addr, cmd.ask = cmd.ask, ""
	}
	c, err := im.conn(ctx, addr)
	if err != nil {
		return err
	}
	if asking {
		// ASKING goes right before its command, with no reply of its own
		// left pending: read what is in flight first.
		if err := im.drain(ctx, c); err != nil {
			return err
		}
		writeCommand(c.w, [][]byte{[]byte("ASKING")})
		if err := c.w.Flush(); err != nil {
			return err
		}
		if line, err := readReply(c.r); err != nil || line != "+OK" {
			return fmt.Errorf("%s: ASKING: %q, %v", addr, line, err)
		}
	}
	writeCommand(c.w, cmd.args)
	c.pending = append(c.pending, cmd)
	if len(c.pending) >= im.window {
		return im.drain(ctx, c)
	}
	return nil
}

// drain reads the replies of every command pending on c, then sends again
// those redirected or refused for a moment.
func (im *importer) drain(ctx context.Context, c *importConn) error {
	if len(c.pending) == 0 {
		return nil
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	pending := c.pending
	c.pending = nil
	var again []*importCmd
	for _, cmd := range pending {
		line, err := readReply(c.r)
		if err != nil {
			return fmt.Errorf("%s: %w", c.nc.RemoteAddr(), err)
		}
		code, rest, _ := strings.Cut(line, " ")
		switch code {
		case "+OK":
			im.restored++
			im.kinds[cmd.kind]++
		case "-MOVED", "-ASK":
			// -MOVED 3999 127.0.0.1:6381
			f := strings.Fields(rest)
			cmd.redirects++
			if len(f) != 2 || cmd.redirects > importRedirects {
				im.refused(cmd, line)
				continue
			}
			if code == "-MOVED" {
				if n, err := strconv.Atoi(f[0]); err == nil && n >= 0 && n < slot.Count {
					im.slots[n] = f[1]
				}
			} else {
				cmd.ask = f[1]
			}
			again = append(again, cmd)
		case "-TRYAGAIN", "-CLUSTERDOWN", "-BUSY", "-LOADING":
			cmd.retries++
			if cmd.retries > importRetries {
				im.refused(cmd, line)
				continue
			}
			again = append(again, cmd)
		default:
			im.refused(cmd, line)
		}
	}
	for i, cmd := range again {
		if cmd.retries > 0 && (i == 0 || again[i-1].retries == 0) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
		if err := im.send(ctx, cmd); err != nil {
			return err
		}
	}
	return nil
}

// refused counts a key the server refused, printing the first few.
func (im *importer) refused(cmd *importCmd, reply string) {
	im.failed++
	if im.failed <= importErrorsShown {
		fmt.Fprintf(im.stderr, "data-cluster import: key %q: %s\n", cmd.args[1], strings.TrimPrefix(reply, "-"))
	}
}

// drainAll reads every pending reply of every connection.
func (im *importer) drainAll(ctx context.Context) error {
	for {
		busy := false
		for _, c := range im.conns {
			if len(c.pending) > 0 {
				busy = true
				if err := im.drain(ctx, c); err != nil {
					return err
				}
			}
		}
		if !busy {
			return nil
		}
	}
}

// conn returns the connection to addr, dialling it (and sending AUTH) the
// first time.
func (im *importer) conn(ctx context.Context, addr string) (*importConn, error) {
	if c, ok := im.conns[addr]; ok {
		return c, nil
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &importConn{nc: nc, r: bufio.NewReaderSize(nc, 1<<16), w: bufio.NewWriterSize(nc, 1<<16)}
	im.conns[addr] = c
	if im.password != "" {
		writeCommand(c.w, [][]byte{[]byte("AUTH"), []byte(im.password)})
		if err := c.w.Flush(); err != nil {
			return nil, err
		}
		if line, err := readReply(c.r); err != nil || line != "+OK" {
			return nil, fmt.Errorf("%s: AUTH: %s%v", addr, strings.TrimPrefix(line, "-"), err)
		}
	}
	return c, nil
}

func (im *importer) close() {
	for _, c := range im.conns {
		c.nc.Close()
	}
}

// report prints what was imported.
func (im *importer) report(w io.Writer, file string, took time.Duration) {
	var kinds []string
	for k, n := range im.kinds {
		if n > 0 {
			kinds = append(kinds, fmt.Sprintf("%d %s", n, storage.Kind(k)))
		}
	}
	from := fmt.Sprintf("RDB version %d", im.version)
	if im.redisVer != "" {
		from += ", redis-ver " + im.redisVer
	}
	fmt.Fprintf(w, "%s (%s): restored %d keys (%s) in %v; skipped %d already expired, %d function libraries; %d refused\n",
		file, from, im.restored, strings.Join(kinds, ", "), took.Round(time.Millisecond), im.expired, im.funcs, im.failed)
}

// writeCommand writes args as a RESP array of bulk strings.
func writeCommand(w *bufio.Writer, args [][]byte) {
	w.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		w.WriteString("$" + strconv.Itoa(len(a)) + "\r\n")
		w.Write(a)
		w.WriteString("\r\n")
	}
}

// readReply reads a one-line reply (a simple string, error or integer) and
// returns it without its CRLF. Other replies are errors: RESTORE and AUTH
// answer none.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" || !strings.ContainsRune("+-:", rune(line[0])) {
		return "", fmt.Errorf("unexpected reply %q", line)
	}
	return line, nil
}
