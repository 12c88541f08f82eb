package daemon

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/filter"
	"github.com/rampart-ids/rampart/internal/filterload"
)

func TestFail2banTOMLLoads(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"jail.conf": `[DEFAULT]
bantime = 10m
findtime = 10m
maxretry = 5
enabled = false
banaction = nftables-multiport
action = %(banaction)s[port="%(port)s"]
port = 0:65535
[sshd]
port = ssh
logpath = /var/log/auth.log
[nginx-http-auth]
port = http,https
logpath = /var/log/nginx/error.log
`,
		"jail.local": `[sshd]
enabled = true
maxretry = 3
action = %(banaction)s[port="%(port)s"]
         sendmail-whois[dest=root]
bantime.increment = true
bantime.multipliers = 1 2 4
`,
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, notes, err := Fail2banTOML(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadBytes("fail2ban:"+dir, data, config.Options{SkipFileChecks: true})
	if err != nil {
		t.Fatalf("generated layer does not load: %v\n%s", err, data)
	}
	en := cfg.Enabled()
	if len(en) != 1 || en[0].Name != "sshd" || en[0].MaxRetry != 3 || !en[0].Increment.Enabled || len(en[0].Increment.Multipliers) != 3 {
		t.Errorf("enabled jails = %+v", en)
	}
	if j, ok := cfg.Jail("nginx-http-auth"); !ok || j.Enabled {
		t.Errorf("nginx-http-auth = %+v, %v: want present and disabled", j, ok)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "sendmail-whois") {
		t.Errorf("notes = %q, want the mail action named", notes)
	}
}

// The ban log line is what the built-in recidive filter reads.
func TestBanLogLineFeedsRecidive(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(&buf, slog.LevelInfo, false))
	log.Info("ban", "jail", "sshd", "ip", "192.0.2.7", "until", "2026-06-15T12:10:00Z", "count", 2)
	line := "2026-06-15T12:00:00.000000+00:00 host rampart[42]: " + strings.TrimSpace(buf.String())
	l, err := filterload.Load("recidive", "", filter.Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	res := l.Filter.NewMatcher().Match([]byte(line), time.Date(2026, 6, 15, 12, 0, 1, 0, time.UTC))
	if res.Kind != filter.Hit || res.Addr.String() != "192.0.2.7" {
		t.Errorf("recidive on %q = %v %s, want a hit for 192.0.2.7", line, res.Kind, res.Host)
	}
}
