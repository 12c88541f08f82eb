package logsource

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// TestFilePartialLine holds a line without its newline until the newline
// comes, or until it has been quiet for PartialFlush; and saves only the
// positions of lines handed on. Polling in a synctest bubble makes the
// timing exact.
func TestFilePartialLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "auth.log")
		appendFile(t, path, "")
		store := &MemoryPositions{}
		cfg := testConfig(t, path, true)
		cfg.PollInterval = 100 * time.Millisecond
		cfg.PartialFlush = 2 * time.Second
		cfg.SaveInterval = time.Second
		cfg.Positions = store
		f, err := NewFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c := &collector{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- f.Run(ctx, c.emit) }()

		step := func(what string, d time.Duration, want []string) {
			t.Helper()
			time.Sleep(d)
			synctest.Wait()
			if diff := cmp.Diff(want, c.texts()); diff != "" {
				t.Errorf("%s: lines (-want +got):\n%s", what, diff)
			}
		}
		savedOffset := func() int64 {
			ps := store.All()
			if len(ps) != 1 {
				return -1
			}
			return ps[0].Offset
		}

		appendFile(t, path, "abc")
		step("unfinished", 1500*time.Millisecond, nil)
		appendFile(t, path, "def\nghi")
		step("finished", 500*time.Millisecond, []string{"abcdef"})
		step("quiet, not long enough", 1200*time.Millisecond, []string{"abcdef"})
		if got := savedOffset(); got != 7 {
			t.Errorf("saved offset = %d, want 7 (after abcdef, before the unfinished ghi)", got)
		}
		step("quiet long enough", 1000*time.Millisecond, []string{"abcdef", "ghi"})
		appendFile(t, path, "jkl\n")
		step("rest after a flush", 500*time.Millisecond, []string{"abcdef", "ghi", "jkl"})
		step("saved", 2*time.Second, []string{"abcdef", "ghi", "jkl"})
		if got := savedOffset(); got != 14 {
			t.Errorf("saved offset = %d, want 14", got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
}

// TestFileRotateWait reads a file renamed away while it is still written
// to, and lets it go once it has been quiet for RotateWait.
func TestFileRotateWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "auth.log")
		old := path + ".1"
		appendFile(t, path, "a\n")
		cfg := testConfig(t, path, true)
		cfg.PollInterval = 100 * time.Millisecond
		cfg.RotateWait = 5 * time.Second
		f, err := NewFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c := &collector{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- f.Run(ctx, c.emit) }()
		time.Sleep(time.Second)
		if err := os.Rename(path, old); err != nil {
			t.Fatal(err)
		}
		appendFile(t, path, "new 1\n")
		time.Sleep(time.Second)
		appendFile(t, old, "b, late write to the renamed file\n")
		time.Sleep(4 * time.Second) // quiet for 4 s: still followed
		appendFile(t, old, "c, later still\n")
		time.Sleep(6 * time.Second) // quiet for 6 s: let go
		appendFile(t, old, "d, too late\n")
		time.Sleep(time.Second)
		synctest.Wait()
		want := []string{"a", "new 1", "b, late write to the renamed file", "c, later still"}
		if diff := cmp.Diff(want, c.texts()); diff != "" {
			t.Errorf("lines (-want +got):\n%s", diff)
		}
		if st := f.Status(); len(st) != 1 || st[0].Rotations != 1 {
			t.Errorf("Status() = %+v, want one file with 1 rotation", st)
		}
		cancel()
		<-done
	})
}

// silentWatcher accepts watches and reports nothing, like inotify on a
// filesystem whose changes are made elsewhere.
type silentWatcher struct {
	ev   chan fsEvent
	errs chan error
}

func (w silentWatcher) Add(string) error       { return nil }
func (w silentWatcher) events() <-chan fsEvent { return w.ev }
func (w silentWatcher) errors() <-chan error   { return w.errs }
func (w silentWatcher) Close() error           { return nil }

// TestFileMissedEvents falls back to polling when rescans keep finding
// changes that inotify did not report.
func TestFileMissedEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "auth.log")
		appendFile(t, path, "")
		cfg := testConfig(t, path, false)
		cfg.RescanInterval = 10 * time.Second
		cfg.PollInterval = 100 * time.Millisecond
		f, err := NewFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		f.newWatcher = func() (watcher, error) { return silentWatcher{make(chan fsEvent), make(chan error)}, nil }
		c := &collector{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- f.Run(ctx, c.emit) }()
		time.Sleep(time.Second) // started, position saved
		for i := range missedLimit {
			appendFile(t, path, fmt.Sprintf("line %06d\n", i))
			time.Sleep(10 * time.Second) // each found by a rescan only
			synctest.Wait()
			if got, want := c.len(), i+1; got != want {
				t.Fatalf("after rescan %d: %d lines, want %d", i+1, got, want)
			}
		}
		if st := f.Status(); st[0].Mode != "poll" {
			t.Fatalf("Status().Mode = %q after %d rescans found unannounced lines, want poll", st[0].Mode, missedLimit)
		}
		appendFile(t, path, fmt.Sprintf("line %06d\n", missedLimit))
		time.Sleep(200 * time.Millisecond) // found by polling now
		synctest.Wait()
		checkNumbered(t, c.texts(), missedLimit+1)
		cancel()
		<-done
	})
}
