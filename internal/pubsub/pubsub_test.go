package pubsub

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

type fakeSub struct {
	proto int
	mu    sync.Mutex
	got   []string
}

func (f *fakeSub) Deliver(msg []byte) bool {
	f.mu.Lock()
	f.got = append(f.got, string(msg))
	f.mu.Unlock()
	return true
}

func (f *fakeSub) Proto() int { return f.proto }

func TestHub(t *testing.T) {
	h := NewHub()
	a, b := &fakeSub{proto: 2}, &fakeSub{proto: 3}
	if !h.Subscribe(a, Channel, "news") || h.Subscribe(a, Channel, "news") {
		t.Fatal("Subscribe: a new subscription, then the same again")
	}
	h.Subscribe(b, Pattern, "n*")
	h.Subscribe(b, Pattern, "x?")
	h.Subscribe(a, Shard, "orders")
	if n := h.Publish([]byte("news"), []byte("hi")); n != 2 {
		t.Fatalf("Publish: %d deliveries, want 2", n)
	}
	if n := h.SPublish([]byte("orders"), []byte("o")); n != 1 {
		t.Fatalf("SPublish: %d, want 1", n)
	}
	if n := h.Publish([]byte("orders"), []byte("o")); n != 0 {
		t.Fatalf("Publish to a shard channel: %d, want 0", n)
	}
	want := []string{"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n", "*3\r\n$8\r\nsmessage\r\n$6\r\norders\r\n$1\r\no\r\n"}
	if !slices.Equal(a.got, want) {
		t.Fatalf("a got %q, want %q", a.got, want)
	}
	if want := []string{">4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"}; !slices.Equal(b.got, want) {
		t.Fatalf("b got %q, want %q", b.got, want)
	}
	if got := h.Names(Channel, nil); !slices.Equal(got, []string{"news"}) {
		t.Fatalf("Names: %q", got)
	}
	if got := h.Names(Shard, []byte("o*")); !slices.Equal(got, []string{"orders"}) {
		t.Fatalf("Names of shard channels: %q", got)
	}
	if h.Patterns() != 2 || h.Count(Channel, []byte("news")) != 1 {
		t.Fatalf("Patterns %d, Count %d", h.Patterns(), h.Count(Channel, []byte("news")))
	}
	if !h.Unsubscribe(a, Channel, "news") || h.Unsubscribe(a, Channel, "news") || len(h.Names(Channel, nil)) != 0 {
		t.Fatal("Unsubscribe: the subscription, then nothing, and the channel gone")
	}
}

// TestOutbox checks order, the hard and soft limits, and Close's draining.
func TestOutbox(t *testing.T) {
	var mu sync.Mutex
	var written []byte
	block := make(chan struct{})
	write := func(v *net.Buffers) error {
		<-block
		mu.Lock()
		for _, b := range *v {
			written = append(written, b...)
		}
		*v = nil
		mu.Unlock()
		return nil
	}
	dropped := make(chan string, 1)
	o := NewOutbox(write, Limits{Hard: 100}, func(_ int64, why string) { dropped <- why })
	for i := range 10 {
		if err := o.Put([]byte{byte('0' + i)}); err != nil {
			t.Fatal(err)
		}
	}
	close(block)
	o.Close(5 * time.Second)
	if string(written) != "0123456789" {
		t.Fatalf("written %q", written)
	}
	if err := o.Put([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close: %v", err)
	}

	stuck := make(chan struct{})
	o = NewOutbox(func(*net.Buffers) error { <-stuck; return nil }, Limits{Hard: 100}, func(_ int64, why string) { dropped <- why })
	for o.Put(make([]byte, 30)) == nil {
	}
	if why := <-dropped; why != "hard" {
		t.Fatalf("dropped for %q, want hard", why)
	}
	close(stuck)
	o.Close(time.Second)

	// The soft limit, on a clock of the test's: the writer holds the
	// first put while the others queue.
	stuck, taken := make(chan struct{}), make(chan struct{})
	var clock time.Time
	o = NewOutbox(func(*net.Buffers) error { taken <- struct{}{}; <-stuck; return nil }, Limits{Soft: 10, SoftFor: time.Minute},
		func(_ int64, why string) { dropped <- why })
	o.mu.Lock()
	o.now = func() time.Time { return clock }
	o.mu.Unlock()
	o.Put(make([]byte, 5))
	<-taken
	clock = clock.Add(time.Second)
	o.Put(make([]byte, 20)) // over soft: the clock starts
	clock = clock.Add(59 * time.Second)
	if o.Put([]byte("x")) != nil {
		t.Fatal("dropped before the soft limit's time")
	}
	clock = clock.Add(2 * time.Second)
	if o.Put([]byte("x")) == nil {
		t.Fatal("still open past the soft limit's time")
	}
	if why := <-dropped; why != "soft" {
		t.Fatalf("dropped for %q, want soft", why)
	}
	close(stuck)
	o.Close(time.Second)
}

// stuckWriter is an outbox's writer that holds each write until released,
// and records what it wrote.
type stuckWriter struct {
	mu      sync.Mutex
	written []byte
	taken   chan struct{} // a value per write begun
	release chan struct{} // a value lets one write end
}

func newStuckWriter() *stuckWriter {
	return &stuckWriter{taken: make(chan struct{}, 16), release: make(chan struct{}, 16)}
}

func (w *stuckWriter) write(v *net.Buffers) error {
	w.taken <- struct{}{}
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range *v {
		w.written = append(w.written, b...)
	}
	*v = (*v)[len(*v):]
	return nil
}

func (w *stuckWriter) got() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.written)
}

// A message shared by two outboxes, one writing at once and one held:
// both write the right bytes in order, each counts the message as its own
// while it holds it, and the message's memory is freed once both wrote it.
func TestOutboxShare(t *testing.T) {
	msg := new([4 << 10]byte)
	for i := range msg {
		msg[i] = byte('a' + i%26)
	}
	freed := make(chan struct{})
	runtime.AddCleanup(msg, func(ch chan struct{}) { close(ch) }, freed)

	fast, slow := newStuckWriter(), newStuckWriter()
	for range 16 {
		fast.release <- struct{}{}
	}
	dropped := func(int64, string) { t.Error("dropped") }
	fastOb := NewOutbox(fast.write, Limits{Hard: 1 << 20}, dropped)
	slowOb := NewOutbox(slow.write, Limits{Hard: 1 << 20}, dropped)
	slowOb.Put([]byte("first"))
	<-slow.taken // the slow writer holds "first"

	small := []byte("+small\r\n")
	var want bytes.Buffer
	for _, o := range []*Outbox{fastOb, slowOb} {
		o.Put(small)
		o.Share(msg[:])
		o.Share(small) // short: copied, and after the copies before it
		o.Put(small)
	}
	want.Write(small)
	want.Write(msg[:])
	want.Write(small)
	want.Write(small)
	copy(small, "CHANGED!") // Put and a short Share copied it
	if got, w := slowOb.Pending(), int64(want.Len()); got != w {
		t.Fatalf("slow outbox: got %d bytes pending, want %d (the shared message counted)", got, w)
	}
	fastOb.Close(5 * time.Second)
	if got := fast.got(); got != want.String() {
		t.Fatalf("fast subscriber: got %q, want %q", got, want.String())
	}
	if got := fastOb.Pending(); got != 0 {
		t.Fatalf("fast outbox: got %d bytes pending once written, want 0", got)
	}
	for range 2 {
		slow.release <- struct{}{}
	}
	slowOb.Close(5 * time.Second)
	if got := slow.got(); got != "first"+want.String() {
		t.Fatalf("slow subscriber: got %q, want %q", got, "first"+want.String())
	}
	// Both wrote the message: no outbox holds it any more.
	msg = nil
	for i := 0; ; i++ {
		runtime.GC()
		select {
		case <-freed:
			runtime.KeepAlive(fastOb)
			runtime.KeepAlive(slowOb)
			return
		default:
		}
		if i == 100 {
			t.Fatal("the shared message is still held once both outboxes wrote it")
		}
		runtime.Gosched()
	}
}

// Shared bytes count toward each outbox's limits as copies do.
func TestOutboxShareLimits(t *testing.T) {
	w := newStuckWriter()
	dropped := make(chan string, 1)
	o := NewOutbox(w.write, Limits{Hard: 6 << 10}, func(_ int64, why string) { dropped <- why })
	defer func() { close(w.release); o.Close(time.Second) }()
	o.Put([]byte("x"))
	<-w.taken
	msg := make([]byte, 4<<10)
	if err := o.Share(msg); err != nil {
		t.Fatalf("first share: got %v, want nil", err)
	}
	if err := o.Share(msg); !errors.Is(err, ErrClosed) {
		t.Fatalf("second share, past the hard limit: got %v, want ErrClosed", err)
	}
	if why := <-dropped; why != "hard" {
		t.Fatalf("dropped for %q, want hard", why)
	}
	if got := o.Pending(); got != 0 {
		t.Fatalf("got %d bytes pending once dropped, want 0", got)
	}
}

// TestOutboxHold: while held, the writer takes nothing, and what was
// queued leaves in order once released.
func TestOutboxHold(t *testing.T) {
	wrote := make(chan string, 4)
	o := NewOutbox(func(v *net.Buffers) error {
		var b bytes.Buffer
		_, err := v.WriteTo(&b)
		wrote <- b.String()
		return err
	}, Limits{}, func(int64, string) {})
	defer o.Close(time.Second)
	o.Put([]byte("before "))
	if got := <-wrote; got != "before " {
		t.Fatalf("wrote %q", got)
	}
	o.Hold()
	o.Put([]byte("confirmation "))
	o.Share([]byte("message"))
	// Every put woke the writer; it must leave the queue alone however
	// often it runs.
	for range 1000 {
		runtime.Gosched()
	}
	select {
	case got := <-wrote:
		t.Fatalf("wrote %q while held", got)
	default:
	}
	if n := o.Pending(); n != int64(len("confirmation message")) {
		t.Fatalf("pending %d while held", n)
	}
	o.Release()
	if got := <-wrote; got != "confirmation message" {
		t.Fatalf("after Release wrote %q", got)
	}
}
