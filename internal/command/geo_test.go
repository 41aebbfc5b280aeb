package command

import (
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
