package audit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

// sshRemedy is the common way to change an sshd setting on Debian.
const sshRemedy = "printf '%s\\n' > /etc/ssh/sshd_config.d/50-rampart.conf && sshd -t && systemctl reload ssh"

func sshFix(lines ...string) string {
	return fmt.Sprintf(sshRemedy, strings.Join(lines, "\\n"))
}

// sshCheck builds a check over the effective configuration.
func sshCheck(id string, sev Severity, title, keys, why string, fix string, eval func(c *sshdConfig) Result) Check {
	return Check{
		ID: id, Area: AreaSSH, Severity: sev, Title: title,
		Reads:       "the effective sshd configuration (" + keys + "): `sshd -T -C user=root,host=localhost,addr=127.0.0.1 -f FILE` for the running daemon's own -f file (read from /proc); without root or under --root, FILE parsed with OpenSSH 9.2 defaults",
		Why:         why,
		Remediation: fix,
		Run: func(ctx context.Context, e *Env) Result {
			c, r := sshdResult(ctx, e)
			if r != nil {
				return *r
			}
			res := eval(c)
			res.Evidence += " [" + c.Source + "]"
			return res
		},
	}
}

func sshdResult(ctx context.Context, e *Env) (*sshdConfig, *Result) {
	c, err := e.effectiveSSHD(ctx)
	if err != nil {
		var r Result
		if errors.Is(err, errNoSSHD) {
			r = skip("%v", err)
		} else {
			r = e.readErr(err)
		}
		return nil, &r
	}
	return c, nil
}

func sshChecks() []Check {
	return []Check{
		{
			ID: "ssh.password-auth", Area: AreaSSH, Severity: High,
			Title:       "sshd refuses password and keyboard-interactive logins",
			Reads:       "a live probe of the running sshd (golang.org/x/crypto/ssh: offer \"none\", read the methods the server allows); without a running sshd, passwordauthentication/kbdinteractiveauthentication/authenticationmethods of the effective configuration",
			Why:         "Passwords can be guessed from anywhere on the internet; keys cannot. Only what the server offers counts: a Match block or an Include can re-enable passwords the main file turns off.",
			Remediation: sshFix("PasswordAuthentication no", "KbdInteractiveAuthentication no"),
			Run:         checkSSHPasswordAuth,
		},
		sshCheck("ssh.kbd-interactive", High, "Keyboard-interactive authentication is off", "kbdinteractiveauthentication",
			"With UsePAM, keyboard-interactive asks for the password too, so turning PasswordAuthentication off alone is not enough.",
			sshFix("KbdInteractiveAuthentication no"),
			func(c *sshdConfig) Result { return yesNo(c, "kbdinteractiveauthentication", "no") }),
		sshCheck("ssh.root-login", High, "root cannot log in directly", "permitrootlogin",
			"A direct root login skips the audit trail of who became root and is the account every brute-force list tries first.",
			sshFix("PermitRootLogin no"),
			func(c *sshdConfig) Result {
				v := strings.ToLower(c.get("permitrootlogin"))
				switch v {
				case "no":
					return pass("permitrootlogin no")
				case "prohibit-password", "without-password", "forced-commands-only":
					return warn("permitrootlogin %s: root may still log in with a key", v)
				}
				return fail("permitrootlogin %s", v)
			}),
		sshCheck("ssh.empty-passwords", High, "Accounts with empty passwords cannot log in", "permitemptypasswords",
			"An account without a password would be open to anyone who knows its name.",
			sshFix("PermitEmptyPasswords no"),
			func(c *sshdConfig) Result { return yesNo(c, "permitemptypasswords", "no") }),
		sshCheck("ssh.max-auth-tries", Medium, "At most 4 authentication attempts per connection", "maxauthtries",
			"Fewer tries per connection slow guessing down and make brute force show up in the logs sooner.",
			sshFix("MaxAuthTries 3"),
			func(c *sshdConfig) Result { return atMost(c, "maxauthtries", 4) }),
		sshCheck("ssh.login-grace-time", Low, "Unauthenticated connections are dropped within 60 s", "logingracetime",
			"Long grace times let an attacker hold many half-open logins and exhaust MaxStartups.",
			sshFix("LoginGraceTime 30"),
			func(c *sshdConfig) Result {
				n, err := strconv.Atoi(c.get("logingracetime"))
				if err != nil {
					return errorf("logingracetime %q is not a number", c.get("logingracetime"))
				}
				if n == 0 || n > 60 {
					return fail("logingracetime %d s", n)
				}
				return pass("logingracetime %d s", n)
			}),
		sshCheck("ssh.allow-users", Medium, "Logins are limited to named users or groups", "allowusers, allowgroups, denyusers, denygroups",
			"An allow list keeps service and forgotten accounts from logging in over the network at all.",
			sshFix("AllowGroups sshusers")+"   # after: groupadd sshusers && usermod -aG sshusers <admin>",
			func(c *sshdConfig) Result {
				var set []string
				for _, k := range []string{"allowusers", "allowgroups", "denyusers", "denygroups"} {
					if v := c.all(k); len(v) > 0 {
						set = append(set, k+" "+strings.Join(v, " "))
					}
				}
				if len(set) == 0 {
					return fail("no allowusers, allowgroups, denyusers or denygroups")
				}
				return pass("%s", strings.Join(set, "; "))
			}),
		sshCheck("ssh.forwarding", Medium, "TCP, agent and stream forwarding, tunnels and gateway ports are off", "disableforwarding, allowtcpforwarding, allowagentforwarding, allowstreamlocalforwarding, permittunnel, gatewayports",
			"Forwarding turns a stolen login into a pivot into the internal network.",
			sshFix("DisableForwarding yes"),
			func(c *sshdConfig) Result {
				if strings.EqualFold(c.get("disableforwarding"), "yes") {
					return pass("disableforwarding yes")
				}
				var on []string
				for _, k := range []string{"allowtcpforwarding", "allowagentforwarding", "allowstreamlocalforwarding", "permittunnel", "gatewayports"} {
					if v := strings.ToLower(c.get(k)); v != "no" && v != "" {
						on = append(on, k+" "+v)
					}
				}
				if len(on) > 0 {
					return fail("%s", strings.Join(on, ", "))
				}
				return pass("all forwarding keywords are no")
			}),
		sshCheck("ssh.x11-forwarding", Low, "X11 forwarding is off", "x11forwarding",
			"X11 forwarding exposes the client's display to the server and is rarely needed on servers.",
			sshFix("X11Forwarding no"),
			func(c *sshdConfig) Result { return yesNo(c, "x11forwarding", "no") }),
		sshCheck("ssh.weak-ciphers", Medium, "No CBC, 3DES, RC4 or Blowfish ciphers", "ciphers",
			"Weak ciphers allow plaintext recovery attacks on captured sessions.",
			sshFix("Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr"),
			func(c *sshdConfig) Result {
				return weakAlgos(c, "ciphers", func(a string) bool {
					return strings.Contains(a, "-cbc") || strings.Contains(a, "3des") || strings.Contains(a, "arcfour") ||
						strings.Contains(a, "blowfish") || strings.Contains(a, "cast128") || strings.Contains(a, "rijndael")
				})
			}),
		sshCheck("ssh.weak-macs", Medium, "No MD5, SHA-1, RIPEMD or 64-bit-tag MACs", "macs",
			"Weak MACs let a network attacker tamper with a session.",
			sshFix("MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128-etm@openssh.com"),
			func(c *sshdConfig) Result {
				return weakAlgos(c, "macs", func(a string) bool {
					return strings.Contains(a, "md5") || strings.HasPrefix(a, "hmac-sha1") || strings.HasPrefix(a, "umac-64") || strings.Contains(a, "ripemd")
				})
			}),
		sshCheck("ssh.weak-kex", Medium, "No SHA-1 or 1024-bit key exchange", "kexalgorithms",
			"SHA-1 and small Diffie-Hellman groups make recorded sessions decryptable by a capable attacker.",
			sshFix("KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha256"),
			func(c *sshdConfig) Result {
				return weakAlgos(c, "kexalgorithms", func(a string) bool {
					return strings.Contains(a, "group1-sha1") || strings.Contains(a, "group14-sha1") || strings.Contains(a, "exchange-sha1") || strings.HasSuffix(a, "-sha1") || strings.Contains(a, "sha1-")
				})
			}),
		sshCheck("ssh.log-level", Low, "sshd logs at VERBOSE (key fingerprints) or INFO", "loglevel",
			"QUIET or FATAL hide failed logins from the ban engine; VERBOSE also records which key logged in.",
			sshFix("LogLevel VERBOSE"),
			func(c *sshdConfig) Result {
				v := strings.ToUpper(c.get("loglevel"))
				switch v {
				case "VERBOSE":
					return pass("loglevel VERBOSE")
				case "INFO", "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3":
					return warn("loglevel %s: key fingerprints are not logged", v)
				}
				return fail("loglevel %s: failed logins are not logged", v)
			}),
		sshCheck("ssh.client-alive", Low, "Idle sessions are detected and closed", "clientaliveinterval, clientalivecountmax",
			"Abandoned sessions stay logged in forever otherwise.",
			sshFix("ClientAliveInterval 300", "ClientAliveCountMax 2"),
			func(c *sshdConfig) Result {
				iv, _ := strconv.Atoi(c.get("clientaliveinterval"))
				cm, _ := strconv.Atoi(c.get("clientalivecountmax"))
				if iv <= 0 || cm <= 0 {
					return fail("clientaliveinterval %d, clientalivecountmax %d", iv, cm)
				}
				return pass("clientaliveinterval %d, clientalivecountmax %d", iv, cm)
			}),
		sshCheck("ssh.max-sessions", Low, "MaxStartups and MaxSessions are bounded", "maxstartups, maxsessions",
			"Bounded start-ups blunt connection floods; fewer sessions per connection limit what one stolen login can open.",
			sshFix("MaxStartups 10:30:60", "MaxSessions 4"),
			func(c *sshdConfig) Result {
				ms, _ := strconv.Atoi(c.get("maxsessions"))
				start := c.get("maxstartups")
				full := start
				if i := strings.LastIndexByte(start, ':'); i >= 0 {
					full = start[i+1:]
				}
				fs, _ := strconv.Atoi(full)
				if ms > 10 || ms == 0 || fs > 100 || fs == 0 {
					return fail("maxsessions %d, maxstartups %s", ms, start)
				}
				return pass("maxsessions %d, maxstartups %s", ms, start)
			}),
		sshCheck("ssh.host-based", Low, "rhosts and host-based authentication are off", "ignorerhosts, hostbasedauthentication",
			"Host-based trust lets one compromised host log in to all that trust it.",
			sshFix("IgnoreRhosts yes", "HostbasedAuthentication no"),
			func(c *sshdConfig) Result {
				ir, hb := strings.ToLower(c.get("ignorerhosts")), strings.ToLower(c.get("hostbasedauthentication"))
				if ir != "yes" || hb != "no" {
					return fail("ignorerhosts %s, hostbasedauthentication %s", ir, hb)
				}
				return pass("ignorerhosts yes, hostbasedauthentication no")
			}),
		sshCheck("ssh.user-environment", Low, "Users cannot set the environment sshd starts them with", "permituserenvironment",
			"~/.ssh/environment can set LD_PRELOAD and bypass forced commands.",
			sshFix("PermitUserEnvironment no"),
			func(c *sshdConfig) Result { return yesNo(c, "permituserenvironment", "no") }),
		{
			ID: "ssh.config-mode", Area: AreaSSH, Severity: Medium,
			Title:       "The sshd configuration is owned by root and not writable by others",
			Reads:       "stat of the daemon's configuration file and of /etc/ssh/sshd_config.d",
			Why:         "Whoever can write sshd_config can let themselves in as root at the next reload.",
			Remediation: "chown root:root /etc/ssh/sshd_config && chmod 600 /etc/ssh/sshd_config && chmod go-w /etc/ssh/sshd_config.d",
			Run:         checkSSHConfigMode,
		},
		{
			ID: "ssh.host-keys", Area: AreaSSH, Severity: High,
			Title:       "Private host keys are readable by root only",
			Reads:       "stat of every HostKey of the effective configuration (default /etc/ssh/ssh_host_*_key)",
			Why:         "A readable host key lets anyone impersonate the server and intercept logins.",
			Remediation: "chown root:root /etc/ssh/ssh_host_*_key && chmod 600 /etc/ssh/ssh_host_*_key",
			Run:         checkSSHHostKeys,
		},
	}
}

func yesNo(c *sshdConfig, k, want string) Result {
	v := strings.ToLower(c.get(k))
	if v == want {
		return pass("%s %s", k, v)
	}
	return fail("%s %s", k, v)
}

func atMost(c *sshdConfig, k string, limit int) Result {
	n, err := strconv.Atoi(c.get(k))
	if err != nil {
		return errorf("%s %q is not a number", k, c.get(k))
	}
	if n > limit {
		return fail("%s %d (want at most %d)", k, n, limit)
	}
	return pass("%s %d", k, n)
}

func weakAlgos(c *sshdConfig, k string, weak func(string) bool) Result {
	var bad []string
	for _, a := range strings.Split(c.get(k), ",") {
		if a = strings.TrimSpace(strings.ToLower(a)); a != "" && weak(a) {
			bad = append(bad, a)
		}
	}
	if len(bad) > 0 {
		return fail("%s offers %s", k, strings.Join(bad, ", "))
	}
	return pass("%s has no weak algorithm", k)
}

func checkSSHPasswordAuth(ctx context.Context, e *Env) Result {
	c, r := sshdResult(ctx, e)
	if r != nil {
		return *r
	}
	note := ""
	if e.live() {
		p, err := e.sshProbeResult(ctx)
		if err == nil {
			if weak := p.weakMethods(); len(weak) > 0 {
				return fail("live probe of %s: server allows %s", p.Addr, strings.Join(p.Methods, ","))
			}
			return pass("live probe of %s: server allows only %s", p.Addr, strings.Join(p.Methods, ","))
		}
		if ctx.Err() != nil {
			return errorf("live probe: %v", err)
		}
		note = fmt.Sprintf(" (no live probe: %v)", err)
	}
	pa := strings.ToLower(c.get("passwordauthentication"))
	kb := strings.ToLower(c.get("kbdinteractiveauthentication"))
	am := strings.ToLower(c.get("authenticationmethods"))
	ev := fmt.Sprintf("passwordauthentication %s, kbdinteractiveauthentication %s, authenticationmethods %s%s [%s]", pa, kb, am, note, c.Source)
	if am != "any" && am != "" && !strings.Contains(am, "password") && !strings.Contains(am, "keyboard-interactive") {
		return Result{Status: Pass, Evidence: ev}
	}
	if pa == "yes" || kb == "yes" {
		return Result{Status: Fail, Evidence: ev}
	}
	return Result{Status: Pass, Evidence: ev}
}

func ownerMode(e *Env, p string) (uid uint32, mode uint32, err error) {
	fi, err := e.Stat(p)
	if err != nil {
		return 0, 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, fmt.Errorf("%s: no owner information", p)
	}
	return st.Uid, uint32(fi.Mode().Perm()), nil
}

func checkSSHConfigMode(ctx context.Context, e *Env) Result {
	file := "/etc/ssh/sshd_config"
	if e.live() {
		c, r := sshdResult(ctx, e)
		if r != nil {
			return *r
		}
		file = c.File
	} else if !e.exists(file) {
		return skip("%s does not exist", file)
	}
	var bad, good []string
	for _, p := range []string{file, "/etc/ssh/sshd_config.d"} {
		uid, mode, err := ownerMode(e, p)
		if err != nil {
			if notExist(err) && p != file {
				continue
			}
			return e.readErr(err)
		}
		desc := fmt.Sprintf("%s uid %d mode %04o", p, uid, mode)
		if uid != e.rootUID || mode&0o022 != 0 {
			bad = append(bad, desc)
		} else {
			good = append(good, desc)
		}
	}
	if len(bad) > 0 {
		return fail("%s", strings.Join(bad, "; "))
	}
	return pass("%s", strings.Join(good, "; "))
}

func checkSSHHostKeys(ctx context.Context, e *Env) Result {
	var keys []string
	if c, err := e.effectiveSSHD(ctx); err == nil {
		keys = c.all("hostkey")
	} else if errors.Is(err, errNoSSHD) {
		return skip("%v", err)
	}
	if len(keys) == 0 {
		keys, _ = e.Glob("/etc/ssh/ssh_host_*_key")
	}
	if len(keys) == 0 {
		return skip("no host keys found")
	}
	var bad []string
	n := 0
	for _, k := range keys {
		uid, mode, err := ownerMode(e, k)
		if err != nil {
			if notExist(err) {
				continue
			}
			return e.readErr(err)
		}
		n++
		if uid != e.rootUID || mode&0o077 != 0 {
			bad = append(bad, fmt.Sprintf("%s uid %d mode %04o", k, uid, mode))
		}
	}
	if len(bad) > 0 {
		return fail("%s", strings.Join(bad, "; "))
	}
	if n == 0 {
		return skip("none of the configured host keys exists: %s", strings.Join(keys, ", "))
	}
	return pass("%d host keys are root-owned and mode 0600 or stricter", n)
}
