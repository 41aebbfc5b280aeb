package storage_test

import (
	"fmt"
	"slices"

	"github.com/data-cluster/data-cluster/internal/storage"
	"github.com/data-cluster/data-cluster/internal/storage/memory"
)

func ExampleEngine() {
	var e storage.Engine = memory.New()
	e.Set([]byte("user:1"), []byte("ada"), storage.NoExpiry)
	e.Set([]byte("user:2"), []byte("grace"), storage.NoExpiry)
	e.Set([]byte("session:9"), []byte("token"), 1767225600000)

	if v, at, ok := e.Lookup([]byte("session:9")); ok {
		fmt.Printf("session:9 = %s, expires at %d\n", v, at)
	}
	fmt.Println(e.Len(), "keys,", e.ExpiresLen(), "with an expiry")

	// Iterate one entry per call, as a SCAN with COUNT 1 would, resuming
	// from the returned cursor until it comes back as 0. Handed-out slices
	// are copied before the engine may change.
	var keys []string
	for cursor := uint64(0); ; {
		cursor = e.Scan(cursor, func(key, _ []byte, _ storage.Object, _ int64) bool {
			keys = append(keys, string(key))
			return false
		})
		if cursor == 0 {
			break
		}
	}
	slices.Sort(keys)
	fmt.Println(keys)

	e.Delete([]byte("session:9"))
	fmt.Println(e.Len(), "keys,", e.ExpiresLen(), "with an expiry")
	// Output:
	// session:9 = token, expires at 1767225600000
	// 3 keys, 1 with an expiry
	// [session:9 user:1 user:2]
	// 2 keys, 0 with an expiry
}
