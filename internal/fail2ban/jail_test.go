package fail2ban

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadJails(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"paths-common.conf": "[DEFAULT]\ndefault_backend = %(default/backend)s\nsshd_log = /var/log/auth.log\nsshd_backend = %(default_backend)s\n",
		"paths-debian.conf": "[INCLUDES]\nbefore = paths-common.conf\n",
		"jail.conf": `[INCLUDES]
before = paths-debian.conf
[DEFAULT]
bantime = 10m
maxretry = 5
backend = auto
enabled = false
mode = normal
filter = %(__name__)s[mode=%(mode)s]
port = 0:65535
protocol = tcp
banaction = nftables-multiport
banaction_allports = nftables-allports
action_ = %(banaction)s[port="%(port)s", protocol="%(protocol)s"]
action_mw = %(action_)s
            sendmail-whois[dest=root]
action = %(action_)s
[sshd]
port = ssh
logpath = %(sshd_log)s
backend = %(sshd_backend)s
[recidive]
logpath = /var/log/fail2ban.log
banaction = %(banaction_allports)s
`,
		"jail.local": `[sshd]
enabled = true
mode = aggressive
maxretry = 3
ignoreip = 127.0.0.1/8 ::1, 192.0.2.0/24
bantime.increment = true
[recidive]
enabled = true
action = %(action_mw)s
`,
	})
	jails, err := ReadJails(dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if len(jails) != 2 {
		t.Fatalf("got %d jails, want 2", len(jails))
	}
	rec, sshd := jails[0], jails[1]
	if sshd.Name != "sshd" || !sshd.Enabled {
		t.Fatalf("sshd = %+v", sshd)
	}
	want := Jail{
		Name: "sshd", Where: filepath.Join(dir, "jail.local") + ":2", Enabled: true,
		Options: map[string]string{
			"enabled": "true", "filter": "sshd[mode=aggressive]", "logpath": "/var/log/auth.log", "backend": "auto",
			"port": "ssh", "protocol": "tcp", "maxretry": "3", "bantime": "10m", "bantime.increment": "true",
			"ignoreip": "127.0.0.1/8 ::1, 192.0.2.0/24", "banaction": "nftables-multiport", "mode": "aggressive",
		},
		Actions: []string{"nftables-multiport"},
	}
	if diff := cmp.Diff(want, sshd); diff != "" {
		t.Errorf("sshd jail mismatch (-want +got):\n%s", diff)
	}
	if !rec.AllPorts {
		t.Errorf("recidive: AllPorts = false, want true (nftables-allports)")
	}
	if len(rec.Unsupported) != 1 || !strings.Contains(rec.Unsupported[0], "sendmail-whois") {
		t.Errorf("recidive: Unsupported = %q, want the mail action named", rec.Unsupported)
	}

	// An option the caller does not name is reported, not dropped.
	jails, err = ReadJails(dir, []string{"enabled", "logpath"})
	if err != nil {
		t.Fatal(err)
	}
	sshd = jails[1]
	var got []string
	for _, u := range sshd.Unsupported {
		got = append(got, u[:strings.Index(u, " (")])
	}
	wantUnsupported := []string{`option "port"`, `option "backend"`, `option "mode"`, `option "maxretry"`, `option "ignoreip"`, `option "bantime.increment"`}
	if diff := cmp.Diff(wantUnsupported, got); diff != "" {
		t.Errorf("sshd Unsupported with only enabled and logpath known (-want +got):\n%s", diff)
	}
}

// testOptions are the options a caller such as package config asks for.
var testOptions = []string{"enabled", "filter", "mode", "backend", "logpath", "journalmatch", "port", "protocol",
	"banaction", "maxretry", "findtime", "bantime", "ignoreip", "ignoreself", "usedns",
	"bantime.increment", "bantime.factor", "bantime.formula", "bantime.multipliers", "bantime.maxtime",
	"bantime.rndtime", "bantime.overalljails"}

// The Debian package's own configuration reads, and enables sshd on auth.log.
func TestReadJailsDebianPackage(t *testing.T) {
	home, _ := os.UserHomeDir()
	root := os.Getenv("RAMPART_FAIL2BAN_ROOT")
	if root == "" {
		root = filepath.Join(home, ".cache", "rampart", "fail2ban")
	}
	dir := filepath.Join(root, "etc", "fail2ban")
	if _, err := os.Stat(filepath.Join(dir, "jail.conf")); err != nil {
		t.Skipf("Debian fail2ban package not unpacked at %s (scripts/fail2ban-corpus.sh does it)", root)
	}
	jails, err := ReadJails(dir, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	var enabled []string
	for _, j := range jails {
		if j.Enabled {
			enabled = append(enabled, j.Name)
			if j.Name == "sshd" && (j.Options["logpath"] != "/var/log/auth.log" || j.Options["filter"] != "sshd[mode=normal]") {
				t.Errorf("sshd = %+v", j)
			}
		}
	}
	if diff := cmp.Diff([]string{"sshd"}, enabled); diff != "" {
		t.Errorf("enabled jails (-want +got):\n%s", diff)
	}
	if len(jails) < 50 {
		t.Errorf("only %d jail sections read from jail.conf", len(jails))
	}
	for _, name := range mustFilterNames(t, dir) {
		if _, err := ReadFilter(dir, name, nil); err != nil {
			t.Errorf("ReadFilter(%s): %v", name, err)
		}
	}
}

func mustFilterNames(t *testing.T, dir string) []string {
	n, err := FilterNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
