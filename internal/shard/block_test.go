package shard

import (
	"testing"
	"time"

	"github.com/data-cluster/data-cluster/internal/command"
)

// holdShard holds s and returns the function that releases it.
func holdShard(t *testing.T, s *Shard) func() {
	t.Helper()
	if s.Reserve(1) != 1 {
		t.Fatal("no room to hold the shard")
	}
	done := make(chan *Batch, 1)
	rel := make(chan struct{})
	s.Submit(&Batch{Done: done, Release: rel})
	<-done
	return func() { rel <- struct{}{} }
}

// parked returns the entries of s's lists of waiters, holding it.
func parked(t *testing.T, s *Shard) int {
	t.Helper()
	release := holdShard(t, s)
	defer release()
	return s.Parked()
}

func redisCmd(args ...string) Cmd {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	return Cmd{Spec: command.Redis.Lookup(argv[0]), Args: argv}
}

// park runs a blocking command's first attempt for a new waiter.
func park(t *testing.T, s *Shard, args ...string) *Waiter {
	t.Helper()
	c := redisCmd(args...)
	w := NewWaiter(c.Spec, c.Args)
	c.Wait = w
	if got := send(t, s, c); len(got) != 1 || got[0] != "" || !w.Parked() {
		t.Fatalf("%v: got %q, parked %v; want no reply and parked", args, got, w.Parked())
	}
	return w
}

func TestWaitersServedOnceAndSwept(t *testing.T) {
	s := newShard(t, 16)
	w1 := park(t, s, "BZPOPMIN", "k", "j", "0")
	w2 := park(t, s, "BZPOPMIN", "k", "0")
	w3 := park(t, s, "BZPOPMAX", "k", "0")
	if n := parked(t, s); n != 4 {
		t.Fatalf("parked entries: got %d, want 4", n)
	}
	if !w2.Cancel(Gone) || w2.Cancel(TimedOut) {
		t.Fatal("Cancel of a waiting waiter: want true once, then false")
	}
	// One write of two members serves w1 then w3, skipping w2.
	if got := send(t, s, redisCmd("ZADD", "k", "1", "a", "2", "b")); got[0] != ":2\r\n" {
		t.Fatalf("ZADD: got %q", got)
	}
	for _, tc := range []struct {
		w    *Waiter
		want string
	}{
		{w1, "*3\r\n$1\r\nk\r\n$1\r\na\r\n$1\r\n1\r\n"},
		{w3, "*3\r\n$1\r\nk\r\n$1\r\nb\r\n$1\r\n2\r\n"},
	} {
		b := <-tc.w.Reply.Done
		if got := string(b.W.Bytes()); got != tc.want || tc.w.State() != Served {
			t.Fatalf("reply: got %q (state %d), want %q", got, tc.w.State(), tc.want)
		}
		if tc.w.Cancel(Gone) {
			t.Fatal("Cancel of a served waiter: want false")
		}
	}
	// w1 still sits in j's list until the expiry cycle sweeps it.
	deadline := time.Now().Add(5 * time.Second)
	for parked(t, s) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("parked entries: got %d, want 0 after a sweep", parked(t, s))
		}
		time.Sleep(time.Millisecond)
	}
	if got := send(t, s, redisCmd("ZCARD", "k")); got[0] != ":0\r\n" {
		t.Fatalf("ZCARD: got %q, want 0", got)
	}
}
