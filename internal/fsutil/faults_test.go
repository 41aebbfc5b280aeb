//go:build faults

package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestDiskFaults drives Datasync through a control file: no fault while it
// is missing or empty, a delay, a failure, and no fault again once emptied.
func TestDiskFaults(t *testing.T) {
	dir := t.TempDir()
	ctl := filepath.Join(dir, "faults")
	f, err := os.Create(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("some data"); err != nil {
		t.Fatal(err)
	}
	saved := beforeDatasync
	beforeDatasync = fileFaults(ctl)
	t.Cleanup(func() { beforeDatasync = saved })

	set := func(s string) {
		t.Helper()
		if err := os.WriteFile(ctl, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	noFault := func(when string) {
		t.Helper()
		if err := Datasync(f); err != nil {
			t.Fatalf("%s: Datasync: %v, want nil", when, err)
		}
	}

	noFault("control file missing")
	set("")
	noFault("control file empty")

	const delay = 150 * time.Millisecond
	set("delay=150ms\n")
	begin := time.Now()
	noFault("delay")
	if took := time.Since(begin); took < delay {
		t.Fatalf("Datasync with delay=150ms took %v, want at least %v", took, delay)
	}

	// Inline, the delay keeps the P, as a slow fdatasync would: with one
	// P, a goroutine that yields in a loop does not run meanwhile. Then
	// the next fdatasyncs go through the ring.
	quickSyncs.until.Store(0)
	t.Cleanup(func() { quickSyncs.until.Store(0) })
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var longest atomic.Int64 // the longest time the looping goroutine did not run, in ns
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			default:
			}
			now := time.Now()
			if gap := int64(now.Sub(last)); gap > longest.Load() {
				longest.Store(gap)
			}
			last = now
			runtime.Gosched()
		}
	}()
	runtime.Gosched() // let it start
	begin = time.Now()
	err = DatasyncInline(f)
	took := time.Since(begin)
	close(stop)
	<-stopped
	if err != nil {
		t.Fatalf("delay, inline: DatasyncInline: %v, want nil", err)
	}
	if took < delay {
		t.Fatalf("DatasyncInline with delay=150ms took %v, want at least %v", took, delay)
	}
	if got := time.Duration(longest.Load()); got < delay {
		t.Fatalf("the looping goroutine ran while DatasyncInline waited (longest pause %v, want at least %v): the P was not kept", got, delay)
	}
	if SyncsInline() {
		t.Fatal("after an inline fdatasync delayed 150ms: SyncsInline, want the ring")
	}
	quickSyncs.until.Store(0)

	set("fail\n")
	err = Datasync(f)
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("fail: Datasync returned %v, want an error wrapping EIO", err)
	}

	set("delay=10ms\nfail\n")
	begin = time.Now()
	if err := Datasync(f); !errors.Is(err, syscall.EIO) {
		t.Fatalf("delay and fail: Datasync returned %v, want an error wrapping EIO", err)
	}
	if took := time.Since(begin); took < 10*time.Millisecond {
		t.Fatalf("delay and fail: took %v, want at least 10ms", took)
	}

	set("delay=soon\n")
	if err := Datasync(f); !errors.Is(err, syscall.EIO) {
		t.Fatalf("bad line: Datasync returned %v, want an error wrapping EIO", err)
	}

	set("")
	noFault("control file emptied")
	if err := os.Remove(ctl); err != nil {
		t.Fatal(err)
	}
	noFault("control file removed")
}

// TestNoHookWithoutEnv: in a process started without the variable, init
// leaves Datasync alone.
func TestNoHookWithoutEnv(t *testing.T) {
	if os.Getenv(FaultsEnv) == "" && beforeDatasync != nil {
		t.Fatalf("%s is not set, yet Datasync has a hook", FaultsEnv)
	}
}
