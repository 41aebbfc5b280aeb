package object

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// listFillLimits runs the rest of the test with list-max-listpack-size fill.
func listFillLimits(t *testing.T, fill int64) {
	l := DefaultLimits()
	l.ListMaxListpackSize = fill
	withLimits(t, l)
}

// checkList compares l with the model and checks its invariants: chunk
// counts and bounds, the bytes it counts, and Redis's listpack size.
func checkList(t *testing.T, l *List, model [][]byte, fill int64) error {
	t.Helper()
	if l.Len() != len(model) {
		return fmt.Errorf("Len %d, model %d", l.Len(), len(model))
	}
	var got [][]byte
	l.Ascend(0, func(i int, e []byte) bool {
		if i != len(got) {
			t.Fatalf("Ascend gave index %d at position %d", i, len(got))
		}
		got = append(got, bytes.Clone(e))
		return true
	})
	if !slices.EqualFunc(got, model, bytes.Equal) {
		return fmt.Errorf("elements %q, model %q", got, model)
	}
	var back [][]byte
	l.Descend(l.Len()-1, func(i int, e []byte) bool {
		if i != l.Len()-1-len(back) {
			t.Fatalf("Descend gave index %d at position %d", i, len(back))
		}
		back = append(back, bytes.Clone(e))
		return true
	})
	slices.Reverse(back)
	if !slices.EqualFunc(back, model, bytes.Equal) {
		return fmt.Errorf("elements walked backwards %q, model %q", back, model)
	}
	n, bufs, entries := 0, 0, 0
	limit, cnt := listLimits(fill)
	for i, c := range l.chunks {
		if c.n == 0 {
			return fmt.Errorf("chunk %d is empty", i)
		}
		if len(c.buf) != cap(c.buf) || int(c.end) > len(c.buf) || c.start > c.end {
			return fmt.Errorf("chunk %d: start %d end %d buffer %d/%d", i, c.start, c.end, len(c.buf), cap(c.buf))
		}
		if c.n > 1 && (c.used() > limit || int(c.n) > cnt) {
			return fmt.Errorf("chunk %d holds %d elements in %d bytes, past fill %d", i, c.n, c.used(), fill)
		}
		k := 0
		starts := map[int]bool{}
		for off := int(c.start); off < int(c.end); k++ {
			starts[off] = true
			_, off = lnext(c.buf, off)
		}
		if k != int(c.n) {
			return fmt.Errorf("chunk %d counts %d elements, holds %d", i, c.n, k)
		}
		for j, cp := range c.cps {
			if !starts[int(cp)] || j > 0 && cp <= c.cps[j-1] {
				return fmt.Errorf("chunk %d: checkpoint %d at %d is not at an element after the one before (start %d end %d)", i, j, cp, c.start, c.end)
			}
		}
		n += k
		bufs += len(c.buf)
	}
	for _, e := range model {
		entries += lpEntryBytes(e)
	}
	if n != l.n || bufs != l.bufs || entries != l.lpEntries {
		return fmt.Errorf("counted %d elements %d bytes %d listpack bytes, hold %d %d %d", l.n, l.bufs, l.lpEntries, n, bufs, entries)
	}
	return nil
}

// TestListModel compares a List with a slice over random operations, with
// chunks bounded by bytes and by counts, elements short and long (past a
// chunk for the small bounds, and past the one-byte length).
func TestListModel(t *testing.T) {
	for _, fill := range []int64{-2, -1, 1, 3, 16} {
		t.Run(strconv.FormatInt(fill, 10), func(t *testing.T) {
			listFillLimits(t, fill)
			seed := seedOf(t)
			r := rand.New(rand.NewPCG(seed, uint64(fill)))
			elem := func() []byte {
				switch r.IntN(10) {
				case 0:
					return []byte(strings.Repeat("L", 100+r.IntN(9000)))
				case 1, 2:
					return []byte(strconv.Itoa(r.IntN(2000) - 1000))
				}
				return fmt.Appendf(nil, "e%d", r.IntN(30))
			}
			l := NewList()
			var model [][]byte
			for step := range 4000 {
				var op string
				switch k := r.IntN(20); {
				case k < 5 || len(model) == 0:
					left := r.IntN(2) == 0
					var es [][]byte
					for range 1 + r.IntN(40) {
						es = append(es, elem())
					}
					op = fmt.Sprintf("push left=%v %d", left, len(es))
					l.Push(left, es...)
					for _, e := range es {
						if left {
							model = slices.Insert(model, 0, e)
						} else {
							model = append(model, e)
						}
					}
				case k < 9:
					left := r.IntN(2) == 0
					m := 1 + r.IntN(min(len(model), 30))
					op = fmt.Sprintf("pop left=%v %d", left, m)
					var popped [][]byte
					for range m {
						popped = append(popped, l.Pop(left))
					}
					for j, e := range popped {
						var want []byte
						if left {
							want = model[j]
						} else {
							want = model[len(model)-1-j]
						}
						if !bytes.Equal(e, want) {
							t.Fatalf("seed %d step %d: %s gave %q at %d, want %q", seed, step, op, e, j, want)
						}
					}
					if left {
						model = model[m:]
					} else {
						model = model[:len(model)-m]
					}
				case k < 11:
					i := r.IntN(len(model))
					op = fmt.Sprintf("index %d", i)
					if got := l.Index(i); !bytes.Equal(got, model[i]) {
						t.Fatalf("seed %d step %d: Index(%d) = %q, want %q", seed, step, i, got, model[i])
					}
				case k < 13:
					i, v := r.IntN(len(model)), elem()
					op = fmt.Sprintf("set %d %d bytes", i, len(v))
					l.Set(i, v)
					model[i] = v
				case k < 15:
					i, v := r.IntN(len(model)+1), elem()
					op = fmt.Sprintf("insert %d %d bytes", i, len(v))
					l.Insert(i, v)
					model = slices.Insert(model, i, v)
				case k < 17:
					v := model[r.IntN(len(model))]
					count := int64(r.IntN(7) - 3)
					op = fmt.Sprintf("remove %d %q", count, v)
					want := listRemoveModel(&model, count, v)
					if got := l.Remove(count, bytes.Clone(v)); got != want {
						t.Fatalf("seed %d step %d: %s removed %d, want %d", seed, step, op, got, want)
					}
				case k < 18:
					start := r.IntN(len(model))
					stop := start + r.IntN(len(model)-start)
					op = fmt.Sprintf("trim %d %d", start, stop)
					l.Trim(start, stop)
					model = model[start : stop+1]
				default:
					op = "clone"
					c := l.Clone().(*List)
					if err := checkList(t, c, model, fill); err != nil {
						t.Fatalf("seed %d step %d: clone: %v", seed, step, err)
					}
					l = c
				}
				if err := checkList(t, l, model, fill); err != nil {
					t.Fatalf("seed %d step %d after %s: %v", seed, step, op, err)
				}
				if len(model) == 0 {
					l = NewList()
				}
			}
		})
	}
}

// listRemoveModel removes elements equal to v from the model as LREM
// count does and returns how many.
func listRemoveModel(model *[][]byte, count int64, v []byte) int {
	removed := 0
	m := *model
	if count >= 0 {
		out := m[:0:0]
		for _, e := range m {
			if bytes.Equal(e, v) && (count == 0 || int64(removed) < count) {
				removed++
				continue
			}
			out = append(out, e)
		}
		*model = out
		return removed
	}
	var out [][]byte
	for i := len(m) - 1; i >= 0; i-- {
		if bytes.Equal(m[i], v) && int64(removed) < -count {
			removed++
			continue
		}
		out = append(out, m[i])
	}
	slices.Reverse(out)
	*model = out
	return removed
}

// TestListElementLengths checks elements whose lengths take one, two and
// three bytes of varint, read from both ends.
func TestListElementLengths(t *testing.T) {
	listFillLimits(t, -2)
	l := NewList()
	var model [][]byte
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 70000} {
		e := bytes.Repeat([]byte{byte(n)}, n)
		l.Push(n%2 == 0, e)
		if n%2 == 0 {
			model = slices.Insert(model, 0, e)
		} else {
			model = append(model, e)
		}
	}
	if err := checkList(t, l, model, -2); err != nil {
		t.Fatal(err)
	}
	for len(model) > 0 {
		if got := l.Pop(false); !bytes.Equal(got, model[len(model)-1]) {
			t.Fatalf("Pop from the tail: got %d bytes, want %d", len(got), len(model[len(model)-1]))
		}
		model = model[:len(model)-1]
	}
}

// TestListEncoding checks OBJECT ENCODING's names as Redis 7.2 gives them:
// listpack until the elements would take Redis's listpack past
// list-max-listpack-size (its bytes and the arguments' lengths for a
// negative value, the count for a positive one), quicklist after, and
// listpack again once the list is one chunk of at most half the limit.
func TestListEncoding(t *testing.T) {
	elem := []byte(strings.Repeat("x", 60)) // 62 bytes in Redis's listpack
	t.Run("bytes", func(t *testing.T) {
		listFillLimits(t, -1) // 4096 bytes
		l := NewList()
		for range 65 {
			l.Push(false, elem)
		}
		// 7 + 64·62 + 60 = 4035 bytes for the 65th.
		if got := l.Encoding(); got != EncListpack {
			t.Fatalf("65 elements: got %s, want listpack", got)
		}
		l.Push(false, elem) // 7 + 65·62 + 60 = 4097
		if got := l.Encoding(); got != EncQuicklist {
			t.Fatalf("66 elements: got %s, want quicklist", got)
		}
		for range 4 {
			l.Push(false, elem)
		}
		for l.Len() > 33 {
			l.Pop(false)
			if got := l.Encoding(); got != EncQuicklist {
				t.Fatalf("%d elements: got %s, want quicklist until half the limit", l.Len(), got)
			}
		}
		l.Pop(false) // 7 + 32·62 = 1991 ≤ 2048
		if got := l.Encoding(); got != EncListpack {
			t.Fatalf("32 elements: got %s, want listpack", got)
		}
	})
	t.Run("count", func(t *testing.T) {
		listFillLimits(t, 4)
		l := NewList()
		l.Push(false, []byte("a"), []byte("b"), []byte("c"), []byte("d"))
		if got := l.Encoding(); got != EncListpack {
			t.Fatalf("4 elements: got %s, want listpack", got)
		}
		l.Insert(2, []byte("e"))
		if got := l.Encoding(); got != EncQuicklist {
			t.Fatalf("5 elements: got %s, want quicklist", got)
		}
		l.Trim(0, 1)
		if got := l.Encoding(); got != EncListpack {
			t.Fatalf("trimmed to 2: got %s, want listpack", got)
		}
	})
	t.Run("integers", func(t *testing.T) {
		// Redis packs integers: 1000 of them fit 8 KiB.
		listFillLimits(t, -2)
		l := NewList()
		for i := range 1000 {
			l.Push(false, []byte(strconv.Itoa(i)))
		}
		if got := l.Encoding(); got != EncListpack {
			t.Fatalf("1000 small integers: got %s, want listpack", got)
		}
	})
}

// TestListApply checks that every change a log records applies, and that
// records whose indexes do not fit change nothing.
func TestListApply(t *testing.T) {
	b := func(ss ...string) [][]byte {
		var out [][]byte
		for _, s := range ss {
			out = append(out, []byte(s))
		}
		return out
	}
	l := NewList()
	for _, op := range []ListOp{
		{Code: ListPush, Elems: b("a", "b", "c")},
		{Code: ListPush, Left: true, Elems: b("z", "y")},
		{Code: ListPop, N: 1},
		{Code: ListSet, N: 0, Elems: b("Y")},
		{Code: ListInsert, N: 2, Elems: b("i")},
		{Code: ListPart, N: 5, Elems: b("p", "a")},
		{Code: ListRem, N: -1, Elems: b("a")},
		{Code: ListTrim, N: 1, M: 4},
	} {
		if !l.Apply(op) {
			t.Fatalf("%+v did not apply", op)
		}
	}
	want := b("z", "i", "a", "b")
	if err := checkList(t, l, want, -2); err != nil {
		t.Fatal(err)
	}
	for _, op := range []ListOp{
		{Code: ListPush},
		{Code: ListPop, N: 5},
		{Code: ListPop, N: 0},
		{Code: ListSet, N: 4, Elems: b("x")},
		{Code: ListSet, N: -1, Elems: b("x")},
		{Code: ListInsert, N: 5, Elems: b("x")},
		{Code: ListRem, Elems: b("x", "y")},
		{Code: ListTrim, N: 2, M: 1},
		{Code: ListTrim, N: 0, M: 4},
		{Code: ListPart, N: 3, Elems: b("x")},
		{Code: 99},
	} {
		if l.Apply(op) {
			t.Errorf("%+v applied", op)
		}
	}
	if err := checkList(t, l, want, -2); err != nil {
		t.Fatal(err)
	}
}

// TestListMemory checks that MemoryUsage follows the chunks' buffers as
// the list grows and shrinks, and what a list of 1,000 elements of 16
// bytes costs: at most 17.6 bytes an element, where Redis's quicklist
// takes 18.4.
func TestListMemory(t *testing.T) {
	listFillLimits(t, -2)
	l := NewList()
	empty := l.MemoryUsage()
	for j := range 10 {
		var es [][]byte
		for i := range 100 {
			es = append(es, fmt.Appendf(nil, "e%015d", j*100+i))
		}
		l.Push(false, es...)
	}
	full := l.MemoryUsage()
	if per := float64(full) / 1000; per > 17.6 {
		t.Errorf("1000 elements of 16 bytes: %.1f bytes each, want at most 17.6", per)
	}
	l.Trim(0, 9)
	if got := l.MemoryUsage(); got >= full/10 || got <= empty {
		t.Errorf("trimmed to 10 elements: %d bytes, from %d", got, full)
	}
}

// TestListAlternatingPushes checks that pushes alternating between the ends
// of a one-chunk list keep the chunk's room where the elements go.
func TestListAlternatingPushes(t *testing.T) {
	listFillLimits(t, -2)
	l := NewList()
	var model [][]byte
	for i := range 3000 {
		e := []byte(strconv.Itoa(i))
		l.Push(i%2 == 0, e)
		if i%2 == 0 {
			model = slices.Insert(model, 0, e)
		} else {
			model = append(model, e)
		}
	}
	if err := checkList(t, l, model, -2); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkListPushPop(b *testing.B) {
	for _, left := range []bool{true, false} {
		b.Run(fmt.Sprintf("left=%v", left), func(b *testing.B) {
			l := NewList()
			e := []byte("xxx")
			for range 1000 {
				l.Push(left, e)
			}
			b.ReportAllocs()
			for b.Loop() {
				l.Push(left, e)
				l.Pop(!left)
			}
		})
	}
}

func BenchmarkListIndex(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			l := NewList()
			for i := range n {
				l.Push(false, fmt.Appendf(nil, "e%015d", i))
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				l.Index(i % 50)
				l.Index(n - 1 - i%50)
				i++
			}
		})
	}
}

// TestListMemoryEstimate checks MemoryUsage against the heap that 1,000
// lists of 1,000 elements of 16 bytes take, pushed 100 at a time in turns
// as bench/collections.sh loads them.
func TestListMemoryEstimate(t *testing.T) {
	listFillLimits(t, -2)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	lists := make([]*List, 1000)
	for i := range lists {
		lists[i] = NewList()
	}
	es := make([][]byte, 100)
	for b := range 10 {
		for _, l := range lists {
			for j := range es {
				es[j] = fmt.Appendf(es[j][:0], "e%015d", b*100+j)
			}
			l.Push(false, es...)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	got := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	var est int64
	for _, l := range lists {
		est += l.MemoryUsage()
	}
	runtime.KeepAlive(lists)
	t.Logf("MemoryUsage %d (%.1f B/element), heap %d (%.1f B/element)", est, float64(est)/1e6, got, float64(got)/1e6)
	if est < got*9/10 || est > got*11/10 {
		t.Errorf("MemoryUsage %d, heap %d", est, got)
	}
	if got > 17_700_000 {
		t.Errorf("heap %d: more than 17.7 bytes an element", got)
	}
}
