package fsutil

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// writeModes runs fn as a subtest for each way Write can write: through
// the ring, with write(2) while the ring is there, and with the ring off
// (as where the kernel refuses io_uring). The first is skipped where there
// is no ring.
func writeModes(t *testing.T, fn func(t *testing.T)) {
	for _, mode := range []string{"ring", "write", "off"} {
		t.Run(mode, func(t *testing.T) {
			ringDisabled.Store(mode == "off")
			defer ringDisabled.Store(false)
			if mode == "ring" {
				if getRing() == nil || !theRing.writes {
					t.Skip("io_uring writes are not available here")
				}
				quickWrites.until.Store(math.MaxInt64)
			}
			savedSlow := quickWrites.slow
			if mode == "write" {
				quickWrites.slow = math.MaxInt64
			}
			defer func() {
				quickWrites.until.Store(0)
				quickWrites.slow = savedSlow
			}()
			before := ringWrites.Load()
			fn(t)
			if got := ringWrites.Load() > before; got != (mode == "ring") {
				t.Fatalf("writes through the ring: got %v, want %v", got, mode == "ring")
			}
			if mode == "ring" && len(theRing.slots) != cap(theRing.slots) {
				t.Fatalf("got %d free slots after the writes, want %d", len(theRing.slots), cap(theRing.slots))
			}
		})
	}
}

// TestWrite appends to files from several goroutines at once, with fsyncs
// between the writes, and checks that each file holds exactly what was
// written to it, in order: with whole writes, and with every write cut
// into requests of a few bytes, so that each continues a short one.
func TestWrite(t *testing.T) {
	for _, chunk := range []int{maxWrite, 3} {
		t.Run(fmt.Sprintf("maxWrite=%d", chunk), func(t *testing.T) {
			saved := maxWrite
			maxWrite = chunk
			defer func() { maxWrite = saved }()
			writeModes(t, func(t *testing.T) {
				dir := t.TempDir()
				var wg sync.WaitGroup
				for g := range 4 {
					wg.Go(func() {
						path := filepath.Join(dir, fmt.Sprint(g))
						f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
						if err != nil {
							t.Error(err)
							return
						}
						defer f.Close()
						var want []byte
						for i := range 50 {
							b := fmt.Appendf(nil, "goroutine %d, write %d: %s|", g, i, bytes.Repeat([]byte{'a' + byte(i%26)}, i*7))
							want = append(want, b...)
							if n, err := Write(f, b); n != len(b) || err != nil {
								t.Errorf("goroutine %d, write %d: got %d, %v, want %d, nil", g, i, n, err, len(b))
								return
							}
							if i%10 == 9 {
								if err := Datasync(f); err != nil {
									t.Errorf("goroutine %d: Datasync: %v", g, err)
								}
							}
						}
						got, err := os.ReadFile(path)
						if err != nil {
							t.Error(err)
						} else if i := diff(got, want); i >= 0 {
							t.Errorf("goroutine %d: the file holds %d bytes, want the %d written; from byte %d: got %q, want %q",
								g, len(got), len(want), i, got[i:min(len(got), i+40)], want[i:min(len(want), i+40)])
						}
					})
				}
				wg.Wait()
			})
		})
	}
}

// diff returns the offset of the first byte where a and b differ, -1 when
// they are equal.
func diff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// TestWriteError checks that Write reports the error the kernel gives, here
// for a file not open for writing, and that a write after it on a good
// file succeeds.
func TestWriteError(t *testing.T) {
	writeModes(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(path, []byte("before"), 0o644); err != nil {
			t.Fatal(err)
		}
		ro, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		if n, err := Write(ro, []byte("more")); n != 0 || !errors.Is(err, syscall.EBADF) {
			t.Fatalf("writing a read-only file: got %d, %v, want 0, EBADF", n, err)
		}
		closed, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		closed.Close()
		if n, err := Write(closed, []byte("more")); n != 0 || !errors.Is(err, os.ErrClosed) {
			t.Fatalf("writing a closed file: got %d, %v, want 0, os.ErrClosed", n, err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if n, err := Write(f, []byte(", after")); n != 7 || err != nil {
			t.Fatalf("got %d, %v, want 7, nil", n, err)
		}
		if got, err := os.ReadFile(path); string(got) != "before, after" || err != nil {
			t.Fatalf("the file holds %q (%v), want %q", got, err, "before, after")
		}
	})
}

// TestWriteTurnsToRing checks that Write uses write(2) while it is quick,
// sends the writes after a slow one through the ring, and goes back to
// write(2) once that time is over.
func TestWriteTurnsToRing(t *testing.T) {
	if getRing() == nil || !theRing.writes {
		t.Skip("io_uring writes are not available here")
	}
	savedSlow := quickWrites.slow
	defer func() {
		quickWrites.slow = savedSlow
		quickWrites.until.Store(0)
	}()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	write := func(step string, wantRing bool) {
		t.Helper()
		before := ringWrites.Load()
		if n, err := Write(f, []byte(step+"|")); n != len(step)+1 || err != nil {
			t.Fatalf("%s: got %d, %v, want %d, nil", step, n, err, len(step)+1)
		}
		if got := ringWrites.Load() > before; got != wantRing {
			t.Fatalf("%s: through the ring: got %v, want %v", step, got, wantRing)
		}
	}
	quickWrites.slow = math.MaxInt64 // no write(2) is slow
	write("quick", false)
	write("quick again", false)
	quickWrites.slow = 0 // every write(2) is slow
	write("slow", false)
	quickWrites.slow = math.MaxInt64
	write("after the slow one", true)
	write("still within quickWrites.off", true)
	quickWrites.until.Store(int64(time.Since(epoch))) // quickWrites.off is over
	write("after quickWrites.off", false)
	// WriteHeld calls write(2) whatever, and a slow one of its own
	// sends Write's calls through the ring too.
	held := func(step string) {
		t.Helper()
		before := ringWrites.Load()
		if n, err := WriteHeld(f, []byte(step+"|")); n != len(step)+1 || err != nil {
			t.Fatalf("%s: got %d, %v, want %d, nil", step, n, err, len(step)+1)
		}
		if ringWrites.Load() != before {
			t.Fatalf("%s: WriteHeld wrote through the ring", step)
		}
	}
	quickWrites.slow = 0
	held("held and slow")
	quickWrites.slow = math.MaxInt64
	held("held within quickWrites.off")
	write("after the held one", true)
	want := "quick|quick again|slow|after the slow one|still within quickWrites.off|after quickWrites.off|" +
		"held and slow|held within quickWrites.off|after the held one|"
	if got, err := os.ReadFile(f.Name()); string(got) != want || err != nil {
		t.Fatalf("the file holds %q (%v), want %q", got, err, want)
	}
}
