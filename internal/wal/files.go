package wal

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/data-cluster/data-cluster/internal/fsutil"
)

const (
	manifestName = "MANIFEST"
	lockName     = "LOCK"
	logExt       = ".log"
	snapExt      = ".snap"
	tmpExt       = ".tmp"
	corruptExt   = ".corrupt"
)

func genDir(dir string, gen uint64) string {
	return filepath.Join(dir, "gen-"+strconv.FormatUint(gen, 10))
}

// logDir is the directory of generation gen's journal.
func logDir(dir string, gen uint64) string { return filepath.Join(genDir(dir, gen), "log") }

func shardDir(dir string, gen uint64, shard int) string {
	return filepath.Join(genDir(dir, gen), "shard-"+strconv.Itoa(shard))
}

func segName(seq uint64, ext string) string { return fmt.Sprintf("%012d%s", seq, ext) }

// manifestVersion is the version of MANIFEST, and of the layout of its
// generation, that Open writes: 2, a journal shared by the shards. Version 1
// (a log per shard) is read, to upgrade it (upgrade.go).
const manifestVersion = 2

// manifest is the content of MANIFEST.
type manifest struct {
	version int
	gen     uint64
	shards  int
	vnodes  int
}

func (m manifest) encode() []byte {
	body := fmt.Sprintf("data-cluster %d\ngeneration %d\nshards %d\nvnodes %d\n", m.version, m.gen, m.shards, m.vnodes)
	return fmt.Appendf(nil, "%scrc32c %08x\n", body, crc32.Checksum([]byte(body), castagnoli))
}

func parseManifest(b []byte) (manifest, error) {
	var m manifest
	s := string(b)
	i := strings.LastIndex(strings.TrimSuffix(s, "\n"), "\n")
	if i < 0 {
		return m, errors.New("too short")
	}
	body := s[:i+1]
	var sum uint32
	if _, err := fmt.Sscanf(s[i+1:], "crc32c %08x\n", &sum); err != nil || sum != crc32.Checksum([]byte(body), castagnoli) {
		return m, errors.New("checksum mismatch")
	}
	if _, err := fmt.Sscanf(body, "data-cluster %d\ngeneration %d\nshards %d\nvnodes %d\n", &m.version, &m.gen, &m.shards, &m.vnodes); err != nil {
		return m, fmt.Errorf("bad content: %v", err)
	}
	if m.version < 1 || m.version > manifestVersion {
		return m, fmt.Errorf("unknown version %d", m.version)
	}
	if m.gen == 0 || m.shards < 1 || m.vnodes < 1 {
		return m, errors.New("bad content")
	}
	return m, nil
}

// readManifest reads DIR/MANIFEST; ok is false when there is none.
func readManifest(dir string) (m manifest, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	m, err = parseManifest(b)
	if err != nil {
		return m, false, &CorruptError{Path: filepath.Join(dir, manifestName), Reason: err.Error()}
	}
	return m, true, nil
}

// writeManifest replaces DIR/MANIFEST atomically.
func writeManifest(dir string, m manifest) error {
	return fsutil.WriteFileAtomic(filepath.Join(dir, manifestName), m.encode())
}

// shardFiles lists one shard directory.
type shardFiles struct {
	dir   string
	snaps []uint64 // ascending
	logs  []uint64 // ascending
	tmps  []string // leftovers of interrupted writes
}

func listShard(dir string) (shardFiles, error) {
	sf := shardFiles{dir: dir}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return sf, err
	}
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, tmpExt):
			sf.tmps = append(sf.tmps, name)
		case strings.HasSuffix(name, logExt):
			if n, err := strconv.ParseUint(strings.TrimSuffix(name, logExt), 10, 64); err == nil {
				sf.logs = append(sf.logs, n)
			}
		case strings.HasSuffix(name, snapExt):
			if n, err := strconv.ParseUint(strings.TrimSuffix(name, snapExt), 10, 64); err == nil {
				sf.snaps = append(sf.snaps, n)
			}
		}
	}
	slices.Sort(sf.snaps)
	slices.Sort(sf.logs)
	return sf, nil
}

func (sf shardFiles) path(seq uint64, ext string) string {
	return filepath.Join(sf.dir, segName(seq, ext))
}

// plan returns the log segments recovery reads, those from first on (the
// segment of the snapshot it starts from, or 1), which must be consecutive
// from first.
func (sf shardFiles) plan(first uint64) ([]uint64, error) {
	var logs []uint64
	for _, n := range sf.logs {
		if n >= first {
			logs = append(logs, n)
		}
	}
	if len(logs) == 0 || logs[0] != first {
		return nil, &CorruptError{Path: sf.path(first, logExt), Offset: -1, Reason: "log segment missing"}
	}
	for i := 1; i < len(logs); i++ {
		if logs[i] != logs[i-1]+1 {
			return nil, &CorruptError{Path: sf.path(logs[i-1]+1, logExt), Offset: -1, Reason: "log segment missing"}
		}
	}
	return logs, nil
}

// copyOut saves the bytes of path from off on into a new .corrupt file
// beside it and returns its name.
func copyOut(path string, off int64) (string, error) {
	src, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer src.Close()
	if _, err := src.Seek(off, 0); err != nil {
		return "", err
	}
	dst, name, err := createFree(path + corruptExt)
	if err != nil {
		return "", err
	}
	if _, err := dst.ReadFrom(src); err != nil {
		dst.Close()
		return "", err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return "", err
	}
	return name, dst.Close()
}

// createFree creates name, or name.1, name.2 … if it exists.
func createFree(name string) (*os.File, string, error) {
	for i := 0; ; i++ {
		p := name
		if i > 0 {
			p = name + "." + strconv.Itoa(i)
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) && i < 1000 {
			continue
		}
		return f, p, err
	}
}

// lockFile takes the exclusive lock of f, which lasts until f is closed;
// ErrLocked if another open file holds it.
func lockFile(f *os.File) error {
	err := fsutil.Lock(f)
	if errors.Is(err, fsutil.ErrLocked) {
		return ErrLocked
	}
	return err
}

// Shape returns the number of shards and of virtual nodes per shard that
// the data in dir was written with; ok is false when dir holds none. Open
// with a ring of that shape loads each shard's keys into its own engine,
// without rewriting the directory for a new topology.
func Shape(dir string) (shards, vnodes int, ok bool, err error) {
	m, ok, err := readManifest(dir)
	return m.shards, m.vnodes, ok, err
}
