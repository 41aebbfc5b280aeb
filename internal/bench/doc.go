// Package bench is a load generator for data-cluster and other servers that
// speak the Redis protocol or data-cluster's line protocol.
//
// Run opens Config.Clients TCP connections. Each connection belongs to one
// goroutine that repeats the same cycle: it encodes Config.Pipeline requests
// into its write buffer, sends them with one write, then reads as many
// replies. A request's latency is the time from its batch's send to its
// reply's arrival, as redis-benchmark measures it, and is recorded in
// microseconds in the connection's own HDR histogram; the histograms are
// merged when the run ends.
//
// Requests are GET or SET (a random draw against Config.ReadPercent) on keys
// named key:%012d, whose index is drawn uniformly from [0, Config.Keyspace)
// or, with Config.Sequential, is the request's number in the run modulo
// Config.Keyspace. Values are
// Config.ValueSize bytes of 'x'. Error replies (BUSY, ERR …) are counted by
// kind and do not stop the run; a broken connection does.
//
// The package speaks to servers over TCP only and shares no code with the
// server packages beyond the RESP request parser its tests use.
package bench
