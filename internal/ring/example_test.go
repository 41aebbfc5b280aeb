package ring_test

import (
	"fmt"
	"log"

	"github.com/data-cluster/data-cluster/internal/ring"
)

func Example() {
	r, err := ring.New(3, 64)
	if err != nil {
		log.Fatal(err)
	}
	for _, key := range []string{"user1", "b", "hello"} {
		fmt.Printf("%s -> shard %d of %d\n", key, r.LookupString(key), r.Shards())
	}

	// A fourth shard takes keys only for itself: every other key stays put.
	r4, err := ring.New(4, 64)
	if err != nil {
		log.Fatal(err)
	}
	moved := 0
	for i := range 1000 {
		key := fmt.Sprintf("key:%d", i)
		if from, to := r.LookupString(key), r4.LookupString(key); from != to {
			if to != 3 {
				log.Fatalf("%s moved to shard %d", key, to)
			}
			moved++
		}
	}
	fmt.Printf("%d of 1000 keys moved to shard 3\n", moved)
	// Output:
	// user1 -> shard 2 of 3
	// b -> shard 1 of 3
	// hello -> shard 0 of 3
	// 247 of 1000 keys moved to shard 3
}
