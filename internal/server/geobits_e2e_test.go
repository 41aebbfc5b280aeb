package server

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestGeoAndBitsOverTCP runs the geo and bit commands through a real
// connection and client, with their keys on different shards: a search
// stored from one shard into another, BITOP across shards, BITFIELD, and
// the stream commands' replies as a client library parses them.
func TestGeoAndBitsOverTCP(t *testing.T) {
	ts := start(t, func(c *Config) { c.Router.Shards = 4 })
	rc := newClient(t, ts, nil)
	defer rc.Close()
	ctx := context.Background()
	keys := keysOnShards(ts, "gb", 2)
	src, dst, other := keys[0][0], keys[1][0], keys[2][0]
	bits, bitsDst := keys[3][0], keys[0][1]

	if n, err := rc.GeoAdd(ctx, src, &redis.GeoLocation{Name: "Palermo", Longitude: 13.361389, Latitude: 38.115556},
		&redis.GeoLocation{Name: "Catania", Longitude: 15.087269, Latitude: 37.502669}).Result(); err != nil || n != 2 {
		t.Fatalf("GEOADD: %d %v", n, err)
	}
	if d, err := rc.GeoDist(ctx, src, "Palermo", "Catania", "km").Result(); err != nil || d != 166.2742 {
		t.Fatalf("GEODIST: %v %v, want 166.2742 (Redis's)", d, err)
	}
	n, err := rc.GeoSearchStore(ctx, src, dst, &redis.GeoSearchStoreQuery{GeoSearchQuery: redis.GeoSearchQuery{
		Longitude: 15, Latitude: 37, Radius: 200, RadiusUnit: "km", Sort: "ASC"}}).Result()
	if err != nil || n != 2 {
		t.Fatalf("GEOSEARCHSTORE across shards: %d %v", n, err)
	}
	if members, err := rc.ZRange(ctx, dst, 0, -1).Result(); err != nil || len(members) != 2 || members[0] != "Palermo" {
		t.Fatalf("the stored search: %q %v", members, err)
	}

	rc.SetBit(ctx, bits, 7, 1)
	rc.SetBit(ctx, other, 0, 1)
	if n, err := rc.BitOpOr(ctx, bitsDst, bits, other).Result(); err != nil || n != 1 {
		t.Fatalf("BITOP OR across shards: %d %v", n, err)
	}
	if v, err := rc.Get(ctx, bitsDst).Result(); err != nil || v != "\x81" {
		t.Fatalf("BITOP's result: %q %v", v, err)
	}
	vals, err := rc.BitField(ctx, other, "OVERFLOW", "SAT", "INCRBY", "u4", "4", "20", "GET", "u8", "0").Result()
	if err != nil || len(vals) != 2 || vals[0] != 15 || vals[1] != 0x8f {
		t.Fatalf("BITFIELD: %v %v", vals, err)
	}
	if n, err := rc.BitCount(ctx, bitsDst, nil).Result(); err != nil || n != 2 {
		t.Fatalf("BITCOUNT: %d %v", n, err)
	}

	id, err := rc.XAdd(ctx, &redis.XAddArgs{Stream: other + "s", ID: "1-1", Values: []string{"f", "v"}}).Result()
	if err != nil || id != "1-1" {
		t.Fatalf("XADD: %q %v", id, err)
	}
	info, err := rc.XInfoStream(ctx, other+"s").Result()
	if err != nil || info.Length != 1 || info.LastGeneratedID != "1-1" || info.FirstEntry.ID != "1-1" {
		t.Fatalf("XINFO STREAM through go-redis: %+v %v", info, err)
	}
}
