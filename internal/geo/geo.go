// Package geo is Redis's geohash: a longitude and a latitude interleaved
// into 52 bits (26 steps of one bit each), which Redis keeps as the score
// of a sorted set member, and the search of the members within a radius or
// a box around a point.
//
// Everything here follows Redis's arithmetic operation by operation, in
// float64 as Redis computes in C doubles, so that the same members are
// found and the same numbers printed: latitudes are encoded on
// -85.05112878..85.05112878 (the range of Web Mercator), except for the
// standard geohash strings, which use -90..90; distances are haversine
// distances on a sphere of radius EarthRadius.
//
// The package is pure computation: its functions are safe for concurrent
// use.
package geo

import "math"

// Limits of the coordinates that can be indexed, as Redis's GEO_LONG_MIN
// and its companions.
const (
	LonMin = -180.0
	LonMax = 180.0
	LatMin = -85.05112878
	LatMax = 85.05112878
)

// StepMax is the number of steps of a full-precision hash: 26 bits of
// longitude and 26 of latitude.
const StepMax = 26

// EarthRadius is the radius, in meters, of the sphere on which distances
// are computed: Redis's EARTH_RADIUS_IN_METERS.
const EarthRadius = 6372797.560856

// mercatorMax is the half-width of the Web Mercator plane in meters, which
// EstimateSteps starts from.
const mercatorMax = 20037726.37

// degToRad is C's M_PI / 180.0, rounded once to a double after pi was.
var degToRad = func() float64 { pi := math.Pi; return pi / 180.0 }()

func radians(deg float64) float64 { return deg * degToRad }
func degrees(rad float64) float64 { return rad / degToRad }

// Range is an interval of one coordinate.
type Range struct{ Min, Max float64 }

// The ranges of the coordinates: WGS84 as encoded in scores, and the
// standard geohash's.
var (
	LonRange      = Range{LonMin, LonMax}
	LatRange      = Range{LatMin, LatMax}
	LatRangeFull  = Range{-90, 90}
	zeroHash      = Hash{}
	geohashLetter = "0123456789bcdefghjkmnpqrstuvwxyz"
)

// Hash is a geohash of Step steps: 2·Step bits, longitude and latitude
// interleaved, the longitude bit first. The zero Hash stands for no area.
type Hash struct {
	Bits uint64
	Step uint8
}

// IsZero reports whether h is the zero Hash.
func (h Hash) IsZero() bool { return h == zeroHash }

// Area is the cell of a Hash: its ranges of longitude and latitude.
type Area struct {
	Hash     Hash
	Lon, Lat Range
}

// interleave spreads the bits of x to the even positions and those of y
// to the odd ones.
func interleave(x, y uint32) uint64 {
	spread := func(v uint64) uint64 {
		v = (v | v<<16) & 0x0000FFFF0000FFFF
		v = (v | v<<8) & 0x00FF00FF00FF00FF
		v = (v | v<<4) & 0x0F0F0F0F0F0F0F0F
		v = (v | v<<2) & 0x3333333333333333
		return (v | v<<1) & 0x5555555555555555
	}
	return spread(uint64(x)) | spread(uint64(y))<<1
}

// deinterleave undoes interleave: the even bits in the low 32 bits of the
// result, the odd ones in the high 32.
func deinterleave(v uint64) uint64 {
	squash := func(v uint64) uint64 {
		v &= 0x5555555555555555
		v = (v | v>>1) & 0x3333333333333333
		v = (v | v>>2) & 0x0F0F0F0F0F0F0F0F
		v = (v | v>>4) & 0x00FF00FF00FF00FF
		v = (v | v>>8) & 0x0000FFFF0000FFFF
		return (v | v>>16) & 0x00000000FFFFFFFF
	}
	return squash(v) | squash(v>>1)<<32
}

// Encode returns the hash of steps steps, 1 to 32, of the point in the
// ranges lon and lat, and false for a point outside them or outside the
// WGS84 limits.
func Encode(lonR, latR Range, lon, lat float64, step uint8) (Hash, bool) {
	if step == 0 || step > 32 || lonR.Min == 0 && lonR.Max == 0 || latR.Min == 0 && latR.Max == 0 {
		return Hash{}, false
	}
	if lon > LonMax || lon < LonMin || lat > LatRangeFull.Max || lat < LatRangeFull.Min {
		return Hash{}, false
	}
	if lat < latR.Min || lat > latR.Max || lon < lonR.Min || lon > lonR.Max {
		return Hash{}, false
	}
	latOff := (lat - latR.Min) / (latR.Max - latR.Min)
	lonOff := (lon - lonR.Min) / (lonR.Max - lonR.Min)
	latOff *= float64(uint64(1) << step)
	lonOff *= float64(uint64(1) << step)
	return Hash{Bits: interleave(uint32(latOff), uint32(lonOff)), Step: step}, true
}

// Decode returns the cell of h in the ranges lon and lat; false for the
// zero Hash.
func Decode(lonR, latR Range, h Hash) (Area, bool) {
	if h.IsZero() {
		return Area{}, false
	}
	sep := deinterleave(h.Bits)
	latScale := latR.Max - latR.Min
	lonScale := lonR.Max - lonR.Min
	ilat := uint32(sep)
	ilon := uint32(sep >> 32)
	div := float64(uint64(1) << h.Step)
	return Area{
		Hash: h,
		Lat:  Range{latR.Min + (float64(ilat)*1.0/div)*latScale, latR.Min + (float64(ilat+1)*1.0/div)*latScale},
		Lon:  Range{lonR.Min + (float64(ilon)*1.0/div)*lonScale, lonR.Min + (float64(ilon+1)*1.0/div)*lonScale},
	}, true
}

// Center returns the middle of the cell, held to the WGS84 limits.
func (a Area) Center() (lon, lat float64) {
	lon = (a.Lon.Min + a.Lon.Max) / 2
	lon = min(max(lon, LonMin), LonMax)
	lat = (a.Lat.Min + a.Lat.Max) / 2
	lat = min(max(lat, LatMin), LatMax)
	return lon, lat
}

// Align52 returns the bits of h shifted to a 52-bit score.
func (h Hash) Align52() uint64 { return h.Bits << (52 - 2*uint(h.Step)) }

// Valid reports whether a point can be indexed: within the WGS84 limits.
func Valid(lon, lat float64) bool {
	return lon >= LonMin && lon <= LonMax && lat >= LatMin && lat <= LatMax
}

// Score returns the 52-bit score of a point within the WGS84 limits (see
// Valid), as GEOADD stores it.
func Score(lon, lat float64) uint64 {
	h, _ := Encode(LonRange, LatRange, lon, lat, StepMax)
	return h.Align52()
}

// scoreBits converts a score to an integer as C's (uint64_t) cast does on
// x86-64, out-of-range values included: scores need not come from GEOADD.
func scoreBits(s float64) uint64 {
	const two63 = float64(1 << 63)
	trunc := func(f float64) uint64 {
		if f != f || f >= two63 || f < -two63 {
			return 1 << 63 // the "integer indefinite" of cvttsd2si
		}
		return uint64(int64(f))
	}
	if s >= two63 {
		return trunc(s-two63) ^ 1<<63
	}
	return trunc(s)
}

// DecodeScore returns the point a score stands for: the center of its
// full-precision cell.
func DecodeScore(score float64) (lon, lat float64) {
	a, _ := Decode(LonRange, LatRange, Hash{Bits: scoreBits(score), Step: StepMax})
	return a.Center()
}

// String returns the 11-character standard geohash of the point a score
// stands for, as Redis's GEOHASH: the point is encoded again on the
// latitude range -90..90 and the 52 bits written in base 32, the last
// character always '0'.
func String(score float64) string {
	lon, lat := DecodeScore(score)
	h, _ := Encode(LonRange, LatRangeFull, lon, lat, StepMax)
	var buf [11]byte
	for i := range buf {
		idx := 0
		if i < 10 {
			idx = int(h.Bits>>(52-(uint(i)+1)*5)) & 0x1f
		}
		buf[i] = geohashLetter[idx]
	}
	return string(buf[:])
}

// Neighbors are the eight cells around a hash, of its step.
type Neighbors struct {
	North, South, East, West                   Hash
	NorthEast, NorthWest, SouthEast, SouthWest Hash
}

// move shifts h by one cell east (dx 1) or west (dx -1), north (dy 1) or
// south (dy -1), wrapping around at the edges of the ranges.
func (h Hash) move(dx, dy int) Hash {
	const even, odd = 0x5555555555555555, 0xaaaaaaaaaaaaaaaa
	shift := 64 - 2*uint(h.Step)
	if dx != 0 {
		x := h.Bits & odd
		y := h.Bits & even
		zz := uint64(even) >> shift
		if dx > 0 {
			x += zz + 1
		} else {
			x |= zz
			x -= zz + 1
		}
		x &= uint64(odd) >> shift
		h.Bits = x | y
	}
	if dy != 0 {
		x := h.Bits & odd
		y := h.Bits & even
		zz := uint64(odd) >> shift
		if dy > 0 {
			y += zz + 1
		} else {
			y |= zz
			y -= zz + 1
		}
		y &= uint64(even) >> shift
		h.Bits = x | y
	}
	return h
}

// Neighbors returns the cells around h.
func (h Hash) Neighbors() Neighbors {
	return Neighbors{
		East: h.move(1, 0), West: h.move(-1, 0),
		South: h.move(0, -1), North: h.move(0, 1),
		NorthWest: h.move(-1, 1), NorthEast: h.move(1, 1),
		SouthEast: h.move(1, -1), SouthWest: h.move(-1, -1),
	}
}

// EstimateSteps returns the step of the cells whose 3×3 block covers a
// search of the radius in meters around a point at latitude lat, 1 to 26.
func EstimateSteps(meters, lat float64) uint8 {
	if meters == 0 {
		return 26
	}
	step := 1
	for meters < mercatorMax {
		meters *= 2
		step++
	}
	step -= 2 // so that the radius fits in most cases
	// Cells narrow towards the poles.
	if lat > 66 || lat < -66 {
		step--
		if lat > 80 || lat < -80 {
			step--
		}
	}
	return uint8(min(max(step, 1), 26))
}

// LatDistance returns the distance in meters between two latitudes on
// one meridian.
func LatDistance(lat1, lat2 float64) float64 {
	return EarthRadius * math.Abs(radians(lat2)-radians(lat1))
}

// Distance returns the haversine distance in meters between two points.
func Distance(lon1, lat1, lon2, lat2 float64) float64 {
	lon1r := radians(lon1)
	lon2r := radians(lon2)
	v := math.Sin((lon2r - lon1r) / 2)
	if v == 0 {
		return LatDistance(lat1, lat2)
	}
	lat1r := radians(lat1)
	lat2r := radians(lat2)
	u := math.Sin((lat2r - lat1r) / 2)
	a := u*u + math.Cos(lat1r)*math.Cos(lat2r)*v*v
	return 2.0 * EarthRadius * math.Asin(math.Sqrt(a))
}
