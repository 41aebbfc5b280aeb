package cluster

import (
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/data-cluster/data-cluster/internal/testutil"
)

// The in-process nodes and groups of these tests log through slog's
// default logger, a few hundred lines a test. They go to testLogs instead
// of the output, and a test that fails prints the last of its own lines
// under its failure (keepLogs), its warnings and errors first: a failing
// run's output then names the test next to its logs, instead of ending in
// other tests' lines.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(&testLogs, nil)))
	os.Exit(m.Run())
}

// keptLog is how many bytes of its logs a failing test prints.
const keptLog = 16 << 10

var (
	testLogs testutil.SyncBuffer // the lines logged since keepLogs last began a test's
	logsOf   testing.TB          // that test
)

// keepLogs starts t's lines afresh, and prints the last keptLog bytes of
// them if t fails. The helpers that start groups and nodes call it first,
// so that its cleanup runs last, after theirs stopped what they started.
// Tests run one at a time in this package: a test's lines are the lines
// logged while it runs.
func keepLogs(t testing.TB) {
	if logsOf == t {
		return // a test starting more nodes
	}
	testLogs.Reset()
	logsOf = t
	t.Cleanup(func() {
		if t.Failed() {
			l := testLogs.String()
			if w := warnings(l); w != "" {
				t.Logf("the last %d bytes of the nodes' warnings and errors:\n%s", min(len(w), keptLog), w[max(0, len(w)-keptLog):])
			}
			t.Logf("the last %d bytes the nodes logged:\n%s", min(len(l), keptLog), l[max(0, len(l)-keptLog):])
		}
	})
}

// warnings returns the lines of logs at level WARN or ERROR, which the
// many INFO lines of a long test (snapshots saved) would push out of the
// kept tail.
func warnings(logs string) string {
	var b strings.Builder
	for line := range strings.Lines(logs) {
		if strings.Contains(line, " level=WARN ") || strings.Contains(line, " level=ERROR ") {
			b.WriteString(line)
		}
	}
	return b.String()
}

func TestWarnings(t *testing.T) {
	logs := "time=1 level=INFO msg=\"snapshot saved\"\n" +
		"time=2 level=WARN msg=\"slot migration paused\"\n" +
		"time=3 level=INFO msg=x\n" +
		"time=4 level=ERROR msg=\"cannot write\"\n"
	want := "time=2 level=WARN msg=\"slot migration paused\"\ntime=4 level=ERROR msg=\"cannot write\"\n"
	if got := warnings(logs); got != want {
		t.Fatalf("warnings: got %q, want %q", got, want)
	}
}
