package audit

import (
	"context"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
)

type passwdEntry struct {
	Name, Password, Home, Shell string
	UID, GID                    int
}

// Passwd reads /etc/passwd.
func (e *Env) Passwd() ([]passwdEntry, error) {
	ls, err := e.lines("/etc/passwd")
	if err != nil {
		return nil, err
	}
	var out []passwdEntry
	for _, l := range ls {
		f := strings.Split(l, ":")
		if len(f) < 7 || strings.HasPrefix(l, "#") {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, _ := strconv.Atoi(f[3])
		if err1 != nil {
			continue
		}
		out = append(out, passwdEntry{Name: f[0], Password: f[1], UID: uid, GID: gid, Home: f[5], Shell: f[6]})
	}
	return out, nil
}

// groupMembers returns the members of group name from /etc/group, plus
// the users whose primary group it is.
func (e *Env) groupMembers(name string) ([]string, bool, error) {
	ls, err := e.lines("/etc/group")
	if err != nil {
		return nil, false, err
	}
	users, _ := e.Passwd()
	for _, l := range ls {
		f := strings.Split(l, ":")
		if len(f) < 4 || f[0] != name {
			continue
		}
		var m []string
		for _, u := range strings.Split(f[3], ",") {
			if u = strings.TrimSpace(u); u != "" {
				m = append(m, u)
			}
		}
		gid, _ := strconv.Atoi(f[2])
		for _, u := range users {
			if u.GID == gid && !slices.Contains(m, u.Name) {
				m = append(m, u.Name)
			}
		}
		sort.Strings(m)
		return m, true, nil
	}
	return nil, false, nil
}

func usersChecks() []Check {
	return []Check{
		{
			ID: "users.uid0", Area: AreaUsers, Severity: High,
			Title: "Only root has UID 0", Reads: "/etc/passwd",
			Why:         "A second UID 0 account is a root backdoor under another name.",
			Remediation: "usermod -u <new uid> <account>   # or userdel it",
			Run: func(ctx context.Context, e *Env) Result {
				us, err := e.Passwd()
				if err != nil {
					return e.readErr(err)
				}
				var extra []string
				for _, u := range us {
					if u.UID == 0 && u.Name != "root" {
						extra = append(extra, u.Name)
					}
				}
				if len(extra) > 0 {
					return fail("UID 0 besides root: %s", strings.Join(extra, ", "))
				}
				return pass("only root has UID 0 (%d accounts)", len(us))
			},
		},
		{
			ID: "users.shadowed", Area: AreaUsers, Severity: High,
			Title: "Password hashes are kept out of /etc/passwd", Reads: "/etc/passwd (second field x for every account)",
			Why:         "/etc/passwd is world-readable: a hash there can be cracked offline; an empty field means no password at all.",
			Remediation: "pwconv   # moves hashes to /etc/shadow",
			Run: func(ctx context.Context, e *Env) Result {
				us, err := e.Passwd()
				if err != nil {
					return e.readErr(err)
				}
				var bad []string
				for _, u := range us {
					if u.Password != "x" {
						bad = append(bad, u.Name)
					}
				}
				if len(bad) > 0 {
					return fail("not shadowed: %s", strings.Join(bad, ", "))
				}
				return pass("all %d accounts use /etc/shadow", len(us))
			},
		},
		{
			ID: "users.empty-passwords", Area: AreaUsers, Severity: High,
			Title: "No account has an empty password", Reads: "/etc/shadow (root)",
			Why:         "An empty password lets anyone log in at the console, through su, or through any service using PAM.",
			Remediation: "passwd -l <account>",
			Run: func(ctx context.Context, e *Env) Result {
				ls, err := e.lines("/etc/shadow")
				if err != nil {
					return e.readErr(err)
				}
				var bad []string
				for _, l := range ls {
					f := strings.Split(l, ":")
					if len(f) >= 2 && f[0] != "" && f[1] == "" {
						bad = append(bad, f[0])
					}
				}
				if len(bad) > 0 {
					return fail("empty password: %s", strings.Join(bad, ", "))
				}
				return pass("no empty password field in /etc/shadow")
			},
		},
		{
			ID: "users.sudo-nopasswd", Area: AreaUsers, Severity: Medium,
			Title: "sudo asks for a password (no NOPASSWD)", Reads: "/etc/sudoers and /etc/sudoers.d/* (root)",
			Why:         "NOPASSWD turns any code execution as that user into root without a second factor.",
			Remediation: "visudo -f <file>   # remove NOPASSWD from the rule",
			Run:         checkNoPasswd,
		},
		modeCheck("users.passwd-mode", High, "/etc/passwd and /etc/group are root-owned and not writable by others", map[string]uint32{"/etc/passwd": 0o022, "/etc/group": 0o022}, "chown root:root /etc/passwd /etc/group && chmod 644 /etc/passwd /etc/group"),
		modeCheck("users.shadow-mode", High, "/etc/shadow and /etc/gshadow are not readable by others", map[string]uint32{"/etc/shadow": 0o037, "/etc/gshadow": 0o037}, "chown root:shadow /etc/shadow /etc/gshadow && chmod 640 /etc/shadow /etc/gshadow"),
		modeCheck("users.sudoers-mode", Medium, "sudoers is root-owned and not writable or world-readable; sudoers.d is not writable by others", map[string]uint32{"/etc/sudoers": 0o027, "/etc/sudoers.d": 0o022}, "chown root:root /etc/sudoers && chmod 440 /etc/sudoers && chmod 750 /etc/sudoers.d"),
		{
			ID: "users.root-services", Area: AreaUsers, Severity: Low,
			Title: "Network services do not run as root", Reads: "/proc/net/tcp{,6} and udp{,6}: the owner uid of each non-loopback listening socket",
			Why:         "A flaw in a service running as root gives the attacker the whole host.",
			Remediation: "run the service as a dedicated user (User= in its systemd unit) or behind a privilege-separating front end",
			Run:         checkRootServices,
		},
		{
			ID: "users.admins", Area: AreaUsers, Severity: Medium,
			Title: "Only declared admins are in sudo, admin and wheel", Reads: "/etc/group (sudo, admin, wheel) against admins in the audit config",
			Why:         "Every member of these groups is a root account; forgotten members are forgotten root accounts.",
			Remediation: "gpasswd -d <user> sudo   # or list the user in admins in /etc/rampart/audit.toml",
			Run:         checkAdmins,
		},
		{
			ID: "users.home-perms", Area: AreaUsers, Severity: Low,
			Title: "Home directories are not writable by others", Reads: "stat of each home directory of accounts with UID ≥ 1000 and of root",
			Why:         "A writable home lets another user plant ~/.ssh/authorized_keys or shell startup files.",
			Remediation: "chmod go-w /home/<user>   # chmod 750 keeps others out entirely",
			Run:         checkHomePerms,
		},
		{
			ID: "users.login-defs", Area: AreaUsers, Severity: Low,
			Title: "Passwords are hashed with SHA512 or yescrypt and expire within a year", Reads: "/etc/login.defs: ENCRYPT_METHOD, PASS_MAX_DAYS",
			Why:         "Weak hashes crack quickly once /etc/shadow leaks; passwords that never expire stay valid after a leak.",
			Remediation: "sed -i 's/^ENCRYPT_METHOD.*/ENCRYPT_METHOD YESCRYPT/; s/^PASS_MAX_DAYS.*/PASS_MAX_DAYS 365/' /etc/login.defs",
			Run:         checkLoginDefs,
		},
		{
			ID: "users.system-shells", Area: AreaUsers, Severity: Low,
			Title: "System accounts cannot log in", Reads: "/etc/passwd: shells of accounts with UID 1–999",
			Why:         "A service account with a real shell is a login nobody watches.",
			Remediation: "usermod -s /usr/sbin/nologin <account>",
			Run: func(ctx context.Context, e *Env) Result {
				us, err := e.Passwd()
				if err != nil {
					return e.readErr(err)
				}
				var bad []string
				for _, u := range us {
					if u.UID < 1 || u.UID >= 1000 || u.Name == "sync" || u.Name == "shutdown" || u.Name == "halt" {
						continue
					}
					sh := path.Base(u.Shell)
					if sh != "nologin" && sh != "false" && u.Shell != "" {
						bad = append(bad, u.Name+" ("+u.Shell+")")
					}
				}
				if len(bad) > 0 {
					return fail("system accounts with a login shell: %s", strings.Join(bad, ", "))
				}
				return pass("all system accounts use nologin or false")
			},
		},
	}
}

// modeCheck fails when a file is not owned by root or has a forbidden
// permission bit; files maps each path to its forbidden bits.
func modeCheck(id string, sev Severity, title string, files map[string]uint32, fix string) Check {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return Check{
		ID: id, Area: AreaUsers, Severity: sev, Title: title,
		Reads:       "stat of " + strings.Join(paths, ", "),
		Why:         "These files decide who is who and who may become root; whoever can change them owns the host.",
		Remediation: fix,
		Run: func(ctx context.Context, e *Env) Result {
			var bad, good []string
			for _, f := range paths {
				uid, mode, err := ownerMode(e, f)
				if err != nil {
					if notExist(err) {
						continue
					}
					return e.readErr(err)
				}
				d := fmt.Sprintf("%s uid %d mode %04o", f, uid, mode)
				if uid != e.rootUID || mode&files[f] != 0 {
					bad = append(bad, d)
				} else {
					good = append(good, d)
				}
			}
			if len(bad) > 0 {
				return fail("%s", strings.Join(bad, "; "))
			}
			if len(good) == 0 {
				return skip("none of %s exists", strings.Join(paths, ", "))
			}
			return pass("%s", strings.Join(good, "; "))
		},
	}
}

func checkNoPasswd(ctx context.Context, e *Env) Result {
	files := []string{"/etc/sudoers"}
	more, err := e.Glob("/etc/sudoers.d/*")
	if err != nil {
		return e.readErr(err)
	}
	files = append(files, more...)
	var bad []string
	read := 0
	for _, f := range files {
		if strings.HasSuffix(f, "~") || strings.Contains(path.Base(f), ".") {
			continue // sudo skips these in includedir
		}
		ls, err := e.lines(f)
		if err != nil {
			if notExist(err) {
				continue
			}
			return e.readErr(err)
		}
		read++
		for i, l := range ls {
			l = strings.TrimSpace(l)
			if !strings.HasPrefix(l, "#") && strings.Contains(l, "NOPASSWD") {
				bad = append(bad, fmt.Sprintf("%s:%d %s", f, i+1, trunc(l, 80)))
			}
		}
	}
	if len(bad) > 0 {
		return fail("%s", strings.Join(bad, "; "))
	}
	if read == 0 {
		return skip("sudo is not configured (no /etc/sudoers)")
	}
	return pass("no NOPASSWD in %d sudoers file(s)", read)
}

func checkRootServices(ctx context.Context, e *Env) Result {
	if !e.live() {
		return offline()
	}
	socks, err := e.Listening(ctx)
	if err != nil {
		return errorf("%v", err)
	}
	cfg, _ := e.effectiveSSHD(ctx)
	var others []string
	n := 0
	for _, s := range socks {
		if s.Loopback() {
			continue
		}
		n++
		// sshd must start as root; it separates privileges itself.
		if s.UID != 0 || (cfg != nil && slices.Contains(cfg.all("port"), strconv.Itoa(s.Port))) || (cfg != nil && len(cfg.all("port")) == 0 && s.Port == 22) {
			continue
		}
		if d := s.String(); !slices.Contains(others, d) {
			others = append(others, d)
		}
	}
	if len(others) > 0 {
		return warn("%d of %d reachable sockets owned by root: %s", len(others), n, strings.Join(others, ", "))
	}
	return pass("%d reachable sockets, none owned by root (sshd excepted)", n)
}

func checkAdmins(ctx context.Context, e *Env) Result {
	var members []string
	for _, g := range []string{"sudo", "admin", "wheel"} {
		m, _, err := e.groupMembers(g)
		if err != nil {
			return e.readErr(err)
		}
		for _, u := range m {
			if !slices.Contains(members, u) {
				members = append(members, u)
			}
		}
	}
	sort.Strings(members)
	if len(e.Config.Admins) == 0 {
		if len(members) == 0 {
			return pass("no members in sudo, admin or wheel")
		}
		return warn("admins not declared; sudo/admin/wheel members: %s", strings.Join(members, ", ")).
			fix("%s", e.Config.declareHint(fmt.Sprintf("admins = [%s]", quoteList(members))))
	}
	var extra []string
	for _, m := range members {
		if !slices.Contains(e.Config.Admins, m) {
			extra = append(extra, m)
		}
	}
	if len(extra) > 0 {
		return fail("undeclared admins: %s", strings.Join(extra, ", ")).fix("gpasswd -d %s sudo   # or add to admins in %s", extra[0], configName(e.Config))
	}
	return pass("members match the declared admins: %s", strings.Join(members, ", "))
}

func checkHomePerms(ctx context.Context, e *Env) Result {
	us, err := e.Passwd()
	if err != nil {
		return e.readErr(err)
	}
	var bad []string
	n := 0
	for _, u := range us {
		if (u.UID < 1000 && u.UID != 0) || u.Home == "" || u.Home == "/" || strings.HasPrefix(u.Home, "/nonexistent") {
			continue
		}
		uid, mode, err := ownerMode(e, u.Home)
		if err != nil {
			continue
		}
		n++
		want := uint32(u.UID)
		if want == 0 {
			want = e.rootUID
		}
		if mode&0o022 != 0 || uid != want {
			bad = append(bad, fmt.Sprintf("%s uid %d mode %04o", u.Home, uid, mode))
		}
	}
	if len(bad) > 0 {
		return fail("%s", strings.Join(bad, "; "))
	}
	return pass("%d home directories owned by their user and not writable by others", n)
}

func checkLoginDefs(ctx context.Context, e *Env) Result {
	kv, err := e.readKV("/etc/login.defs", "")
	if err != nil {
		return e.readErr(err)
	}
	var bad []string
	method := strings.ToUpper(kv["ENCRYPT_METHOD"])
	if method != "SHA512" && method != "YESCRYPT" {
		bad = append(bad, fmt.Sprintf("ENCRYPT_METHOD %q", method))
	}
	days, err := strconv.Atoi(kv["PASS_MAX_DAYS"])
	if err != nil || days <= 0 || days > 365 {
		bad = append(bad, fmt.Sprintf("PASS_MAX_DAYS %q", kv["PASS_MAX_DAYS"]))
	}
	if len(bad) > 0 {
		return fail("%s", strings.Join(bad, ", "))
	}
	return pass("ENCRYPT_METHOD %s, PASS_MAX_DAYS %d", method, days)
}
