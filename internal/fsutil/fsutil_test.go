package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	for _, want := range []string{"first", "second, longer"} {
		if err := WriteFileAtomic(path, []byte(want)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Fatalf("got %q, %v, want %q", got, err, want)
		}
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the temporary file is left: %v", err)
	}
}

func TestLock(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no flock here")
	}
	path := filepath.Join(t.TempDir(), "LOCK")
	a, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Lock(a); err != nil {
		t.Fatalf("first lock: %v", err)
	}
	b, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := Lock(b); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: got %v, want ErrLocked", err)
	}
	a.Close()
	if err := Lock(b); err != nil {
		t.Fatalf("lock after the holder closed: %v", err)
	}
}

func TestDatasync(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "d"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("x"); err != nil {
		t.Fatal(err)
	}
	if err := Datasync(f); err != nil {
		t.Fatalf("Datasync: %v", err)
	}
	f.Close()
	if err := Datasync(f); err == nil {
		t.Fatal("Datasync of a closed file: no error")
	}
}

// TestGather yields until a yield leaves the position unchanged, and at
// most maxGather times while it keeps moving.
func TestGather(t *testing.T) {
	var pos int64
	written := func() int64 { return pos }
	for _, tt := range []struct {
		moving, want int
	}{
		{3, 4},                     // moved at 3 yields, still at the 4th
		{0, 1},                     // nothing moves
		{maxGather + 5, maxGather}, // keeps moving
	} {
		moving, yields := tt.moving, 0
		Gather(written, func() {
			yields++
			if moving > 0 {
				moving--
				pos++
			}
		})
		if yields != tt.want {
			t.Errorf("moving at %d yields: got %d yields, want %d", tt.moving, yields, tt.want)
		}
	}
}
