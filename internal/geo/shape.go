package geo

import "math"

// Shape is the area of a search around the point (Lon, Lat): a circle of
// Radius, or with Box a box of Width by Height, in a unit of which
// Conversion is the length in meters (1 for meters, 1000 for
// kilometers…).
type Shape struct {
	Lon, Lat              float64
	Box                   bool
	Radius, Width, Height float64
	Conversion            float64
}

// Bounds returns the box of coordinates that holds the shape, as Redis's
// geohashBoundingBox: a box's sides are bent, wider towards the equator.
func (s *Shape) Bounds() (minLon, minLat, maxLon, maxLat float64) {
	height, width := s.Radius, s.Radius
	if s.Box {
		height, width = s.Height/2, s.Width/2
	}
	height *= s.Conversion
	width *= s.Conversion
	latDelta := degrees(height / EarthRadius)
	lonDeltaTop := degrees(width / EarthRadius / math.Cos(radians(s.Lat+latDelta)))
	lonDeltaBottom := degrees(width / EarthRadius / math.Cos(radians(s.Lat-latDelta)))
	if s.Lat < 0 {
		minLon, maxLon = s.Lon-lonDeltaBottom, s.Lon+lonDeltaBottom
	} else {
		minLon, maxLon = s.Lon-lonDeltaTop, s.Lon+lonDeltaTop
	}
	return minLon, s.Lat - latDelta, maxLon, s.Lat + latDelta
}

// meters returns the radius of the search in meters: for a box, the
// distance from its center to a corner.
func (s *Shape) meters() float64 {
	r := s.Radius
	if s.Box {
		r = math.Sqrt((s.Width/2)*(s.Width/2) + (s.Height/2)*(s.Height/2))
	}
	return r * s.Conversion
}

// Cells returns the cells to search for the members in the shape, in the
// order Redis searches them: the cell of the center, then north, south,
// east, west, north-east, north-west, south-east and south-west. Cells
// that cannot hold any part of the shape are zero Hashes. Two cells may
// be the same one when the shape is very large.
func (s *Shape) Cells() [9]Hash {
	minLon, minLat, maxLon, maxLat := s.Bounds()
	steps := EstimateSteps(s.meters(), s.Lat)
	hash, _ := Encode(LonRange, LatRange, s.Lon, s.Lat, steps)
	nb := hash.Neighbors()
	area, _ := Decode(LonRange, LatRange, hash)

	// The estimated step may be too fine when the shape comes near the
	// edge of a neighbor: take cells twice as large then.
	north, _ := Decode(LonRange, LatRange, nb.North)
	south, _ := Decode(LonRange, LatRange, nb.South)
	east, _ := Decode(LonRange, LatRange, nb.East)
	west, _ := Decode(LonRange, LatRange, nb.West)
	decrease := north.Lat.Max < maxLat || south.Lat.Min > minLat ||
		east.Lon.Max < maxLon || west.Lon.Min > minLon
	if steps > 1 && decrease {
		steps--
		hash, _ = Encode(LonRange, LatRange, s.Lon, s.Lat, steps)
		nb = hash.Neighbors()
		area, _ = Decode(LonRange, LatRange, hash)
	}

	// Leave out the neighbors on the sides the shape does not reach.
	if steps >= 2 {
		if area.Lat.Min < minLat {
			nb.South, nb.SouthWest, nb.SouthEast = Hash{}, Hash{}, Hash{}
		}
		if area.Lat.Max > maxLat {
			nb.North, nb.NorthEast, nb.NorthWest = Hash{}, Hash{}, Hash{}
		}
		if area.Lon.Min < minLon {
			nb.West, nb.SouthWest, nb.NorthWest = Hash{}, Hash{}, Hash{}
		}
		if area.Lon.Max > maxLon {
			nb.East, nb.SouthEast, nb.NorthEast = Hash{}, Hash{}, Hash{}
		}
	}
	return [9]Hash{hash, nb.North, nb.South, nb.East, nb.West, nb.NorthEast, nb.NorthWest, nb.SouthEast, nb.SouthWest}
}

// ScoreRange returns the scores of the members in h's cell: from min,
// included, to max, excluded.
func (h Hash) ScoreRange() (min, max uint64) {
	min = h.Align52()
	h.Bits++
	return min, h.Align52()
}

// Contains reports whether the point (lon, lat) is in the shape, and its
// distance in meters from the center when it is. In a box, a point is in
// when its distance from the center along the meridian is at most half
// the height and its distance along its own parallel at most half the
// width.
func (s *Shape) Contains(lon, lat float64) (dist float64, ok bool) {
	if !s.Box {
		dist = Distance(s.Lon, s.Lat, lon, lat)
		return dist, dist <= s.Radius*s.Conversion
	}
	if LatDistance(lat, s.Lat) > s.Height*s.Conversion/2 {
		return 0, false
	}
	if Distance(lon, lat, s.Lon, lat) > s.Width*s.Conversion/2 {
		return 0, false
	}
	return Distance(s.Lon, s.Lat, lon, lat), true
}
