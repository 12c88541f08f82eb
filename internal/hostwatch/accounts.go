package hostwatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// colonFile reads a passwd-style file: one record per line, fields split on
// ':'; records with fewer than min fields are skipped.
func colonFile(env Env, p string, min int) ([][]string, error) {
	ls, err := configLines(env, p, hashComment)
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, l := range ls {
		if f := strings.Split(l, ":"); len(f) >= min && f[0] != "" {
			out = append(out, f)
		}
	}
	return out, nil
}

// accountsCollector: /etc/passwd. A new account with uid 0, or an account
// changed to uid 0, is critical.
func accountsCollector() Collector {
	return Collector{
		Name: "accounts",
		Doc:  "accounts in /etc/passwd: name, uid, gid, home, shell",
		Collect: func(_ context.Context, env Env) ([]Item, error) {
			recs, err := colonFile(env, "/etc/passwd", 7)
			var out []Item
			for _, f := range recs {
				out = append(out, Item{Key: f[0], Value: fmt.Sprintf("uid %s gid %s home %s shell %s", f[2], f[3], f[5], f[6])})
			}
			return out, err
		},
		Severity: func(c Change) string {
			switch {
			case c.Kind != Removed && strings.HasPrefix(c.New, "uid 0 "):
				return "critical"
			case c.Kind == Removed:
				return "medium"
			}
			return "high"
		},
	}
}

// privilegedGroups are groups whose members are (nearly) root.
var privilegedGroups = []string{"root", "sudo", "wheel", "admin", "adm", "docker", "lxd", "disk", "shadow", "systemd-journal"}

// groupsCollector: /etc/group; membership of a privileged group is critical.
func groupsCollector() Collector {
	return Collector{
		Name: "groups",
		Doc:  "groups in /etc/group: gid and members",
		Collect: func(_ context.Context, env Env) ([]Item, error) {
			recs, err := colonFile(env, "/etc/group", 4)
			var out []Item
			for _, f := range recs {
				out = append(out, Item{Key: f[0], Value: fmt.Sprintf("gid %s members %s", f[2], f[3])})
			}
			return out, err
		},
		Severity: func(c Change) string {
			if c.Kind != Removed && slices.Contains(privilegedGroups, c.Key) {
				return "critical"
			}
			if c.Kind == Removed {
				return "low"
			}
			return "medium"
		},
	}
}

// shadowCollector: the state of each password in /etc/shadow — empty,
// locked, or set (recorded as a hash of the hash, so the baseline holds no
// crackable value). An empty password is critical.
func shadowCollector() Collector {
	return Collector{
		Name: "passwords",
		Doc:  "password state in /etc/shadow (empty, locked, or a digest of the hash): a changed password is reported",
		Collect: func(_ context.Context, env Env) ([]Item, error) {
			recs, err := colonFile(env, "/etc/shadow", 2)
			var out []Item
			for _, f := range recs {
				v := "empty"
				switch pw := f[1]; {
				case pw == "":
				case strings.HasPrefix(pw, "!") || strings.HasPrefix(pw, "*"):
					v = "locked"
				default:
					sum := sha256.Sum256([]byte(pw))
					v = "set " + hex.EncodeToString(sum[:8])
				}
				out = append(out, Item{Key: f[0], Value: v})
			}
			return out, err
		},
		Severity: func(c Change) string {
			switch {
			case c.Kind != Removed && c.New == "empty":
				return "critical"
			case c.Kind == Removed:
				return "low"
			}
			return "high"
		},
	}
}

// sudoersCollector: every rule line of /etc/sudoers and /etc/sudoers.d/*
// (sudo's @include and #include lines are rules here, not comments).
func sudoersCollector() Collector {
	return Collector{
		Name: "sudoers",
		Doc:  "rule lines of /etc/sudoers and /etc/sudoers.d/*",
		Collect: func(_ context.Context, env Env) ([]Item, error) {
			files := append([]string{"/etc/sudoers"}, env.glob("/etc/sudoers.d/*")...)
			return lineItems(env, files, func(l string) bool {
				return strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "#include")
			})
		},
		Severity: func(c Change) string {
			switch {
			case c.Kind == Removed:
				return "low"
			case strings.Contains(c.Key, "NOPASSWD") || strings.Contains(c.Key, "ALL=(ALL"):
				return "critical"
			}
			return "high"
		},
	}
}
