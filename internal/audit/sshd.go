package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

// sshdConfig is the effective sshd configuration: lowercase keywords to
// values, as `sshd -T` prints them.
type sshdConfig struct {
	Source string // how it was obtained, for evidence
	File   string // the daemon's configuration file
	Values map[string][]string
	Daemon *Process // the running listener, nil when sshd is not running
}

// errNoSSHD means there is no OpenSSH server to audit.
var errNoSSHD = errors.New("no OpenSSH server: sshd is not running and /usr/sbin/sshd is not installed")

// sshdDefaults are OpenSSH 9.2's compiled-in values of the keywords the
// checks read, used when the configuration file is parsed rather than
// evaluated by `sshd -T`.
var sshdDefaults = map[string]string{
	"port":                            "22",
	"permitrootlogin":                 "prohibit-password",
	"passwordauthentication":          "yes",
	"kbdinteractiveauthentication":    "yes",
	"permitemptypasswords":            "no",
	"maxauthtries":                    "6",
	"logingracetime":                  "120",
	"x11forwarding":                   "no",
	"allowtcpforwarding":              "yes",
	"allowagentforwarding":            "yes",
	"allowstreamlocalforwarding":      "yes",
	"permittunnel":                    "no",
	"gatewayports":                    "no",
	"disableforwarding":               "no",
	"loglevel":                        "INFO",
	"clientaliveinterval":             "0",
	"clientalivecountmax":             "3",
	"maxstartups":                     "10:30:100",
	"maxsessions":                     "10",
	"ignorerhosts":                    "yes",
	"hostbasedauthentication":         "no",
	"permituserenvironment":           "no",
	"usepam":                          "no",
	"banner":                          "none",
	"authenticationmethods":           "any",
	"pubkeyauthentication":            "yes",
	"ciphers":                         "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
	"macs":                            "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
	"kexalgorithms":                   "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256",
	"challengeresponseauthentication": "",
	// Read by rampart harden's ssh area (key guard, reload).
	"authorizedkeysfile":    ".ssh/authorized_keys .ssh/authorized_keys2",
	"authorizedkeyscommand": "none",
	"pidfile":               "/run/sshd.pid",
	"strictmodes":           "yes",
}

// SSHDDefault returns OpenSSH's compiled-in value of keyword k (lower
// case), "" for a keyword the table does not hold.
func SSHDDefault(k string) string { return sshdDefaults[k] }

// multiKeys accumulate over lines; every other keyword keeps its first value.
var multiKeys = map[string]bool{
	"port": true, "listenaddress": true, "hostkey": true, "acceptenv": true,
	"allowusers": true, "allowgroups": true, "denyusers": true, "denygroups": true,
	"subsystem": true, "setenv": true,
}

// get returns the first value of keyword k, or OpenSSH's default.
func (c *sshdConfig) get(k string) string {
	if v := c.Values[k]; len(v) > 0 {
		return v[0]
	}
	return sshdDefaults[k]
}

// all returns every value of k.
func (c *sshdConfig) all(k string) []string { return c.Values[k] }

// effectiveSSHD finds the running sshd and reads its effective configuration
// (shared per run).
func (e *Env) effectiveSSHD(ctx context.Context) (*sshdConfig, error) {
	return load(ctx, e, "sshd", e.loadSSHD)
}

func (e *Env) loadSSHD(ctx context.Context) (*sshdConfig, error) {
	c := &sshdConfig{File: "/etc/ssh/sshd_config"}
	if e.live() {
		d, err := e.sshdListener(ctx)
		if err != nil {
			return nil, err
		}
		if d != nil {
			c.Daemon = d
			if f := sshdFlag(d.Args, "-f"); f != "" {
				c.File = f
			}
		}
	}
	if c.Daemon == nil && !e.exists("/usr/sbin/sshd") && !e.exists(c.File) {
		return nil, errNoSSHD
	}
	var tErr error
	if e.live() && e.Privileged {
		out, err := e.run(ctx, "sshd", "-T", "-C", "user=root,host=localhost,addr=127.0.0.1", "-f", c.File)
		if err == nil {
			c.Values = parseSSHDT(out)
			c.Source = "sshd -T -f " + c.File
			return c, nil
		}
		tErr = err
	}
	vals, err := e.parseSSHDConfig(c.File, 0)
	if err != nil {
		return nil, err
	}
	c.Values = vals
	c.Source = "parsed " + c.File + " (Match blocks ignored)"
	if tErr != nil {
		c.Source += "; sshd -T failed: " + firstLine(tErr.Error())
	} else if e.live() && !e.Privileged {
		c.Source += "; sshd -T needs root"
	}
	return c, nil
}

// sshdListener returns the sshd that accepts connections: an sshd whose
// parent is not sshd, preferring one that owns a listening socket in this
// network namespace.
func (e *Env) sshdListener(ctx context.Context) (*Process, error) {
	ps, err := e.Processes(ctx)
	if err != nil {
		return nil, err
	}
	byPID := map[int]Process{}
	for _, p := range ps {
		byPID[p.PID] = p
	}
	var cands []Process
	for _, p := range ps {
		if p.Comm == "sshd" && byPID[p.PPID].Comm != "sshd" {
			cands = append(cands, p)
		}
	}
	if len(cands) == 0 {
		return nil, nil
	}
	if socks, err := e.Listening(ctx); err == nil {
		if owners, err := e.socketOwners(ctx); err == nil {
			for _, s := range socks {
				if o, ok := owners[s.Inode]; ok && o.Comm == "sshd" {
					for _, c := range cands {
						if c.PID == o.PID {
							return &c, nil
						}
					}
				}
			}
		}
	}
	return &cands[0], nil
}

// sshdFlag finds flag's value in sshd's argv. The listener rewrites its
// title to "sshd: /usr/sbin/sshd -D -f FILE [listener] …", one string.
func sshdFlag(args []string, flag string) string {
	if len(args) == 1 && strings.Contains(args[0], " ") {
		s := args[0]
		if i := strings.Index(s, " [listener]"); i >= 0 {
			s = s[:i]
		}
		args = strings.Fields(s)
	}
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
		if strings.HasPrefix(a, flag) && len(a) > len(flag) {
			return a[len(flag):]
		}
	}
	return ""
}

// parseSSHDT reads `sshd -T` output: one "keyword value" per line.
func parseSSHDT(b []byte) map[string][]string {
	out := map[string][]string{}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(l), " ")
		if k == "" {
			continue
		}
		out[strings.ToLower(k)] = append(out[strings.ToLower(k)], v)
	}
	return out
}

// parseSSHDConfig reads an sshd_config file the way sshd does for the
// global section: first value wins, Include is expanded in place, Match
// blocks are skipped. Binary data is refused.
func (e *Env) parseSSHDConfig(file string, depth int) (map[string][]string, error) {
	out := map[string][]string{}
	return out, e.parseSSHDInto(file, depth, out)
}

func (e *Env) parseSSHDInto(file string, depth int, out map[string][]string) error {
	if depth > 16 {
		return fmt.Errorf("%s: Include nested too deeply", file)
	}
	b, err := e.ReadFile(file)
	if err != nil {
		return err
	}
	return parseSSHDBytes(file, b, out, func(pattern string) error {
		files, err := e.Glob(pattern)
		if err != nil {
			return err
		}
		for _, inc := range files {
			if err := e.parseSSHDInto(inc, depth+1, out); err != nil {
				return err
			}
		}
		return nil
	})
}

// parseSSHDBytes parses one sshd_config file into out; include is called
// with each absolute Include pattern, in place.
func parseSSHDBytes(file string, b []byte, out map[string][]string, include func(pattern string) error) error {
	if i := bytes.IndexByte(b, 0); i >= 0 || !utf8.Valid(b) {
		line := 1 + bytes.Count(b[:max(i, 0)], []byte("\n"))
		if i < 0 {
			line = 1 + firstInvalidLine(b)
		}
		return fmt.Errorf("%s: line %d: binary data, not an sshd configuration", file, line)
	}
	inMatch := false
	for n, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Fields(l)
		k := strings.ToLower(f[0])
		if strings.Contains(k, "=") {
			var v string
			k, v, _ = strings.Cut(k, "=")
			f = append([]string{k, v}, f[1:]...)
		}
		if !validKeyword(k) {
			return fmt.Errorf("%s: line %d: bad keyword %q", file, n+1, trunc(f[0], 40))
		}
		if k == "match" {
			inMatch = true
			continue
		}
		if inMatch {
			continue
		}
		args := f[1:]
		if len(args) > 0 && strings.HasPrefix(args[0], "=") {
			args[0] = strings.TrimPrefix(args[0], "=")
		}
		val := strings.Trim(strings.Join(args, " "), `"`)
		if k == "include" {
			for _, pat := range args {
				if !path.IsAbs(pat) {
					pat = path.Join("/etc/ssh", pat)
				}
				if err := include(pat); err != nil {
					return err
				}
			}
			continue
		}
		if k == "challengeresponseauthentication" {
			k = "kbdinteractiveauthentication"
		}
		if multiKeys[k] {
			out[k] = append(out[k], val)
			continue
		}
		if _, ok := out[k]; !ok {
			if k == "logingracetime" || k == "clientaliveinterval" {
				if s, err := sshTime(val); err == nil {
					val = strconv.Itoa(s)
				}
			}
			if k == "ciphers" || k == "macs" || k == "kexalgorithms" {
				val = applyAlgoModifier(sshdDefaults[k], val)
			}
			out[k] = []string{val}
		}
	}
	return nil
}

func firstInvalidLine(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return bytes.Count(b[:i], []byte("\n"))
		}
		i += size
	}
	return 0
}

func validKeyword(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i, r := range k {
		if !(r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// sshTime converts sshd's time format ("90", "1m30s", "2h") to seconds.
func sshTime(s string) (int, error) {
	total, num := 0, ""
	for _, r := range strings.ToLower(s) {
		if r >= '0' && r <= '9' {
			num += string(r)
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil {
			return 0, fmt.Errorf("time %q", s)
		}
		mult := map[rune]int{'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}[r]
		if mult == 0 {
			return 0, fmt.Errorf("time %q", s)
		}
		total += n * mult
		num = ""
	}
	if num != "" {
		n, err := strconv.Atoi(num)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// applyAlgoModifier applies sshd's "+list" (append), "-list" (remove) and
// "^list" (prepend) forms to the default list.
func applyAlgoModifier(def, v string) string {
	if v == "" {
		return def
	}
	switch v[0] {
	case '+':
		return def + "," + v[1:]
	case '^':
		return v[1:] + "," + def
	case '-':
		var keep []string
		for _, a := range strings.Split(def, ",") {
			drop := false
			for _, pat := range strings.Split(v[1:], ",") {
				if ok, _ := path.Match(pat, a); ok {
					drop = true
				}
			}
			if !drop {
				keep = append(keep, a)
			}
		}
		return strings.Join(keep, ",")
	}
	return v
}
