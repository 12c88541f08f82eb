package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/daemon"
	"github.com/rampart-ids/rampart/internal/event"
)

// signalWriter closes ready when a log line contains want.
type signalWriter struct {
	mu    sync.Mutex
	want  string
	ready chan struct{}
	done  bool
	buf   bytes.Buffer
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && bytes.Contains(p, []byte(w.want)) {
		w.done = true
		close(w.ready)
	}
	return len(p), nil
}

// TestFIMRealtimeInTheDaemon: a real daemon with [fim] on a throwaway
// tree takes a baseline, and `echo >> passwd` there is an integrity-change
// event on the bus within a second, naming the process when fanotify can.
func TestFIMRealtimeInTheDaemon(t *testing.T) {
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	passwd := filepath.Join(etc, "passwd")
	if err := os.WriteFile(passwd, []byte("root:x:0:0::/root:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("[fim]\nenabled = true\npaths = [%q]\nrealtime = [%q]\nbaseline = %q\n", etc, passwd, filepath.Join(root, "fim.baseline"))
	evs := make(chan event.Event, 64)
	logw := &signalWriter{want: "watching realtime paths", ready: make(chan struct{})}
	opts := daemon.Options{
		Log: slog.New(slog.NewTextHandler(logw, nil)),
		Subscribers: []daemon.Subscriber{{Name: "test", Kinds: []event.Kind{event.IntegrityChange},
			Handle: func(_ context.Context, es []event.Event) {
				for _, e := range es {
					evs <- e
				}
			}}},
	}
	startTestDaemon(t, conf, opts)
	select {
	case e := <-evs:
		if e.Reason != "baseline-created" || e.Count != 2 {
			t.Fatalf("first event %+v, want baseline-created of 2 entries (etc, passwd)", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no baseline-created event")
	}
	select {
	case <-logw.ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("watcher not ready; log:\n%s", logw.buf.String())
	}
	cmd := exec.Command("/bin/sh", "-c", "echo >> "+passwd+"; sleep 0.5")
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	select {
	case e := <-evs:
		took := time.Since(start)
		t.Logf("event after %v: %+v", took, e)
		if e.Path != passwd || e.Reason != "content" || e.Severity != "high" || e.Source != "fim realtime" {
			t.Fatalf("event %+v, want a content change of %s from fim realtime", e, passwd)
		}
		if len(e.Evidence) < 3 || !strings.HasPrefix(e.Evidence[1], "old sha256:") || !strings.HasPrefix(e.Evidence[2], "new sha256:") {
			t.Errorf("evidence %q lacks the old and new hashes", e.Evidence)
		}
		if os.Geteuid() == 0 {
			want := fmt.Sprintf("process pid %d exe \"/usr/bin/dash\"", cmd.Process.Pid)
			if ev := strings.Join(e.Evidence, "\n"); !strings.Contains(ev, want) {
				t.Errorf("evidence %q does not name %s (fanotify; root)", e.Evidence, want)
			}
		}
	case <-time.After(time.Second):
		t.Fatalf("no integrity-change event within 1 s; log:\n%s", logw.buf.String())
	}
}
