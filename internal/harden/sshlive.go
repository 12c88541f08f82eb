package harden

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/policy"
	"github.com/rampart-ids/rampart/internal/policy/portspec"

	"golang.org/x/crypto/ssh"
)

// sshdBinary returns the sshd to validate with.
func sshdBinary() (string, error) {
	if _, err := os.Stat("/usr/sbin/sshd"); err == nil {
		return "/usr/sbin/sshd", nil
	}
	return exec.LookPath("sshd")
}

// validateSkip says why sshd -t cannot run for this environment ("" = it
// can). Live, nothing is skipped: a failure to validate is an error.
func validateSkip(env *Env) string {
	if env.Live {
		return ""
	}
	if _, err := sshdBinary(); err != nil {
		return "sshd is not installed on this machine (openssh-server)"
	}
	if os.Geteuid() != 0 {
		return "sshd -t needs root"
	}
	if _, err := os.Stat("/run/sshd"); err != nil {
		return "/run/sshd (sshd's privilege separation directory) does not exist on this machine"
	}
	return ""
}

func run(ctx context.Context, env *Env, name string, args ...string) ([]byte, error) {
	if env.Run != nil {
		return env.Run(ctx, name, args...)
	}
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}

// validate runs `sshd -t -f` on the staged configuration: every file sshd
// would read, copied into a temporary tree with the staged contents and
// each Include pointed into the tree, so the staged drop-in is really the
// one included. Live, `sshd -T` then reports the effective values, which
// must be the drop-in's.
func (p *sshPlan) validate(ctx context.Context, env *Env, staged map[string]string) error {
	if why := validateSkip(env); why != "" {
		return nil // said in the proposal's actions
	}
	bin, err := sshdBinary()
	if err != nil {
		return fmt.Errorf("harden ssh: cannot validate the new configuration: %w (install openssh-server)", err)
	}
	tree, err := os.MkdirTemp("", "rampart-sshd-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tree)
	v := p.view
	for _, seen := range p.result.Files {
		var data []byte
		hp, err := v.host(seen)
		if err != nil {
			return err
		}
		if tmp, ok := staged[hp]; ok {
			data, err = os.ReadFile(tmp)
		} else {
			data, err = v.readFile(seen)
		}
		if err != nil {
			return fmt.Errorf("harden ssh: staging %s: %w", seen, err)
		}
		dst := filepath.Join(tree, seen)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(dst, rebaseIncludes(data, tree), 0o600); err != nil {
			return err
		}
	}
	args := []string{"-f", filepath.Join(tree, p.main)}
	if !env.Live {
		// A root image's host keys are not this machine's: give sshd one
		// so -t checks the configuration, not the keys.
		k, err := tempHostKey(tree)
		if err != nil {
			return err
		}
		args = append(args, "-o", "HostKey="+k)
	}
	clean := func(b []byte) string { return strings.TrimSpace(strings.ReplaceAll(string(b), tree, "")) }
	if out, err := run(ctx, env, bin, append([]string{"-t"}, args...)...); err != nil {
		return fmt.Errorf("harden ssh: sshd -t refuses the new configuration (nothing was installed): %v: %s", err, clean(out))
	}
	if !env.Live {
		return nil
	}
	out, err := run(ctx, env, bin, append([]string{"-T"}, args...)...)
	if err != nil {
		return fmt.Errorf("harden ssh: sshd -T on the new configuration: %v: %s", err, clean(out))
	}
	return p.checkEffective(out)
}

// checkEffective compares `sshd -T` output with the drop-in's settings.
func (p *sshPlan) checkEffective(out []byte) error {
	got := map[string][]string{}
	for _, l := range strings.Split(string(out), "\n") {
		k, val, _ := strings.Cut(strings.TrimSpace(l), " ")
		if k != "" {
			got[strings.ToLower(k)] = append(got[strings.ToLower(k)], val)
		}
	}
	var bad []string
	for _, s := range p.settings {
		k := s.key()
		switch k {
		case "ciphers", "macs", "kexalgorithms", "maxstartups":
			continue // sshd -T prints the expanded form
		}
		want := strings.Fields(s.Value)
		have := got[k]
		if k == "allowusers" || k == "allowgroups" {
			// sshd -T prints one line per entry.
			var all []string
			for _, h := range have {
				all = append(all, strings.Fields(h)...)
			}
			have = all
		}
		if k == "permitrootlogin" {
			// sshd -T prints prohibit-password by its older name.
			for i, h := range have {
				if strings.EqualFold(h, "without-password") {
					have[i] = "prohibit-password"
				}
			}
		}
		if !sameFold(have, want) {
			bad = append(bad, fmt.Sprintf("%s is %q, want %q", s.Key, strings.Join(have, " "), s.Value))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("harden ssh: sshd -T on the new configuration does not show the drop-in's values (nothing was installed): %s", strings.Join(bad, "; "))
	}
	return nil
}

func sameFold(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

// rebaseIncludes points every Include of an sshd_config file into tree,
// keeping the line count (sshd's error messages name the same lines).
func rebaseIncludes(b []byte, tree string) []byte {
	lines := strings.Split(string(b), "\n")
	for i, raw := range lines {
		t := strings.TrimSpace(raw)
		key, rest, _ := strings.Cut(t, " ")
		if !strings.EqualFold(key, "include") {
			if k2, r2, ok := strings.Cut(t, "\t"); ok && strings.EqualFold(k2, "include") {
				rest = r2
			} else {
				continue
			}
		}
		args, err := sshArgs(strings.TrimSpace(rest))
		if err != nil {
			continue
		}
		for j, a := range args {
			if !path.IsAbs(a) {
				a = path.Join(sshdDir, a)
			}
			args[j] = strconv.Quote(filepath.Join(tree, a))
		}
		lines[i] = "Include " + strings.Join(args, " ")
	}
	return []byte(strings.Join(lines, "\n"))
}

// tempHostKey writes a throwaway ed25519 host key into dir.
func tempHostKey(dir string) (string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return "", err
	}
	f := filepath.Join(dir, "check_host_ed25519_key")
	return f, os.WriteFile(f, pem.EncodeToMemory(blk), 0o600)
}

// socketActivated reports whether sshd is started by ssh.socket (Ubuntu
// 22.10+), whose ListenStream, not sshd_config, decides the port.
func socketActivated(root string) bool {
	for _, p := range []string{"/etc/systemd/system/sockets.target.wants/ssh.socket", "/etc/systemd/system/sockets.target.wants/sshd.socket"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			return true
		}
	}
	return false
}

// sshReloadCommand is how sshd re-reads its configuration without losing
// a session: `systemctl reload` when the live host runs systemd, else
// SIGHUP to the pid in sshd's PidFile (pkill -F, only if that process is
// sshd). sshd re-executes itself; connected sessions are separate
// processes and stay.
func sshReloadCommand(root, pidFile string) (Command, string, error) {
	if root == "/" {
		if st, err := os.Stat("/run/systemd/system"); err == nil && st.IsDir() {
			unit := "ssh"
			for _, d := range []string{"/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"} {
				if _, err := os.Stat(filepath.Join(d, "ssh.service")); err == nil {
					unit = "ssh"
					break
				}
				if _, err := os.Stat(filepath.Join(d, "sshd.service")); err == nil {
					unit = "sshd"
					break
				}
			}
			return Command{Name: "systemctl", Args: []string{"reload", unit}}, "systemctl reload " + unit, nil
		}
	}
	if pidFile == "" || strings.EqualFold(pidFile, "none") {
		return Command{}, "", errors.New("harden ssh: sshd runs with PidFile none and not under systemd: rampart cannot tell which process to signal; set PidFile or use --root and reload sshd yourself")
	}
	return Command{Name: "pkill", Args: []string{"-HUP", "-F", pidFile, "-x", "sshd"}}, "SIGHUP to the sshd in " + pidFile, nil
}

// activate opens the new port in the baseline, commit-confirmed, before
// sshd is reloaded onto it. If nobody confirms within win, the detached
// watcher puts back the baseline and, through policy.Undo, sshd's files as
// they were before this run, then reloads sshd: it is back on its old port
// even if the terminal that ran harden is gone.
func (a *sshArea) activate(ctx context.Context, env *Env, p *sshPlan, win time.Duration) error {
	if env.StateDir == "" {
		return errors.New("harden ssh: a port move needs the state directory (commit-confirmed firewall change)")
	}
	act, err := a.kernel.Read()
	if err != nil {
		return fmt.Errorf("harden ssh: read the baseline: %w", err)
	}
	pol := act.Policy()
	pol.Rules = movePortRules(pol, p.oldPorts, uint16(p.port))
	port := uint16(p.port)
	undo := &policy.Undo{}
	for _, f := range p.files {
		seen := p.view.seen(f.Path)
		old, existed := p.before[seen]
		undo.Files = append(undo.Files, policy.UndoFile{Path: p.view.disk(seen), Existed: existed, Data: old, Mode: f.Mode})
	}
	for _, c := range p.reload {
		undo.Commands = append(undo.Commands, append([]string{c.Name}, c.Args...))
	}
	_, err = policy.Apply(ctx, pol, policy.Options{
		Confirm: win, StateDir: env.StateDir, Kernel: a.kernel, Host: a.host, Watch: a.watch, Undo: undo,
	})
	if err != nil {
		return fmt.Errorf("harden ssh: open %d/tcp in the baseline: %w", port, err)
	}
	return nil
}

// movePortRules returns the baseline's rules with the new ssh port let in
// from wherever an old one is: a port open to all stays open to all, one
// open to an admin network (allow_from) only to that network. When no rule
// names an old port, the new one is opened to all (the baseline lets the
// current sessions in through established).
func movePortRules(pol *policy.Policy, oldPorts []string, port uint16) []policy.Rule {
	rules := slices.Clone(pol.Rules)
	if !pol.Enabled {
		return rules
	}
	spec := portspec.Spec{Proto: "tcp", From: port, To: port}
	has := func(r policy.Rule) bool {
		return slices.ContainsFunc(rules, func(x policy.Rule) bool {
			return x.Kind == policy.KindPort && x.Source == r.Source && x.Port.Contains("tcp", port)
		})
	}
	found := false
	for _, r := range pol.Rules {
		if r.Kind != policy.KindPort {
			continue
		}
		for _, o := range oldPorts {
			n, err := strconv.ParseUint(o, 10, 16)
			if err != nil || !r.Port.Contains("tcp", uint16(n)) {
				continue
			}
			found = true
			nr := policy.Rule{Kind: policy.KindPort, Port: spec, Source: r.Source}
			if !has(nr) {
				rules = append(rules, nr)
			}
		}
	}
	if nr := (policy.Rule{Kind: policy.KindPort, Port: spec}); !found && !has(nr) {
		rules = append(rules, nr)
	}
	return rules
}

// runningSSHDConfig returns the -f file of the sshd listening on this host
// (an sshd whose parent is not sshd), or "" when none runs or it uses the
// default.
func runningSSHDConfig(proc string) string {
	ents, err := os.ReadDir(proc)
	if err != nil {
		return ""
	}
	comm := func(pid string) string {
		b, _ := os.ReadFile(filepath.Join(proc, pid, "comm"))
		return strings.TrimSpace(string(b))
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil || comm(e.Name()) != "sshd" {
			continue
		}
		st, _ := os.ReadFile(filepath.Join(proc, e.Name(), "stat"))
		// pid (comm) state ppid ...
		if i := strings.LastIndexByte(string(st), ')'); i >= 0 {
			if f := strings.Fields(string(st)[i+1:]); len(f) > 1 && comm(f[1]) == "sshd" {
				continue
			}
		}
		cmd, _ := os.ReadFile(filepath.Join(proc, e.Name(), "cmdline"))
		args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
		if len(args) == 1 {
			// The listener retitles itself "sshd: /usr/sbin/sshd -D -f F [listener] ...".
			t, _, _ := strings.Cut(args[0], " [listener]")
			args = strings.Fields(t)
		}
		for i, a := range args {
			if a == "-f" && i+1 < len(args) {
				return args[i+1]
			}
			if strings.HasPrefix(a, "-f") && len(a) > 2 {
				return a[2:]
			}
		}
		return ""
	}
	return ""
}
