package logsource

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestFileRenameRotate rotates the way logrotate's "create" does while a
// writer goes on: rename, create, and the writer reopens a little later
// (after its HUP), writing to the renamed file meanwhile.
func TestFileRenameRotate(t *testing.T) {
	forModes(t, func(t *testing.T, poll bool) {
		path := filepath.Join(t.TempDir(), "auth.log")
		w := newLogWriter(t, path)
		_, c, _ := start(t, testConfig(t, path, poll))
		stopWriting := w.background(200 * time.Microsecond)
		for i := range 4 {
			time.Sleep(150 * time.Millisecond)
			w.locked(func() {
				if err := os.Rename(path, fmt.Sprintf("%s.%d", path, i)); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, nil, 0o640); err != nil {
					t.Fatal(err)
				}
			})
			time.Sleep(10 * time.Millisecond) // lines go to the renamed file
			w.locked(w.reopen)
		}
		time.Sleep(100 * time.Millisecond)
		waitNumbered(t, c, stopWriting())
	})
}

// TestFileRenameWithinPattern rotates files that all match the pattern:
// a file keeps its position under its new name and is not read twice.
func TestFileRenameWithinPattern(t *testing.T) {
	forModes(t, func(t *testing.T, poll bool) {
		dir := t.TempDir()
		path := filepath.Join(dir, "app.log")
		w := newLogWriter(t, path)
		_, c, _ := start(t, testConfig(t, path+"*", poll))
		stopWriting := w.background(200 * time.Microsecond)
		for i := range 3 {
			time.Sleep(150 * time.Millisecond)
			w.locked(func() {
				for j := i; j >= 1; j-- {
					os.Rename(fmt.Sprintf("%s.%d", path, j), fmt.Sprintf("%s.%d", path, j+1))
				}
				if err := os.Rename(path, path+".1"); err != nil {
					t.Fatal(err)
				}
				w.reopen()
			})
		}
		time.Sleep(100 * time.Millisecond)
		waitNumbered(t, c, stopWriting())
	})
}

// TestFileCopyTruncate rotates the way logrotate's "copytruncate" does. The
// writer is paused during the copy and the truncation: lines written in
// between would be in neither file, a loss no reader can avoid.
func TestFileCopyTruncate(t *testing.T) {
	forModes(t, func(t *testing.T, poll bool) {
		path := filepath.Join(t.TempDir(), "auth.log")
		w := newLogWriter(t, path)
		_, c, _ := start(t, testConfig(t, path, poll))
		stopWriting := w.background(200 * time.Microsecond)
		for i := range 4 {
			time.Sleep(150 * time.Millisecond)
			w.locked(func() {
				copyFile(t, path, fmt.Sprintf("%s.%d", path, i))
				if err := os.Truncate(path, 0); err != nil {
					t.Fatal(err)
				}
			})
		}
		time.Sleep(100 * time.Millisecond)
		waitNumbered(t, c, stopWriting())
	})
}

// TestFileCopyTruncateBroadPattern rotates with copytruncate under a pattern
// that also matches the copies: they are not read again.
func TestFileCopyTruncateBroadPattern(t *testing.T) {
	forModes(t, func(t *testing.T, poll bool) {
		path := filepath.Join(t.TempDir(), "auth.log")
		w := newLogWriter(t, path)
		_, c, _ := start(t, testConfig(t, path+"*", poll))
		stopWriting := w.background(200 * time.Microsecond)
		for i := range 3 {
			time.Sleep(150 * time.Millisecond)
			w.locked(func() {
				copyFile(t, path, fmt.Sprintf("%s.%d", path, i))
				if err := os.Truncate(path, 0); err != nil {
					t.Fatal(err)
				}
			})
		}
		time.Sleep(100 * time.Millisecond)
		waitNumbered(t, c, stopWriting())
	})
}

// TestFileTruncateRegrow truncates a file and writes more than was there
// before the source looks again: only the fingerprint tells.
func TestFileTruncateRegrow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	if err := os.WriteFile(path, []byte("old 1\nold 2\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, path, true)
	cfg.PollInterval = time.Hour // only the rescan below looks
	f, err := NewFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	tl := newTailer(f, c.emit)
	defer tl.stop(context.Background())
	ctx := context.Background()
	tl.scan(ctx, true, time.Now())
	if err := os.WriteFile(path, []byte("new 1 is longer\nnew 2\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	tl.scan(ctx, true, time.Now())
	want := []string{"old 1", "old 2", "new 1 is longer", "new 2"}
	if diff := cmp.Diff(want, c.texts()); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

// TestFileDeleteRecreate deletes the log while it is written to; the writer
// goes on in the deleted file for a while, then creates a new one.
func TestFileDeleteRecreate(t *testing.T) {
	forModes(t, func(t *testing.T, poll bool) {
		path := filepath.Join(t.TempDir(), "auth.log")
		w := newLogWriter(t, path)
		_, c, _ := start(t, testConfig(t, path, poll))
		stopWriting := w.background(200 * time.Microsecond)
		for range 3 {
			time.Sleep(150 * time.Millisecond)
			w.locked(func() {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			})
			time.Sleep(20 * time.Millisecond)
			w.locked(w.reopen)
		}
		time.Sleep(100 * time.Millisecond)
		waitNumbered(t, c, stopWriting())
	})
}

// TestFileRestart stops a source, changes the file while it is stopped, and
// starts another with the saved positions: every line is seen exactly once.
func TestFileRestart(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, w *logWriter)
	}{
		{"appended", func(t *testing.T, w *logWriter) { w.write(50) }},
		{"rotated by rename", func(t *testing.T, w *logWriter) {
			w.write(20)
			if err := os.Rename(w.path, w.path+".1"); err != nil {
				t.Fatal(err)
			}
			w.write(5) // to the renamed file, before the writer reopens
			w.reopen()
			w.write(30)
		}},
		{"rotated by copytruncate", func(t *testing.T, w *logWriter) {
			w.write(20)
			copyFile(t, w.path, w.path+"-20261124")
			if err := os.Truncate(w.path, 0); err != nil {
				t.Fatal(err)
			}
			w.write(30)
		}},
		{"unfinished line completed", func(t *testing.T, w *logWriter) {
			// The first run left "line 0001" unfinished; it ends now.
			w.f.WriteString("00\n")
			w.n++
			w.write(10)
		}},
	}
	for _, tt := range tests {
		for _, broad := range []bool{false, true} {
			name := tt.name
			if broad {
				name += ", pattern matching rotated files"
			}
			t.Run(name, func(t *testing.T) { testRestart(t, tt.name, tt.change, broad) })
		}
	}
}

func testRestart(t *testing.T, name string, change func(t *testing.T, w *logWriter), broad bool) {
	path := filepath.Join(t.TempDir(), "auth.log")
	store := &MemoryPositions{}
	w := newLogWriter(t, path)
	pattern := path
	if broad {
		pattern += "*"
	}
	cfg := testConfig(t, pattern, false)
	cfg.Positions = store
	cfg.Start = StartEnd // a second start must use the position, not this
	cfg.PartialFlush = time.Hour
	w.write(100)
	cfg1 := cfg
	cfg1.Start = StartBeginning
	_, c1, stop1 := start(t, cfg1)
	waitFor(t, "first run", func() bool { return c1.len() == 100 })
	if name == "unfinished line completed" {
		w.f.WriteString("line 0001")
		time.Sleep(100 * time.Millisecond)
	}
	stop1()
	if got := store.All(); len(got) != 1 || got[0].Key != "test:"+path {
		t.Fatalf("saved positions = %+v, want one for %q", got, path)
	}
	change(t, w)
	_, c2, _ := start(t, cfg)
	total := w.count()
	deadline := time.Now().Add(10 * time.Second)
	for c1.len()+c2.len() < total && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	checkNumbered(t, append(c1.texts(), c2.texts()...), total)
	for _, l := range c2.snapshot() {
		if !l.Backlog {
			t.Errorf("line %q after restart: Backlog = false, want true", l.Bytes)
		}
	}
}

// TestFileResumeSkipsOld resumes after a long stop: lines older than
// findtime are skipped when the source can read line times.
func TestFileResumeSkipsOld(t *testing.T) {
	timeOf := func(l []byte) (time.Time, bool) {
		ts, _, _ := strings.Cut(string(l), " ")
		tm, err := time.Parse(time.RFC3339, ts)
		return tm, err == nil
	}
	write := func(t *testing.T, path string, n int, age time.Duration) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for i := range n {
			fmt.Fprintf(f, "%s %v-old line %d\n", time.Now().Add(-age).UTC().Format(time.RFC3339), age, i)
		}
	}
	for _, withTime := range []bool{true, false} {
		t.Run(fmt.Sprintf("time function %v", withTime), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "auth.log")
			write(t, path, 100, 2*time.Hour)
			cfg := testConfig(t, path, false)
			cfg.Positions = &MemoryPositions{}
			cfg.Start = StartBeginning
			_, c, stop := start(t, cfg)
			waitFor(t, "first run", func() bool { return c.len() == 100 })
			stop()
			write(t, path, 2000, time.Hour)
			write(t, path, 10, 0)
			cfg.Start, cfg.FindTime = StartFindTime, 10*time.Minute
			want := 10
			if withTime {
				cfg.TimeOf = timeOf
			} else {
				want = 2010
			}
			_, c, _ = start(t, cfg)
			waitFor(t, "backlog", func() bool { return c.len() >= want })
			time.Sleep(50 * time.Millisecond)
			if got := c.len(); got != want {
				t.Errorf("read %d lines after restart, want %d", got, want)
			}
		})
	}
}
