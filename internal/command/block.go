package command

import (
	"math"
	"math/big"
	"math/bits"
	"time"

	"github.com/data-cluster/data-cluster/internal/storage"
)

// Blocking describes a command that can block: BZPOPMIN, BZPOPMAX and
// BZMPOP today, the list commands BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and
// BLMPOP next.
//
// The Spec's Run is the command's non-blocking form: it answers what Try
// answers, or a nil array where Try finds nothing. It is what runs inside
// MULTI (where Redis never blocks), in a replicated group's log, and when
// a connection retries a parked client's command through a group.
//
// Outside MULTI the server first runs Try, on the shard of the command's
// keys or holding the shards of all of them. When Try finds nothing, the
// client is parked in the shards of its keys (Spec.Keys) in the same step,
// so that no write can slip between the attempt and the wait. Each write to
// a key that clients wait on makes its shard call Serve for the clients
// parked on that key, oldest first, once the writing command (or EXEC)
// has ended, until one of them finds nothing. A client parked on keys of
// several shards is served by one of them only.
//
// A list command plugs in by setting Block on its Spec:
//
//	{Name: "blpop", Arity: -3, Flags: Write | Blocks, FirstKey: 1, LastKey: -2, Step: 1,
//		Run: blockingRun(blpopTry), Block: &Blocking{TimeoutArg: -1, Try: blpopTry, Serve: blpopServe}}
//
// where blpopTry checks the timeout with ParseTimeout, then pops from the
// first non-empty list as LPOP does, and blpopServe pops from the one list
// it is given (listblock.go). Serve runs on the shard of the key it serves
// and may touch only keys of that shard. BLMOVE and BRPOPLPUSH push to a
// destination (Dest) that may live on another shard: there Serve only
// reports whether the source holds a list, and the shard wakes the
// waiter instead of serving it; its connection then runs Try again
// holding both shards, and parks the waiter again in the same step when
// another client took the elements first (see shard.Woken).
type Blocking struct {
	// TimeoutArg is the position of the timeout argument, negative
	// counting from the end (-1: the last argument).
	TimeoutArg int
	// TimeoutAt, when set, finds the timeout argument in place of
	// TimeoutArg: its position, or -1 when the command was not asked to
	// block (XREAD without BLOCK, whose Try always answers).
	TimeoutAt func(args [][]byte) int
	// Millis says the timeout is in milliseconds (XREAD's BLOCK), not in
	// seconds.
	Millis bool
	// Dest, for BLMOVE and BRPOPLPUSH, is the position of the key the
	// command pushes to, which it does not wait on; 0 for the others.
	Dest int
	// Try runs the command once over the current values of its keys. It
	// replies and reports true when it has answered the client: with the
	// elements it popped, or with an error (a bad argument, a key of the
	// wrong type). It writes nothing and reports false when none of the
	// keys holds anything to pop: the client then waits. Try checks every
	// argument, the timeout included (ParseTimeout), in Redis's order.
	Try func(c *Ctx, args [][]byte) bool
	// Serve tries to serve a waiting client, whose arguments Try accepted,
	// from key alone, which a write has just changed. It replies and
	// reports true when it popped; it writes and changes nothing and
	// reports false when key holds nothing it can pop (absent, or of
	// another type: the client waits on, as in Redis 7.0). When c does
	// not hold Dest, Serve changes nothing, replies nothing, and reports
	// whether it would have served.
	Serve func(c *Ctx, args [][]byte, key []byte) bool
}

// Watch returns the keys of args that a client of the command waits on:
// its keys (spec.Keys) but a destination (Dest) other than its source.
func (b *Blocking) Watch(spec *Spec, args [][]byte) [][]byte {
	keys := spec.Keys(args, nil)
	if b.Dest > 0 && len(keys) == 2 && string(keys[0]) != string(keys[1]) {
		return keys[:1]
	}
	return keys
}

// Asks reports whether args ask the command to block: always, but for a
// command whose blocking is an option (XREAD without BLOCK), which then
// runs as any other command.
func (b *Blocking) Asks(args [][]byte) bool {
	return b.TimeoutAt == nil || b.TimeoutAt(args) >= 0
}

// Timeout returns the timeout argument of args, nil when there is none.
func (b *Blocking) Timeout(args [][]byte) []byte {
	i := b.TimeoutArg
	if b.TimeoutAt != nil {
		if i = b.TimeoutAt(args); i < 0 {
			return nil
		}
	} else if i < 0 {
		i += len(args)
	}
	if i < 0 || i >= len(args) {
		return nil
	}
	return args[i]
}

// Wait returns how long a client of the command with args waits at most,
// 0 for ever; Try accepted args.
func (b *Blocking) Wait(args [][]byte) time.Duration {
	t := b.Timeout(args)
	if t == nil {
		return 0
	}
	if b.Millis {
		d, _ := parseMillisTimeout(t)
		return d
	}
	d, _ := ParseTimeout(t)
	return d
}

// Timeout errors, as Redis words them.
const (
	ErrTimeoutNotFloat = "ERR timeout is not a float or out of range"
	ErrTimeoutNegative = "ERR timeout is negative"
)

// ParseTimeout parses a blocking command's timeout in seconds as Redis 7.0
// does: 0 for no timeout, else the error reply for a bad one, "" otherwise.
// Redis reads the text as a long double (parseExtFloat: 1e-400 is a tiny
// positive value there, 1e400 a finite one), multiplies it by 1000 in that
// format, rounds up and converts the milliseconds to a 64-bit integer. So
// 8.1 seconds waits 8101 ms, the product being a hair above 8100. On
// x86-64 a value at or past 2^63, or infinite, converts to the least
// integer, so Redis calls it negative: 9223372036854775.807 seconds is
// accepted, 9223372036854775.808 is not. A value too long for a
// time.Duration (292 years) waits for ever, as Redis's blocked clients
// never reach such a deadline.
func ParseTimeout(b []byte) (time.Duration, string) {
	ms, ok := decimalMillis(b)
	if !ok {
		x, ok := parseExtFloat(b)
		if !ok {
			return 0, ErrTimeoutNotFloat
		}
		ms = extMillis(x)
	}
	if ms < 0 {
		return 0, ErrTimeoutNegative
	}
	return timeoutMillis(ms), ""
}

// extMillis returns x seconds in milliseconds as Redis's long double
// arithmetic gives them (see ParseTimeout), -1 for a negative result.
func extMillis(x extFloat) int64 {
	switch {
	case x.inf:
		return -1
	case x.f == nil:
		return 0
	}
	f := new(big.Float).SetPrec(extMantBits).SetMode(big.ToNearestEven)
	f.Mul(x.f, big.NewFloat(1000))
	ms, acc := f.Int(nil) // toward zero: Below when f > 0 has a fraction
	if acc == big.Below {
		ms.Add(ms, big.NewInt(1))
	}
	if ms.Sign() < 0 || !ms.IsInt64() {
		return -1
	}
	return ms.Int64()
}

// decimalMillis returns what extMillis gives for the usual text of a
// timeout, decimal digits with an optional point, at most 19 of them after
// leading zeros and at most 19 after the point, computed with 64-bit
// words: the value m/10^k rounded to a 64-bit significand, times 1000
// rounded again, then rounded up. It reports false for any other text,
// and for a text longer than Redis reads as a number.
func decimalMillis(b []byte) (int64, bool) {
	if len(b) >= extMaxChars {
		return 0, false
	}
	var m uint64
	k, digits, sig, point := 0, 0, 0, false
	for _, ch := range b {
		switch {
		case ch == '.' && !point:
			point = true
			continue
		case !isDigit(ch):
			return 0, false
		}
		digits++
		if point {
			k++
		}
		if m != 0 || ch != '0' {
			sig++
		}
		m = m*10 + uint64(ch-'0')
	}
	if digits == 0 || sig > 19 || k > 19 {
		return 0, false
	}
	if m == 0 {
		return 0, true
	}
	d := uint64(1)
	for range k {
		d *= 10
	}
	// q·2^-sh is m/d rounded to 64 bits, q in [2^63, 2^64): the quotient of
	// m·2^sh by d is at least 2^62 and below 2^64, doubled if below 2^63.
	sh := 63 + bits.Len64(d) - bits.Len64(m)
	q, r := divShifted(m, sh, d)
	if q < 1<<63 {
		sh++
		q, r = divShifted(m, sh, d)
	}
	if r > d-r || r == d-r && q&1 == 1 {
		if q++; q == 0 {
			q, sh = 1<<63, sh-1
		}
	}
	// Times 1000: a product of 73 or 74 bits, rounded to its top 64.
	hi, lo := bits.Mul64(q, 1000)
	t := bits.Len64(hi)
	p := hi<<(64-t) | lo>>t
	rest, half := lo&(1<<t-1), uint64(1)<<(t-1)
	if rest > half || rest == half && p&1 == 1 {
		if p++; p == 0 {
			p, t = 1<<63, t+1
		}
	}
	// Rounded up: p·2^e with p at least 2^63, so e must be negative.
	e := t - sh
	switch {
	case e >= 0:
		return -1, true
	case e <= -64:
		return 1, true
	}
	ms := p >> -e
	if p&(1<<-e-1) != 0 {
		ms++
	}
	if ms > math.MaxInt64 {
		return -1, true
	}
	return int64(ms), true
}

// divShifted returns the quotient and remainder of m·2^sh by d, for sh in
// 0…127 and a quotient below 2^64.
func divShifted(m uint64, sh int, d uint64) (q, r uint64) {
	var hi, lo uint64
	if sh >= 64 {
		hi = m << (sh - 64)
	} else {
		hi, lo = m>>(64-sh), m<<sh
	}
	return bits.Div64(hi, lo, d)
}

// timeoutMillis returns a timeout of ms milliseconds, 0 or more, as a
// Duration: 0 (for ever) past what a Duration holds.
func timeoutMillis(ms int64) time.Duration {
	if ms >= math.MaxInt64/int64(time.Millisecond) {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

// checkTimeout checks a timeout argument for Try, replying with its error.
func checkTimeout(c *Ctx, arg []byte) bool {
	if _, msg := ParseTimeout(arg); msg != "" {
		c.W.AppendError(msg)
		return false
	}
	return true
}

// popFirst pops across keys as Redis's blocking pops and LMPOP do: the
// expiry of every key is settled first, then the first key that exists
// decides: WRONGTYPE for a key of another type than T, or pop with its
// value. It reports false, replying nothing, when no key exists.
func popFirst[T storage.Object](c *Ctx, keys [][]byte, pop func(key []byte, v T)) bool {
	for _, k := range keys {
		c.DB(k).Exists(k)
	}
	for _, key := range keys {
		v, ok, wrong := servableAs[T](c, key)
		if wrong {
			c.W.AppendError(ErrWrongType)
			return true
		}
		if ok {
			pop(key, v)
			return true
		}
	}
	return false
}

// servableAs returns key's value when it is a T, which is never empty,
// reporting whether it is, and whether key holds another type. It
// replies nothing: a waiter stays parked on a key of another type.
func servableAs[T storage.Object](c *Ctx, key []byte) (v T, ok, wrong bool) {
	_, obj, _, found := c.DB(key).Find(key)
	if !found {
		return v, false, false
	}
	v, ok = obj.(T)
	return v, ok, !ok
}

// blockingRun returns the non-blocking form of a blocking command: Try, or
// a nil array when it finds nothing.
func blockingRun(try func(c *Ctx, args [][]byte) bool) func(c *Ctx, args [][]byte) {
	return func(c *Ctx, args [][]byte) {
		if !try(c, args) {
			c.W.AppendNullArray()
		}
	}
}
