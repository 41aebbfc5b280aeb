package command

import (
	"math"
	"slices"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// Operations of zsetOp.
const (
	zopUnion = iota
	zopInter
	zopDiff
)

// Aggregates of ZUNION and ZINTER.
const (
	aggrSum = iota
	aggrMin
	aggrMax
)

// zsource is one input of ZUNION, ZINTER or ZDIFF: a sorted set, a set
// (whose members all score 1, as in Redis), or nothing for a missing key.
type zsource struct {
	z      *object.ZSet
	s      *object.Set
	weight float64
}

func (src *zsource) len() int {
	switch {
	case src.z != nil:
		return src.z.Len()
	case src.s != nil:
		return src.s.Len()
	}
	return 0
}

func (src *zsource) missing() bool { return src.z == nil && src.s == nil }

// score returns m's score in the source, and whether m is in it.
func (src *zsource) score(m []byte) (float64, bool) {
	switch {
	case src.z != nil:
		return src.z.Score(m)
	case src.s != nil && src.s.Has(m):
		return 1, true
	}
	return 0, false
}

// each calls fn with every member and its score until fn returns false.
// A set's members may be formatted into a buffer reused between calls.
func (src *zsource) each(fn func(m []byte, s float64) bool) {
	switch {
	case src.z != nil:
		src.z.Range(fn)
	case src.s != nil:
		src.s.Range(func(m []byte) bool { return fn(m, 1) })
	}
}

// aggregate combines val into target as Redis's zunionInterAggregate
// does: a sum of opposite infinities is 0.
func aggregate(target *float64, val float64, aggr int) {
	switch aggr {
	case aggrSum:
		*target += val
		if math.IsNaN(*target) {
			*target = 0
		}
	case aggrMin:
		if val < *target {
			*target = val
		}
	case aggrMax:
		if val > *target {
			*target = val
		}
	}
}

func zunionCommand(c *Ctx, args [][]byte)      { zsetOp(c, args, false, zopUnion, "zunion") }
func zinterCommand(c *Ctx, args [][]byte)      { zsetOp(c, args, false, zopInter, "zinter") }
func zdiffCommand(c *Ctx, args [][]byte)       { zsetOp(c, args, false, zopDiff, "zdiff") }
func zunionstoreCommand(c *Ctx, args [][]byte) { zsetOp(c, args, true, zopUnion, "zunionstore") }
func zinterstoreCommand(c *Ctx, args [][]byte) { zsetOp(c, args, true, zopInter, "zinterstore") }
func zdiffstoreCommand(c *Ctx, args [][]byte)  { zsetOp(c, args, true, zopDiff, "zdiffstore") }

// zsources reads the count of keys at args[at] and the keys after it, with
// Redis's errors, checking every key's type before any option is read.
// It returns the sources and the index of the first argument after the
// keys; on an error it has replied.
func zsources(c *Ctx, args [][]byte, at int, name string) ([]zsource, int, bool) {
	n, ok := resp.ParseInt(args[at])
	if !ok {
		c.W.AppendError(strErrNotInt)
		return nil, 0, false
	}
	if n < 1 {
		c.W.AppendError("ERR at least 1 input key is needed for '" + name + "' command")
		return nil, 0, false
	}
	if n > int64(len(args)-at-1) {
		c.W.AppendError(strErrSyntax)
		return nil, 0, false
	}
	keys := args[at+1 : at+1+int(n)]
	// Settle expiry of every key first: a removal must not happen while
	// handles to the others are held.
	for _, k := range keys {
		c.DB(k).Exists(k)
	}
	srcs := make([]zsource, len(keys))
	for i, k := range keys {
		srcs[i].weight = 1
		_, obj, found := c.DB(k).Read(k)
		if !found {
			continue
		}
		switch o := obj.(type) {
		case *object.ZSet:
			srcs[i].z = o
		case *object.Set:
			srcs[i].s = o
		default:
			c.W.AppendError(ErrWrongType)
			return nil, 0, false
		}
	}
	return srcs, at + 1 + int(n), true
}

// zsetOp implements ZUNION, ZINTER and ZDIFF numkeys key… and their STORE
// forms (dst numkeys key…), with WEIGHTS and AGGREGATE but for ZDIFF, and
// WITHSCORES but for the STORE forms, as Redis's
// zunionInterDiffGenericCommand parses them.
func zsetOp(c *Ctx, args [][]byte, store bool, op int, name string) {
	at := 1
	if store {
		at = 2
	}
	srcs, j, ok := zsources(c, args, at, name)
	if !ok {
		return
	}
	aggr, withScores := aggrSum, false
	for j < len(args) {
		left := len(args) - j
		switch a := args[j]; {
		case op != zopDiff && left >= len(srcs)+1 && ascii.EqualFold(a, "weights"):
			j++
			for i := range srcs {
				w, ok := parseScore(args[j])
				if !ok {
					c.W.AppendError("ERR weight value is not a float")
					return
				}
				srcs[i].weight = w
				j++
			}
		case op != zopDiff && left >= 2 && ascii.EqualFold(a, "aggregate"):
			switch b := args[j+1]; {
			case ascii.EqualFold(b, "sum"):
				aggr = aggrSum
			case ascii.EqualFold(b, "min"):
				aggr = aggrMin
			case ascii.EqualFold(b, "max"):
				aggr = aggrMax
			default:
				c.W.AppendError(strErrSyntax)
				return
			}
			j += 2
		case !store && ascii.EqualFold(a, "withscores"):
			withScores = true
			j++
		default:
			c.W.AppendError(strErrSyntax)
			return
		}
	}
	var acc map[string]float64
	switch op {
	case zopUnion:
		acc = zunion(srcs, aggr)
	case zopInter:
		acc = zinter(srcs, aggr, 0, nil)
	default:
		acc = zdiff(srcs)
	}
	out := zsetOf(acc, store)
	if store {
		storeZSet(c, args[1], out, name)
		return
	}
	if out == nil {
		c.W.AppendArray(0)
		return
	}
	appendPairsHeader(c, out.Len(), withScores)
	out.Range(func(m []byte, s float64) bool {
		if withScores {
			appendPair(c, m, s)
		} else {
			c.W.AppendBulk(m)
		}
		return true
	})
}

// zsetOf builds a sorted set of the members and scores of m, nil when
// empty. A result to store takes the encoding Redis's stored results end
// in, a listpack when it fits the limits; one only replied stays a tree,
// as Redis's does, which keeps a score of -0 that a listpack would not.
func zsetOf(m map[string]float64, store bool) *object.ZSet {
	if len(m) == 0 {
		return nil
	}
	maxLen := 0
	for k := range m {
		maxLen = max(maxLen, len(k))
	}
	z := object.NewZSetEncoded(object.EncSkiplist)
	if store {
		z = object.NewZSetFor(len(m), maxLen)
	}
	for k, s := range m {
		z.Set([]byte(k), s)
	}
	return z
}

// zunion returns the union of srcs: each member's weighted scores
// aggregated, the sources taken from the smallest up, as Redis takes them
// (the order decides a sum of infinities and a finite score).
func zunion(srcs []zsource, aggr int) map[string]float64 {
	slices.SortStableFunc(srcs, func(a, b zsource) int { return a.len() - b.len() })
	acc := map[string]float64{}
	for i := range srcs {
		w := srcs[i].weight
		srcs[i].each(func(m []byte, s float64) bool {
			s *= w
			if math.IsNaN(s) {
				s = 0
			}
			if cur, ok := acc[string(m)]; ok {
				aggregate(&cur, s, aggr)
				acc[string(m)] = cur
			} else {
				acc[string(m)] = s
			}
			return true
		})
	}
	return acc
}

// zinter returns the intersection of srcs, nil when one is missing,
// walking the smallest as Redis does. With count set, it only counts the
// members, up to limit when limit > 0, and returns nil.
func zinter(srcs []zsource, aggr int, limit int, count *int) map[string]float64 {
	for i := range srcs {
		if srcs[i].missing() {
			return nil
		}
	}
	order := make([]*zsource, len(srcs))
	for i := range srcs {
		order[i] = &srcs[i]
	}
	slices.SortStableFunc(order, func(a, b *zsource) int { return a.len() - b.len() })
	acc := map[string]float64{}
	order[0].each(func(m []byte, s float64) bool {
		score := s * order[0].weight
		if math.IsNaN(score) {
			score = 0
		}
		for _, o := range order[1:] {
			v, ok := o.score(m)
			if !ok {
				return true
			}
			aggregate(&score, v*o.weight, aggr)
		}
		if count != nil {
			*count++
			return limit <= 0 || *count < limit
		}
		acc[string(m)] = score
		return true
	})
	return acc
}

// zdiff returns the members of the first source that are in none of the
// others, with their scores there.
func zdiff(srcs []zsource) map[string]float64 {
	acc := map[string]float64{}
	srcs[0].each(func(m []byte, s float64) bool {
		for i := range srcs[1:] {
			if _, ok := srcs[1+i].score(m); ok {
				return true
			}
		}
		acc[string(m)] = s
		return true
	})
	return acc
}

// zintercardCommand implements ZINTERCARD numkeys key… [LIMIT limit] as
// Redis 7 does, through the same parsing as ZINTER: the keys' types are
// checked before LIMIT is read.
func zintercardCommand(c *Ctx, args [][]byte) {
	srcs, j, ok := zsources(c, args, 1, "zintercard")
	if !ok {
		return
	}
	limit := int64(0)
	for ; j < len(args); j++ {
		if ascii.EqualFold(args[j], "limit") && j+1 < len(args) {
			l, ok := resp.ParseInt(args[j+1])
			if !ok || l < 0 {
				c.W.AppendError("ERR LIMIT can't be negative")
				return
			}
			limit = l
			j++
			continue
		}
		c.W.AppendError(strErrSyntax)
		return
	}
	count := 0
	zinter(srcs, aggrSum, int(min(limit, math.MaxInt32)), &count)
	c.W.AppendInt(int64(count))
}
