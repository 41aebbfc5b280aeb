package storage

import "math/rand/v2"

// RandomWalk returns a random start position and a random stride coprime to
// l, for l > 0: visiting start, start+stride, start+2·stride, … modulo l
// reaches l distinct positions before repeating. Engines use it to sample
// distinct entries of a dense array in O(n) for n samples.
func RandomWalk(l int) (start, stride int) {
	start, stride = rand.IntN(l), 1
	if l > 1 {
		for {
			stride = 1 + rand.IntN(l-1)
			if gcd(stride, l) == 1 {
				break
			}
		}
	}
	return start, stride
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
