package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/data-cluster/data-cluster/internal/acl"
	"github.com/data-cluster/data-cluster/internal/keyspace"
	"github.com/data-cluster/data-cluster/internal/pubsub"
	"github.com/data-cluster/data-cluster/internal/server"
)

// secOptions are the flags of the client limits, authentication, protected
// mode, maxmemory and TLS.
type secOptions struct {
	maxClients    int
	timeout       int // seconds
	queryBuffer   byteSize
	outputBuffer  byteSize
	outputTimeout int // seconds
	requirePass   string
	aclFile       string
	protectedMode yesNo
	maxMemory     byteSize
	policy        string
	samples       int
	tlsAddr       string
	tlsCert       string
	tlsKey        string
	tlsCA         string
	pubsubLimit   pubsubLimit
	normalLimit   pubsubLimit
}

// pubsubLimit is the value of --client-output-buffer-limit-pubsub and
// --client-output-buffer-limit-normal: hard and soft sizes and the soft
// bound's seconds, as Redis writes a class of client-output-buffer-limit.
type pubsubLimit pubsub.Limits

func (l *pubsubLimit) Set(s string) error {
	f := strings.Fields(s)
	if len(f) != 3 {
		return fmt.Errorf("want three values, hard soft seconds: %q", s)
	}
	hard, err := parseByteSize(f[0])
	if err != nil {
		return err
	}
	soft, err := parseByteSize(f[1])
	if err != nil {
		return err
	}
	secs, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || secs < 0 || secs > maxSeconds {
		return fmt.Errorf("seconds %q: want 0 to %d", f[2], maxSeconds)
	}
	*l = pubsubLimit{Hard: hard, Soft: soft, SoftFor: time.Duration(secs) * time.Second}
	return nil
}

func (l *pubsubLimit) String() string {
	h, s := byteSize(l.Hard), byteSize(l.Soft)
	return h.String() + " " + s.String() + " " + strconv.FormatInt(int64(l.SoftFor/time.Second), 10)
}

// maxSeconds bounds the flags given in seconds (about 68 years).
const maxSeconds = 1<<31 - 1

func (o *secOptions) register(fs *flag.FlagSet) {
	d := server.DefaultProtection()
	fs.IntVar(&o.maxClients, "max-clients", d.MaxClients,
		"most clients connected at once; one more gets \"-ERR max number of clients reached\" and is closed")
	fs.IntVar(&o.timeout, "timeout", 0, "close a client idle for this many `seconds`; 0: never")
	o.queryBuffer = byteSize(d.MaxQueryBuffer)
	fs.Var(&o.queryBuffer, "client-query-buffer-limit",
		"most `bytes` buffered for one client's unfinished command; more closes the client "+unitsHelp)
	o.outputBuffer = byteSize(d.MaxOutputBuffer)
	fs.Var(&o.outputBuffer, "client-output-buffer-limit",
		"most `bytes` of replies waiting for one client; more closes the client; 0: no limit "+unitsHelp)
	o.pubsubLimit = pubsubLimit(d.PubSubOutput)
	fs.Var(&o.pubsubLimit, "client-output-buffer-limit-pubsub",
		"`hard soft seconds`: close a subscribed client whose messages waiting to be written pass hard bytes, or soft bytes for longer than seconds; 0 turns a bound off "+unitsHelp)
	o.normalLimit = pubsubLimit(d.NormalOutput)
	fs.Var(&o.normalLimit, "client-output-buffer-limit-normal",
		"`hard soft seconds`: close any other client whose replies waiting to be written pass hard bytes, or soft bytes for longer than seconds; 0 turns a bound off (Redis's normal class, 0 0 0) "+unitsHelp)
	fs.IntVar(&o.outputTimeout, "client-output-timeout", int(d.OutputTimeout/time.Second),
		"close a client that accepts none of its waiting replies for this many `seconds`; 0: never")
	fs.StringVar(&o.requirePass, "requirepass", "",
		"password clients must give with AUTH before any other command; empty: none (prefer the environment variable, which ps does not show)")
	fs.StringVar(&o.aclFile, "aclfile", "",
		"`file` of users and their permissions in Redis's aclfile syntax (user <name> <rules>...): loaded at start, by ACL LOAD, written by ACL SAVE (on a cluster node: checked at start, the cluster's users when it has none yet, ACL LOAD gives them to every node); empty: only the default user, with --requirepass")
	o.protectedMode = yesNo(d.ProtectedMode)
	fs.Var(&o.protectedMode, "protected-mode",
		"yes: without --requirepass, refuse clients that do not connect from a loopback address")
	fs.Var(&o.maxMemory, "maxmemory",
		"most `bytes` of data held, split evenly across the shards; 0: no limit "+unitsHelp)
	fs.StringVar(&o.policy, "maxmemory-policy", d.MaxMemoryPolicy.String(),
		"what to evict at --maxmemory: noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random or volatile-ttl")
	fs.IntVar(&o.samples, "maxmemory-samples", d.MaxMemorySamples, "keys sampled to choose each evicted key (1-64)")
	fs.StringVar(&o.tlsAddr, "tls-addr", "", "address to listen on with TLS, for both protocols; empty: no TLS listener")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "PEM `file` with the TLS certificate chain (with --tls-addr)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM `file` with the TLS private key (with --tls-addr)")
	fs.StringVar(&o.tlsCA, "tls-ca", "", "PEM `file` of CA certificates: TLS clients must present a certificate they signed; empty: no client certificates")
}

// validate checks the values, addr being the plain listener's, and loads the
// TLS files to report a bad one now; from names the values in errors.
func (o secOptions) validate(addr string, cluster bool, from source) error {
	n := from.name
	ints := []struct {
		name     string
		v        int
		min, max int
	}{
		{"max-clients", o.maxClients, 1, server.MaxClientsLimit},
		{"timeout", o.timeout, 0, maxSeconds},
		{"client-output-timeout", o.outputTimeout, 0, maxSeconds},
		{"maxmemory-samples", o.samples, 1, 64},
	}
	for _, c := range ints {
		if c.v < c.min || c.v > c.max {
			return fmt.Errorf("invalid value %d for %s: must be between %d and %d", c.v, n(c.name), c.min, c.max)
		}
	}
	if o.queryBuffer < 1024 {
		return fmt.Errorf("invalid value %d for %s: must be at least 1024", o.queryBuffer, n("client-query-buffer-limit"))
	}
	if o.outputBuffer != 0 && o.outputBuffer < 1024 {
		return fmt.Errorf("invalid value %d for %s: must be 0 (no limit) or at least 1024", o.outputBuffer, n("client-output-buffer-limit"))
	}
	if _, err := keyspace.ParsePolicy(o.policy); err != nil {
		return fmt.Errorf("invalid value %q for %s: %v", o.policy, n("maxmemory-policy"), err)
	}
	if cluster && o.aclFile != "" {
		// A single server checks the same when it starts (server.New).
		if o.requirePass != "" {
			return fmt.Errorf("%s cannot be used with %s: give the default user's password in the aclfile", n("requirepass"), n("aclfile"))
		}
		if _, err := acl.LoadFile(o.aclFile); err != nil {
			return fmt.Errorf("aclfile: %v", err)
		}
	}
	if addr == "" && o.tlsAddr == "" {
		return fmt.Errorf("no address to listen on: %s and %s are both empty", n("addr"), n("tls-addr"))
	}
	if cluster && o.tlsAddr == "" && (o.tlsCert != "" || o.tlsKey != "" || o.tlsCA != "") {
		// On a cluster node they secure the links between the nodes.
		if o.tlsCert == "" || o.tlsKey == "" || o.tlsCA == "" {
			return fmt.Errorf("between cluster nodes, TLS needs %s, %s and %s", n("tls-cert"), n("tls-key"), n("tls-ca"))
		}
		_, err := o.tlsConfig(from)
		return err
	}
	if o.tlsAddr == "" {
		if o.tlsCert != "" || o.tlsKey != "" || o.tlsCA != "" {
			return fmt.Errorf("%s, %s and %s need %s", n("tls-cert"), n("tls-key"), n("tls-ca"), n("tls-addr"))
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(o.tlsAddr); err != nil {
		return fmt.Errorf("invalid value %q for %s: %v", o.tlsAddr, n("tls-addr"), err)
	}
	if o.tlsCert == "" || o.tlsKey == "" {
		return fmt.Errorf("%s needs %s and %s", n("tls-addr"), n("tls-cert"), n("tls-key"))
	}
	_, err := o.tlsConfig(from)
	return err
}

// tlsConfig loads the certificate, the key and the client CAs; from names
// the files' flags in errors.
func (o secOptions) tlsConfig(from source) (*tls.Config, error) {
	n := from.name
	cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("cannot load %s %s and %s %s: %v", n("tls-cert"), o.tlsCert, n("tls-key"), o.tlsKey, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if o.tlsCA != "" {
		pem, err := os.ReadFile(o.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %v", n("tls-ca"), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s %s holds no PEM certificate", n("tls-ca"), o.tlsCA)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// apply sets the server's protection from the flags.
func (o secOptions) apply(cfg *server.Config) {
	p := &cfg.Protection
	p.MaxClients = o.maxClients
	p.IdleTimeout = time.Duration(o.timeout) * time.Second
	p.MaxQueryBuffer = int64(o.queryBuffer)
	p.MaxOutputBuffer = int64(o.outputBuffer)
	if p.MaxOutputBuffer == 0 {
		p.MaxOutputBuffer = math.MaxInt64 // no limit, as 0 is in Redis
	}
	p.OutputTimeout = time.Duration(o.outputTimeout) * time.Second
	p.PubSubOutput = pubsub.Limits(o.pubsubLimit)
	p.NormalOutput = pubsub.Limits(o.normalLimit)
	p.RequirePass = o.requirePass
	p.ACLFile = o.aclFile
	p.ProtectedMode = bool(o.protectedMode)
	p.MaxMemory = int64(o.maxMemory)
	p.MaxMemoryPolicy, _ = keyspace.ParsePolicy(o.policy)
	p.MaxMemorySamples = o.samples
}

// listen opens the listeners: the plain one on addr unless it is empty,
// then the TLS one on --tls-addr if set. On failure it closes what it
// opened.
func (o secOptions) listen(addr string, from source) ([]net.Listener, error) {
	var lns []net.Listener
	if addr != "" {
		ln, err := listenTCP(addr)
		if err != nil {
			return nil, fmt.Errorf("cannot listen on %s: %v", addr, err)
		}
		lns = append(lns, ln)
	}
	if o.tlsAddr != "" {
		cfg, err := o.tlsConfig(from)
		if err == nil {
			var ln net.Listener
			if ln, err = listenTCP(o.tlsAddr); err == nil {
				lns = append(lns, tls.NewListener(ln, cfg))
			} else {
				err = fmt.Errorf("cannot listen on %s: %v", o.tlsAddr, err)
			}
		}
		if err != nil {
			closeAll(lns)
			return nil, err
		}
	}
	return lns, nil
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}

// yesNo is a flag value written yes or no, as Redis writes booleans.
type yesNo bool

func (b *yesNo) Set(s string) error {
	switch strings.ToLower(s) {
	case "yes":
		*b = true
	case "no":
		*b = false
	default:
		return errors.New("want yes or no")
	}
	return nil
}

func (b *yesNo) String() string {
	if b != nil && *b {
		return "yes"
	}
	return "no"
}
