package command

import (
	"bytes"
	"math"
	"slices"
	"strconv"

	"github.com/data-cluster/data-cluster/internal/ascii"
	"github.com/data-cluster/data-cluster/internal/geo"
	"github.com/data-cluster/data-cluster/internal/object"
	"github.com/data-cluster/data-cluster/internal/resp"
)

// geoCommands are Redis's geospatial commands. A point is a member of a
// sorted set whose score is its 52-bit geohash (see package geo), so the
// sorted set commands work on the same keys. GEOSEARCHSTORE and the STORE
// options of GEORADIUS write a second key: they are atomic across shards
// as ZRANGESTORE is.
var geoCommands = []*Spec{
	{Name: "geoadd", Arity: -5, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Run: geoaddCommand},
	{Name: "geodist", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: geodistCommand},
	{Name: "geohash", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: geohashCommand},
	{Name: "geopos", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: geoposCommand},
	{Name: "geosearch", Arity: -7, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: geosearchCommand},
	{Name: "geosearchstore", Arity: -8, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 2, Step: 1, Run: geosearchstoreCommand},
	{Name: "georadius", Arity: -6, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Run: georadiusCommand, KeyArgs: georadiusKeys},
	{Name: "georadiusbymember", Arity: -5, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Run: georadiusbymemberCommand, KeyArgs: georadiusKeys},
	{Name: "georadius_ro", Arity: -6, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: georadiusROCommand},
	{Name: "georadiusbymember_ro", Arity: -5, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: georadiusbymemberROCommand},
}

// Redis's error texts for the geo commands.
const (
	geoErrUnit   = "ERR unsupported unit provided. please use M, KM, FT, MI"
	geoErrMember = "ERR could not decode requested zset member"
)

// georadiusKeys is the KeyArgs of GEORADIUS and GEORADIUSBYMEMBER: the
// source key and, as Redis's georadiusGetKeys finds it, the key after the
// last STORE or STOREDIST from the fifth argument on.
func georadiusKeys(args [][]byte, dst [][]byte) [][]byte {
	if len(args) < 2 {
		return dst
	}
	dst = append(dst, args[1])
	if k := georadiusStoreKey(args); k >= 0 {
		dst = append(dst, args[k])
	}
	return dst
}

// georadiusStoreKey returns the index of the store key of a GEORADIUS or
// GEORADIUSBYMEMBER, -1 when there is none.
func georadiusStoreKey(args [][]byte) int {
	at := -1
	for i := 5; i < len(args); i++ {
		if (cEqualFold(args[i], "store") || cEqualFold(args[i], "storedist")) && i+1 < len(args) {
			at = i + 1
			i++
		}
	}
	return at
}

// cEqualFold reports whether b equals lower in any letter case as C's
// strcasecmp sees an argument: up to its first NUL byte.
func cEqualFold(b []byte, lower string) bool {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return ascii.EqualFold(b, lower)
}

// cFloat formats f as C's printf "%f" does.
func cFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', 6, 64)
}

// parseLonLat parses a longitude and a latitude as Redis's
// extractLongLatOrReply does, replying with its error.
func parseLonLat(c *Ctx, lonArg, latArg []byte) (lon, lat float64, ok bool) {
	if lon, ok = parseScore(lonArg); !ok {
		c.W.AppendError(strErrNotFloat)
		return 0, 0, false
	}
	if lat, ok = parseScore(latArg); !ok {
		c.W.AppendError(strErrNotFloat)
		return 0, 0, false
	}
	if !geo.Valid(lon, lat) {
		c.W.AppendError("ERR invalid longitude,latitude pair " + cFloat(lon) + "," + cFloat(lat))
		return 0, 0, false
	}
	return lon, lat, true
}

// parseUnit returns the meters in one of unit, replying with Redis's
// error for an unknown one.
func parseUnit(c *Ctx, unit []byte) (float64, bool) {
	switch {
	case cEqualFold(unit, "m"):
		return 1, true
	case cEqualFold(unit, "km"):
		return 1000, true
	case cEqualFold(unit, "ft"):
		return 0.3048, true
	case cEqualFold(unit, "mi"):
		return 1609.34, true
	}
	c.W.AppendError(geoErrUnit)
	return 0, false
}

// parseDouble parses a number as Redis's getDoubleFromObjectOrReply,
// replying "ERR " and msg when it is not one.
func parseDouble(c *Ctx, b []byte, msg string) (float64, bool) {
	f, ok := parseScore(b)
	if !ok {
		c.W.AppendError("ERR " + msg)
	}
	return f, ok
}

// appendDistance replies with a distance as Redis does: a bulk string with
// four decimals, in both protocols.
func appendDistance(c *Ctx, d float64) {
	var buf [32]byte
	c.W.AppendBulk(strconv.AppendFloat(buf[:0], d, 'f', 4, 64))
}

// appendCoord replies with a coordinate as Redis's addReplyHumanLongDouble:
// seventeen decimals without the trailing zeros, a bulk string in RESP2
// and a double in RESP3.
func appendCoord(c *Ctx, f float64) {
	var buf [64]byte
	b := strconv.AppendFloat(buf[:0], f, 'f', 17, 64)
	if bytes.IndexByte(b, '.') >= 0 {
		b = bytes.TrimRight(b, "0")
		b = bytes.TrimSuffix(b, []byte("."))
	}
	if string(b) == "-0" {
		b = b[1:]
	}
	if c.W.Proto() > 2 {
		c.W.AppendRaw([]byte{','})
		c.W.AppendRaw(b)
		c.W.AppendRaw([]byte("\r\n"))
		return
	}
	c.W.AppendBulk(b)
}

// geoaddCommand implements GEOADD key [NX|XX] [CH] lon lat member… as
// Redis does: the options, the count of arguments, every coordinate, then
// ZADD with the members' geohashes as scores.
func geoaddCommand(c *Ctx, args [][]byte) {
	first := 2
	nx, xx := false, false
options:
	for ; first < len(args); first++ {
		switch a := args[first]; {
		case cEqualFold(a, "nx"):
			nx = true
		case cEqualFold(a, "xx"):
			xx = true
		case cEqualFold(a, "ch"):
		default:
			break options
		}
	}
	if (len(args)-first)%3 != 0 || nx && xx {
		c.W.AppendError(strErrSyntax)
		return
	}
	zargs := make([][]byte, 0, first+(len(args)-first)/3*2)
	zargs = append(zargs, []byte("zadd"))
	zargs = append(zargs, args[1:first]...)
	for i := first; i < len(args); i += 3 {
		lon, lat, ok := parseLonLat(c, args[i], args[i+1])
		if !ok {
			return
		}
		zargs = append(zargs, strconv.AppendUint(nil, geo.Score(lon, lat), 10), args[i+2])
	}
	zaddCommand(c, zargs)
}

// geodistCommand implements GEODIST key member1 member2 [unit].
func geodistCommand(c *Ctx, args [][]byte) {
	toMeters := 1.0
	switch {
	case len(args) == 5:
		var ok bool
		if toMeters, ok = parseUnit(c, args[4]); !ok {
			return
		}
	case len(args) > 5:
		c.W.AppendError(strErrSyntax)
		return
	}
	z, wrong := readZSet(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	if z == nil {
		c.W.AppendNull()
		return
	}
	s1, ok1 := z.Score(args[2])
	s2, ok2 := z.Score(args[3])
	if !ok1 || !ok2 {
		c.W.AppendNull()
		return
	}
	lon1, lat1 := geo.DecodeScore(s1)
	lon2, lat2 := geo.DecodeScore(s2)
	appendDistance(c, geo.Distance(lon1, lat1, lon2, lat2)/toMeters)
}

// geohashCommand implements GEOHASH key member…: the standard 11-character
// geohash of each member, nil for one that is missing.
func geohashCommand(c *Ctx, args [][]byte) {
	z, wrong := readZSet(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	c.W.AppendArray(len(args) - 2)
	for _, m := range args[2:] {
		var s float64
		ok := false
		if z != nil {
			s, ok = z.Score(m)
		}
		if !ok {
			c.W.AppendNull()
			continue
		}
		c.W.AppendBulkString(geo.String(s))
	}
}

// geoposCommand implements GEOPOS key member…: each member's longitude and
// latitude, a nil array for one that is missing.
func geoposCommand(c *Ctx, args [][]byte) {
	z, wrong := readZSet(c, c.DB(args[1]), args[1])
	if wrong {
		return
	}
	c.W.AppendArray(len(args) - 2)
	for _, m := range args[2:] {
		var s float64
		ok := false
		if z != nil {
			s, ok = z.Score(m)
		}
		if !ok {
			c.W.AppendNullArray()
			continue
		}
		lon, lat := geo.DecodeScore(s)
		c.W.AppendArray(2)
		appendCoord(c, lon)
		appendCoord(c, lat)
	}
}

// Kinds of geo search, as Redis's georadiusGeneric tells them apart.
const (
	geoRadiusCoords = 1 << iota // GEORADIUS: lon lat radius unit
	geoRadiusMember             // GEORADIUSBYMEMBER: member radius unit
	geoNoStore                  // the _RO forms
	geoSearch                   // GEOSEARCH: FROM… and BY… options
	geoSearchStore              // GEOSEARCHSTORE: a destination first
)

func georadiusCommand(c *Ctx, args [][]byte) { geoSearchGeneric(c, args, 1, geoRadiusCoords) }
func georadiusbymemberCommand(c *Ctx, args [][]byte) {
	geoSearchGeneric(c, args, 1, geoRadiusMember)
}
func georadiusROCommand(c *Ctx, args [][]byte) {
	geoSearchGeneric(c, args, 1, geoRadiusCoords|geoNoStore)
}
func georadiusbymemberROCommand(c *Ctx, args [][]byte) {
	geoSearchGeneric(c, args, 1, geoRadiusMember|geoNoStore)
}
func geosearchCommand(c *Ctx, args [][]byte) { geoSearchGeneric(c, args, 1, geoSearch) }
func geosearchstoreCommand(c *Ctx, args [][]byte) {
	geoSearchGeneric(c, args, 2, geoSearch|geoSearchStore)
}

// geoPoint is a member found by a search.
type geoPoint struct {
	member         []byte
	lon, lat, dist float64
	score          float64
}

// memberPoint returns the point of member in z.
func memberPoint(z *object.ZSet, member []byte) (lon, lat float64, ok bool) {
	s, ok := z.Score(member)
	if !ok {
		return 0, 0, false
	}
	lon, lat = geo.DecodeScore(s)
	return lon, lat, true
}

// geoSearchRequest is a parsed search.
type geoSearchRequest struct {
	shape                         geo.Shape
	withDist, withHash, withCoord bool
	sort                          int // 0 none, 1 ascending, -1 descending
	any                           bool
	count                         int64 // 0: no limit
	store                         []byte
	storeEvent                    string // the event of storing (see storeEvent)
	storeDist                     bool
}

// storeEvent names the event of a search that stores its result.
func storeEvent(flags int) string {
	if flags&geoSearchStore != 0 {
		return "geosearchstore"
	}
	return "georadiusstore"
}

// geoSearchGeneric implements the searches as Redis's georadiusGeneric:
// src is the index of the source key. Its order of checks is Redis's: the
// source key's type, the center and radius of the GEORADIUS forms, each
// option in turn, then the options that exclude each other.
func geoSearchGeneric(c *Ctx, args [][]byte, src int, flags int) {
	key := args[src]
	var r geoSearchRequest
	if flags&geoSearchStore != 0 {
		r.store = args[1]
		r.storeEvent = storeEvent(flags)
		c.DB(key).Exists(key)
		c.DB(r.store).Exists(r.store)
	} else if flags&(geoRadiusCoords|geoRadiusMember) != 0 && flags&geoNoStore == 0 {
		if k := georadiusStoreKey(args); k >= 0 && c.Holds(args[k]) {
			c.DB(key).Exists(key)
			c.DB(args[k]).Exists(args[k])
		}
	}
	z, wrong := readZSet(c, c.DB(key), key)
	if wrong {
		return
	}
	base := 0
	switch {
	case flags&geoRadiusCoords != 0:
		base = 6
		lon, lat, ok := parseLonLat(c, args[2], args[3])
		if !ok {
			return
		}
		r.shape.Lon, r.shape.Lat = lon, lat
		if !parseRadius(c, args[4:6], &r.shape) {
			return
		}
	case flags&geoRadiusMember != 0:
		base = 5
		if z != nil {
			lon, lat, ok := memberPoint(z, args[2])
			if !ok {
				c.W.AppendError(geoErrMember)
				return
			}
			r.shape.Lon, r.shape.Lat = lon, lat
			if !parseRadius(c, args[3:5], &r.shape) {
				return
			}
		}
	default:
		base = src + 1
	}
	fromMember, fromLonLat, byRadius, byBox := false, false, false, false
	search := flags&geoSearch != 0
	for i := base; i < len(args); i++ {
		a, left := args[i], len(args)-i-1
		switch {
		case cEqualFold(a, "withdist"):
			r.withDist = true
		case cEqualFold(a, "withhash"):
			r.withHash = true
		case cEqualFold(a, "withcoord"):
			r.withCoord = true
		case cEqualFold(a, "any"):
			r.any = true
		case cEqualFold(a, "asc"):
			r.sort = 1
		case cEqualFold(a, "desc"):
			r.sort = -1
		case cEqualFold(a, "count") && left >= 1:
			n, ok := resp.ParseInt(args[i+1])
			if !ok {
				c.W.AppendError(strErrNotInt)
				return
			}
			if n <= 0 {
				c.W.AppendError("ERR COUNT must be > 0")
				return
			}
			r.count = n
			i++
		case (cEqualFold(a, "store") || cEqualFold(a, "storedist")) && left >= 1 && flags&(geoNoStore|geoSearch) == 0:
			r.store, r.storeEvent = args[i+1], storeEvent(flags)
			r.storeDist = cEqualFold(a, "storedist")
			i++
		case cEqualFold(a, "storedist") && flags&geoSearchStore != 0:
			r.storeDist = true
		case cEqualFold(a, "frommember") && left >= 1 && search && !fromLonLat:
			if z != nil {
				lon, lat, ok := memberPoint(z, args[i+1])
				if !ok {
					c.W.AppendError(geoErrMember)
					return
				}
				r.shape.Lon, r.shape.Lat = lon, lat
			}
			fromMember = true
			i++
		case cEqualFold(a, "fromlonlat") && left >= 2 && search && !fromMember:
			lon, lat, ok := parseLonLat(c, args[i+1], args[i+2])
			if !ok {
				return
			}
			r.shape.Lon, r.shape.Lat = lon, lat
			fromLonLat = true
			i += 2
		case cEqualFold(a, "byradius") && left >= 2 && search && !byBox:
			if !parseRadius(c, args[i+1:i+3], &r.shape) {
				return
			}
			byRadius = true
			i += 2
		case cEqualFold(a, "bybox") && left >= 3 && search && !byRadius:
			if !parseBox(c, args[i+1:i+4], &r.shape) {
				return
			}
			byBox = true
			i += 3
		default:
			c.W.AppendError(strErrSyntax)
			return
		}
	}
	if r.store != nil && (r.withDist || r.withHash || r.withCoord) {
		what := "STORE option in GEORADIUS"
		if flags&geoSearchStore != 0 {
			what = "GEOSEARCHSTORE"
		}
		c.W.AppendError("ERR " + what + " is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
		return
	}
	if search && !fromMember && !fromLonLat {
		c.W.AppendError("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " + string(args[0]))
		return
	}
	if search && !byRadius && !byBox {
		c.W.AppendError("ERR exactly one of BYRADIUS and BYBOX can be specified for " + string(args[0]))
		return
	}
	if r.any && r.count == 0 {
		c.W.AppendError("ERR the ANY argument requires COUNT argument")
		return
	}
	if r.store != nil && !c.Holds(r.store) {
		// Only a store key that georadiusKeys did not find gets here,
		// which Redis's parsing never gives: refuse rather than touch
		// a shard that is not held.
		c.W.AppendError(strErrSyntax)
		return
	}
	if z == nil {
		if r.store != nil {
			storeZSet(c, r.store, nil, "")
		} else {
			c.W.AppendArray(0)
		}
		return
	}
	r.run(c, z)
}

// parseRadius parses "radius unit" into s as Redis's
// extractDistanceOrReply, replying with its errors.
func parseRadius(c *Ctx, args [][]byte, s *geo.Shape) bool {
	d, ok := parseDouble(c, args[0], "need numeric radius")
	if !ok {
		return false
	}
	if d < 0 {
		c.W.AppendError("ERR radius cannot be negative")
		return false
	}
	conv, ok := parseUnit(c, args[1])
	if !ok {
		return false
	}
	s.Box, s.Radius, s.Conversion = false, d, conv
	return true
}

// parseBox parses "width height unit" into s as Redis's
// extractBoxOrReply, replying with its errors.
func parseBox(c *Ctx, args [][]byte, s *geo.Shape) bool {
	w, ok := parseDouble(c, args[0], "need numeric width")
	if !ok {
		return false
	}
	h, ok := parseDouble(c, args[1], "need numeric height")
	if !ok {
		return false
	}
	if h < 0 || w < 0 {
		c.W.AppendError("ERR height or width cannot be negative")
		return false
	}
	conv, ok := parseUnit(c, args[2])
	if !ok {
		return false
	}
	s.Box, s.Width, s.Height, s.Conversion = true, w, h, conv
	return true
}

// find returns the members of z in the shape, in the order Redis finds
// them: cell by cell (see geo.Shape.Cells), each in score order, stopping
// at limit members when limit > 0.
func (r *geoSearchRequest) find(z *object.ZSet, limit int) []geoPoint {
	cells := r.shape.Cells()
	var pts []geoPoint
	full := func() bool { return limit > 0 && len(pts) >= limit }
	last := 0
	for i, h := range cells {
		if h.IsZero() {
			continue
		}
		// Very large shapes give the same cell twice in a row. (As in
		// Redis, the cell of the center is never compared.)
		if last != 0 && h == cells[last] {
			continue
		}
		if full() {
			break
		}
		lo, hi := h.ScoreRange()
		min, max := float64(lo), float64(hi)
		first := z.Count(func(_ []byte, s float64) bool { return s >= min })
		z.Ascend(first, func(m []byte, s float64) bool {
			if s >= max {
				return false
			}
			lon, lat := geo.DecodeScore(s)
			if d, ok := r.shape.Contains(lon, lat); ok {
				pts = append(pts, geoPoint{member: bytes.Clone(m), lon: lon, lat: lat, dist: d, score: s})
			}
			return !full()
		})
		last = i
	}
	return pts
}

// run searches z and replies, or stores the result.
func (r *geoSearchRequest) run(c *Ctx, z *object.ZSet) {
	// COUNT without ANY returns the nearest members.
	if r.count != 0 && r.sort == 0 && !r.any {
		r.sort = 1
	}
	limit := 0
	if r.any {
		limit = int(min(r.count, math.MaxInt32))
	}
	pts := r.find(z, limit)
	if len(pts) == 0 && r.store == nil {
		c.W.AppendArray(0)
		return
	}
	switch r.sort {
	case 1:
		slices.SortStableFunc(pts, func(a, b geoPoint) int { return cmpDist(a.dist, b.dist) })
	case -1:
		slices.SortStableFunc(pts, func(a, b geoPoint) int { return cmpDist(b.dist, a.dist) })
	}
	if r.count > 0 && int64(len(pts)) > r.count {
		pts = pts[:r.count]
	}
	conv := r.shape.Conversion
	if r.store != nil {
		maxLen := 0
		for _, p := range pts {
			maxLen = max(maxLen, len(p.member))
		}
		out := object.NewZSetFor(len(pts), maxLen)
		for _, p := range pts {
			s := p.score
			if r.storeDist {
				s = p.dist / conv
			}
			out.Set(p.member, s)
		}
		storeZSet(c, r.store, out, r.storeEvent)
		return
	}
	opts := 0
	for _, on := range []bool{r.withDist, r.withHash, r.withCoord} {
		if on {
			opts++
		}
	}
	c.W.AppendArray(len(pts))
	for _, p := range pts {
		if opts > 0 {
			c.W.AppendArray(opts + 1)
		}
		c.W.AppendBulk(p.member)
		if r.withDist {
			appendDistance(c, p.dist/conv)
		}
		if r.withHash {
			c.W.AppendInt(int64(scoreInt(p.score)))
		}
		if r.withCoord {
			c.W.AppendArray(2)
			appendCoord(c, p.lon)
			appendCoord(c, p.lat)
		}
	}
}

// cmpDist orders distances as Redis's sort_gp_asc.
func cmpDist(a, b float64) int {
	switch {
	case a > b:
		return 1
	case a == b:
		return 0
	}
	return -1
}

// scoreInt converts a score to an integer as Redis's addReplyLongLong of
// a double does (C's conversion, truncating).
func scoreInt(s float64) int64 {
	if s != s || s >= 1<<63 || s < -(1<<63) {
		return math.MinInt64
	}
	return int64(s)
}
