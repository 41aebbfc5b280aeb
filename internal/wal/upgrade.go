package wal

// A generation of MANIFEST version 1 has a log per shard, the layout before
// the journal:
//
//	DIR/gen-G/shard-I/N.snap  shard I's snapshot, taken from segment N on
//	DIR/gen-G/shard-I/N.log   shard I's log segment N
//
// each log segment starting with a header of kind 'L' naming its shard, and
// holding only that shard's records (no shard records). Open loads it as it
// was written and rewrites the directory as a new generation of the journal
// layout, as for a change of topology: nothing is written into the old
// generation, which is removed once MANIFEST names the new one.

// loadShards reads every shard of generation m.gen, of the previous layout,
// through lds, in parallel when parallel, and returns the bytes read.
func (st *Store) loadShards(m manifest, lds []loader, parallel bool) (int64, error) {
	bytes := make([]int64, m.shards)
	err := forShards(m.shards, parallel, func(i int) error {
		sf, err := listShardDir(st.cfg.Dir, m.gen, i)
		if err != nil {
			return err
		}
		first, size, err := loadSnapshot(sf, i, &lds[i])
		if err != nil {
			return err
		}
		if len(sf.snaps) == 0 {
			first = 1
		}
		seqs, err := sf.plan(first)
		if err != nil {
			return err
		}
		_, n, err := st.readSegments(sf, seqs, kindLog, i, false, func(_ uint64, rec *Record) { lds[i].apply(rec) })
		bytes[i] = size + n
		return err
	})
	var total int64
	for _, n := range bytes {
		total += n
	}
	return total, err
}
