package fsutil

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestDatasyncInline syncs a file inline while the fdatasyncs are quick,
// turns to the ring (Datasync) after a slow one, and syncs inline again
// once that time is over.
func TestDatasyncInline(t *testing.T) {
	saved := quickSyncs.slow
	t.Cleanup(func() {
		quickSyncs.slow = saved
		quickSyncs.until.Store(0)
	})
	f, err := os.Create(filepath.Join(t.TempDir(), "d"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sync := func(wantInline bool) {
		t.Helper()
		if got := SyncsInline(); got != wantInline {
			t.Fatalf("SyncsInline: got %v, want %v", got, wantInline)
		}
		if _, err := f.WriteString("record|"); err != nil {
			t.Fatal(err)
		}
		before := inlineSyncs.Load()
		if err := DatasyncInline(f); err != nil {
			t.Fatalf("DatasyncInline: %v", err)
		}
		if got := inlineSyncs.Load() > before; got != wantInline {
			t.Fatalf("synced inline: got %v, want %v", got, wantInline)
		}
	}
	quickSyncs.slow = math.MaxInt64
	quickSyncs.until.Store(0)
	sync(true)
	sync(true)
	// Every fdatasync is slow now: the first is made inline, the next
	// go through the ring until quickSyncs.off is over.
	quickSyncs.slow = 0
	sync(true)
	sync(false)
	quickSyncs.slow = math.MaxInt64
	sync(false)
	quickSyncs.until.Store(0) // quickSyncs.off is over
	sync(true)
	b, err := os.ReadFile(f.Name())
	if err != nil || string(b) != "record|record|record|record|record|record|" {
		t.Fatalf("file holds %q, %v", b, err)
	}

	// DatasyncHeld syncs inline whatever: within quickSyncs.off too, and
	// a slow one of its own starts that time for DatasyncInline.
	held := func(step string) {
		t.Helper()
		before := inlineSyncs.Load()
		if err := DatasyncHeld(f); err != nil {
			t.Fatalf("%s: DatasyncHeld: %v", step, err)
		}
		if inlineSyncs.Load() == before {
			t.Fatalf("%s: DatasyncHeld did not sync inline", step)
		}
	}
	quickSyncs.slow = 0
	held("a slow fdatasync")
	if SyncsInline() {
		t.Fatal("after DatasyncHeld's slow fdatasync, SyncsInline is true")
	}
	quickSyncs.slow = math.MaxInt64
	held("within quickSyncs.off")
	sync(false)
}

// TestDatasyncInlineErrors: a closed file, a descriptor that cannot be
// synced, and an injected fault each give their error.
func TestDatasyncInlineErrors(t *testing.T) {
	quickSyncs.until.Store(0)
	f, err := os.Create(filepath.Join(t.TempDir(), "d"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := DatasyncInline(f); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("closed file: got %v, want os.ErrClosed", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := DatasyncInline(w); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("pipe: got %v, want EINVAL", err)
	}

	g, err := os.Create(filepath.Join(t.TempDir(), "e"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	injected := errors.New("injected")
	savedHook := beforeDatasync
	beforeDatasync = func() (time.Duration, error) { return 0, injected }
	defer func() { beforeDatasync = savedHook }()
	before := inlineSyncs.Load()
	if err := DatasyncInline(g); !errors.Is(err, injected) {
		t.Fatalf("injected fault: got %v, want it", err)
	}
	if inlineSyncs.Load() != before {
		t.Fatal("an injected fault still synced")
	}
}
