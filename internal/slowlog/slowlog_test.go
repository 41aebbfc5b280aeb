package slowlog

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

type client struct{ addr, name string }

func (c client) Addr() string { return c.addr }
func (c client) Name() string { return c.name }

func args(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, a := range s {
		out[i] = []byte(a)
	}
	return out
}

func TestTrim(t *testing.T) {
	long := strings.Repeat("x", 200)
	many := make([]string, 40)
	for i := range many {
		many[i] = fmt.Sprint(i)
	}
	wantMany := append(append([]string{}, many[:31]...), "... (9 more arguments)")
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"short", []string{"SET", "k", "v"}, []string{"SET", "k", "v"}},
		{"long argument", []string{"SET", "k", long}, []string{"SET", "k", long[:128] + "... (72 more bytes)"}},
		{"exactly 128 bytes", []string{"GET", long[:128]}, []string{"GET", long[:128]}},
		{"many arguments", many, wantMany},
		{"exactly 32 arguments", many[:32], many[:32]},
		{"auth", []string{"AUTH", "user", "secret"}, []string{"AUTH", "(redacted)", "(redacted)"}},
		{"hello auth", []string{"hello", "3", "AUTH", "u", "p", "SETNAME", "auth"},
			[]string{"hello", "3", "AUTH", "(redacted)", "(redacted)", "SETNAME", "auth"}},
		{"hello setname", []string{"HELLO", "3", "SETNAME", "auth", "AUTH", "u", "p"},
			[]string{"HELLO", "3", "SETNAME", "auth", "AUTH", "(redacted)", "(redacted)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := trim(args(tt.in...)); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAddGet(t *testing.T) {
	l := New(0, 3)
	c := client{"127.0.0.1:5000", "app"}
	for i := range 5 {
		l.Add(time.Duration(i)*time.Millisecond, args("GET", fmt.Sprint("k", i)), c)
	}
	if got := l.Len(); got != 3 {
		t.Fatalf("Len: got %d, want 3", got)
	}
	got := l.Get(-1)
	if len(got) != 3 {
		t.Fatalf("Get(-1): got %d entries, want 3", len(got))
	}
	for i, e := range got {
		id := int64(4 - i)
		if e.ID != id || e.Duration != id*1000 || e.Args[1] != fmt.Sprint("k", id) || e.Addr != c.addr || e.Name != c.name {
			t.Errorf("entry %d: got %+v, want id %d (newest first)", i, e, id)
		}
		if time.Since(time.Unix(e.Time, 0)) > time.Minute {
			t.Errorf("entry %d: time %d is not now", i, e.Time)
		}
	}
	if got := l.Get(2); len(got) != 2 || got[0].ID != 4 || got[1].ID != 3 {
		t.Fatalf("Get(2): got %+v", got)
	}
	if got := l.Get(0); len(got) != 0 {
		t.Fatalf("Get(0): got %+v", got)
	}
	l.Reset()
	if l.Len() != 0 || len(l.Get(-1)) != 0 {
		t.Fatal("Reset left entries")
	}
	l.Add(time.Millisecond, args("PING"), nil)
	if got := l.Get(1); len(got) != 1 || got[0].ID != 5 || got[0].Addr != "" {
		t.Fatalf("after Reset: got %+v, want id 5 and no client", got)
	}
}

func TestMaxLen(t *testing.T) {
	tests := []struct {
		max, adds, shrinkTo int
		wantIDs             []int64
	}{
		{max: 0, adds: 3, shrinkTo: 0, wantIDs: nil},
		{max: 100, adds: 20, shrinkTo: 100, wantIDs: []int64{19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		{max: 10, adds: 25, shrinkTo: 4, wantIDs: []int64{24, 23, 22, 21}},
		{max: 10, adds: 3, shrinkTo: 2, wantIDs: []int64{2, 1}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.max, "/", tt.adds, "/", tt.shrinkTo), func(t *testing.T) {
			l := New(0, tt.max)
			for range tt.adds {
				l.Add(0, args("PING"), nil)
			}
			l.SetMaxLen(tt.shrinkTo)
			var ids []int64
			for _, e := range l.Get(-1) {
				ids = append(ids, e.ID)
			}
			if !reflect.DeepEqual(ids, tt.wantIDs) {
				t.Fatalf("got ids %v, want %v", ids, tt.wantIDs)
			}
			if l.MaxLen() != tt.shrinkTo {
				t.Fatalf("MaxLen: got %d, want %d", l.MaxLen(), tt.shrinkTo)
			}
			// It keeps working after the change.
			l.Add(0, args("PING"), nil)
			if want := min(len(tt.wantIDs)+1, tt.shrinkTo); l.Len() != want {
				t.Fatalf("Len after one more: got %d, want %d", l.Len(), want)
			}
		})
	}
}

func TestThreshold(t *testing.T) {
	tests := []struct {
		us   int64
		want time.Duration
		back int64
	}{
		{-1, math.MaxInt64, -1},
		{-5, math.MaxInt64, -1},
		{0, 0, 0},
		{10000, 10 * time.Millisecond, 10000},
		{math.MaxInt64, math.MaxInt64 - 1, (math.MaxInt64 - 1) / 1000},
	}
	for _, tt := range tests {
		l := New(tt.us, 1)
		if got := l.Threshold(); got != tt.want {
			t.Errorf("New(%d): Threshold got %v, want %v", tt.us, got, tt.want)
		}
		if got := l.SlowerThan(); got != tt.back {
			t.Errorf("New(%d): SlowerThan got %d, want %d", tt.us, got, tt.back)
		}
	}
}

func TestConcurrent(t *testing.T) {
	l := New(0, 16)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				l.Add(time.Microsecond, args("SET", fmt.Sprint(g), fmt.Sprint(i)), nil)
				if i%50 == 0 {
					l.Get(-1)
					l.Len()
				}
			}
		})
	}
	wg.Wait()
	got := l.Get(-1)
	if len(got) != 16 || got[0].ID != 799 {
		t.Fatalf("got %d entries, newest id %d; want 16, 799", len(got), got[0].ID)
	}
}
