package command

import (
	"bytes"
	"cmp"
	"math"
	"slices"

	"github.com/data-cluster/data-cluster/internal/notify"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/resp"
	"github.com/data-cluster/data-cluster/internal/slot"
	"github.com/data-cluster/data-cluster/internal/storage"
)

// sortCommands are SORT and SORT_RO, which sort the elements of a list, a
// set or a sorted set, by themselves or by the values of other keys that
// a BY pattern names, and reply with them or with the values of the keys
// their GET patterns name. Those keys are not in the arguments: on the
// single server, a SORT with such patterns runs holding every shard (see
// Spec.ReadsOthers); in a cluster, where a group holds its own slots only,
// the patterns must name keys of the sorted key's slot, as Redis Cluster
// requires since Redis 7.4.
var sortCommands = []*Spec{
	{Name: "sort", Arity: -2, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Run: sortCommand, KeyArgs: sortKeys, ReadsOthers: sortReadsOthers},
	{Name: "sort_ro", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: sortROCommand, ReadsOthers: sortReadsOthers},
}

// Redis's error texts for SORT.
const (
	sortErrScore = "ERR One or more scores can't be converted into double"
	sortErrBy    = "ERR BY option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots."
	sortErrGet   = "ERR GET option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots."
)

// sortKeys is the KeyArgs of SORT: the sorted key and the destination of
// the last STORE, as Redis's sortGetKeys finds it: it skips the arguments
// of LIMIT, GET and BY but not those of STORE.
func sortKeys(args [][]byte, dst [][]byte) [][]byte {
	if len(args) < 2 {
		return dst
	}
	dst = append(dst, args[1])
	if k := SortStoreKey(args); k >= 0 {
		dst = append(dst, args[k])
	}
	return dst
}

// SortStoreKey returns the index in args of the destination sortKeys
// finds, -1 when there is none: the key SORT writes, which the ACL check
// needs write access to.
func SortStoreKey(args [][]byte) int {
	at := -1
	for i := 2; i < len(args); i++ {
		switch a := args[i]; {
		case cEqualFold(a, "limit"):
			i += 2
		case cEqualFold(a, "get"), cEqualFold(a, "by"):
			i++
		case cEqualFold(a, "store") && i+1 < len(args):
			at = i + 1
		}
	}
	return at
}

// sortReadsOthers is the ReadsOthers of SORT and SORT_RO: whether a BY or
// a GET pattern of args reads keys, as the parsing of sortGeneric finds
// them. A BY without '*' does not sort, and a GET without '*' gives nil;
// GET # gives the element itself.
func sortReadsOthers(args [][]byte) bool {
	for i := 2; i < len(args); i++ {
		a, left := args[i], len(args)-i-1
		switch {
		case cEqualFold(a, "limit") && left >= 2:
			i += 2
		case (cEqualFold(a, "by") || cEqualFold(a, "get") || cEqualFold(a, "store")) && left >= 1:
			if !cEqualFold(a, "store") && bytes.IndexByte(cBytes(args[i+1]), '*') >= 0 && !isSortSelf(args[i+1]) {
				return true
			}
			i++
		}
	}
	return false
}

// SortPatternOption returns the first option of a SORT (SORT_RO with ro)
// that reads keys through a pattern, "BY" (a pattern with '*') or "GET"
// (any, # too), as Redis 7.0 finds it while reading the options in order:
// "" when there is none, or when an error (a bad LIMIT, an unknown option)
// comes first, which the command itself answers. Redis refuses such an
// option to a user who may not read every key.
func SortPatternOption(args [][]byte, ro bool) string {
	for j := 2; j < len(args); j++ {
		a, left := args[j], len(args)-j-1
		switch {
		case cEqualFold(a, "asc"), cEqualFold(a, "desc"), cEqualFold(a, "alpha"):
		case cEqualFold(a, "limit") && left >= 2:
			if _, ok := resp.ParseInt(args[j+1]); !ok {
				return ""
			}
			if _, ok := resp.ParseInt(args[j+2]); !ok {
				return ""
			}
			j += 2
		case !ro && cEqualFold(a, "store") && left >= 1:
			j++
		case cEqualFold(a, "by") && left >= 1:
			if bytes.IndexByte(cBytes(args[j+1]), '*') >= 0 {
				return "BY"
			}
			j++
		case cEqualFold(a, "get") && left >= 1:
			return "GET"
		default:
			return ""
		}
	}
	return ""
}

// cBytes returns b up to its first NUL byte, as C's string functions see
// an argument.
func cBytes(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// isSortSelf reports whether pattern is "#", which stands for the element
// itself.
func isSortSelf(pattern []byte) bool { return string(cBytes(pattern)) == "#" }

func sortCommand(c *Ctx, args [][]byte)   { sortGeneric(c, args, false) }
func sortROCommand(c *Ctx, args [][]byte) { sortGeneric(c, args, true) }

// sortElem is one element being sorted: its bytes, and what it sorts by.
type sortElem struct {
	v     []byte
	score float64
	by    []byte // the BY value of an ALPHA sort, nil when its key is missing
}

// sortGeneric implements SORT and, with ro, SORT_RO (which has no STORE),
// as Redis's sortCommandGeneric: the options are read in order, each error
// replied as found; then the key is read and its elements sorted.
func sortGeneric(c *Ctx, args [][]byte, ro bool) {
	key := args[1]
	var (
		desc, alpha, dontsort bool
		start, count          int64 = 0, -1
		by, store             []byte
		storeAt               int
		gets                  [][]byte
	)
	for j := 2; j < len(args); j++ {
		a, left := args[j], len(args)-j-1
		switch {
		case cEqualFold(a, "asc"):
			desc = false
		case cEqualFold(a, "desc"):
			desc = true
		case cEqualFold(a, "alpha"):
			alpha = true
		case cEqualFold(a, "limit") && left >= 2:
			var ok bool
			if start, ok = resp.ParseInt(args[j+1]); ok {
				count, ok = resp.ParseInt(args[j+2])
			}
			if !ok {
				c.W.AppendError(strErrNotInt)
				return
			}
			j += 2
		case !ro && cEqualFold(a, "store") && left >= 1:
			store, storeAt = args[j+1], j+1
			j++
		case cEqualFold(a, "by") && left >= 1:
			by = args[j+1]
			// A BY without '*' names one key for every element: there
			// is nothing to sort by, and that stays so whatever BY
			// follows, as in Redis.
			if bytes.IndexByte(cBytes(by), '*') < 0 {
				dontsort = true
			} else if !sortMayRead(c, by, key) {
				c.W.AppendError(sortErrBy)
				return
			}
			j++
		case cEqualFold(a, "get") && left >= 1:
			if !isSortSelf(args[j+1]) && !sortMayRead(c, args[j+1], key) {
				c.W.AppendError(sortErrGet)
				return
			}
			gets = append(gets, args[j+1])
			j++
		default:
			c.W.AppendError(strErrSyntax)
			return
		}
	}
	if store != nil && storeAt != SortStoreKey(args) {
		// Redis's parsing and its sortGetKeys can disagree on which
		// STORE counts (SORT k STORE get STORE d): refuse rather than
		// write a key that was not declared.
		c.W.AppendError(strErrSyntax)
		return
	}

	var elems []sortElem
	n := 0
	_, obj, found := c.DB(key).Read(key)
	if found {
		switch v := obj.(type) {
		case *object.List:
			n = v.Len()
		case *object.Set:
			n = v.Len()
		case *object.ZSet:
			n = v.Len()
		default:
			c.W.AppendError(ErrWrongType)
			return
		}
	}
	if _, isSet := obj.(*object.Set); isSet && dontsort && store != nil {
		// A set's order is its own: what SORT stores is sorted, so that
		// it does not depend on how the set is laid out.
		dontsort, alpha, by = false, true, nil
	}

	// LIMIT clamped as Redis does; an empty range has end < start.
	lo := min(max(start, 0), int64(n))
	count = min(max(count, -1), int64(n))
	hi := int64(n) - 1
	if count >= 0 {
		hi = lo + count - 1
	}
	if lo >= int64(n) {
		lo, hi = int64(n)-1, int64(n)-2
	}
	hi = min(hi, int64(n)-1)

	// Lists and sorted sets that are not sorted keep their order (reversed
	// by DESC), and only the range LIMIT asks for is read.
	var arena []byte
	add := func(v []byte) {
		at := len(arena)
		arena = append(arena, v...)
		elems = append(elems, sortElem{v: arena[at:len(arena):len(arena)]})
	}
	switch v := obj.(type) {
	case *object.List:
		if dontsort {
			if hi >= lo {
				want := int(hi - lo + 1)
				if desc {
					v.Descend(n-1-int(lo), func(_ int, e []byte) bool { add(e); return len(elems) < want })
				} else {
					v.Ascend(int(lo), func(_ int, e []byte) bool { add(e); return len(elems) < want })
				}
				hi -= lo
				lo = 0
			}
		} else {
			v.Ascend(0, func(_ int, e []byte) bool { add(e); return true })
		}
	case *object.Set:
		v.Range(func(m []byte) bool { add(m); return true })
	case *object.ZSet:
		if dontsort {
			want := int(hi - lo + 1)
			if want > 0 {
				each := func(m []byte, _ float64) bool { add(m); return len(elems) < want }
				if desc {
					v.Descend(n-1-int(lo), each)
				} else {
					v.Ascend(int(lo), each)
				}
			}
			hi -= lo
			lo = 0
		} else {
			v.Range(func(m []byte, _ float64) bool { add(m); return true })
		}
	}

	if !dontsort {
		bad := false
		for i := range elems {
			e := &elems[i]
			val := e.v
			if by != nil {
				var ok bool
				if val, ok = sortLookup(c, by, e.v); !ok {
					continue
				}
			}
			if alpha {
				if by != nil {
					e.by = append([]byte{}, val...)
				}
				continue
			}
			f, used, erange := strtod(cBytes(val))
			if used != len(cBytes(val)) || erange || math.IsNaN(f) || f != 0 && math.Abs(f) < 0x1p-1022 {
				bad = true
			}
			e.score = f
		}
		if bad {
			c.W.AppendError(sortErrScore)
			return
		}
		slices.SortStableFunc(elems, sortCompare(alpha, by != nil, store != nil, desc))
	}

	var rows []sortElem // the range LIMIT asks for; lo is past the end when it is empty
	if hi >= lo {
		rows = elems[lo : hi+1]
	}
	total := int64(len(rows))
	if len(gets) > 0 {
		total *= int64(len(gets))
	}
	if store == nil {
		c.W.AppendArray(int(total))
		for _, e := range rows {
			if len(gets) == 0 {
				c.W.AppendBulk(e.v)
			}
			for _, g := range gets {
				if v, ok := sortLookup(c, g, e.v); ok {
					c.W.AppendBulk(v)
				} else {
					c.W.AppendNull()
				}
			}
		}
		return
	}
	db := c.DB(store)
	if total == 0 {
		if db.Delete(store) {
			c.Notify(notify.Generic, "del", store)
		}
		c.W.AppendInt(0)
		return
	}
	l := object.NewList()
	for _, e := range rows {
		if len(gets) == 0 {
			l.Push(false, e.v)
		}
		for _, g := range gets {
			v, _ := sortLookup(c, g, e.v)
			l.Push(false, v)
		}
	}
	db.SetObject(store, l, storage.NoExpiry)
	c.Notify(notify.List, "sortstore", store)
	c.W.AppendInt(total)
}

// sortMayRead reports whether SORT of key may read the keys pattern
// forms. On the single server it holds every shard for them (see
// sortReadsOthers); a cluster group holds only its slots, so the pattern
// must give keys of key's slot, through a hash tag, as Redis Cluster asks.
func sortMayRead(c *Ctx, pattern, key []byte) bool {
	if c.Slotted {
		s, ok := slot.OfPattern(pattern)
		return ok && s == slot.Of(key)
	}
	return c.HoldsAll()
}

// sortCompare returns how SORT orders elements, as Redis's sortCompare:
// numerically by score, equal scores by their bytes; with alpha by the
// BY values (missing ones first) or the elements, compared as C strings
// (strcoll in the C locale) unless the result is stored, when whole
// bytes count. Elements that compare equal keep their order.
func sortCompare(alpha, byPattern, store, desc bool) func(a, b sortElem) int {
	compare := bytes.Compare
	if !store {
		compare = func(a, b []byte) int { return bytes.Compare(cBytes(a), cBytes(b)) }
	}
	var f func(a, b sortElem) int
	switch {
	case !alpha:
		f = func(a, b sortElem) int {
			if r := cmp.Compare(a.score, b.score); r != 0 {
				return r
			}
			return bytes.Compare(a.v, b.v)
		}
	case byPattern:
		f = func(a, b sortElem) int {
			switch {
			case a.by == nil && b.by == nil:
				return 0
			case a.by == nil:
				return -1
			case b.by == nil:
				return 1
			}
			return compare(a.by, b.by)
		}
	default:
		f = func(a, b sortElem) int { return compare(a.v, b.v) }
	}
	if desc {
		return func(a, b sortElem) int { return -f(a, b) }
	}
	return f
}

// sortLookup returns the value that pattern names for elem, as Redis's
// lookupKeyByPattern: elem itself for "#"; otherwise the key made by
// putting elem in place of the first '*', a string, or, when "->field"
// follows the '*', that field of a hash. ok is false for a pattern without
// '*', a missing key or field, or a key of another type.
func sortLookup(c *Ctx, pattern, elem []byte) (v []byte, ok bool) {
	if isSortSelf(pattern) {
		return elem, true
	}
	cp := cBytes(pattern)
	star := bytes.IndexByte(cp, '*')
	if star < 0 {
		return nil, false
	}
	var field []byte
	end := len(pattern)
	if i := bytes.Index(cp[star+1:], []byte("->")); i >= 0 && star+1+i+2 < len(cp) {
		arrow := star + 1 + i
		field, end = pattern[arrow+2:], arrow
	}
	key := make([]byte, 0, end-1+len(elem))
	key = append(append(append(key, pattern[:star]...), elem...), pattern[star+1:end]...)
	val, obj, found := c.DB(key).Read(key)
	switch {
	case !found:
		return nil, false
	case field != nil:
		h, isHash := obj.(*object.Hash)
		if !isHash {
			return nil, false
		}
		return h.Get(field)
	case obj != nil:
		return nil, false
	}
	return val, true
}
