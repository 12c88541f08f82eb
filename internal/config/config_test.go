package config

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDefault(t *testing.T) {
	c := Default()
	want := Daemon{
		StateDir: "/var/lib/rampart", Socket: "/run/rampart/rampart.sock", LogLevel: "info",
		Firewall: "auto", OnStop: "keep", MaxLineBytes: 16384, HistoryKeep: 365 * 24 * time.Hour,
	}
	if diff := cmp.Diff(want, c.Daemon); diff != "" {
		t.Errorf("Default().Daemon mismatch (-want +got):\n%s", diff)
	}
	sshd, ok := c.Jail("sshd")
	if !ok {
		t.Fatal("Default() has no sshd jail")
	}
	wantJail := Jail{
		Name: "sshd", Enabled: true, Filter: "sshd", Backend: BackendAuto,
		LogPath:      []string{"/var/log/auth.log"},
		JournalMatch: []string{"_SYSTEMD_UNIT=ssh.service", "+", "_SYSTEMD_UNIT=sshd.service", "+", "_COMM=sshd", "+", "_COMM=sshd-session"},
		Ports:        []PortRange{{22, 22}}, Protocols: []string{"tcp"},
		MaxRetry: 5, FindTime: 10 * time.Minute, BanTime: 10 * time.Minute,
		Increment:  Increment{Factor: 1},
		IgnoreIP:   []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		IgnoreSelf: true, UseDNS: "warn", IPv4Prefix: 32, IPv6Prefix: 128, MaxTracked: 100000, SuricataSingleHit: 1,
	}
	if diff := cmp.Diff(wantJail, *sshd, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("Default() sshd jail mismatch (-want +got):\n%s", diff)
	}
	if got := c.Files; len(got) != 1 || got[0] != BuiltinName {
		t.Errorf("Default().Files = %q, want [%q]", got, BuiltinName)
	}
}

// loadTest checks src as x.toml without looking at the disk.
func loadTest(t *testing.T, src string, opt Options) (*Config, error) {
	t.Helper()
	opt.SkipFileChecks = opt.Glob == nil
	return LoadBytes("x.toml", []byte(src), opt)
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"bad duration", "[jails.sshd]\nfindtime = \"10x\"\n",
			[]string{`x.toml:2: jails.sshd.findtime: "10x" is not a duration (use e.g. 600, 10m, 1h30m, 1d)`}},
		{"syntax", "[jails.sshd]\nx = \n",
			[]string{`x.toml:2: TOML syntax: expected value but found '\n' instead`}},
		{"unclosed table name", "[jails.sshd\nenabled = true\n",
			[]string{`x.toml:1: TOML syntax: expected '.' or ']' to end table name, but got '\n' instead`}},
		{"newline in string", "[jails.sshd]\nfilter = \"sshd\nenabled = true\n",
			[]string{`x.toml:2: TOML syntax: strings cannot contain newlines`}},
		{"history_keep too short", "[daemon]\nhistory_keep = \"1h\"\n",
			[]string{`x.toml:2: daemon.history_keep: must be at least 1d, or "permanent" (bantime.increment counts earlier bans from this history)`}},
		{"unknown key with suggestion", "[jails.sshd]\nmaxrety = 3\n",
			[]string{`x.toml:2: jails.sshd.maxrety: unknown key (did you mean "maxretry"?)`}},
		{"fail2ban key", "[jails.sshd]\naction = \"%(action_mw)s\"\n",
			[]string{`x.toml:2: jails.sshd.action: unknown key: rampart bans through its own firewall backend, so Fail2ban actions are not used; choose banaction = "drop" or "reject"`}},
		{"fail2ban DEFAULT", "[DEFAULT]\nbantime = 1\n",
			[]string{`x.toml:1: DEFAULT: unknown key: Fail2ban's [DEFAULT] section is [defaults] here`}},
		{"jail outside jails", "[nginx]\nenabled = true\n",
			[]string{`x.toml:1: nginx: unknown key: jails are tables under jails: write [jails.nginx]`}},
		{"section typo", "[deamon]\nsocket = \"/run/x.sock\"\n",
			[]string{`x.toml:1: deamon: unknown key (did you mean "daemon"?)`}},
		{"unknown top-level key", "loglevel = \"debug\"\n",
			[]string{`x.toml:1: loglevel: unknown key (known keys here: daemon, defaults, jails, events, alerts, log, fim, web, fleet, baseline, host, auditd, limits, portscan, audit, blocklists)`}},
		{"section not a table", "daemon = 1\n",
			[]string{`x.toml:1: daemon: must be a table, e.g. [daemon]`}},
		{"wrong type", "[jails.sshd]\nmaxretry = \"5\"\n",
			[]string{`x.toml:2: jails.sshd.maxretry: must be an integer, not a string ("5")`}},
		{"typo in defaults", "[defaults]\nbantme = 1\n",
			[]string{`x.toml:2: defaults.bantme: unknown key (did you mean "bantime"?)`}},
		{"fail2ban key in daemon is not hinted", "[daemon]\naction = 1\n",
			[]string{`x.toml:2: daemon.action: unknown key (known keys here: state_dir, socket, socket_group, log_level, firewall, on_stop, metrics_listen, max_line_bytes, history_keep)`}},
		{"mode before filter", "[jails.sshd]\nmode = \"aggressive\"\nfilter = \"sshd[mode=ddos]\"\nmax_tracked = 0\n",
			[]string{`x.toml:4: jails.sshd.max_tracked: 0 is out of range (use 1 to 100000000)`}},
		{"out of range", "[jails.sshd]\nmaxretry = 0\n",
			[]string{`x.toml:2: jails.sshd.maxretry: 0 is out of range (use 1 to 1000)`}},
		{"dotted bantime", "[jails.sshd]\nbantime.increment = true\n",
			[]string{`x.toml:2: jails.sshd.bantime: Fail2ban's bantime.* keys go in the [jails.sshd.increment] table here: bantime.increment → enabled, bantime.factor → factor, bantime.maxtime → maxtime, ... (see docs/CONFIG.md)`}},
		{"bad cidr and bad address", "[defaults]\nignoreip = [\"192.0.2.0/33\", \"198.51.100.1\"]\n[jails.sshd]\nignoreip = \"300.1.2.3\"\n",
			[]string{
				`x.toml:2: defaults.ignoreip: "192.0.2.0/33" is not an address, a CIDR (e.g. 192.0.2.0/24) or a DNS name`,
				`x.toml:4: jails.sshd.ignoreip: "300.1.2.3" is not an address, a CIDR (e.g. 192.0.2.0/24) or a DNS name`,
			}},
		{"bad glob", "[jails.web]\nenabled = true\nlogpath = [\"/var/log/[x.log\"]\n",
			[]string{`x.toml:3: jails.web.logpath: "/var/log/[x.log" is not a valid glob (check its [ ] brackets and \ escapes)`}},
		{"relative logpath", "[jails.web]\nenabled = true\nlogpath = \"access.log\"\n",
			[]string{`x.toml:3: jails.web.logpath: "access.log" must be an absolute path or glob (e.g. /var/log/auth.log)`}},
		{"no logpath", "[jails.web]\nenabled = true\n",
			[]string{`x.toml:1: jails.web: jail "web" has no logpath (set logpath = ["/var/log/..."], or backend = "journal" with a journalmatch)`}},
		{"disabled jail is not checked for a logpath", "[jails.web]\nenabled = false\n", nil},
		{"daemon", "[daemon]\nfirewall = \"pf\"\nsocket = \"run/x.sock\"\nmetrics_listen = \"9100\"\nmax_line_bytes = 10\n",
			[]string{
				`x.toml:2: daemon.firewall: "pf" is not allowed (use auto, nftables, iptables, dryrun)`,
				`x.toml:3: daemon.socket: "run/x.sock" must be an absolute path`,
				`x.toml:4: daemon.metrics_listen: "9100" is not host:port (use host:port, e.g. 127.0.0.1:9731, or "" for off)`,
				`x.toml:5: daemon.max_line_bytes: 10 is out of range (use 256 to 16777216)`,
			}},
		{"increment", "[jails.sshd.increment]\nenabled = 1\nfactor = 0\nmultipliers = \"1 2 x\"\nmaxtime = \"forever-ish\"\nmaxtme = 1\n",
			[]string{
				`x.toml:2: jails.sshd.increment.enabled: must be true or false, not an integer (1)`,
				`x.toml:3: jails.sshd.increment.factor: must be a number above 0 (e.g. 1 or 2)`,
				`x.toml:4: jails.sshd.increment.multipliers: "x" is not a number (use e.g. [1, 2, 4, 8])`,
				`x.toml:5: jails.sshd.increment.maxtime: "forever-ish" is not a duration (use e.g. 600, 10m, 1h30m, 1d)`,
				`x.toml:6: jails.sshd.increment.maxtme: unknown key (did you mean "maxtime"?)`,
			}},
		{"fail2ban name in increment", "[jails.sshd.increment]\nincrement = true\n",
			[]string{`x.toml:2: jails.sshd.increment.increment: unknown key: Fail2ban's bantime.increment is enabled here`}},
		{"inline table keys have lines", "[jails.sshd]\nincrement = { enabled = true,\n  factor = \"two\" }\n",
			[]string{`x.toml:3: jails.sshd.increment.factor: must be a number, not a string ("two")`}},
		{"ports and protocol", "[jails.sshd]\nport = \"ssh,70000,nosuchservice-xyz\"\nprotocol = \"tcp,icmp\"\nbanaction = \"shorewall\"\n",
			[]string{
				`x.toml:2: jails.sshd.port: port "70000" is out of range (1-65535)`,
				`x.toml:3: jails.sshd.protocol: "icmp" is not a protocol (use tcp, udp, sctp, a list of them, or all)`,
				`x.toml:4: jails.sshd.banaction: "shorewall" is not a ban action (use "drop" or "reject", with port = "all" to cover every port; Fail2ban's nftables[-multiport|-allports] and iptables[-multiport|-allports] names are accepted)`,
			}},
		{"journalmatch", "[jails.sshd]\njournalmatch = \"+ _COMM=sshd\"\n",
			[]string{`x.toml:2: jails.sshd.journalmatch: "+ _COMM=sshd": a "+" must stand between two matches (use FIELD=value terms separated by spaces and "+" between alternatives, e.g. "_SYSTEMD_UNIT=ssh.service + _COMM=sshd")`}},
		{"filter spec", "[jails.sshd]\nfilter = \"sshd[mode=aggressive\"\n",
			[]string{`x.toml:2: jails.sshd.filter: "sshd[mode=aggressive": options must end with ] (e.g. "sshd[mode=aggressive]")`}},
		{"tail suffix", "[jails.web]\nenabled = true\nlogpath = \"/var/log/a.log tail\"\n",
			[]string{`x.toml:3: jails.web.logpath: "/var/log/a.log tail": Fail2ban's "tail" suffix is not used (rampart resumes from saved positions and reads a new file back as far as findtime); remove it`}},
		{"bad jail name", "[jails.\"a b\"]\n",
			[]string{`x.toml:1: jails."a b": jail name "a b" must be 1-48 letters, digits, '_', '.' or '-', starting with a letter or digit`}},
		{"reserved name", "[jails.manual]\n",
			[]string{"x.toml:1: jails.manual: the jail name \"manual\" is reserved for bans made with `rampart ban`; choose another name"}},
		{"array of tables", "[[jails]]\nname = \"x\"\n",
			[]string{`x.toml:1: jails: must be a table, e.g. [jails]`}},
		{"bad formula", "[jails.sshd.increment]\nenabled = true\nformula = \"ban.Time * os.system('x')\"\n",
			[]string{`x.toml:3: jails.sshd.increment.formula: jail "sshd": bantime.formula "ban.Time * os.system('x')": unexpected character '\'' (see docs/CONFIG.md)`}},
		{"formula not checked for a disabled increment", "[jails.sshd.increment]\nformula = \"(\"\n", nil},
		{"findtime under a second", "[jails.sshd]\nfindtime = 0.5\n",
			[]string{`x.toml:2: jails.sshd.findtime: must be at least 1s (use e.g. 10m)`}},
		{"web_text_params not a name", "[jails.web]\nweb_text_params = [\"_a\", \"Jql\", \"a=b\"]\n",
			[]string{`x.toml:2: jails.web.web_text_params: "Jql": must be a lower-case parameter name (e.g. "jql")`,
				`x.toml:2: jails.web.web_text_params: "a=b": must be a lower-case parameter name (e.g. "jql")`}},
		{"ok", "[jails.sshd]\nport = [\"ssh\", 2222]\nbantime = -1\nignoreip = \"192.0.2.1, 2001:db8::/32 host.example.org\"\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadTest(t, tt.src, Options{})
			var got []string
			if err != nil {
				var es Errors
				if !errors.As(err, &es) {
					t.Fatalf("LoadBytes error %T is not Errors: %v", err, err)
				}
				for _, e := range es {
					got = append(got, e.Error())
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LoadBytes(%q) errors mismatch (-want +got):\n%s", tt.src, diff)
			}
		})
	}
}

func TestLoadValues(t *testing.T) {
	src := `
[defaults]
bantime = "1h"
ignoreip = "192.0.2.1 2001:db8::/32 trusted.example.org 10.1.2.3/8"

[jails.sshd]
port = ["ssh", "2222", "8000:8010"]
protocol = "tcp,udp"
mode = "aggressive"
banaction = "nftables[type=allports]"
ipv4_prefix = 24
ipv6_prefix = 64
bantime = -1

[jails.sshd.increment]
enabled = true
factor = 2
multipliers = "1 2 4"
maxtime = "1w"
rndtime = 600
overalljails = true

[jails.web]
filter = 'nginx-http-auth[logtype="a b", x=1]'
logpath = "/var/log/nginx/*.log"
port = "http,https"
banaction = "reject"
web_text_params = ["_a", "se_la"]
`
	c, err := loadTest(t, src, Options{})
	if err != nil {
		t.Fatalf("LoadBytes: %v", err)
	}
	sshd, _ := c.Jail("sshd")
	wantSSHD := Jail{
		Name: "sshd", Enabled: true, Filter: "sshd", FilterOptions: map[string]string{"mode": "aggressive"},
		Backend: BackendAuto, LogPath: []string{"/var/log/auth.log"},
		JournalMatch: sshd.JournalMatch,
		AllPorts:     true, Protocols: []string{"tcp", "udp"}, Reject: true,
		MaxRetry: 5, FindTime: 10 * time.Minute, BanTime: Permanent,
		Increment: Increment{Enabled: true, Factor: 2, Multipliers: []float64{1, 2, 4}, MaxTime: 7 * 24 * time.Hour,
			RndTime: 10 * time.Minute, OverallJails: true},
		IgnoreIP: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("2001:db8::/32"),
			netip.MustParsePrefix("10.0.0.0/8")},
		IgnoreNames: []string{"trusted.example.org"},
		IgnoreSelf:  true, UseDNS: "warn", IPv4Prefix: 24, IPv6Prefix: 64, MaxTracked: 100000, SuricataSingleHit: 1,
	}
	if diff := cmp.Diff(wantSSHD, *sshd, cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("sshd mismatch (-want +got):\n%s", diff)
	}
	web, _ := c.Jail("web")
	if diff := cmp.Diff(map[string]string{"logtype": "a b", "x": "1"}, web.FilterOptions); diff != "" {
		t.Errorf("web filter options mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]PortRange{{80, 80}, {443, 443}}, web.Ports); diff != "" || web.AllPorts || !web.Reject || web.Enabled {
		t.Errorf("web ports = %v all=%v reject=%v enabled=%v, want 80,443 false true false", web.Ports, web.AllPorts, web.Reject, web.Enabled)
	}
	if web.BanTime != time.Hour {
		t.Errorf("web bantime = %v, want 1h from [defaults]", web.BanTime)
	}
	if diff := cmp.Diff([]string{"_a", "se_la"}, web.WebTextParams); diff != "" {
		t.Errorf("web_text_params mismatch (-want +got):\n%s", diff)
	}
	if got := len(c.Enabled()); got != 1 {
		t.Errorf("Enabled() has %d jails, want 1", got)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDropIns(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "rampart.toml")
	writeFile(t, main, "[defaults]\nmaxretry = 3\n\n[jails.sshd]\nbantime = \"1h\"\nignoreip = [\"192.0.2.0/24\"]\n")
	writeFile(t, filepath.Join(dir, "rampart.d", "20-late.toml"), "[jails.sshd]\nbantime = \"2h\"\n")
	writeFile(t, filepath.Join(dir, "rampart.d", "10-early.toml"), "[jails.sshd]\nbantime = \"30m\"\nfindtime = \"1h\"\n")
	writeFile(t, filepath.Join(dir, "rampart.d", "ignored.conf"), "not toml at all [")
	c, err := LoadWith(main, Options{SkipFileChecks: true})
	if err != nil {
		t.Fatalf("LoadWith: %v", err)
	}
	j, _ := c.Jail("sshd")
	got := []any{j.MaxRetry, j.BanTime, j.FindTime, len(j.IgnoreIP)}
	want := []any{3, 2 * time.Hour, time.Hour, 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged sshd (maxretry, bantime, findtime, #ignoreip) mismatch (-want +got):\n%s", diff)
	}
	wantFiles := []string{BuiltinName, main, filepath.Join(dir, "rampart.d", "10-early.toml"), filepath.Join(dir, "rampart.d", "20-late.toml")}
	if diff := cmp.Diff(wantFiles, c.Files); diff != "" {
		t.Errorf("Files mismatch (-want +got):\n%s", diff)
	}

	// An error in a drop-in names the drop-in, and errors in several files all come back.
	writeFile(t, filepath.Join(dir, "rampart.d", "30-bad.toml"), "\n[jails.sshd]\nbantime = \"soon\"\n")
	writeFile(t, main, "[daemon]\nlog_level = 3\n")
	_, err = LoadWith(main, Options{SkipFileChecks: true})
	wantErr := main + ":2: daemon.log_level: must be a string, not an integer (3)\n" +
		filepath.Join(dir, "rampart.d", "30-bad.toml") + `:3: jails.sshd.bantime: "soon" is not a duration (use e.g. 600, 10m, 1h30m, 1d)`
	if err == nil || err.Error() != wantErr {
		t.Errorf("LoadWith error =\n%v\nwant\n%s", err, wantErr)
	}
}

func TestLoadTooBig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rampart.toml")
	writeFile(t, path, "# "+strings.Repeat("x", MaxFileBytes)+"\n")
	if _, err := LoadWith(path, Options{}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("LoadWith(huge file) error = %v, want a size refusal", err)
	}
}

func TestLoadMissing(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "rampart.toml")
	fifo := filepath.Join(dir, DropInDir, "fifo.toml")
	if err := os.MkdirAll(filepath.Dir(fifo), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWith(missing, Options{MissingOK: true}); err == nil || !strings.Contains(err.Error(), "fifo.toml: cannot read: not a regular file") {
		t.Errorf("LoadWith with a FIFO drop-in: error = %v, want a refusal naming it", err)
	}
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWith(missing, Options{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("LoadWith(missing) error = %v, want no such file", err)
	}
	writeFile(t, filepath.Join(dir, "rampart.d", "a.toml"), "[jails.sshd]\nenabled = false\n")
	c, err := LoadWith(missing, Options{MissingOK: true})
	if err != nil {
		t.Fatalf("LoadWith(missing, MissingOK): %v", err)
	}
	if j, _ := c.Jail("sshd"); j.Enabled {
		t.Error("drop-in without a main file was not applied")
	}
}

// fakeFS is a fixed set of files and directories for Glob and Stat.
type fakeFS map[string]bool // path -> is a directory

func (f fakeFS) glob(p string) ([]string, error) {
	var out []string
	for name, dir := range f {
		if ok, _ := filepath.Match(p, name); ok && !dir {
			out = append(out, name)
		}
	}
	return out, nil
}

func (f fakeFS) stat(p string) (fs.FileInfo, error) {
	if _, ok := f[p]; ok {
		return nil, nil
	}
	return nil, fs.ErrNotExist
}

func TestLoadChecksFilesAndFilters(t *testing.T) {
	disk := fakeFS{"/var/log": true, "/var/log/nginx": true, "/var/log/nginx/access.log": false}
	src := `
[jails.sshd]
enabled = true
[jails.nginx]
enabled = true
filter = "nginx-http-auth"
logpath = ["/var/log/nginx/*.log", "/var/log/nginx/later.log"]
[jails.app]
enabled = true
filter = "no-such-filter"
logpath = "/srv/app/logs/*.log"
`
	exists := func(name string) bool { return name != "no-such-filter" }
	_, err := LoadBytes("x.toml", []byte(src), Options{FilterExists: exists, Glob: disk.glob, Stat: disk.stat})
	want := "x.toml:10: jails.app.filter: unknown filter \"no-such-filter\" (see `rampart filter list`, or give the path of a filter file)\n" +
		`x.toml:11: jails.app.logpath: no file matches "/srv/app/logs/*.log" and directory /srv/app/logs does not exist (fix the path, install the service, or set enabled = false)`
	if err == nil || err.Error() != want {
		t.Fatalf("error =\n%v\nwant\n%s", err, want)
	}
	src = src[:strings.Index(src, "[jails.app]")]
	c, err := LoadBytes("x.toml", []byte(src), Options{FilterExists: exists, Glob: disk.glob, Stat: disk.stat})
	if err != nil {
		t.Fatal(err)
	}
	var warns []string
	for _, w := range c.Warnings {
		warns = append(warns, w.Error())
	}
	// sshd: no auth.log, but journalmatch: the journal, no warning.
	wantWarns := []string{`x.toml:7: jails.nginx.logpath: no file matches "/var/log/nginx/later.log" yet; rampart watches for it to appear`}
	if diff := cmp.Diff(wantWarns, warns); diff != "" {
		t.Errorf("warnings mismatch (-want +got):\n%s", diff)
	}
}

func TestSource(t *testing.T) {
	withAuth := fakeFS{"/var/log/auth.log": false}
	none := fakeFS{}
	sshd, _ := Default().Jail("sshd")
	tests := []struct {
		name string
		jail Jail
		disk fakeFS
		want Source
	}{
		{"auto with auth.log", *sshd, withAuth, Source{Files: []string{"/var/log/auth.log"}}},
		{"auto without auth.log", *sshd, none, Source{Journal: true, JournalMatch: sshd.JournalMatch}},
		{"auto without journalmatch waits for the file", Jail{Backend: BackendAuto, LogPath: []string{"/a"}}, none, Source{Files: []string{"/a"}}},
		{"polling", Jail{Backend: BackendPolling, LogPath: []string{"/a"}}, none, Source{Polling: true, Files: []string{"/a"}}},
		{"journal", Jail{Backend: BackendJournal, LogPath: []string{"/a"}, JournalMatch: []string{"_COMM=x"}}, withAuth, Source{Journal: true, JournalMatch: []string{"_COMM=x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.jail.Source(tt.disk.glob)); diff != "" {
				t.Errorf("Source mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// mode refines whichever filter its table sets, before or after it.
func TestModeIsLate(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{"[jails.a]\nmode = \"aggressive\"\nfilter = \"sshd\"\n", "sshd[mode=aggressive]"},
		{"[jails.a]\nfilter = \"sshd\"\nmode = \"aggressive\"\n", "sshd[mode=aggressive]"},
		{"[jails.a]\nmode = \"aggressive\"\nfilter = \"sshd[mode=ddos]\"\n", "sshd[mode=ddos]"},
	} {
		c, err := loadTest(t, tt.src, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if j, _ := c.Jail("a"); j.FilterSpec() != tt.want {
			t.Errorf("LoadBytes(%q): filter = %q, want %q", tt.src, j.FilterSpec(), tt.want)
		}
	}
}

func TestAlertErrors(t *testing.T) {
	for src, want := range map[string]string{
		"[alerts.a]\nurl = \"http://x\"\n":                                        `x.toml:1: alerts.a: type is missing (webhook, slack, ntfy or email)`,
		"[alerts.a]\ntype = \"webhok\"\nurl = \"http://x\"\n":                     `x.toml:2: alerts.a.type: "webhok" is not allowed (use webhook, slack, ntfy, email)`,
		"[alerts.a]\ntype = \"email\"\nsmtp = \"m:25\"\n":                         `x.toml:1: alerts.a: an email alert needs smtp (host:port), from and to`,
		"[alerts.a]\ntype = \"ntfy\"\nurl = \"ftp://x\"\n":                        `x.toml:3: alerts.a.url: "ftp://x" is not an http:// or https:// URL`,
		"[alerts.a]\ntype = \"slack\"\nurl = \"https://x\"\nkinds = [\"bans\"]\n": `x.toml:4: alerts.a.kinds: unknown kind "bans" (want finding, ban, unban, expiry, reload, source-error, integrity-change, host-change, audit-result, policy, firewall-restored)`,
	} {
		_, err := LoadBytes("x.toml", []byte(src), Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadBytes(%q) = %v, want %s", src, err, want)
		}
		if err != nil && strings.Count(err.Error(), "alerts.a") != 1 {
			t.Errorf("LoadBytes(%q): %v; want one error", src, err)
		}
	}
}

func TestSocketGroup(t *testing.T) {
	c, err := LoadBytes("x.toml", []byte("[daemon]\nsocket_group = \"nogroup\"\n"), Options{})
	if err != nil {
		t.Skipf("no group nogroup here: %v", err)
	}
	if c.Daemon.SocketGroup != "nogroup" || c.Daemon.SocketGID <= 0 {
		t.Errorf("socket_group nogroup: %q gid %d", c.Daemon.SocketGroup, c.Daemon.SocketGID)
	}
	_, err = LoadBytes("x.toml", []byte("[daemon]\nsocket_group = \"no-such-group-rampart\"\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "x.toml:2: daemon.socket_group: group \"no-such-group-rampart\" does not exist (create it with `groupadd --system") {
		t.Errorf("unknown group: %v", err)
	}
	if _, err := LoadBytes("x.toml", []byte("[daemon]\nsocket_group = \"root\"\n"), Options{}); err == nil {
		t.Error("root's group accepted as the read-only group")
	}
}
