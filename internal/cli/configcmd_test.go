package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigCommands(t *testing.T) {
	dir := t.TempDir()
	logDir := filepath.Join(dir, "log")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logDir, "auth.log"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.toml")
	writeConfig(t, good, `[jails.sshd]
logpath = ["`+logDir+`/auth.log", "`+logDir+`/later.log"]
bantime = "1h"
`)
	bad := filepath.Join(dir, "bad", "rampart.toml")
	writeConfig(t, bad, "[daemon]\nfirewall = \"pf\"\n\n[jails.sshd]\nfindtime = \"10x\"\nfilter = \"no-such-filter\"\n")

	code, out, errOut := run("config", "check", "--config", good)
	if code != 0 || !strings.HasPrefix(out, "OK: 1 jail(s) enabled (sshd); read (built-in defaults), "+good) ||
		!strings.Contains(errOut, `warning: `+good+`:2: jails.sshd.logpath: no file matches "`+logDir+`/later.log" yet`) {
		t.Errorf("config check (good): exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	if want := "\n  sshd reads " + logDir + "/auth.log, " + logDir + "/later.log\n"; !strings.Contains(out, want) {
		t.Errorf("config check (good) does not say what sshd reads: want %q in\n%s", want, out)
	}

	// backend auto with none of the files there: the journal, and why.
	gone := filepath.Join(dir, "gone.toml")
	writeConfig(t, gone, "[jails.sshd]\nlogpath = [\""+logDir+"/gone.log\"]\njournalmatch = \"_SYSTEMD_UNIT=ssh.service\"\n")
	code, out, errOut = run("config", "check", "--config", gone)
	if want := "\n  sshd reads the journal (_SYSTEMD_UNIT=ssh.service); no file matches " + logDir + "/gone.log\n"; code != 0 || !strings.Contains(out, want) {
		t.Errorf("config check (gone): exit %d, stderr %q, want %q in stdout\n%s", code, errOut, want, out)
	}

	code, out, errOut = run("config", "check", "--config", bad)
	wantErr := bad + `:2: daemon.firewall: "pf" is not allowed (use auto, nftables, iptables, dryrun)` + "\n" +
		bad + `:5: jails.sshd.findtime: "10x" is not a duration (use e.g. 600, 10m, 1h30m, 1d)` + "\n" +
		bad + ":6: jails.sshd.filter: unknown filter \"no-such-filter\" (see `rampart filter list`, or give the path of a filter file)\n" +
		"rampart: the configuration has 3 error(s)\n"
	if code != 2 || out != "" || errOut != wantErr {
		t.Errorf("config check (bad): exit %d, stdout %q, stderr\n%s\nwant exit 2 and\n%s", code, out, errOut, wantErr)
	}

	code, out, errOut = run("config", "show", "--config", good)
	if code != 0 || !strings.Contains(out, "[jails.sshd]\nenabled = true\n") || !strings.Contains(out, `bantime = "1h"`) {
		t.Errorf("config show: exit %d, stderr %q, stdout\n%s", code, errOut, out)
	}
	// What show prints passes check.
	shown := filepath.Join(dir, "shown.toml")
	writeConfig(t, shown, out)
	if code, _, errOut := run("config", "check", "--config", shown); code != 0 {
		t.Errorf("config check of show's output: exit %d, stderr %q", code, errOut)
	}

	code, out, _ = run("config", "show", "--json", "--config", good)
	var v struct {
		Jails map[string]struct {
			BanTime string `json:"bantime"`
		} `json:"jails"`
	}
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || v.Jails["sshd"].BanTime != "1h" {
		t.Errorf("config show --json: exit %d, %v, %+v", code, err, v)
	}

	code, _, errOut = run("config", "check", "--config", filepath.Join(dir, "missing.toml"))
	if code != 2 || !strings.Contains(errOut, "missing.toml: no such file (create it, or point --config at your configuration)") {
		t.Errorf("config check (missing): exit %d, stderr %q", code, errOut)
	}
}

func TestConfigCheckFail2ban(t *testing.T) {
	dir := t.TempDir()
	authLog := filepath.Join(dir, "auth.log")
	writeConfig(t, authLog, "")
	f2b := filepath.Join(dir, "fail2ban")
	writeConfig(t, filepath.Join(f2b, "jail.conf"), "[DEFAULT]\nbantime = 1h\nmaxretry = 3\n\n[sshd]\nport = ssh\nlogpath = "+authLog+"\n")
	writeConfig(t, filepath.Join(f2b, "jail.local"), "[sshd]\nenabled = true\naction = sendmail-whois\n")
	code, out, errOut := run("config", "check", "--fail2ban", f2b)
	if code != 0 || !strings.HasPrefix(out, "OK: 1 jail(s) enabled (sshd)") ||
		!strings.Contains(errOut, `not carried over: jail "sshd": action "sendmail-whois"`) {
		t.Errorf("config check --fail2ban: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	code, out, _ = run("config", "show", "--fail2ban", f2b)
	if code != 0 || !strings.Contains(out, "maxretry = 3\n") || !strings.Contains(out, `bantime = "1h"`) {
		t.Errorf("config show --fail2ban: exit %d\n%s", code, out)
	}
}

func writeConfig(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestVersionJSON(t *testing.T) {
	code, out, _ := run("version", "--json")
	var v struct{ Version, Go string }
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || v.Version == "" || !strings.HasPrefix(v.Go, "go") {
		t.Errorf("version --json: exit %d, %v, %q", code, err, out)
	}
}
