package daemon_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/daemon"
)

// A jail with filter = "web-attacks" scans an nginx access log: one SQL
// injection bans its sender at once (single-hit), a client browsing with
// quotes and ampersands in its searches is never banned, nor one whose
// Kibana searches quote SQL in a parameter the jail names in
// web_text_params (without it that request bans: TestFreeTextAlways).
func TestWebAttacksJail(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(logPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d := startTestDaemon(t, fmt.Sprintf(`[jails.sshd]
enabled = false

[jails.web]
enabled = true
filter = "web-attacks"
logpath = [%q]
port = "http,https"
maxretry = 3
web_text_params = ["_a"]
`, logPath), daemon.Options{})
	c, ctx := d.client, context.Background()
	time.Sleep(300 * time.Millisecond)
	f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Now().UTC().Format("02/Jan/2006:15:04:05 -0700")
	req := func(ip, target string) string {
		return fmt.Sprintf(`%s - - [%s] "GET %s HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"`, ip, ts, target)
	}
	for _, l := range []string{
		req("192.0.2.50", "/search?q=o%27reilly+%26+sons+books"),
		req("192.0.2.50", "/products?page=2&sort=price"),
		req("192.0.2.50", "/blog/2026/12/why-we-moved-to-postgres"),
		req("198.51.100.66", "/item.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--"),
		req("192.0.2.50", "/search?q=%22select+a+size%22+shoes"),
		req("192.0.2.51", "/app/discover?_a=(query:(language:kuery,query:'message%3A%22SELECT%20*%20FROM%20orders%22%20and%20not%20service.name%3Abilling'))"),
	} {
		fmt.Fprintln(f, l)
	}
	f.Close()
	waitFor(t, "the attacker's ban", func() bool {
		bans, err := c.Banned(ctx)
		return err == nil && len(bans) > 0
	})
	time.Sleep(300 * time.Millisecond)
	bans, _ := c.Banned(ctx)
	if len(bans) != 1 || bans[0].Prefix.Addr().String() != "198.51.100.66" || bans[0].Origin.String() != "jail web" {
		t.Errorf("bans = %+v, want only 198.51.100.66 by jail web", bans)
	}
}
