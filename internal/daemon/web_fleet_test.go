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
)

// TestDashboardFleetDownInBrowser: a daemon whose [fleet] server does not
// answer shows, on the fleet page in Chromium, its node, the link
// disconnected and the lag unknown — not "Fleet not configured", not a
// lag of 0.
func TestDashboardFleetDownInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium; scripts/deps.sh does): skipping the browser test")
	}
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "rampart.sock")
	webAddr, deadHub := freePort(t), freePort(t) // nothing listens on deadHub
	cfgText := fmt.Sprintf(`
[daemon]
state_dir = %q
socket = %q
firewall = "dryrun"

[web]
listen = %q

[fleet]
enabled = true
servers = ["nats://%s"]
node = "web-7"
`, stateDir, sock, webAddr, deadHub)
	load := func() (*config.Config, []string, error) {
		c, err := config.LoadBytes("test.toml", []byte(cfgText), config.Options{})
		return c, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(ctx, daemon.Options{Load: load, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	c := control.NewClient(sock)
	waitFor(t, "the daemon", func() bool { _, err := c.Ping(ctx); return err == nil })
	waitFor(t, "the dashboard", func() bool {
		r, err := http.Get("http://" + webAddr + "/")
		if err == nil {
			r.Body.Close()
		}
		return err == nil
	})
	st, err := c.FleetStatus(ctx)
	if err != nil {
		t.Fatalf("FleetStatus = %v", err)
	}
	bctx := browser(t, chromium)
	login, err := c.WebLogin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(bctx, 30*time.Second)
	defer scancel()
	if err := chromedp.Do(sctx, chromedp.Navigate(login.URL), chromedp.WaitVisible(chromedp.CSS(`#bans-now`)),
		chromedp.Navigate("http://"+webAddr+"/fleet"), chromedp.WaitVisible(chromedp.CSS(`#fleet-link`))); err != nil {
		t.Fatal(err)
	}
	link, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`#fleet-link`)))
	main, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`main`)))
	if link != "disconnected" || st.Connected {
		t.Errorf("fleet link on the page %q (status connected %v), want disconnected: nothing listens on %s", link, st.Connected, deadHub)
	}
	if lag, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`#fleet-lag`))); lag != "—" {
		t.Errorf("lag with the link down reads %q, want unknown (—)", lag)
	}
	for _, want := range []string{"node web-7", "stream " + st.Stream, "lag unknown until the link is up"} {
		if !strings.Contains(main, want) {
			t.Errorf("the fleet page lacks %q:\n%s", want, main)
		}
	}
	if strings.Contains(main, "Fleet not configured") {
		t.Errorf("a configured fleet reads as not configured:\n%s", main)
	}
	shot(t, bctx, "fleet-down.png")
}
