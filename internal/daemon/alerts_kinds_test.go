package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/alert"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/daemon"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/store"
)

// TestAlertsOfChangesAndAudits runs a daemon with fim realtime on a
// throwaway tree, the scheduled audit at once, and two webhook alerts: a
// file change of severity high reaches the changes alert (the baseline
// taken at start, of severity info, does not); the live audit's result
// reaches the audit alert, judged against the previous score stored in the
// history before the daemon started.
func TestAlertsOfChangesAndAudits(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]alert.Message{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m alert.Message
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		mu.Lock()
		got[r.URL.Path] = append(got[r.URL.Path], m)
		mu.Unlock()
	}))
	defer srv.Close()
	msgs := func(path string) []alert.Message {
		mu.Lock()
		defer mu.Unlock()
		return append([]alert.Message(nil), got[path]...)
	}

	dir := t.TempDir()
	stateDir, etc := filepath.Join(dir, "state"), filepath.Join(dir, "etc")
	for _, d := range []string{stateDir, etc} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	shadow := filepath.Join(etc, "shadow")
	if err := os.WriteFile(shadow, []byte("root:*:1::::::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(stateDir, "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddEvents(context.Background(), []event.Event{
		{Kind: event.AuditResult, Time: time.Now().Add(-24 * time.Hour), Rule: "audit", Score: 100, Severity: "info"},
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	sock := filepath.Join(dir, "rampart.sock")
	cfgText := fmt.Sprintf(`
[daemon]
state_dir = %q
socket = %q
firewall = "dryrun"

[fim]
enabled = true
paths = [%q]
realtime = [%q]
baseline = %q

[audit]
delay = "0s"
schedule = "10m"

[alerts.changes]
type = "webhook"
url = "%s/changes"
kinds = ["integrity-change", "host-change"]
min_severity = "high"
digest = "0s"

[alerts.audit]
type = "webhook"
url = "%s/audit"
kinds = ["audit-result"]
audit_drop = 1
digest = "0s"
`, stateDir, sock, etc, shadow, filepath.Join(dir, "fim.baseline"), srv.URL, srv.URL)
	load := func() (*config.Config, []string, error) {
		c, err := config.LoadBytes("test.toml", []byte(cfgText), config.Options{})
		return c, nil, err
	}
	logw := &signalWriter{want: "watching realtime paths", ready: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{Load: load, Log: slog.New(slog.NewTextHandler(logw, nil))})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	c := control.NewClient(sock)
	waitFor(t, "the daemon", func() bool { _, err := c.Ping(ctx); return err == nil })
	select {
	case <-logw.ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("fim's realtime watcher is not ready; log:\n%s", logw.buf.String())
	}
	if err := os.WriteFile(shadow, []byte("root:$y$j9T$x:1::::::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the change's alert", func() bool { return len(msgs("/changes")) > 0 })
	time.Sleep(300 * time.Millisecond)
	ch := msgs("/changes")
	if len(ch) != 1 || len(ch[0].Events) != 1 {
		t.Fatalf("changes alert: %d messages %+v, want one (the baseline's info event filtered out)", len(ch), ch)
	}
	e := ch[0].Events[0]
	if e.Kind != event.IntegrityChange || e.Path != shadow || e.Severity != "high" || !strings.Contains(ch[0].Subject, "integrity-change fim "+shadow+": content (high)") {
		t.Errorf("changes alert: subject %q, event %+v", ch[0].Subject, e)
	}
	// The audit: the live checks take a few seconds.
	for deadline := time.Now().Add(60 * time.Second); len(msgs("/audit")) == 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	au := msgs("/audit")
	if len(au) != 1 {
		evs, _ := c.Events(ctx, control.EventsRequest{Kinds: []event.Kind{event.AuditResult}})
		t.Fatalf("audit alert: %d messages, want 1 (a score below the stored 100); audit results in the history: %+v", len(au), evs)
	}
	t.Logf("audit alert: %s", au[0].Subject)
	if !strings.Contains(au[0].Subject, ", was 100, dropped ") {
		t.Errorf("audit alert %q does not compare with the stored previous score 100", au[0].Subject)
	}
}
