package uring

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// newTestRing sets up a small ring, or skips where the kernel refuses one.
func newTestRing(t *testing.T) *Ring {
	t.Helper()
	r, err := New(Options{Entries: 16, BufCount: 4, BufSize: 8})
	if errors.Is(err, ErrUnsupported) {
		t.Skipf("NOT TESTED: this host refuses io_uring: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// wait enters the ring until it has a completion and returns them all.
func wait(t *testing.T, r *Ring) []Completion {
	t.Helper()
	var got []Completion
	for len(got) == 0 {
		if err := r.Enter(true); err != nil {
			t.Fatal(err)
		}
		r.Completions(func(c Completion) { got = append(got, c) })
	}
	return got
}

// socketPair returns both ends of a loopback TCP connection made by the
// net package (so non-blocking, as a server's are) and the server end's fd.
func socketPair(t *testing.T) (client, server net.Conn, fd int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	rc, err := server.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(s uintptr) { fd = int(s) })
	return client, server, fd
}

// TestRecvMultishot receives on a non-blocking socket into the ring's
// buffers: each arrival in order, a message longer than a buffer split over
// several, buffers given back and used again, the peer's end last.
func TestRecvMultishot(t *testing.T) {
	r := newTestRing(t)
	client, _, fd := socketPair(t)
	if err := r.RecvMultishot(fd, 7); err != nil {
		t.Fatal(err)
	}
	if err := r.Enter(false); err != nil {
		t.Fatal(err)
	}
	var got []byte
	want := ""
	for i, msg := range []string{"hello", "a longer message than one buffer", "x"} {
		want += msg
		if _, err := client.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		for len(got) < len(want) {
			for _, c := range wait(t, r) {
				if c.UserData != 7 || c.Res <= 0 || !c.More() {
					t.Fatalf("message %d: completion %+v, want data with more to come", i, c)
				}
				id, ok := c.Buffer()
				if !ok {
					t.Fatalf("message %d: completion %+v has no buffer", i, c)
				}
				got = append(got, r.Buf(id, int(c.Res))...)
				r.GiveBack(id)
			}
		}
		if string(got) != want {
			t.Fatalf("after message %d: got %q, want %q", i, got, want)
		}
	}
	client.Close()
	c := wait(t, r)
	if len(c) != 1 || c[0].Res != 0 || c[0].More() {
		t.Fatalf("after the peer closed: %+v, want one completion of 0 bytes, the last", c)
	}
}

// TestCancelAndTimeout cancels a multishot receive that waits, and lets a
// timeout expire.
func TestCancelAndTimeout(t *testing.T) {
	r := newTestRing(t)
	_, _, fd := socketPair(t)
	if err := r.RecvMultishot(fd, 1); err != nil {
		t.Fatal(err)
	}
	if err := r.Cancel(1, 2); err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]int32{}
	for len(seen) < 2 {
		for _, c := range wait(t, r) {
			seen[c.UserData] = c.Res
			if c.UserData == 1 && c.More() {
				t.Fatalf("cancelled receive says more is to come: %+v", c)
			}
		}
	}
	if seen[1] != -int32(syscall.ECANCELED) || seen[2] != 0 {
		t.Fatalf("receive ended %d, cancel %d; want -ECANCELED and 0", seen[1], seen[2])
	}
	ts := Timespec{Nsec: int64(5 * time.Millisecond)}
	start := time.Now()
	if err := r.Timeout(&ts, 3); err != nil {
		t.Fatal(err)
	}
	c := wait(t, r)
	if len(c) != 1 || c[0].UserData != 3 || c[0].Res != -int32(syscall.ETIME) {
		t.Fatalf("timeout: %+v, want one completion of -ETIME", c)
	}
	if d := time.Since(start); d < 5*time.Millisecond {
		t.Fatalf("timeout completed after %v, before its 5 ms", d)
	}
}

// TestOptions refuses buffer counts the kernel cannot take.
func TestOptions(t *testing.T) {
	for _, o := range []Options{{Entries: 8, BufCount: 3, BufSize: 8}, {Entries: 8, BufCount: 1 << 16, BufSize: 8}, {Entries: 8, BufCount: 4}} {
		if r, err := New(o); err == nil {
			r.Close()
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}

// TestWaitFor waits without telling the scheduler: it returns at its bound
// when nothing comes, submits what is queued, and returns as soon as a
// completion is there.
func TestWaitFor(t *testing.T) {
	r := newTestRing(t)
	if !r.extArg {
		t.Skip("NOT TESTED: this kernel takes no bound on a wait")
	}
	start := time.Now()
	if err := r.WaitFor(5 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if r.Ready() {
		t.Fatal("a ring with nothing in flight has a completion")
	}
	if d := time.Since(start); d < 5*time.Millisecond {
		t.Fatalf("the wait returned after %v, before its bound", d)
	}
	client, _, fd := socketPair(t)
	if _, err := client.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if err := r.RecvMultishot(fd, 7); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitFor(time.Minute); err != nil {
		t.Fatal(err)
	}
	var got []Completion
	r.Completions(func(c Completion) { got = append(got, c) })
	if len(got) != 1 || got[0].UserData != 7 || got[0].Res != 4 {
		t.Fatalf("completions %+v, want the receive's of 4 bytes", got)
	}
	if id, ok := got[0].Buffer(); !ok || string(r.Buf(id, 4)) != "ping" {
		t.Fatalf("received %q, want ping", r.Buf(id, 4))
	}
}
