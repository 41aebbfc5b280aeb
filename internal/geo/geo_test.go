package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The scores, geohashes and distances below were answered by
// redis-server 7.0.15 for the same points.

func TestScore(t *testing.T) {
	cases := []struct {
		lon, lat float64
		want     uint64
	}{
		{13.361389, 38.115556, 3479099956230698},
		{15.087269, 37.502669, 3479447370796909},
		{-73.9454966, 40.747533, 1791875804419201},
		{-180, -85.05112878, 0},
		// The top edge overflows the 26 bits, as in Redis.
		{180, 85.05112878, 13510798882111488},
		{0, 85.05112878, 6755399441055744},
		{179.999999, 0, 4128299658422954},
		{-180, 0, 1125899906842624},
	}
	for _, c := range cases {
		if got := Score(c.lon, c.lat); got != c.want {
			t.Errorf("Score(%v, %v): got %d, want %d", c.lon, c.lat, got, c.want)
		}
	}
}

func TestString(t *testing.T) {
	cases := []struct {
		score float64
		want  string
	}{
		{3479099956230698, "sqc8b49rny0"},
		{float64(Score(-5.6, 42.6)), "ezs42e44yx0"},
		{0, "00bh0hbj200"},
		{13510798882111488, "bp05b5048p0"},
		{4128299658422954, "xbpbpbpbpb0"},
		{-1, "bp05b5048p0"},
		{1e20, "00bh0hbj200"},
		{4503599627370495, "zzpgzgpfxz0"},
	}
	for _, c := range cases {
		if got := String(c.score); got != c.want {
			t.Errorf("String(%v): got %q, want %q", c.score, got, c.want)
		}
	}
}

func TestDecodeScore(t *testing.T) {
	cases := []struct {
		score    float64
		lon, lat string
	}{
		{3479099956230698, "13.36138933897018433", "38.11555639549629859"},
		{13510798882111488, "180.00000000000000000", "85.05112877999999910"},
		{0, "-179.99999731779098511", "-85.05112751263942528"},
		{-1, "180.00000000000000000", "85.05112877999999910"},
		{math.Inf(-1), "180.00000000000000000", "-85.05112751263942528"},
		{-1e30, "180.00000000000000000", "-85.05112751263942528"},
		{9007199254740993, "180.00000000000000000", "-85.05112751263942528"},
	}
	for _, c := range cases {
		lon, lat := DecodeScore(c.score)
		if got, want := fmt.Sprintf("%.17f %.17f", lon, lat), c.lon+" "+c.lat; got != want {
			t.Errorf("DecodeScore(%v): got %s, want %s", c.score, got, want)
		}
	}
}

// TestEncodeDecode checks that a point lies in the cell of its hash at
// every step.
func TestEncodeDecode(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		lon := LonMin + r.Float64()*(LonMax-LonMin)
		lat := LatMin + r.Float64()*(LatMax-LatMin)
		step := uint8(1 + r.IntN(StepMax))
		h, ok := Encode(LonRange, LatRange, lon, lat, step)
		if !ok {
			t.Fatalf("Encode(%v, %v, %d) failed", lon, lat, step)
		}
		a, _ := Decode(LonRange, LatRange, h)
		if lon < a.Lon.Min || lon > a.Lon.Max || lat < a.Lat.Min || lat > a.Lat.Max {
			t.Fatalf("(%v, %v) step %d: got cell %+v", lon, lat, step, a)
		}
	}
	if _, ok := Encode(LonRange, LatRange, 181, 0, 26); ok {
		t.Error("Encode of longitude 181: got ok")
	}
	if _, ok := Decode(LonRange, LatRange, Hash{}); ok {
		t.Error("Decode of the zero hash: got ok")
	}
}

// TestNeighbors checks that each neighbor's cell touches its side of the
// cell, wrapping around the antimeridian.
func TestNeighbors(t *testing.T) {
	const eps = 1e-9
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		lon := LonMin + r.Float64()*(LonMax-LonMin)
		lat := -80 + r.Float64()*160
		step := uint8(2 + r.IntN(StepMax-1))
		h, _ := Encode(LonRange, LatRange, lon, lat, step)
		a, _ := Decode(LonRange, LatRange, h)
		nb := h.Neighbors()
		east, _ := Decode(LonRange, LatRange, nb.East)
		west, _ := Decode(LonRange, LatRange, nb.West)
		north, _ := Decode(LonRange, LatRange, nb.North)
		south, _ := Decode(LonRange, LatRange, nb.South)
		if d := math.Mod(east.Lon.Min-a.Lon.Max+360, 360); d > eps && d < 360-eps {
			t.Fatalf("%+v: east %+v", a, east)
		}
		if d := math.Mod(a.Lon.Min-west.Lon.Max+360, 360); d > eps && d < 360-eps {
			t.Fatalf("%+v: west %+v", a, west)
		}
		if a.Lat.Max < LatMax-eps && math.Abs(north.Lat.Min-a.Lat.Max) > eps {
			t.Fatalf("%+v: north %+v", a, north)
		}
		if a.Lat.Min > LatMin+eps && math.Abs(south.Lat.Max-a.Lat.Min) > eps {
			t.Fatalf("%+v: south %+v", a, south)
		}
		if east.Lat != a.Lat || west.Lat != a.Lat || north.Lon != a.Lon || south.Lon != a.Lon {
			t.Fatalf("%+v: neighbors off their row or column", a)
		}
	}
}

func TestDistance(t *testing.T) {
	cases := []struct {
		lon1, lat1, lon2, lat2 float64
		want                   string
	}{
		{13.36138933897018433, 38.11555639549629859, 15.08726745843887329, 37.50266842333162032, "166274.1516"},
		{179.99999731779098511, 0.00000126736058093, -179.99999731779098511, 0.00000126736058093, "0.5967"},
		{10, 20, 10, 20, "0.0000"},
		{0, 10, 0, 20, fmt.Sprintf("%.4f", EarthRadius*10*math.Pi/180)},
	}
	for _, c := range cases {
		if got := fmt.Sprintf("%.4f", Distance(c.lon1, c.lat1, c.lon2, c.lat2)); got != c.want {
			t.Errorf("Distance(%v, %v, %v, %v): got %s, want %s", c.lon1, c.lat1, c.lon2, c.lat2, got, c.want)
		}
	}
}

func TestEstimateSteps(t *testing.T) {
	cases := []struct {
		meters, lat float64
		want        uint8
	}{
		{0, 0, 26},
		// 1 m doubles 25 times to pass 20037726.37 m: step 26, less 2.
		{1, 0, 24},
		{1000, 0, 14},
		{200000, 37, 6},
		{200000, 70, 5},
		{200000, 85, 4},
		{5e7, 0, 1},
		{5e7, 85, 1},
	}
	for _, c := range cases {
		if got := EstimateSteps(c.meters, c.lat); got != c.want {
			t.Errorf("EstimateSteps(%v, %v): got %d, want %d", c.meters, c.lat, got, c.want)
		}
	}
}

// TestCellsCover checks that the cells of a shape hold every point of the
// shape away from the poles, where the estimate is meant to hold.
func TestCellsCover(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		s := Shape{Lon: -180 + r.Float64()*360, Lat: -60 + r.Float64()*120, Conversion: 1000}
		if r.IntN(2) == 0 {
			s.Radius = 1 + r.Float64()*300
		} else {
			s.Box, s.Width, s.Height = true, 1+r.Float64()*500, 1+r.Float64()*500
		}
		cells := s.Cells()
		for range 200 {
			lon := s.Lon + (r.Float64()*2-1)*5
			lat := max(min(s.Lat+(r.Float64()*2-1)*5, LatMax), LatMin)
			if lon > 180 || lon < -180 {
				continue
			}
			score := float64(Score(lon, lat))
			plon, plat := DecodeScore(score)
			if _, ok := s.Contains(plon, plat); !ok {
				continue
			}
			found := false
			for _, h := range cells {
				lo, hi := h.ScoreRange()
				if !h.IsZero() && score >= float64(lo) && score < float64(hi) {
					found = true
				}
			}
			if !found {
				t.Fatalf("shape %+v: point (%v, %v) in no cell of %v", s, lon, lat, cells)
			}
		}
	}
}
