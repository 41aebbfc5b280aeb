package placement_test

import (
	"fmt"
	"log"

	"github.com/data-cluster/data-cluster/internal/placement"
)

func Example() {
	nodes, err := placement.ParseInitialCluster("n1=127.0.0.1:17001,n2=127.0.0.1:17002,n3=127.0.0.1:17003")
	if err != nil {
		log.Fatal(err)
	}
	t, err := placement.New(1, nodes, 3, 3, 64)
	if err != nil {
		log.Fatal(err)
	}
	all := t.Nodes()
	for _, g := range t.Groups() {
		rs := t.Ranges(g.ID)
		slots := 0
		for _, r := range rs {
			slots += int(r.End-r.Start) + 1
		}
		fmt.Printf("group %d: %d slots in %d ranges, first %d-%d; leader %s; replicas",
			g.ID, slots, len(rs), rs[0].Start, rs[0].End, all[g.Replicas[0]].ID)
		for _, r := range g.Replicas { // node ID=Raft replica id
			fmt.Printf(" %s=%d", all[r].ID, t.ReplicaID(g.ID, r))
		}
		fmt.Println()
	}
	for _, key := range []string{"foo", "hello", "{user1000}.following", "{user1000}.followers"} {
		fmt.Printf("%s -> group %d\n", key, t.GroupOfKey([]byte(key)))
	}
	fmt.Println("n1 is", placement.NodeName("n1"))
	// Output:
	// group 0: 4898 slots in 41 ranges, first 122-292; leader n1; replicas n1=1 n2=2 n3=3
	// group 1: 6495 slots in 43 ranges, first 31-86; leader n2; replicas n2=2 n3=3 n1=1
	// group 2: 4991 slots in 43 ranges, first 0-30; leader n3; replicas n3=3 n1=1 n2=2
	// foo -> group 0
	// hello -> group 2
	// {user1000}.following -> group 0
	// {user1000}.followers -> group 0
	// n1 is 40b3eab63f3f1d4fa48e09559401c5ed4efceaa6
}
