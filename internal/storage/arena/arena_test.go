package arena_test

import (
	"testing"

	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/arena"
	"github.com/data-cluster/data-cluster/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func() storage.Engine { return arena.New() })
}

func TestUsage(t *testing.T) {
	storagetest.RunUsage(t, func() storage.Engine { return arena.New() })
}
