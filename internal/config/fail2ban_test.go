package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFromFail2banLoads(t *testing.T) {
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
	data, notes, err := FromFail2ban(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadBytes("fail2ban:"+dir, data, Options{SkipFileChecks: true})
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
