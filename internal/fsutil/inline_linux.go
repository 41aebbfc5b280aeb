package fsutil

import (
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Datasync hands the fdatasync to the ring so that the other goroutines
// run while the disk works. For the fdatasync of a group commit under
// --fsync always that is the wrong trade: every writing client waits for
// it, the goroutines that would run meanwhile mostly take requests that
// must wait for the next one, and the completion comes back through the
// ring's eventfd and the netpoller, a round of goroutine switches later.
// Redis makes that fdatasync on its event loop's thread, after it has
// read every ready client, and its rounds carry nearly twice as many
// requests. DatasyncInline does the same: it makes the fdatasync(2) as a
// raw system call on the calling goroutine, keeping the P for the
// 0.2-0.5 ms the disk takes here. After one slower than 5 ms (a busy
// or failing disk) it goes through Datasync for a second, so that the P is
// held by one slow fdatasync at most in that time (quickSyncs).
var (
	// quickSyncs: an inline fdatasync slower than 5 ms, about twenty
	// times this disk's usual, sends the next second's through the ring.
	quickSyncs = quick{slow: 5 * time.Millisecond, off: time.Second}
	// inlineSyncs counts the fdatasyncs made inline, for tests.
	inlineSyncs atomic.Int64
)

// DatasyncInline is Datasync for an fdatasync that every waiting request
// needs (see above): while those are quick it keeps the calling
// goroutine's P until the disk has answered, as Redis's event loop keeps
// its thread. SyncsInline tells whether the next call will.
func DatasyncInline(f *os.File) error {
	if !SyncsInline() {
		return Datasync(f)
	}
	return DatasyncHeld(f)
}

// DatasyncHeld is DatasyncInline without the way out: it keeps the
// calling goroutine's P until the disk has answered, however slow the disk
// was lately, for a caller that has nothing else to run meanwhile and
// whose parking would cost more (the server's io_uring loop: a goroutine
// locked to its thread, whose every park hands its P to another thread
// and wakes it back). A slow one still sends DatasyncInline's calls of
// the next second through the ring.
func DatasyncHeld(f *os.File) error {
	start := time.Since(epoch)
	if err := injectFaults(holdP); err != nil {
		quickSyncs.took(start)
		return err
	}
	fd := f.Fd()
	if fd == ^uintptr(0) {
		return closed("fdatasync", f)
	}
	inlineSyncs.Add(1)
	var e syscall.Errno
	for {
		_, _, e = syscall.RawSyscall(syscall.SYS_FDATASYNC, fd, 0, 0)
		if e != syscall.EINTR {
			break
		}
	}
	runtime.KeepAlive(f)
	quickSyncs.took(start)
	if e != 0 {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: e}
	}
	return nil
}

// holdP waits d with nanosleep(2) made as a raw system call: the P stays
// with the caller, as during an inline fdatasync (an injected delay).
func holdP(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for {
		var rem syscall.Timespec
		_, _, e := syscall.RawSyscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), uintptr(unsafe.Pointer(&rem)), 0)
		if e != syscall.EINTR {
			return
		}
		ts = rem
	}
}

// SyncsInline reports whether DatasyncInline's next fdatasync will keep
// its P: no slow one lately. A caller about to hold the P can first let
// the goroutines that are ready run (runtime.Gosched), so that their
// records share the fdatasync.
func SyncsInline() bool { return quickSyncs.on() }
