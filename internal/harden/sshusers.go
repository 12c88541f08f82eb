package harden

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// account is one /etc/passwd entry with what the guard learned about it.
type account struct {
	Name, Home, Shell string
	UID, GID          int
	Groups            []string // primary and supplementary group names
	Locked            string   // why it cannot log in at all ("" = it can)
	Keys              int      // usable authorized keys
	KeyFiles          []string // authorized_keys files looked at (host paths)
	KeyNote           string   // why a key file did not count
}

// parsePasswd reads /etc/passwd lines (name:pw:uid:gid:gecos:home:shell).
func parsePasswd(b []byte) []account {
	var out []account
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Split(l, ":")
		if len(f) < 7 || f[0] == "" {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, account{Name: f[0], UID: uid, GID: gid, Home: f[5], Shell: f[6]})
	}
	return out
}

// shadowEntry is what the guard reads from /etc/shadow.
type shadowEntry struct {
	Password string
	Expire   int // days since 1970-01-01, -1 = never
}

func parseShadow(b []byte) map[string]shadowEntry {
	out := map[string]shadowEntry{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) < 2 || f[0] == "" || strings.HasPrefix(l, "#") {
			continue
		}
		e := shadowEntry{Password: f[1], Expire: -1}
		if len(f) >= 8 && f[7] != "" {
			if n, err := strconv.Atoi(f[7]); err == nil {
				e.Expire = n
			}
		}
		out[f[0]] = e
	}
	return out
}

// parseGroup returns group name -> (gid, members).
func parseGroup(b []byte) (map[string][]string, map[int]string) {
	members, byGID := map[string][]string{}, map[int]string{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) < 4 || f[0] == "" || strings.HasPrefix(l, "#") {
			continue
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		byGID[gid] = f[0]
		for _, m := range strings.Split(f[3], ",") {
			if m = strings.TrimSpace(m); m != "" {
				members[f[0]] = append(members[f[0]], m)
			}
		}
	}
	return members, byGID
}

// parseShells reads /etc/shells; nil when the file is absent.
func parseShells(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// adminGroups are the groups whose members may become root.
var adminGroups = []string{"sudo", "wheel", "admin"}

func (a *account) admin() bool {
	return slices.ContainsFunc(a.Groups, func(g string) bool { return slices.Contains(adminGroups, g) })
}

// accounts reads the users under the root and decides, for each, whether
// it may log in over ssh with a key under cfg (the planned configuration)
// and the allow lists given.
func (v *sshView) accounts(cfg *sshStream, allowUsers, allowGroups []string, now time.Time, checkOwner bool) ([]account, error) {
	pw, err := os.ReadFile(filepath.Join(v.root, "/etc/passwd"))
	if err != nil {
		return nil, fmt.Errorf("harden ssh: cannot tell who may log in: %w", err)
	}
	users := parsePasswd(pw)
	sh, shErr := os.ReadFile(filepath.Join(v.root, "/etc/shadow"))
	shadow := parseShadow(sh)
	gr, _ := os.ReadFile(filepath.Join(v.root, "/etc/group"))
	members, byGID := parseGroup(gr)
	shellsB, shellsErr := os.ReadFile(filepath.Join(v.root, "/etc/shells"))
	shells := parseShells(shellsB)
	denyUsers, denyGroups := cfg.values("denyusers"), cfg.values("denygroups")
	akFiles := strings.Fields(cfg.get("authorizedkeysfile"))
	strict := !strings.EqualFold(cfg.get("strictmodes"), "no")
	today := int(now.Unix() / 86400)
	for i := range users {
		u := &users[i]
		if g, ok := byGID[u.GID]; ok {
			u.Groups = append(u.Groups, g)
		}
		for g, ms := range members {
			if slices.Contains(ms, u.Name) && !slices.Contains(u.Groups, g) {
				u.Groups = append(u.Groups, g)
			}
		}
		slices.Sort(u.Groups)
		switch s, ok := shadow[u.Name]; {
		case shErr == nil && ok && strings.HasPrefix(s.Password, "!"):
			u.Locked = "locked (password field starts with !)"
		case shErr == nil && ok && s.Expire >= 0 && s.Expire <= today:
			u.Locked = "account expired"
		case shellsErr == nil && !slices.Contains(shells, u.Shell):
			u.Locked = fmt.Sprintf("shell %s is not in /etc/shells", u.Shell)
		case u.Shell == "" || strings.HasSuffix(u.Shell, "/nologin") || strings.HasSuffix(u.Shell, "/false"):
			u.Locked = fmt.Sprintf("shell %q does not allow logins", u.Shell)
		case !sshAllowed(u, allowUsers, allowGroups, denyUsers, denyGroups):
			u.Locked = "not allowed by AllowUsers/AllowGroups/DenyUsers/DenyGroups"
		}
		for _, f := range akFiles {
			if f == "none" {
				continue
			}
			p := expandAuthorizedKeys(f, u)
			hp := v.disk(p)
			u.KeyFiles = append(u.KeyFiles, hp)
			n, note := countKeys(hp, u, strict, checkOwner)
			u.Keys += n
			if note != "" && u.KeyNote == "" {
				u.KeyNote = note
			}
		}
	}
	return users, nil
}

// sshAllowed applies sshd's allow/deny lists to u (user part of
// user@host patterns only: the client's address is not known here).
func sshAllowed(u *account, allowUsers, allowGroups, denyUsers, denyGroups []string) bool {
	userMatch := func(pats []string) bool {
		for _, p := range pats {
			p, _, _ = strings.Cut(p, "@")
			if ok, _ := path.Match(p, u.Name); ok {
				return true
			}
		}
		return false
	}
	groupMatch := func(pats []string) bool {
		for _, p := range pats {
			for _, g := range u.Groups {
				if ok, _ := path.Match(p, g); ok {
					return true
				}
			}
		}
		return false
	}
	if userMatch(denyUsers) || groupMatch(denyGroups) {
		return false
	}
	if len(allowUsers) > 0 && !userMatch(allowUsers) {
		return false
	}
	if len(allowGroups) > 0 && !groupMatch(allowGroups) {
		return false
	}
	return true
}

// expandAuthorizedKeys expands AuthorizedKeysFile's tokens for u; a
// relative path is relative to the home directory.
func expandAuthorizedKeys(f string, u *account) string {
	r := strings.NewReplacer("%%", "%", "%h", u.Home, "%u", u.Name, "%U", strconv.Itoa(u.UID))
	f = r.Replace(f)
	if strings.HasPrefix(f, "~/") {
		f = path.Join(u.Home, f[2:])
	}
	if !path.IsAbs(f) {
		f = path.Join(u.Home, f)
	}
	return path.Clean(f)
}

// countKeys counts the keys sshd would accept in file p. With StrictModes
// (the default), a file, ~/.ssh or home writable by group or others is
// ignored by sshd, and so here; checkOwner also requires them to be owned
// by the user or root (live hosts; a fixture's owner is the test's).
func countKeys(p string, u *account, strict, checkOwner bool) (int, string) {
	b, err := os.ReadFile(p)
	if err != nil {
		if os.IsNotExist(err) {
			return 0, ""
		}
		return 0, fmt.Sprintf("%s: %v", p, err)
	}
	if strict {
		for _, q := range []string{p, filepath.Dir(p)} {
			st, err := os.Stat(q)
			if err != nil {
				continue
			}
			if st.Mode().Perm()&0o022 != 0 {
				return 0, fmt.Sprintf("%s is writable by group or others (mode %04o): sshd's StrictModes ignores the keys; chmod go-w %s", q, st.Mode().Perm(), q)
			}
			if checkOwner {
				if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != u.UID && sys.Uid != 0 {
					return 0, fmt.Sprintf("%s is owned by uid %d, not %s: sshd's StrictModes ignores the keys; chown %s %s", q, sys.Uid, u.Name, u.Name, q)
				}
			}
		}
	}
	n := 0
	for _, l := range bytes.Split(b, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		if _, _, _, _, err := ssh.ParseAuthorizedKey(l); err == nil {
			n++
		}
	}
	if n == 0 {
		return 0, fmt.Sprintf("%s holds no valid public key", p)
	}
	return n, ""
}
