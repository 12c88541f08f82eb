package audit

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
)

func bruteForceChecks() []Check {
	return []Check{
		{
			ID: "bruteforce.engine", Area: AreaBruteForce, Severity: High,
			Title:       "A ban engine (rampart or Fail2ban) is running and answering",
			Reads:       "rampart's control socket (GET /v1/status, --rampart-socket) and fail2ban-server's socket (`fail2ban-client -s SOCK ping`)",
			Why:         "An installed but stopped ban engine bans nobody; only a daemon that answers is protecting the host.",
			Remediation: "systemctl enable --now rampart   # or: apt-get install fail2ban && systemctl enable --now fail2ban",
			Run:         checkBanEngine,
		},
		{
			ID: "bruteforce.sshd-jail", Area: AreaBruteForce, Severity: High,
			Title:       "An sshd jail is active in the running ban engine",
			Reads:       "the jails of the running daemon: rampart's GET /v1/status, `fail2ban-client status`",
			Why:         "SSH is the service brute-forced on every internet host; an engine without an sshd jail does not protect it.",
			Remediation: "enable the sshd jail: rampart's [jail.sshd] enabled = true, or in /etc/fail2ban/jail.local:\n[sshd]\nenabled = true",
			Run:         checkSSHDJail,
		},
		{
			ID: "bruteforce.sshd-log", Area: AreaBruteForce, Severity: Medium,
			Title:       "The sshd jail reads the log sshd actually writes to",
			Reads:       "where sshd's messages go (rsyslog's auth rule, else the journal) against the jail's log path or journal backend (`fail2ban-client get sshd logpath`, rampart's status)",
			Why:         "A jail that watches /var/log/auth.log on a host without rsyslog never sees a failed login, so it never bans.",
			Remediation: "Point the jail at the right source: with rsyslog, logpath = /var/log/auth.log; without it, backend = systemd",
			Run:         checkSSHDLog,
		},
		{
			ID: "bruteforce.jail-local", Area: AreaBruteForce, Severity: Low,
			Title:       "Fail2ban's jail.conf is unmodified (local changes live in jail.local or jail.d)",
			Reads:       "md5 of /etc/fail2ban/jail.conf against the conffile md5 dpkg recorded (/var/lib/dpkg/status)",
			Why:         "Edits to jail.conf are overwritten or left behind as .dpkg-dist at the next upgrade, silently changing protection.",
			Remediation: "Move your changes into /etc/fail2ban/jail.local, then: apt-get install --reinstall -o Dpkg::Options::=--force-confask fail2ban",
			Run:         checkJailLocal,
		},
		{
			ID: "bruteforce.pam-faillock", Area: AreaBruteForce, Severity: Medium,
			Title:       "Local accounts lock after repeated failures (pam_faillock)",
			Reads:       "/etc/pam.d/common-auth (pam_faillock.so) and /etc/security/faillock.conf (deny, unlock_time)",
			Why:         "Account lockout stops slow guessing that stays under the ban engine's thresholds, and covers console and su logins.",
			Remediation: "Add pam_faillock to /etc/pam.d/common-auth (auth required pam_faillock.so preauth / authfail) and set deny = 5, unlock_time = 900 in /etc/security/faillock.conf",
			Run:         checkFaillock,
		},
	}
}

// banEngine is what the live ban engines said.
type banEngine struct {
	Rampart     bool
	RampartErr  error
	RampartJSON map[string]any
	Fail2ban    bool
	Fail2banErr error
	Fail2banOut string // `fail2ban-client status`
}

// banEngines asks rampart's and Fail2ban's sockets (shared per run).
func (e *Env) banEngines(ctx context.Context) (*banEngine, error) {
	if !e.live() {
		return nil, errNotLive
	}
	return load(ctx, e, "ban-engines", func(ctx context.Context) (*banEngine, error) {
		b := &banEngine{}
		b.RampartJSON, b.RampartErr = e.rampartStatus(ctx)
		b.Rampart = b.RampartErr == nil
		b.Fail2banOut, b.Fail2banErr = e.fail2ban(ctx, "ping")
		if b.Fail2banErr == nil {
			if !strings.Contains(b.Fail2banOut, "pong") {
				b.Fail2banErr = fmt.Errorf("fail2ban ping: unexpected answer %q", firstLine(b.Fail2banOut))
			} else {
				b.Fail2ban = true
				b.Fail2banOut, b.Fail2banErr = e.fail2ban(ctx, "status")
			}
		}
		return b, nil
	})
}

// rampartStatus asks the daemon's GET /v1/status over its unix socket.
func (e *Env) rampartStatus(ctx context.Context) (map[string]any, error) {
	if e.RampartSocket == "" {
		return nil, fmt.Errorf("no rampart socket configured")
	}
	if _, err := os.Stat(e.RampartSocket); err != nil {
		return nil, fmt.Errorf("rampart: %w", err)
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return e.dial(ctx, "unix", e.RampartSocket)
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://rampart/v1/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("rampart %s: %w", e.RampartSocket, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOutput))
	if err != nil {
		return nil, fmt.Errorf("rampart %s: %w", e.RampartSocket, err)
	}
	if resp.StatusCode == http.StatusForbidden {
		return nil, fmt.Errorf("rampart %s answers, but its status %w", e.RampartSocket, errNeedRoot)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("rampart %s: GET /v1/status: %s", e.RampartSocket, resp.Status)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("rampart %s: status is not JSON: %w", e.RampartSocket, err)
	}
	return m, nil
}

// fail2ban runs fail2ban-client against the configured socket.
func (e *Env) fail2ban(ctx context.Context, args ...string) (string, error) {
	if _, err := os.Stat(e.Fail2banSocket); err != nil {
		return "", fmt.Errorf("fail2ban: %w", err)
	}
	out, err := e.run(ctx, "fail2ban-client", append([]string{"-s", e.Fail2banSocket}, args...)...)
	if err != nil && strings.Contains(strings.ToLower(err.Error()+string(out)), "permission denied") {
		return string(out), fmt.Errorf("fail2ban %s answers, but %w", e.Fail2banSocket, errNeedRoot)
	}
	if err != nil {
		return string(out), fmt.Errorf("fail2ban-client %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// rampartJails lists the jails in rampart's status, with their fields.
func rampartJails(status map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	switch js := status["jails"].(type) {
	case []any:
		for _, j := range js {
			if m, ok := j.(map[string]any); ok {
				if n, ok := m["name"].(string); ok {
					out[n] = m
				}
			}
		}
	case map[string]any:
		for n, j := range js {
			m, _ := j.(map[string]any)
			if m == nil {
				m = map[string]any{}
			}
			out[n] = m
		}
	}
	return out
}

// fail2banJails parses "Jail list:\tsshd, nginx" from `fail2ban-client status`.
func fail2banJails(out string) []string {
	for _, l := range strings.Split(out, "\n") {
		if _, rest, ok := strings.Cut(l, "Jail list:"); ok {
			var js []string
			for _, j := range strings.Split(rest, ",") {
				if j = strings.TrimSpace(j); j != "" {
					js = append(js, j)
				}
			}
			return js
		}
	}
	return nil
}

func checkBanEngine(ctx context.Context, e *Env) Result {
	b, err := e.banEngines(ctx)
	if err != nil {
		if err == errNotLive {
			return offline()
		}
		return errorf("%v", err)
	}
	switch {
	case b.Rampart:
		return pass("rampart answers on %s", e.RampartSocket)
	case b.Fail2ban:
		return pass("fail2ban-server answers on %s", e.Fail2banSocket)
	case errors.Is(b.RampartErr, errNeedRoot):
		return pass("%v", b.RampartErr)
	case errors.Is(b.Fail2banErr, errNeedRoot):
		return pass("%v", b.Fail2banErr)
	}
	return fail("no ban engine answers: %v; %v", b.RampartErr, b.Fail2banErr)
}

// sshdJail finds the engine's sshd jail: its name and fields (rampart) or
// fail2ban's name.
func (b *banEngine) sshdJail() (engine, name string, fields map[string]any) {
	if b.Rampart {
		js := rampartJails(b.RampartJSON)
		names := make([]string, 0, len(js))
		for n := range js {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			f := js[n]
			if en, ok := f["enabled"].(bool); ok && !en {
				continue
			}
			if n == "sshd" || strings.Contains(n, "ssh") || f["filter"] == "sshd" {
				return "rampart", n, f
			}
		}
	}
	if b.Fail2ban {
		for _, j := range fail2banJails(b.Fail2banOut) {
			if j == "sshd" || strings.Contains(j, "ssh") {
				return "fail2ban", j, nil
			}
		}
	}
	return "", "", nil
}

func checkSSHDJail(ctx context.Context, e *Env) Result {
	b, err := e.banEngines(ctx)
	if err != nil {
		if err == errNotLive {
			return offline()
		}
		return errorf("%v", err)
	}
	if !b.Rampart && !b.Fail2ban {
		if errors.Is(b.RampartErr, errNeedRoot) || errors.Is(b.Fail2banErr, errNeedRoot) {
			return skip("the ban engine's jails: needs root")
		}
		return fail("no ban engine answers, so nothing protects sshd")
	}
	engine, name, _ := b.sshdJail()
	if engine != "" {
		return pass("%s jail %q is active", engine, name)
	}
	var have []string
	if b.Rampart {
		for n := range rampartJails(b.RampartJSON) {
			have = append(have, "rampart:"+n)
		}
	}
	if b.Fail2ban {
		for _, j := range fail2banJails(b.Fail2banOut) {
			have = append(have, "fail2ban:"+j)
		}
	}
	sort.Strings(have)
	if len(have) == 0 {
		return fail("the ban engine has no active jail")
	}
	return fail("no sshd jail among %s", strings.Join(have, ", "))
}

// sshdLogTarget says where sshd's messages end up: a file written by rsyslog
// from the auth facility, or the journal.
func (e *Env) sshdLogTarget(ctx context.Context) (string, error) {
	up, _, err := e.service(ctx, []string{"rsyslogd"}, []string{"rsyslog.service"})
	if err != nil {
		return "", err
	}
	if !up {
		return "journal", nil
	}
	files := []string{"/etc/rsyslog.conf"}
	more, _ := e.Glob("/etc/rsyslog.d/*.conf")
	files = append(files, more...)
	for _, f := range files {
		ls, err := e.lines(f)
		if err != nil {
			continue
		}
		for _, l := range ls {
			f := strings.Fields(l)
			if len(f) < 2 || strings.HasPrefix(f[0], "#") {
				continue
			}
			if strings.Contains(f[0], "auth") && !strings.Contains(f[0], "auth.none") && !strings.Contains(f[0], "authpriv.none") {
				target := strings.TrimPrefix(f[len(f)-1], "-")
				if strings.HasPrefix(target, "/") {
					return target, nil
				}
			}
		}
	}
	return "journal", nil
}

func checkSSHDLog(ctx context.Context, e *Env) Result {
	b, err := e.banEngines(ctx)
	if err != nil {
		if err == errNotLive {
			return offline()
		}
		return errorf("%v", err)
	}
	engine, name, fields := b.sshdJail()
	if engine == "" {
		return skip("no active sshd jail (see bruteforce.sshd-jail)")
	}
	target, err := e.sshdLogTarget(ctx)
	if err != nil {
		return errorf("%v", err)
	}
	var reads string
	if engine == "rampart" {
		raw, _ := json.Marshal(fields)
		reads = string(raw)
	} else {
		out, err := e.fail2ban(ctx, "get", name, "logpath")
		if err != nil {
			return errorf("%v", err)
		}
		reads = out
		if jm, err := e.fail2ban(ctx, "get", name, "journalmatch"); err == nil && strings.Contains(jm, "_SYSTEMD_UNIT") {
			reads += " journal"
		}
	}
	if target == "journal" {
		if strings.Contains(reads, "journal") || strings.Contains(reads, "systemd") {
			return pass("sshd logs to the journal and %s jail %q reads the journal", engine, name)
		}
		return fail("sshd logs to the journal (no rsyslog), but %s jail %q reads %s", engine, name, oneLine(reads))
	}
	if strings.Contains(reads, target) {
		return pass("sshd logs to %s and %s jail %q reads it", target, engine, name)
	}
	return fail("sshd logs to %s, but %s jail %q reads %s", target, engine, name, oneLine(reads))
}

func oneLine(s string) string {
	return trunc(strings.Join(strings.Fields(s), " "), 200)
}

func checkJailLocal(ctx context.Context, e *Env) Result {
	pk, err := e.dpkgPackages(ctx)
	if err != nil {
		return e.readErr(err)
	}
	p, ok := pk["fail2ban"]
	if !ok || !p.installed() {
		return skip("fail2ban is not installed")
	}
	want, ok := p.Conffiles["/etc/fail2ban/jail.conf"]
	if !ok {
		return skip("dpkg records no checksum for /etc/fail2ban/jail.conf")
	}
	b, err := e.ReadFile("/etc/fail2ban/jail.conf")
	if err != nil {
		if notExist(err) {
			return fail("/etc/fail2ban/jail.conf was deleted")
		}
		return e.readErr(err)
	}
	sum := md5.Sum(b)
	if got := hex.EncodeToString(sum[:]); got != want {
		return fail("/etc/fail2ban/jail.conf md5 %s differs from the packaged %s", got, want)
	}
	return pass("/etc/fail2ban/jail.conf is as packaged")
}

func checkFaillock(ctx context.Context, e *Env) Result {
	ls, err := e.lines("/etc/pam.d/common-auth")
	if err != nil {
		if notExist(err) {
			return fail("/etc/pam.d/common-auth does not exist")
		}
		return e.readErr(err)
	}
	used := false
	for _, l := range ls {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "#") && strings.Contains(l, "pam_faillock.so") {
			used = true
		}
	}
	if !used {
		return fail("pam_faillock.so is not in /etc/pam.d/common-auth")
	}
	kv, err := e.readKV("/etc/security/faillock.conf", "=")
	if err != nil {
		return e.readErr(err)
	}
	deny, unlock := 3, 600
	if v, ok := kv["deny"]; ok {
		deny, _ = strconv.Atoi(v)
	}
	if v, ok := kv["unlock_time"]; ok {
		unlock, _ = strconv.Atoi(v)
	}
	if deny <= 0 || deny > 5 {
		return fail("pam_faillock deny = %d (want 1-5)", deny)
	}
	if unlock != 0 && unlock < 600 {
		return fail("pam_faillock unlock_time = %d s (want at least 600, or 0)", unlock)
	}
	return pass("pam_faillock in common-auth, deny = %d, unlock_time = %d", deny, unlock)
}
