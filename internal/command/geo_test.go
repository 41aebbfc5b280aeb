package command

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/data-cluster/data-cluster/internal/resp"
)

// TestGeoRedis replays the replies recorded from Redis.
func TestGeoRedis(t *testing.T) {
	h := newHarness(t, 3)
	h.check(geoCases)
}

// TestGeoRedisResp3 replays the RESP3 replies recorded from Redis.
func TestGeoRedisResp3(t *testing.T) {
	h := newHarness(t, 3)
	h.proto(3)
	h.check(geoResp3Cases)
}

// TestGeoStoreDist checks a distance stored by STOREDIST as a number:
// Redis 7.0 prints it as 5.3056374386009927e-05, 7.2 in its shortest form.
func TestGeoStoreDist(t *testing.T) {
	h := newHarness(t, 3)
	h.do("geoadd", "points{t}", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania")
	if got := h.do("georadius", "points{t}", "13.361389", "38.115556", "500", "km", "storedist", "points2{t}"); got != ":2\r\n" {
		t.Fatalf("georadius storedist: got %q, want :2", got)
	}
	got := h.do("zscore", "points2{t}", "Palermo")
	want := "$21\r\n" + string(resp.AppendDoubleText(nil, 5.3056374386009927e-05)) + "\r\n"
	if got != want {
		t.Errorf("zscore: got %q, want %q", got, want)
	}
}

// TestGeoNoPanic runs every geo command with random arguments, options in
// random places and extreme numbers included: each must reply, never
// panic.
func TestGeoNoPanic(t *testing.T) {
	seed := uint64(rand.Int64())
	r := rand.New(rand.NewPCG(seed, 11))
	words := []string{"g", "e", "str", "dst", "a", "b", "nosuch", "0", "1", "-1", "13.4", "38.1", "85.06", "-85.05112878", "180", "-180",
		"181", "inf", "-inf", "nan", "1e400", "9223372036854775807", "x", "", "m", "km", "ft", "mi", "M", "yd",
		"nx", "xx", "ch", "withdist", "withhash", "withcoord", "asc", "desc", "count", "any", "store", "storedist",
		"frommember", "fromlonlat", "byradius", "bybox"}
	h := newHarness(t, 3)
	h.noPanic(r, seed, geoCommands, words, 20000, 12, func() {
		h.do("del", "g", "e")
		h.do("geoadd", "g", "13.361389", "38.115556", "a", "15.087269", "37.502669", "b", "-180", "-85.05112878", "0")
		h.do("zadd", "e", "-1", "a", "inf", "b", "1e20", "0")
		h.do("set", "str", "v")
	})
}

// TestGeoKeys checks the keys the router holds for each search: the
// destination of a store with its source, so that both are written
// atomically and, on a cluster, must share a slot.
func TestGeoKeys(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"geosearchstore", "dst", "src", "fromlonlat", "0", "0", "byradius", "1", "km"}, []string{"dst", "src"}},
		{[]string{"georadius", "src", "0", "0", "1", "km"}, []string{"src"}},
		{[]string{"georadius", "src", "0", "0", "1", "km", "store", "d1", "storedist", "d2"}, []string{"src", "d2"}},
		{[]string{"georadiusbymember", "src", "m", "1", "km", "STORE", "d1"}, []string{"src", "d1"}},
		{[]string{"georadiusbymember", "src", "m", "1", "km", "count", "1", "store"}, []string{"src"}},
		{[]string{"georadius_ro", "src", "0", "0", "1", "km", "store", "d1"}, []string{"src"}},
		{[]string{"geosearch", "src", "frommember", "m", "byradius", "1", "km"}, []string{"src"}},
	}
	for _, c := range cases {
		argv := make([][]byte, len(c.args))
		for i, a := range c.args {
			argv[i] = []byte(a)
		}
		var got []string
		for _, k := range Redis.Lookup(argv[0]).Keys(argv, nil) {
			got = append(got, string(k))
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: got keys %q, want %q", c.args, got, c.want)
		}
	}
}
