package logsource

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestInotify checks the events the tailer relies on, with real inotify:
// names, operations, the directory's own removal, and Close.
func TestInotify(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "logs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := newInotify()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Add(dir); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(dir); err != nil { // again: no duplicate events
		t.Fatal(err)
	}
	if err := w.Add(filepath.Join(root, "missing")); !os.IsNotExist(err) {
		t.Errorf("Add(missing dir) = %v, want a not-exist error", err)
	}
	next := func(want fsEvent) {
		t.Helper()
		select {
		case ev, ok := <-w.events():
			if !ok || ev.Name != want.Name || ev.Op != want.Op {
				t.Fatalf("event %+v (open %v), want %+v", ev, ok, want)
			}
		case err := <-w.errors():
			t.Fatalf("error %v, want %+v", err, want)
		case <-time.After(5 * time.Second):
			t.Fatalf("no event, want %+v", want)
		}
	}
	log := filepath.Join(dir, "auth.log")
	if err := os.WriteFile(log, []byte("a\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	next(fsEvent{Name: log, Op: opCreate})
	next(fsEvent{Name: log, Op: opWrite})
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	next(fsEvent{Name: log, Op: opRename})
	next(fsEvent{Name: log + ".1", Op: opCreate})
	if err := os.Remove(log + ".1"); err != nil {
		t.Fatal(err)
	}
	next(fsEvent{Name: log + ".1", Op: opRemove})
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	next(fsEvent{Name: dir, Op: opRemove})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for range w.events() { // drains, then ends: Close closed it
	}
}
