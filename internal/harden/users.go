package harden

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Users locks accounts whose password is empty and reports every account
// besides root with UID 0; it never deletes or renumbers an account.
type Users struct{}

// Name implements Area.
func (Users) Name() string { return "users" }

// Plan implements Area.
func (Users) Plan(ctx context.Context, env *Env) (*Proposal, error) {
	p := &Proposal{Area: "users"}
	failing := env.Failing(ctx, "users.empty-passwords", "users.uid0")
	if slices.Contains(failing, "users.empty-passwords") {
		b, err := readHostFile(env.Root, "/etc/shadow")
		if err != nil {
			return nil, fmt.Errorf("users: %v", err)
		}
		nb, locked := LockEmptyPasswords(b)
		if len(locked) > 0 {
			st, err := os.Stat(hostPath(env.Root, "/etc/shadow"))
			if err != nil {
				return nil, err
			}
			p.Files = append(p.Files, File{Path: "/etc/shadow", Data: nb, Mode: st.Mode().Perm()})
			p.Checks = append(p.Checks, "users.empty-passwords")
			for _, n := range locked {
				p.Actions = append(p.Actions, fmt.Sprintf("lock %s (empty password): password logins as %s stop; give it a password with passwd %s, which also unlocks it", n, n, n))
			}
		}
	}
	if slices.Contains(failing, "users.uid0") {
		for _, n := range uid0Accounts(env.Root) {
			p.Actions = append(p.Actions, fmt.Sprintf("NOT CHANGED: %s has UID 0, a second root; find out who made it, then usermod -u <uid> %s or userdel %s yourself", n, n, n))
		}
	}
	return p, nil
}

// uid0Accounts lists the accounts other than root with UID 0.
func uid0Accounts(root string) []string {
	b, err := readHostFile(root, "/etc/passwd")
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) >= 7 && f[0] != "root" && f[2] == "0" && !strings.HasPrefix(f[0], "#") {
			out = append(out, f[0])
		}
	}
	return out
}
