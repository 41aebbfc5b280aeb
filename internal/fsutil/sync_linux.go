package fsutil

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// Datasync flushes f's data, and the metadata needed to read it back, to
// stable storage. It is safe for concurrent use. On Linux the fdatasync
// runs through an io_uring when the kernel allows it, so that the calling
// goroutine waits without holding a P (see uring_linux.go); otherwise it
// is a plain fdatasync.
func Datasync(f *os.File) error {
	var err [1]error
	DatasyncAll([]*os.File{f}, err[:])
	return err[0]
}

// DatasyncAll flushes each of files as Datasync does, all at the same
// time: through the io_uring, every fdatasync is submitted before it waits
// for the first, so that the kernel runs them together (and a journaling
// file system commits them at once). errs[i] receives the result for
// files[i]; errs is at least as long as files. It is safe for concurrent
// use.
func DatasyncAll(files []*os.File, errs []error) {
	r := getRing()
	var buf [8]<-chan int32
	done := buf[:0] // done[i]: where files[i]'s result arrives; nil once known
	waited := 0     // results received: done[:waited] are nil
	wait := func() {
		for ; waited < len(done); waited++ {
			if ch := done[waited]; ch != nil {
				if res := <-ch; res < 0 {
					errs[waited] = syscall.Errno(-res)
				}
				done[waited] = nil
				r.slots <- struct{}{} // give the slot back (see start)
			}
		}
	}
	for i, f := range files {
		errs[i] = nil
		if errs[i] = injectFaults(time.Sleep); errs[i] != nil {
			done = append(done, nil)
			continue
		}
		if r == nil {
			errs[i] = fdatasync(f)
			done = append(done, nil)
			continue
		}
		select {
		case <-r.slots:
		default:
			// Every slot is taken: give back ours before waiting for
			// another, so that callers never wait for each other.
			wait()
			<-r.slots
		}
		ch, err := r.start(f, uringSQE{opcode: ioringOpFsync, opFlags: ioringFsyncDatasync})
		if errors.Is(err, errRefused) {
			err = fdatasync(f)
		}
		errs[i] = err
		done = append(done, ch)
	}
	if r != nil {
		wait()
	}
}

// fdatasync calls fdatasync(2) on f, retrying when interrupted.
func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return closed("fdatasync", f)
	}
	return serr
}

// closed returns the error of op on f once f is closed: a raw connection's
// Control fails only then, with an error of its own that os.ErrClosed does
// not match (os.File's methods translate it).
func closed(op string, f *os.File) error {
	return &os.PathError{Op: op, Path: f.Name(), Err: os.ErrClosed}
}
