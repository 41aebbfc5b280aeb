package fsutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestDatasyncAll syncs more files at once, from more goroutines, than the
// ring has slots, through the ring and without it, and checks every result.
func TestDatasyncAll(t *testing.T) {
	for _, ring := range []bool{true, false} {
		t.Run(fmt.Sprintf("ring=%v", ring), func(t *testing.T) {
			ringDisabled.Store(!ring)
			defer ringDisabled.Store(false)
			if ring && getRing() == nil {
				t.Skip("io_uring is not available here")
			}
			dir := t.TempDir()
			files := make([]*os.File, 3*ringEntries)
			for i := range files {
				f, err := os.Create(filepath.Join(dir, fmt.Sprint(i)))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if _, err := f.WriteString("x"); err != nil {
					t.Fatal(err)
				}
				files[i] = f
			}
			closed, err := os.Create(filepath.Join(dir, "closed"))
			if err != nil {
				t.Fatal(err)
			}
			closed.Close()
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					part := append([]*os.File{closed}, files[g*len(files)/4:(g+1)*len(files)/4]...)
					errs := make([]error, len(part))
					DatasyncAll(part, errs)
					if !errors.Is(errs[0], os.ErrClosed) {
						t.Errorf("goroutine %d: syncing the closed file: got %v, want os.ErrClosed", g, errs[0])
					}
					for i, err := range errs[1:] {
						if err != nil {
							t.Errorf("goroutine %d, file %d: got %v, want nil", g, i, err)
						}
					}
				})
			}
			wg.Wait()
			if ring && len(theRing.slots) != cap(theRing.slots) {
				t.Fatalf("got %d free slots after the syncs, want %d", len(theRing.slots), cap(theRing.slots))
			}
		})
	}
}
