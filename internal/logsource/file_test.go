package logsource

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// collector records the lines a source hands on, copying them as a real
// consumer must.
type collector struct {
	mu    sync.Mutex
	lines []Line
}

func (c *collector) emit(l Line) {
	l.Bytes = bytes.Clone(l.Bytes)
	c.mu.Lock()
	c.lines = append(c.lines, l)
	c.mu.Unlock()
}

func (c *collector) snapshot() []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

func (c *collector) texts() []string {
	var out []string
	for _, l := range c.snapshot() {
		out = append(out, string(l.Bytes))
	}
	return out
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testLogger logs through t, so a failing test shows what the source saw.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// testConfig is a config with short timings for tests.
func testConfig(t *testing.T, pattern string, poll bool) FileConfig {
	return FileConfig{
		Name:         "test",
		Pattern:      pattern,
		Start:        StartBeginning,
		Poll:         poll,
		PollInterval: 20 * time.Millisecond,
		RotateWait:   time.Second,
		PartialFlush: time.Second,
		SaveInterval: 50 * time.Millisecond,
		Logger:       testLogger(t),
	}
}

// start runs a file source until the returned stop is called (or the test
// ends).
func start(t *testing.T, cfg FileConfig) (*File, *collector, func()) {
	t.Helper()
	f, err := NewFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, c.emit) }()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
	})
	t.Cleanup(stop)
	return f, c, stop
}

// forModes runs a test with inotify and with polling.
func forModes(t *testing.T, test func(t *testing.T, poll bool)) {
	for _, mode := range []struct {
		name string
		poll bool
	}{{"inotify", false}, {"poll", true}} {
		t.Run(mode.name, func(t *testing.T) { test(t, mode.poll) })
	}
}

// logWriter appends numbered lines to a log file the way a daemon does: one
// write per line through a file it keeps open, reopened when told.
type logWriter struct {
	t    *testing.T
	path string
	mu   sync.Mutex
	f    *os.File
	n    int
}

func newLogWriter(t *testing.T, path string) *logWriter {
	w := &logWriter{t: t, path: path}
	w.reopen()
	t.Cleanup(func() { w.f.Close() })
	return w
}

func (w *logWriter) reopen() {
	if w.f != nil {
		w.f.Close()
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		w.t.Fatal(err)
	}
	w.f = f
}

func (w *logWriter) write(k int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for range k {
		if _, err := fmt.Fprintf(w.f, "line %06d\n", w.n); err != nil {
			w.t.Error(err)
		}
		w.n++
	}
}

// locked runs fn while no line is being written.
func (w *logWriter) locked(fn func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fn()
}

func (w *logWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// background writes a line every interval until the returned stop is
// called; stop returns how many lines were written in all.
func (w *logWriter) background(interval time.Duration) func() int {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				w.write(1)
			}
		}
	})
	return func() int {
		close(done)
		wg.Wait()
		return w.count()
	}
}

// checkNumbered checks that the numbered lines 0..n-1 were each seen
// exactly once, and nothing else.
func checkNumbered(t *testing.T, lines []string, n int) {
	t.Helper()
	seen := make([]int, n)
	for _, l := range lines {
		num, ok := strings.CutPrefix(l, "line ")
		k, err := strconv.Atoi(num)
		if !ok || err != nil || k < 0 || k >= n {
			t.Errorf("unexpected line %q", l)
			continue
		}
		seen[k]++
	}
	var lost, dup []int
	for k, c := range seen {
		switch {
		case c == 0:
			lost = append(lost, k)
		case c > 1:
			dup = append(dup, k)
		}
	}
	if len(lost) > 0 || len(dup) > 0 {
		t.Errorf("of %d lines, lost %d %v, seen more than once %d %v", n, len(lost), head(lost), len(dup), head(dup))
	}
}

func head(s []int) []int { return s[:min(len(s), 10)] }

// waitNumbered waits until n lines were seen, then checks them.
func waitNumbered(t *testing.T, c *collector, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for c.len() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// Give duplicates a chance to show.
	time.Sleep(100 * time.Millisecond)
	checkNumbered(t, c.texts(), n)
}

func TestFileAppend(t *testing.T) {
	forModes(t, func(t *testing.T, poll bool) {
		path := filepath.Join(t.TempDir(), "auth.log")
		w := newLogWriter(t, path)
		w.write(10)
		f, c, _ := start(t, testConfig(t, path, poll))
		waitFor(t, "backlog", func() bool { return c.len() == 10 })
		w.write(5)
		waitNumbered(t, c, 15)
		var backlog []bool
		for _, l := range c.snapshot() {
			backlog = append(backlog, l.Backlog)
			if l.Source != "test" || l.Path != path {
				t.Errorf("line source, path = %q, %q; want test, %q", l.Source, l.Path, path)
			}
		}
		want := slices.Concat(slices.Repeat([]bool{true}, 10), slices.Repeat([]bool{false}, 5))
		if diff := cmp.Diff(want, backlog); diff != "" {
			t.Errorf("Backlog flags (-want +got):\n%s", diff)
		}
		st := f.Status()
		if len(st) != 1 || st[0].State != StateReading || st[0].Lines != 15 || st[0].Offset != 15*12 {
			t.Errorf("Status() = %+v, want one file reading, 15 lines, offset 180", st)
		}
		wantMode := "inotify"
		if poll {
			wantMode = "poll"
		}
		if st[0].Mode != wantMode {
			t.Errorf("Status().Mode = %q, want %q", st[0].Mode, wantMode)
		}
	})
}

// TestFileGlob follows files that appear after start when they match the
// pattern, and only those.
func TestFileGlob(t *testing.T) {
	forModes(t, func(t *testing.T, poll bool) {
		dir := t.TempDir()
		write := func(name, s string) {
			t.Helper()
			f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteString(s); err != nil {
				t.Fatal(err)
			}
		}
		write("a.log", "a1\n")
		f, c, _ := start(t, testConfig(t, filepath.Join(dir, "*.log"), poll))
		waitFor(t, "a1", func() bool { return c.len() == 1 })
		write("b.log", "b1\nb2\n")
		write("c.txt", "not followed\n")
		write("d.log.gz", "\x1f\x8b compressed\n")
		write("a.log", "a2\n")
		waitFor(t, "4 lines", func() bool { return c.len() >= 4 })
		time.Sleep(100 * time.Millisecond)
		got := c.texts()
		slices.Sort(got)
		if diff := cmp.Diff([]string{"a1", "a2", "b1", "b2"}, got); diff != "" {
			t.Errorf("lines (-want +got):\n%s", diff)
		}
		var paths []string
		for _, s := range f.Status() {
			paths = append(paths, filepath.Base(s.Path))
		}
		if diff := cmp.Diff([]string{"a.log", "b.log"}, paths); diff != "" {
			t.Errorf("Status() paths (-want +got):\n%s", diff)
		}
	})
}

func TestFileLongLines(t *testing.T) {
	forModes(t, func(t *testing.T, poll bool) {
		path := filepath.Join(t.TempDir(), "flood.log")
		w := newLogWriter(t, path)
		cfg := testConfig(t, path, poll)
		cfg.MaxLineBytes = 1000
		f, c, _ := start(t, cfg)
		huge := bytes.Repeat([]byte("A"), 1<<20)
		w.locked(func() {
			w.f.WriteString("before\n")
			for range 3 {
				w.f.Write(huge)
			}
			w.f.WriteString("\n\x00\xff after\n")
		})
		waitFor(t, "3 lines", func() bool { return c.len() == 3 })
		var got []gotLine
		for _, l := range c.snapshot() {
			got = append(got, gotLine{string(l.Bytes), l.Offset, l.Truncated})
		}
		want := []gotLine{{"before", 0, false}, {string(huge[:1000]), 7, true}, {"\x00\xff after", 7 + 3<<20 + 1, false}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("lines (-want +got):\n%s", diff)
		}
		if st := f.Status(); len(st) != 1 || st[0].TruncatedLines != 1 {
			t.Errorf("Status() = %+v, want 1 truncated line", st)
		}
	})
}

// TestFileStartModes starts without a saved position.
func TestFileStartModes(t *testing.T) {
	now := time.Now()
	var b strings.Builder
	for m := 600; m > 0; m-- {
		ts := now.Add(-time.Duration(m)*time.Minute - 30*time.Second)
		fmt.Fprintf(&b, "%s %s\n", ts.UTC().Format(time.RFC3339), strings.Repeat("x", 200))
		if m%7 == 0 {
			b.WriteString("  a continuation line without a time\n")
		}
	}
	timeOf := func(l []byte) (time.Time, bool) {
		if len(l) < 20 {
			return time.Time{}, false
		}
		t, err := time.Parse(time.RFC3339, string(l[:20]))
		return t, err == nil
	}
	tests := []struct {
		name      string
		start     StartMode
		findTime  time.Duration
		timeOf    func([]byte) (time.Time, bool)
		wantLines int // of the backlog
	}{
		{"beginning", StartBeginning, 0, nil, 600 + 600/7},
		{"end", StartEnd, 0, nil, 0},
		{"findtime", StartFindTime, 10 * time.Minute, timeOf, 9 + 1},
		{"findtime without time function starts at the end", StartFindTime, 10 * time.Minute, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "auth.log")
			if err := os.WriteFile(path, []byte(b.String()), 0o640); err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(t, path, false)
			cfg.Start, cfg.FindTime, cfg.TimeOf = tt.start, tt.findTime, tt.timeOf
			_, c, _ := start(t, cfg)
			w := newLogWriter(t, path)
			time.Sleep(50 * time.Millisecond)
			w.write(1)
			waitFor(t, "the live line", func() bool { return slices.Contains(c.texts(), "line 000000") })
			if got := c.len() - 1; got != tt.wantLines {
				t.Errorf("read %d backlog lines, want %d", got, tt.wantLines)
			}
		})
	}
}

// TestFileMissing starts before the file exists, and with a path that
// cannot be read: both are reported and retried.
func TestFileMissing(t *testing.T) {
	forModes(t, func(t *testing.T, poll bool) {
		dir := t.TempDir()
		missing := filepath.Join(dir, "later.log")
		cfg := testConfig(t, missing, poll)
		cfg.RescanInterval = 50 * time.Millisecond
		f, c, _ := start(t, cfg)
		waitFor(t, "missing status", func() bool {
			st := f.Status()
			return len(st) == 1 && st[0].State == StateMissing && st[0].Path == missing
		})
		if err := os.WriteFile(missing, []byte("hello\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the line", func() bool { return c.len() == 1 })
		if st := f.Status(); len(st) != 1 || st[0].State != StateReading {
			t.Errorf("Status() = %+v, want reading", st)
		}

		// A symlink loop cannot be opened, even by root.
		loop := filepath.Join(dir, "loop.log")
		if err := os.Symlink(loop, loop); err != nil {
			t.Fatal(err)
		}
		cfg = testConfig(t, loop, poll)
		cfg.RescanInterval = 50 * time.Millisecond
		var errs atomic.Int32
		cfg.OnError = func() { errs.Add(1) }
		f, c, _ = start(t, cfg)
		waitFor(t, "error status", func() bool {
			st := f.Status()
			return len(st) == 1 && st[0].State == StateError && strings.Contains(st[0].Err, "too many levels")
		})
		time.Sleep(3 * cfg.RescanInterval) // retries of the same error
		if n := errs.Load(); n != 1 {
			t.Errorf("OnError called %d times for one unreadable path, want once", n)
		}
		if err := os.Remove(loop); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(loop, []byte("fixed\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the line", func() bool { return c.len() == 1 })
	})
}

// TestFileUnreadable makes a file unreadable by permissions; root reads
// anything, so this only runs as another user.
func TestFileUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root can read a file without permissions; TestFileMissing covers an unreadable path as root")
	}
	path := filepath.Join(t.TempDir(), "secret.log")
	if err := os.WriteFile(path, []byte("hidden\n"), 0); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, path, true)
	f, c, _ := start(t, cfg)
	waitFor(t, "error status", func() bool {
		st := f.Status()
		return len(st) == 1 && st[0].State == StateError
	})
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the line", func() bool { return c.len() == 1 })
}

// failingWatcher is an inotify that cannot watch anything.
type failingWatcher struct{ err error }

func (w failingWatcher) Add(string) error       { return w.err }
func (w failingWatcher) events() <-chan fsEvent { return nil }
func (w failingWatcher) errors() <-chan error   { return nil }
func (w failingWatcher) Close() error           { return nil }

// TestFileFallback falls back to polling when inotify cannot be set up.
func TestFileFallback(t *testing.T) {
	tests := []struct {
		name       string
		newWatcher func() (watcher, error)
	}{
		{"no inotify instance", func() (watcher, error) { return nil, fmt.Errorf("too many open files") }},
		{"watch limit reached", func() (watcher, error) {
			return failingWatcher{fmt.Errorf("add watch: no space left on device")}, nil
		}},
		{"events end", func() (watcher, error) {
			ev := make(chan fsEvent)
			close(ev)
			return silentWatcher{ev: ev}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "auth.log")
			w := newLogWriter(t, path)
			f, err := NewFile(testConfig(t, path, false))
			if err != nil {
				t.Fatal(err)
			}
			f.newWatcher = tt.newWatcher
			c := &collector{}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- f.Run(ctx, c.emit) }()
			defer func() { cancel(); <-done }()
			w.write(3)
			waitFor(t, "3 lines", func() bool { return c.len() == 3 })
			if st := f.Status(); len(st) != 1 || st[0].Mode != "poll" {
				t.Errorf("Status() = %+v, want mode poll", st)
			}
		})
	}
}

func TestNewFileErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  FileConfig
		want string
	}{
		{"no pattern", FileConfig{Name: "sshd"}, `logsource "sshd": no file pattern`},
		{"bad pattern", FileConfig{Name: "sshd", Pattern: "/var/log/[auth.log"}, `logsource "sshd": pattern "/var/log/[auth.log": syntax error in pattern`},
		{"bad start", FileConfig{Name: "sshd", Pattern: "/x", Start: 7}, `logsource "sshd": unknown start mode 7`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewFile(tt.cfg)
			if err == nil || err.Error() != tt.want {
				t.Errorf("NewFile() error = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestFileSymlink follows a log whose name is a symbolic link into another
// directory, and notices when the link is pointed at a new file.
func TestFileSymlink(t *testing.T) {
	forModes(t, func(t *testing.T, poll bool) {
		logDir, dataDir := t.TempDir(), t.TempDir()
		link := filepath.Join(logDir, "app.log")
		if err := os.Symlink(filepath.Join(dataDir, "current.log"), link); err != nil {
			t.Fatal(err)
		}
		w := newLogWriter(t, filepath.Join(dataDir, "current.log"))
		_, c, _ := start(t, testConfig(t, link, poll))
		time.Sleep(50 * time.Millisecond)
		w.write(3)
		waitFor(t, "3 lines", func() bool { return c.len() == 3 })
		// Point the link at a new file, as a deploy would.
		w2 := newLogWriter(t, filepath.Join(dataDir, "next.log"))
		w2.n = 3
		if err := os.Symlink(filepath.Join(dataDir, "next.log"), link+".tmp"); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(link+".tmp", link); err != nil {
			t.Fatal(err)
		}
		w.write(0)
		w2.write(2)
		waitNumbered(t, c, 5)
	})
}

func TestParseStartMode(t *testing.T) {
	tests := []struct {
		in      string
		want    StartMode
		wantErr bool
	}{
		{"", StartFindTime, false},
		{"findtime", StartFindTime, false},
		{"tail", StartEnd, false},
		{"end", StartEnd, false},
		{"head", StartBeginning, false},
		{"beginning", StartBeginning, false},
		{"middle", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseStartMode(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseStartMode(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil && tt.in != "" && tt.in != "tail" && tt.in != "head" && got.String() != tt.in {
			t.Errorf("StartMode(%d).String() = %q, want %q", got, got.String(), tt.in)
		}
	}
}

func TestRotatedSibling(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"auth.log.1", true},
		{"auth.log-20261124", true},
		{"auth.log_2026-11-24", true},
		{"auth.log-20261124.2", true},
		{"auth.log", false},
		{"auth.log.", false},
		{"auth.log.1.gz", false},
		{"auth.log-ssl.log", false},
		{"auth.logger", false},
		{"auth.log.old", false},
	}
	for _, tt := range tests {
		if got := rotatedSibling(tt.name, "auth.log"); got != tt.want {
			t.Errorf("rotatedSibling(%q, auth.log) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
