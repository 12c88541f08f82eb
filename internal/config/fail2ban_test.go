package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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

// Each Fail2ban option reaches the rampart key that declares it.
func TestFromFail2banKeys(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "jail.conf"), `[DEFAULT]
enabled = false
action = nftables[type=allports, blocktype=drop]
[web]
enabled = true
filter = nginx-http-auth[mode=fallback]
backend = systemd
journalmatch = _SYSTEMD_UNIT=nginx.service
logpath = /var/log/nginx/error.log tail
          /var/log/nginx/other.log
protocol = tcp,udp
maxretry = 7
findtime = 1h
bantime = -1
ignoreip = 192.0.2.0/24,198.51.100.7
           trusted.example.org
ignoreself = false
usedns = NO
bantime.increment = yes
bantime.factor = 2
bantime.multipliers = 1 2 4
bantime.maxtime = 1w
bantime.rndtime = 5m
bantime.overalljails = true
[odd]
enabled = true
backend = gamin-ish
logpath = /var/log/odd.log
maxmatches = 5
ignorecommand = /bin/true
`)
	data, notes, err := FromFail2ban(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadBytes("fail2ban:"+dir, data, Options{SkipFileChecks: true})
	if err != nil {
		t.Fatalf("generated layer does not load: %v\n%s", err, data)
	}
	web, _ := cfg.Jail("web")
	got := Jail{
		Name: web.Name, Enabled: web.Enabled, Filter: web.Filter, FilterOptions: web.FilterOptions, Backend: web.Backend,
		LogPath: web.LogPath, JournalMatch: web.JournalMatch, AllPorts: web.AllPorts, Protocols: web.Protocols,
		Reject: web.Reject, MaxRetry: web.MaxRetry, FindTime: web.FindTime, BanTime: web.BanTime,
		Increment: web.Increment, IgnoreNames: web.IgnoreNames, IgnoreSelf: web.IgnoreSelf, UseDNS: web.UseDNS,
	}
	want := Jail{
		Name: "web", Enabled: true, Filter: "nginx-http-auth", FilterOptions: map[string]string{"mode": "fallback"},
		Backend: BackendJournal, LogPath: []string{"/var/log/nginx/error.log", "/var/log/nginx/other.log"},
		JournalMatch: []string{"_SYSTEMD_UNIT=nginx.service"}, AllPorts: true, Protocols: []string{"tcp", "udp"},
		Reject: false, MaxRetry: 7, FindTime: time.Hour, BanTime: Permanent,
		Increment: Increment{Enabled: true, Factor: 2, Multipliers: []float64{1, 2, 4}, MaxTime: 7 * 24 * time.Hour,
			RndTime: 5 * time.Minute, OverallJails: true},
		IgnoreNames: []string{"trusted.example.org"}, IgnoreSelf: false, UseDNS: "no",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("web jail from Fail2ban mismatch (-want +got):\n%s", diff)
	}
	if len(web.IgnoreIP) != 2 {
		t.Errorf("web ignoreip = %v, want 192.0.2.0/24 and 198.51.100.7", web.IgnoreIP)
	}
	odd, _ := cfg.Jail("odd")
	if odd.Backend != BackendAuto {
		t.Errorf("odd backend = %q, want auto", odd.Backend)
	}
	wantNotes := []string{
		`jail "odd": option "ignorecommand" (` + filepath.Join(dir, "jail.conf") + `:30) is not supported and is ignored`,
		`jail "odd": backend "gamin-ish" is unknown; rampart uses auto`,
	}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("notes mismatch (-want +got):\n%s", diff)
	}

	writeFile(t, filepath.Join(dir, "jail.local"), "[web]\nbantime.factor = two\n")
	if _, _, err := FromFail2ban(dir); err == nil || !strings.Contains(err.Error(), `jail "web": bantime.factor "two" is not a number`) {
		t.Errorf("FromFail2ban with a bad factor: error = %v, want it named", err)
	}
}
