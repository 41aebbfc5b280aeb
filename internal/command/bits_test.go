package command

import "testing"

// TestBitsRedis checks the replies recorded from redis-server 7.0.15 (see
// bits_record_test.go), on three shards so that BITOP's keys live apart.
func TestBitsRedis(t *testing.T) {
	for _, tc := range []struct {
		name  string
		proto int
		cases []step
	}{
		{"resp2", 2, bitsCases},
		{"overflow", 2, bitsOverflowCases},
		{"resp3", 3, bitsResp3Cases},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.cases) == 0 {
				t.Fatal("no cases")
			}
			h := newHarness(t, 3)
			h.proto(tc.proto)
			h.check(tc.cases)
		})
	}
}
