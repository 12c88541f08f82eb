package harden

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
)

// AuditRules is the rules file the auditd area writes; augenrules merges
// rules.d in name order and always moves the last -e to the end.
const AuditRules = "/etc/audit/rules.d/50-rampart.rules"

// AuditdConf is auditd's own configuration (log retention).
const AuditdConf = "/etc/audit/auditd.conf"

// maxPrivileged caps the setuid/setgid programs given their own rule.
const maxPrivileged = 400

// Auditd writes the audit rules (the seed's watches and a CIS-level set),
// locks them with -e 2, and keeps the audit logs when they fill up.
type Auditd struct{}

// Name implements Area.
func (Auditd) Name() string { return "auditd" }

var auditdRuleChecks = []string{"auditd.rules-loaded", "auditd.identity-watch", "auditd.sudoers-watch",
	"auditd.sshd-watch", "auditd.binaries-watch", "auditd.immutable"}

// retention is what auditd.conf gets for each key the retention check
// refuses: keep every log, warn by mail, and suspend logging (not halt the
// host) when the disk is nearly full.
var retention = []KV{
	{"max_log_file_action", "keep_logs"},
	{"space_left_action", "email"},
	{"admin_space_left_action", "suspend"},
	{"disk_full_action", "suspend"},
}

// Plan implements Area.
func (Auditd) Plan(ctx context.Context, env *Env) (*Proposal, error) {
	if !auditdInstalled(env.Root) {
		return nil, skipf("auditd is not installed (no /etc/audit, no auditctl): apt-get install auditd, then run rampart harden auditd")
	}
	p := &Proposal{Area: "auditd"}
	failing := env.Failing(ctx, append(auditdRuleChecks, "auditd.log-retention", "auditd.running")...)
	if slices.Contains(failing, "auditd.running") {
		// Enabled at boot (and started on the live host) as systemctl
		// enable --now would; a unit that is not installed is reported.
		units, note := enableUnit(env.Root, "auditd.service", "multi-user.target")
		if note != "" {
			p.Actions = append(p.Actions, note)
		}
		p.Files = append(p.Files, units...)
		if len(units) > 0 {
			p.Checks = append(p.Checks, "auditd.running")
			p.Reload = append(p.Reload, Command{Name: "systemctl", Args: []string{"daemon-reload"}})
		}
		if env.Live {
			p.Actions = append(p.Actions, "start auditd.service")
			run := env.Run
			p.Activate = func(ctx context.Context) error {
				if run == nil {
					run = ExecRunner
				}
				run(ctx, "systemctl", "daemon-reload")
				if out, err := run(ctx, "systemctl", "start", "auditd.service"); err != nil {
					return fmt.Errorf("systemctl start auditd.service: %v: %s", err, out)
				}
				return nil
			}
			if !slices.Contains(p.Checks, "auditd.running") {
				p.Checks = append(p.Checks, "auditd.running")
			}
		}
	}
	ours, ourErr := os.ReadFile(hostPath(env.Root, AuditRules))
	ruleFix := false
	for _, id := range auditdRuleChecks {
		if slices.Contains(failing, id) {
			ruleFix = true
			p.Checks = append(p.Checks, id)
		}
	}
	if ruleFix || ourErr == nil {
		arches, machine := auditArch(env)
		want := auditRulesContent(env.Root, arches)
		if ourErr != nil || string(ours) != want {
			p.Files = append(p.Files, File{Path: AuditRules, Data: []byte(want), Mode: 0o640})
			locked := env.Live && auditLocked(ctx, env)
			switch {
			case locked:
				p.Actions = append(p.Actions, "the loaded rules are locked (-e 2) until reboot: the new rules load at the next boot")
			default:
				p.Reload = append(p.Reload, Command{Name: "augenrules", Args: []string{"--load"}})
			}
			run := env.Run
			p.Validate = func(ctx context.Context, staged map[string]string) error {
				if err := validateRules(staged[AuditRules]); err != nil {
					return err
				}
				return validateSyscalls(ctx, run, staged[AuditRules], machine)
			}
		}
	}
	if slices.Contains(failing, "auditd.log-retention") {
		old, err := readHostFile(env.Root, AuditdConf)
		if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("auditd: %v", err)
		}
		cur := ParseKeyValues(old)
		var set []KV
		for _, kv := range retention {
			v := strings.ToLower(cur[kv.Key])
			bad := v == "" || v == "ignore"
			if kv.Key == "max_log_file_action" {
				bad = v != "keep_logs" && v != "rotate"
			}
			if bad {
				set = append(set, kv)
			}
		}
		if nb, changed := SetKeyValues(old, set); changed {
			mode := fs.FileMode(0o640)
			if st, err := os.Stat(hostPath(env.Root, AuditdConf)); err == nil {
				mode = st.Mode().Perm()
			}
			p.Files = append(p.Files, File{Path: AuditdConf, Data: nb, Mode: mode})
			p.Checks = append(p.Checks, "auditd.log-retention")
			p.Reload = append(p.Reload, Command{Name: "systemctl", Args: []string{"kill", "--kill-whom=main", "--signal=SIGHUP", "auditd.service"}})
		}
	}
	return p, nil
}

func auditdInstalled(root string) bool {
	for _, p := range []string{"/etc/audit", "/sbin/auditctl", "/usr/sbin/auditctl"} {
		if _, err := os.Stat(hostPath(root, p)); err == nil {
			return true
		}
	}
	return false
}

// auditLocked reports whether the kernel's audit rules are immutable now.
func auditLocked(ctx context.Context, env *Env) bool {
	run := env.Run
	if run == nil {
		run = ExecRunner
	}
	out, err := run(ctx, "auditctl", "-s")
	return err == nil && strings.Contains(string(out), "enabled 2")
}

// auditArch returns the syscall ABIs to name in rules (b64 always, b32 as
// well where 32-bit programs run: amd64) and the machine's name in
// ausyscall's tables.
func auditArch(env *Env) ([]string, string) {
	arch := runtime.GOARCH
	if !env.Live {
		if b, err := readHostFile(env.Root, "/var/lib/dpkg/arch"); err == nil {
			if f := strings.Fields(string(b)); len(f) > 0 {
				arch = f[0]
			}
		}
	}
	switch arch {
	case "amd64", "x86_64":
		return []string{"b64", "b32"}, "x86_64"
	case "386", "i386":
		return []string{"b32"}, "i386"
	case "arm", "armhf", "armel":
		return []string{"b32"}, "arm"
	case "arm64", "aarch64":
		return []string{"b64"}, "aarch64"
	}
	return []string{"b64"}, arch
}

// validateSyscalls looks every syscall the staged rules name up in
// ausyscall's table for its ABI (read-only: nothing is loaded), so a name
// the kernel does not have (chown on arm64) is caught before augenrules
// fails on it. Without ausyscall (package auditd) it checks nothing.
func validateSyscalls(ctx context.Context, run Runner, file, machine string) error {
	if run == nil {
		run = ExecRunner
	}
	if _, err := exec.LookPath("ausyscall"); err != nil {
		return nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || f[0] != "-a" {
			continue
		}
		table := machine
		var calls []string
		for j := 0; j+1 < len(f); j++ {
			switch {
			case f[j] == "-F" && f[j+1] == "arch=b32" && machine == "x86_64":
				table = "i386"
			case f[j] == "-S":
				calls = append(calls, strings.Split(f[j+1], ",")...)
			}
		}
		for _, c := range calls {
			if seen[table+"/"+c] {
				continue
			}
			seen[table+"/"+c] = true
			if out, err := run(ctx, "ausyscall", table, c, "--exact"); err != nil {
				return fmt.Errorf("%s line %d: syscall %q is not in the %s table (ausyscall: %s)", AuditRules, i+1, c, table, strings.TrimSpace(string(out)))
			}
		}
	}
	return nil
}

// auditRulesContent builds the rules file for the host under root.
// With legacy set the architecture is x86, whose ABIs have the old
// chmod/chown/umount calls as well.
func auditRulesContent(root string, arches []string) string {
	legacy := slices.Contains(arches, "b32") && len(arches) == 2 || len(arches) == 1 && arches[0] == "b32"
	var b strings.Builder
	b.WriteString("## Written by rampart harden (auditd). Undo: rampart harden undo.\n")
	b.WriteString("## augenrules merges /etc/audit/rules.d in name order and moves -e to the end.\n\n")
	w := func(p, perm, key string) { fmt.Fprintf(&b, "-w %s -p %s -k %s\n", p, perm, key) }
	exists := func(p string) bool { _, err := os.Lstat(hostPath(root, p)); return err == nil }

	b.WriteString("## Accounts and groups\n")
	for _, p := range []string{"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow"} {
		w(p, "wa", "identity")
	}
	if exists("/etc/security/opasswd") {
		w("/etc/security/opasswd", "wa", "identity")
	}
	b.WriteString("\n## sudo rules\n")
	w("/etc/sudoers", "wa", "scope")
	w("/etc/sudoers.d", "wa", "scope")
	b.WriteString("\n## sshd configuration\n")
	w("/etc/ssh/sshd_config", "wa", "sshd")
	if exists("/etc/ssh/sshd_config.d") {
		w("/etc/ssh/sshd_config.d", "wa", "sshd")
	}
	b.WriteString("\n## System binaries\n")
	for _, p := range []string{"/usr/bin", "/usr/sbin", "/bin", "/sbin"} {
		if st, err := os.Lstat(hostPath(root, p)); p == "/usr/bin" || p == "/usr/sbin" || (err == nil && st.IsDir()) {
			w(p, "wa", "binaries")
		}
	}

	b.WriteString("\n## Time changes\n")
	for _, a := range arches {
		sc := "adjtimex,settimeofday,clock_settime"
		if a == "b32" {
			sc += ",stime"
		}
		fmt.Fprintf(&b, "-a always,exit -F arch=%s -S %s -k time-change\n", a, sc)
	}
	w("/etc/localtime", "wa", "time-change")

	var sess []string
	for _, p := range []string{"/var/log/lastlog", "/var/run/faillock", "/var/run/utmp", "/var/log/wtmp", "/var/log/btmp"} {
		if exists(p) {
			sess = append(sess, p)
		}
	}
	if len(sess) > 0 {
		b.WriteString("\n## Login and session records\n")
		for _, p := range sess {
			key := "session"
			if p == "/var/log/lastlog" || p == "/var/run/faillock" {
				key = "logins"
			}
			w(p, "wa", key)
		}
	}

	b.WriteString("\n## Kernel modules\n")
	for _, tool := range []string{"insmod", "rmmod", "modprobe"} {
		for _, d := range []string{"/sbin", "/usr/sbin"} {
			p := path.Join(d, tool)
			if st, err := os.Lstat(hostPath(root, p)); err == nil && st.Mode()&fs.ModeSymlink == 0 && !linkedDir(root, d) {
				w(p, "x", "modules")
				break
			}
		}
	}
	for _, a := range arches {
		fmt.Fprintf(&b, "-a always,exit -F arch=%s -S init_module,finit_module,delete_module -k modules\n", a)
	}

	b.WriteString("\n## Mounts by users\n")
	for _, a := range arches {
		sc := "mount,umount2"
		if a == "b32" {
			sc = "mount,umount,umount2"
		}
		fmt.Fprintf(&b, "-a always,exit -F arch=%s -S %s -F auid>=1000 -F auid!=unset -k mounts\n", a, sc)
	}

	b.WriteString("\n## Permission changes by users\n")
	for _, a := range arches {
		// The legacy chmod/chown calls exist on x86 only; arm64 and the
		// other new ABIs have just the *at forms.
		chmod, chown := "fchmod,fchmodat", "fchown,fchownat"
		if legacy {
			chmod, chown = "chmod,"+chmod, "chown,lchown,"+chown
		}
		fmt.Fprintf(&b, "-a always,exit -F arch=%s -S %s -F auid>=1000 -F auid!=unset -k perm_mod\n", a, chmod)
		fmt.Fprintf(&b, "-a always,exit -F arch=%s -S %s -F auid>=1000 -F auid!=unset -k perm_mod\n", a, chown)
	}

	priv := privilegedPrograms(root)
	fmt.Fprintf(&b, "\n## Privileged (setuid/setgid) programs found on this system: %d\n", len(priv))
	for _, p := range priv {
		fmt.Fprintf(&b, "-a always,exit -F path=%s -F perm=x -F auid>=1000 -F auid!=unset -k privileged\n", p)
	}

	b.WriteString("\n## Lock the rules until reboot (must stay last)\n-e 2\n")
	return b.String()
}

// linkedDir reports whether d under root is a symbolic link (/sbin on a
// merged-/usr system), so its programs are named once, under /usr.
func linkedDir(root, d string) bool {
	st, err := os.Lstat(hostPath(root, d))
	return err == nil && st.Mode()&fs.ModeSymlink != 0
}

// privilegedDirs are searched for setuid and setgid programs.
var privilegedDirs = []string{"/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin", "/opt"}

// privilegedPrograms finds regular files with the setuid or setgid bit
// under root's program directories, without following symbolic links.
func privilegedPrograms(root string) []string {
	var out []string
	for _, d := range privilegedDirs {
		base := hostPath(root, d)
		if st, err := os.Lstat(base); err != nil || !st.IsDir() {
			continue
		}
		filepath.WalkDir(base, func(p string, de fs.DirEntry, err error) error {
			if err != nil || len(out) >= maxPrivileged {
				return nil
			}
			if de.Type()&fs.ModeSymlink != 0 || !de.Type().IsRegular() {
				return nil
			}
			info, err := de.Info()
			if err != nil || info.Mode()&(fs.ModeSetuid|fs.ModeSetgid) == 0 {
				return nil
			}
			rel, err := filepath.Rel(hostPath(root, "/"), p)
			if err != nil {
				return nil
			}
			hp := "/" + filepath.ToSlash(rel)
			if !strings.ContainsAny(hp, " \t\n\"'") {
				out = append(out, hp)
			}
			return nil
		})
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// validateRules checks the staged rules file: every line a comment, a
// watch or a syscall rule rampart writes, and -e 2 the last rule.
func validateRules(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	last := ""
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if !strings.HasPrefix(l, "-w /") && !strings.HasPrefix(l, "-a always,exit ") && l != "-e 2" {
			return fmt.Errorf("%s line %d: unexpected rule %q", AuditRules, i+1, l)
		}
		last = l
	}
	if last != "-e 2" {
		return fmt.Errorf("%s: -e 2 is not the last rule", AuditRules)
	}
	return nil
}
