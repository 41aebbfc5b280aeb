package slot_test

import (
	"fmt"

	"github.com/data-cluster/data-cluster/internal/slot"
)

func ExampleOf() {
	for _, key := range []string{"foo", "{user1000}.following", "{user1000}.followers", "foo{}{bar}"} {
		fmt.Printf("%-22s slot %d\n", key, slot.Of([]byte(key)))
	}
	// Output:
	// foo                    slot 12182
	// {user1000}.following   slot 3443
	// {user1000}.followers   slot 3443
	// foo{}{bar}             slot 8363
}

func ExampleCRC16() {
	fmt.Printf("%#04x\n", slot.CRC16([]byte("123456789")))
	// Output: 0x31c3
}
