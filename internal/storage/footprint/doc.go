// Package footprint measures what a storage engine costs the process that
// holds it: resident memory per key, garbage collection pauses and the
// latency of single writes while an engine fills up. It holds no code of its
// own; its benchmark runs each measurement in a fresh child process:
//
//	go test -run '^$' -bench Footprint -benchtime 1x ./internal/storage/footprint
//
// Each sub-benchmark fills one engine with 16-byte keys "key:%012d" and
// 16-byte values under one GC percent, then serves lookups and same-size
// overwrites of random keys for 3 seconds while a collection starts every
// 100 ms (or as soon as the last one ends), and reports:
//
//	RSS-B/key    resident set of the whole process after the fill, per key
//	floor-B/key  the same at the end, after a collection and returning free
//	             memory to the OS
//	heap-B/key   live heap after a collection, per key
//	GCs          collections during the fill
//	pauses, p50-pause-µs, p99-pause-µs, max-pause-µs
//	             stop-the-world pauses of every collection, during the fill
//	             and after (upper bounds of the runtime's histogram buckets)
//	GC-ms        wall time of a full collection while serving (the median)
//	GC-cpu-ms    CPU time of marking in a collection while serving (the
//	             average of the runtime's estimates: assists and dedicated
//	             workers, not idle ones)
//	objects      live heap objects after the fill, beyond those of an empty
//	             process
//	scan-MB      heap bytes the collector scans for pointers, likewise
//	p9999-set-µs, max-set-µs
//	             latency of single Set calls during the fill
//	p999-op-µs, max-op-µs
//	             latency of single Lookup or Set calls while serving
//	ns/key       fill time per key
//
// FOOTPRINT_KEYS and FOOTPRINT_GOGC, comma-separated lists, choose other key
// counts and GC percents than 1000000 and 100,50,25:
//
//	FOOTPRINT_KEYS=10000000 FOOTPRINT_GOGC=100,25 go test -run '^$' -bench Footprint -benchtime 1x -timeout 1h ./internal/storage/footprint
package footprint
