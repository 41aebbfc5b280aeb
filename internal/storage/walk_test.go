package storage

import "testing"

func TestRandomWalkVisitsEveryPosition(t *testing.T) {
	for _, l := range []int{1, 2, 3, 4, 12, 97, 100, 1024} {
		for range 20 {
			start, stride := RandomWalk(l)
			if start < 0 || start >= l || stride < 1 || (l > 1 && stride >= l) {
				t.Fatalf("l=%d: start %d stride %d out of range", l, start, stride)
			}
			seen := make([]bool, l)
			for i, pos := 0, start; i < l; i, pos = i+1, (pos+stride)%l {
				if seen[pos] {
					t.Fatalf("l=%d stride %d: position %d visited twice", l, stride, pos)
				}
				seen[pos] = true
			}
		}
	}
}
