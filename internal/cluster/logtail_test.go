package cluster

import (
	"log/slog"
	"os"
	"sync"
	"testing"
)

// The in-process nodes and groups of these tests log through slog's
// default logger, a few hundred lines a test. They go to testLogs instead
// of the output, and a test that fails prints the last of its own lines
// under its failure (keepLogs): a failing run's output then names the
// test next to its logs, instead of ending in other tests' lines.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(&testLogs, nil)))
	os.Exit(m.Run())
}

// keptLog is how many bytes of its logs a failing test prints.
const keptLog = 16 << 10

var testLogs logTail

// logTail keeps the lines logged since the running test began, at most
// the last 2*keptLog bytes of them.
type logTail struct {
	mu  sync.Mutex
	buf []byte
	cur testing.TB // the test that called keepLogs last
}

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if len(l.buf) > 2*keptLog {
		l.buf = append(l.buf[:0], l.buf[len(l.buf)-keptLog:]...)
	}
	return len(p), nil
}

// keepLogs starts t's lines afresh, and prints the last keptLog bytes of
// them if t fails. The helpers that start groups and nodes call it first,
// so that its cleanup runs last, after theirs stopped what they started.
// Tests run one at a time in this package: a test's lines are the lines
// logged while it runs.
func keepLogs(t testing.TB) {
	testLogs.mu.Lock()
	defer testLogs.mu.Unlock()
	if testLogs.cur == t {
		return // a test starting more nodes
	}
	testLogs.buf, testLogs.cur = testLogs.buf[:0], t
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		testLogs.mu.Lock()
		defer testLogs.mu.Unlock()
		b := testLogs.buf[max(0, len(testLogs.buf)-keptLog):]
		t.Logf("the last %d bytes the nodes logged:\n%s", len(b), b)
	})
}
