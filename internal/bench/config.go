package bench

import (
	"fmt"
	"io"
	"net"
	"time"
)

// Protocol names the wire protocol a run speaks.
type Protocol string

// The protocols a run can speak.
const (
	// RESP is the Redis protocol (RESP2): requests are arrays of bulk
	// strings, replies are RESP values.
	RESP Protocol = "resp"

	// Line is data-cluster's line protocol: one request per line, one reply
	// per line.
	Line Protocol = "line"
)

// Limits on Config values. The key format has 12 digits, which bounds the
// key space; a line-protocol request must fit the server's 64 KiB line.
const (
	MaxClients    = 10000
	MaxPipeline   = 100000
	MaxKeyspace   = 1_000_000_000_000
	MaxValueSize  = 512 << 20
	MaxRequests   = 1 << 50
	MaxDuration   = 24 * time.Hour
	maxLineLength = 64 << 10

	// lineOverhead is the length of a line-protocol SET before its value:
	// "SET key:000000000000 ".
	lineOverhead = len("SET ") + keyLen + 1
)

// Config describes one run. Start from DefaultConfig; Run calls Validate.
type Config struct {
	// Addr is the server's host:port. Default 127.0.0.1:8080.
	Addr string

	// Protocol is RESP (default) or Line.
	Protocol Protocol

	// Clients is the number of connections, each driven by its own
	// goroutine. Default 50.
	Clients int

	// Pipeline is the number of requests each connection sends before it
	// reads their replies. Default 1 (no pipelining).
	Pipeline int

	// Requests is the total number of requests of the run, across all
	// connections. Default 100000. Ignored when Duration is set.
	Requests int64

	// Duration, when positive, runs for that long instead of a number of
	// requests; the batches in flight when it ends are completed and
	// counted. Default 0.
	Duration time.Duration

	// Keyspace is the number of distinct keys: indexes are in [0, Keyspace).
	// Default 1000000.
	Keyspace int64

	// Sequential gives request number n of the run (counted across all
	// connections, in the order batches are handed out) the key of index
	// n modulo Keyspace, instead of a random index: a run of Keyspace
	// requests touches every key once.
	Sequential bool

	// ValueSize is the length of every SET value in bytes. Default 16.
	ValueSize int

	// ReadPercent is the share of requests that are GET, from 0 to 100; the
	// others are SET. Default 50.
	ReadPercent int

	// Seed seeds the random draws of keys and operations; connection i uses
	// the stream (Seed, i). 0 picks a seed from the clock; Result.Seed
	// reports the seed used, so a run's requests can be repeated.
	Seed uint64

	// Progress, when not nil, receives a progress line every
	// ProgressInterval, each starting with '\r' so that a terminal shows one
	// line updated in place; the line is erased when the run ends.
	Progress io.Writer

	// ProgressInterval is the time between progress lines. Default 250ms.
	ProgressInterval time.Duration

	// DialTimeout bounds each connection attempt. Default 5s.
	DialTimeout time.Duration

	// DrainTimeout bounds how long the batches in flight may take to be
	// answered once the run is told to stop (its duration elapsed, its
	// context ended, or a connection failed). Default 5s.
	DrainTimeout time.Duration
}

// DefaultConfig returns the default settings, those of `data-cluster bench`
// without flags.
func DefaultConfig() Config {
	return Config{
		Addr:             "127.0.0.1:8080",
		Protocol:         RESP,
		Clients:          50,
		Pipeline:         1,
		Requests:         100000,
		Keyspace:         1000000,
		ValueSize:        16,
		ReadPercent:      50,
		ProgressInterval: 250 * time.Millisecond,
		DialTimeout:      5 * time.Second,
		DrainTimeout:     5 * time.Second,
	}
}

// Validate reports the first setting out of its range. Its messages name
// the command-line flag of each field.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("invalid value %q for --addr: %v", c.Addr, err)
	}
	if c.Protocol != RESP && c.Protocol != Line {
		return fmt.Errorf("invalid value %q for --protocol: must be %q or %q", c.Protocol, RESP, Line)
	}
	type bound struct {
		name     string
		v        int64
		min, max int64
	}
	checks := []bound{
		{"clients", int64(c.Clients), 1, MaxClients},
		{"pipeline", int64(c.Pipeline), 1, MaxPipeline},
		{"keyspace", c.Keyspace, 1, MaxKeyspace},
		{"value-size", int64(c.ValueSize), 1, MaxValueSize},
		{"read-percent", int64(c.ReadPercent), 0, 100},
	}
	if c.Duration == 0 {
		checks = append(checks, bound{"requests", c.Requests, 1, MaxRequests})
	}
	for _, b := range checks {
		if b.v < b.min || b.v > b.max {
			return fmt.Errorf("invalid value %d for --%s: must be between %d and %d", b.v, b.name, b.min, b.max)
		}
	}
	if c.Duration < 0 || c.Duration > MaxDuration {
		return fmt.Errorf("invalid value %v for --duration: must be between 0 (off) and %v", c.Duration, MaxDuration)
	}
	if c.Protocol == Line && c.ValueSize > maxLineLength-lineOverhead && c.ReadPercent < 100 {
		return fmt.Errorf("invalid value %d for --value-size: the line protocol takes values up to %d bytes",
			c.ValueSize, maxLineLength-lineOverhead)
	}
	if c.ProgressInterval <= 0 || c.DialTimeout <= 0 || c.DrainTimeout <= 0 {
		return fmt.Errorf("bench: ProgressInterval, DialTimeout and DrainTimeout must be positive")
	}
	return nil
}
