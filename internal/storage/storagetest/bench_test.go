package storagetest_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/data-cluster/data-cluster/internal/storage/storagetest"
)

func TestTexts(t *testing.T) {
	got := storagetest.Texts("key:", 1001)
	if len(got) != 1001 {
		t.Fatalf("len: got %d, want 1001", len(got))
	}
	for _, i := range []int{0, 7, 1000} {
		if want := fmt.Sprintf("key:%012d", i); string(got[i]) != want {
			t.Errorf("Texts[%d]: got %q, want %q", i, got[i], want)
		}
	}
}

func TestShuffled(t *testing.T) {
	keys := storagetest.Texts("key:", 100)
	got := storagetest.Shuffled(keys)
	if string(keys[0]) != "key:000000000000" || string(keys[99]) != "key:000000000099" {
		t.Errorf("Shuffled changed its argument: got %q … %q", keys[0], keys[99])
	}
	slices.SortFunc(got, func(a, b []byte) int { return slices.Compare(a, b) })
	if !slices.EqualFunc(got, keys, slices.Equal) {
		t.Errorf("sorted Shuffled: got %q, want %q", got, keys)
	}
}
