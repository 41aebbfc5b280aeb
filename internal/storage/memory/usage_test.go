package memory_test

import (
	"testing"

	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/memory"
	"github.com/data-cluster/data-cluster/internal/storage/storagetest"
)

func TestUsage(t *testing.T) {
	storagetest.RunUsage(t, func() storage.Engine { return memory.New() })
}

func TestSizer(t *testing.T) {
	storagetest.RunSizer(t, func() storage.Engine { return memory.New() })
}

func TestUsageMemory(t *testing.T) {
	e := memory.New()
	e.Set([]byte("a"), []byte("1"), storage.NoExpiry)
	before := e.MemoryUsage()
	e.TrackUsage(func(uint32, bool) uint32 { return 1 })
	e.Lookup([]byte("a"))
	if e.MemoryUsage() <= before {
		t.Errorf("MemoryUsage does not count the usage words")
	}
}
