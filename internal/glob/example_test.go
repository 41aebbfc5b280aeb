package glob_test

import (
	"fmt"

	"github.com/data-cluster/data-cluster/internal/glob"
)

func Example() {
	keys := []string{"user:1", "user:42", "user:42:name", "session:9", "User:7"}
	for _, pattern := range []string{"user:*", "user:?", "user:[0-9][0-9]", "*:[^0-9]*"} {
		var matched []string
		for _, key := range keys {
			if glob.MatchString(pattern, key) {
				matched = append(matched, key)
			}
		}
		fmt.Printf("%-16s %v\n", pattern, matched)
	}
	// Output:
	// user:*           [user:1 user:42 user:42:name]
	// user:?           [user:1]
	// user:[0-9][0-9]  [user:42]
	// *:[^0-9]*        [user:42:name]
}

func ExampleMatchFold() {
	fmt.Println(glob.MatchFold([]byte("user:*"), []byte("USER:42")))
	fmt.Println(glob.MatchFold([]byte("[a-z]"), []byte("Q")))
	// Output:
	// true
	// true
}

func ExampleMatch_escapes() {
	fmt.Println(glob.Match([]byte(`what\?`), []byte("what?")))
	fmt.Println(glob.Match([]byte(`what\?`), []byte("whats")))
	fmt.Println(glob.Match([]byte(`[\]]`), []byte("]")))
	// Output:
	// true
	// false
	// true
}

func ExampleMatch_emptySubject() {
	// As in Redis, only the empty pattern matches the empty subject.
	fmt.Println(glob.Match([]byte(""), []byte("")))
	fmt.Println(glob.Match([]byte("*"), []byte("")))
	// Output:
	// true
	// false
}
