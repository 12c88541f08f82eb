package daemon_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/control"
	"github.com/rampart-ids/rampart/internal/daemon"
	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/store"
)

// TestDashboardChangesInBrowser drives the changes page, the fleet page
// and the overview's audit score in a real Chromium over a real daemon
// with [fim] realtime on a throwaway tree: a stored audit result is on the
// overview; a file whose name is markup, changed while the page is open,
// appears live as text (no element of its name is made); stored changes
// filter by severity; the fleet page says it is not configured.
func TestDashboardChangesInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium; scripts/deps.sh does): skipping the browser test")
	}
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	etc := filepath.Join(dir, "etc")
	for _, d := range []string{stateDir, etc} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// A watched file whose name is markup that would run if it were
	// inserted as HTML.
	hostile := filepath.Join(etc, `<img src=x onerror="document.title='pwned'">`)
	if err := os.WriteFile(hostile, []byte("a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	st, err := store.Open(filepath.Join(stateDir, "rampart.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddEvents(context.Background(), []event.Event{
		{Kind: event.AuditResult, Time: now.Add(-2 * time.Hour), Rule: "audit", Score: 81, Severity: "medium", Count: 1, Evidence: []string{"old.check (low): an older run"}},
		{Kind: event.AuditResult, Time: now.Add(-time.Hour), Rule: "audit", Score: 44, Severity: "medium", Count: 2,
			Evidence: []string{"ssh.permit-root-login (high): root may log in over SSH", "fs.tmp-noexec (medium): /tmp allows <exec>"}},
		{Kind: event.IntegrityChange, Time: now.Add(-50 * time.Minute), Rule: "fim", Source: "fim schedule", Path: "/usr/bin/ls", Reason: "package-upgrade", Severity: "info"},
		{Kind: event.HostChange, Time: now.Add(-40 * time.Minute), Rule: "suid", Source: "host suid", Path: "/tmp/\x1b[31mrootshell\n", Reason: "new", Severity: "critical", Evidence: []string{"new SUID file"}},
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	sock := filepath.Join(dir, "rampart.sock")
	webAddr := freePort(t)
	cfgText := fmt.Sprintf(`
[daemon]
state_dir = %q
socket = %q
firewall = "dryrun"

[web]
listen = %q

[fim]
enabled = true
paths = [%q]
realtime = [%q]
baseline = %q
`, stateDir, sock, webAddr, etc, hostile, filepath.Join(dir, "fim.baseline"))
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
	base := "http://" + webAddr
	waitFor(t, "the dashboard", func() bool {
		r, err := http.Get(base + "/")
		if err == nil {
			r.Body.Close()
		}
		return err == nil
	})
	for _, p := range []string{"/changes", "/changes?severity=critical", "/fleet"} {
		r, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "rootshell") || strings.Contains(string(body), "fleet") {
			t.Errorf("GET %s without a session = %d %q, want 401 and nothing of the daemon's", p, r.StatusCode, body)
		}
	}

	bctx := browser(t, chromium)
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(bctx, 30*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluating %s: %v", expr, err)
		}
		return v
	}
	login, err := c.WebLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	step("log in by URL", chromedp.Navigate(login.URL), chromedp.WaitVisible(chromedp.CSS(`#audit-score`)))
	if got := text(`#audit-score`); got != "44" {
		t.Errorf("overview: audit score %q, want the newest run's 44", got)
	}
	if got := text(`#audit-failing`); !strings.Contains(got, "2 failing checks") || !strings.Contains(got, "ssh.permit-root-login") || !strings.Contains(got, "/tmp allows <exec>") {
		t.Errorf("overview: failing checks read %q", got)
	}
	shot(t, bctx, "overview-audit.png")

	step("the fleet page", chromedp.Navigate(base+"/fleet"), chromedp.WaitVisible(chromedp.CSS(`#fleet-off`)))
	if got := text(`main`); !strings.Contains(got, "Fleet not configured") || !strings.Contains(got, "[fleet] enabled = false") {
		t.Errorf("fleet page reads %q, want it to say the fleet is not configured", got)
	}

	step("the changes page, critical only", chromedp.Navigate(base+"/changes?severity=critical"), chromedp.WaitVisible(chromedp.CSS(`#changes tbody tr`)))
	if got := eval(`[...document.querySelectorAll("#changes td.path")].map((td) => td.textContent).join("|")`); got != `"/tmp/\x1b[31mrootshell\n"` {
		t.Errorf("critical changes' paths %q, want only the SUID file, quoted", got)
	}
	select {
	case <-logw.ready:
	case <-time.After(20 * time.Second):
		t.Fatal("fim's realtime watcher is not ready after 20 s")
	}
	step("the changes page", chromedp.Navigate(base+"/changes"), chromedp.WaitVisible(chromedp.CSS(`#changes tbody tr`)))
	before := eval(`String(document.querySelectorAll("#changes tbody tr").length)`)
	// Wait for the stream to be open, then change the file.
	waitFor(t, "the page's live stream", func() bool {
		v, _ := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.body.dataset.live === "open"`))
		return v
	})
	// The stream opens once the daemon follows; the file is changed again
	// if no row came (a write the watcher coalesced or missed).
	for i := 0; ; i++ {
		if err := os.WriteFile(hostile, []byte(fmt.Sprintf("b%d\n", i)), 0o600); err != nil {
			t.Fatal(err)
		}
		sctx, scancel := context.WithTimeout(bctx, 3*time.Second)
		err := chromedp.Do(sctx, chromedp.WaitVisible(chromedp.CSS(`#changes tbody tr.fresh`)))
		scancel()
		if err == nil {
			break
		}
		if i == 2 {
			t.Fatalf("no change appeared live after 3 writes of %s; log:\n%s", hostile, logw.buf.String())
		}
	}
	row := eval(`[...document.querySelector("#changes tbody tr.fresh").cells].map((td) => td.textContent).slice(1, 6).join("|")`)
	if want := "integrity|" + hostile + "|fim|high|content"; row != want {
		t.Errorf("live row reads %q, want %q (rows before: %s)", row, want, before)
	}
	if n := eval(`String(document.querySelectorAll("#changes img, #changes [onerror]").length)`); n != "0" {
		t.Errorf("the file's name made %s elements on the page", n)
	}
	if title := eval(`document.title`); title == "pwned" {
		t.Error("the file's name ran as script")
	}
	shot(t, bctx, "changes.png")
	// Reloaded, the same change is in the server-rendered table, escaped.
	step("reload the changes page", chromedp.Navigate(base+"/changes?kind=integrity&severity=high"), chromedp.WaitVisible(chromedp.CSS(`#changes tbody tr`)))
	if got := eval(`document.querySelector("#changes td.path").textContent`); got != hostile {
		t.Errorf("stored change's path %q, want %q", got, hostile)
	}
	if n := eval(`String(document.querySelectorAll("#changes img").length)`); n != "0" {
		t.Errorf("the server-rendered page made %s img elements of a file name", n)
	}
}

// browser starts a headless Chromium for the test.
func browser(t *testing.T, chromium string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return bctx
}

// shot saves a screenshot of the page in the test's artefacts.
func shot(t *testing.T, bctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(artifacts(t), name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}
