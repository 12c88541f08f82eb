package audit

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"strings"
)

const auditRemedy = "printf '%s\\n' > /etc/audit/rules.d/50-rampart.rules && augenrules --load"

func auditFix(rules ...string) string {
	return fmt.Sprintf(auditRemedy, strings.Join(rules, "\\n"))
}

func auditdChecks() []Check {
	return []Check{
		{
			ID: "auditd.running", Area: AreaAuditd, Severity: High,
			Title:       "The audit daemon is running",
			Reads:       "/proc (an auditd process); under --root, auditd.service enabled",
			Why:         "Without auditd the kernel's audit records of logins, privilege changes and file writes are lost.",
			Remediation: "apt-get install auditd audispd-plugins && systemctl enable --now auditd",
			Run: func(ctx context.Context, e *Env) Result {
				up, ev, err := e.service(ctx, []string{"auditd"}, []string{"auditd.service"})
				if err != nil {
					return errorf("%v", err)
				}
				if up {
					return pass("%s", ev)
				}
				return fail("%s", ev)
			},
		},
		{
			ID: "auditd.rules-loaded", Area: AreaAuditd, Severity: High,
			Title:       "Audit rules are loaded",
			Reads:       "`auditctl -l` (root); without root or under --root, /etc/audit/rules.d/*.rules and /etc/audit/audit.rules",
			Why:         "auditd with no rules records almost nothing: the default is an empty rule set.",
			Remediation: auditFix("-w /etc/passwd -p wa -k identity", "-w /etc/shadow -p wa -k identity", "-w /etc/sudoers -p wa -k scope"),
			Run: func(ctx context.Context, e *Env) Result {
				ar, r := auditRulesResult(ctx, e)
				if r != nil {
					return *r
				}
				if len(ar.Rules) == 0 {
					return fail("no audit rules (%s)", ar.Source)
				}
				return pass("%d rules (%s)", len(ar.Rules), ar.Source)
			},
		},
		watchCheck("auditd.identity-watch", High, "Changes to accounts and groups are audited",
			[]string{"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow"}, "identity",
			"Account files are what an intruder edits to keep access; a watch records who changed them."),
		watchCheck("auditd.sudoers-watch", High, "Changes to sudo rules are audited",
			[]string{"/etc/sudoers", "/etc/sudoers.d"}, "scope",
			"A new sudoers line is a quiet way to root; the watch records it."),
		watchCheck("auditd.sshd-watch", Medium, "Changes to the sshd configuration are audited",
			[]string{"/etc/ssh/sshd_config"}, "sshd",
			"Re-enabling passwords or root login in sshd_config is a typical persistence step."),
		watchCheck("auditd.binaries-watch", Medium, "Changes to system binaries are audited",
			[]string{"/usr/bin", "/usr/sbin"}, "binaries",
			"Replaced binaries (trojaned ls, ps, sshd) are how rootkits hide; a write watch on the directories records the swap."),
		{
			ID: "auditd.immutable", Area: AreaAuditd, Severity: Low,
			Title:       "The audit configuration is locked until reboot (-e 2)",
			Reads:       "`auditctl -s` enabled 2 (root); the persistent rules' final -e 2",
			Why:         "Without the lock, an intruder with root deletes the rules before acting.",
			Remediation: "echo '-e 2' > /etc/audit/rules.d/99-finalize.rules && augenrules --load   # takes effect at the next boot",
			Run: func(ctx context.Context, e *Env) Result {
				ar, r := auditRulesResult(ctx, e)
				if r != nil {
					return *r
				}
				if ar.Immutable {
					return pass("audit rules are immutable (%s)", ar.Source)
				}
				return fail("no -e 2 (%s)", ar.Source)
			},
		},
		{
			ID: "auditd.boot-param", Area: AreaAuditd, Severity: Low,
			Title:       "Auditing starts at boot (audit=1)",
			Reads:       "/proc/cmdline (live) or GRUB_CMDLINE_LINUX in /etc/default/grub (--root)",
			Why:         "Processes started before auditd are not audited unless the kernel audits from boot.",
			Remediation: "add audit=1 audit_backlog_limit=8192 to GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub and reboot",
			Run:         checkAuditBoot,
		},
		{
			ID: "auditd.log-retention", Area: AreaAuditd, Severity: Low,
			Title:       "Audit logs are kept, not silently dropped, when they fill up",
			Reads:       "/etc/audit/auditd.conf: max_log_file_action, space_left_action, admin_space_left_action",
			Why:         "With ignore or syslog the audit trail stops at the moment a busy attacker fills the disk.",
			Remediation: "set max_log_file_action = keep_logs, space_left_action = email and admin_space_left_action = single in /etc/audit/auditd.conf",
			Run:         checkAuditRetention,
		},
	}
}

// auditRules is the rule set the watch checks read.
type auditRules struct {
	Rules     []string
	Source    string
	Immutable bool
}

var errNoAuditd = errors.New("auditd is not installed")

// loadAuditRules reads the loaded rules (root, live) or the persistent ones
// (shared per run).
func (e *Env) loadAuditRules(ctx context.Context) (*auditRules, error) {
	return load(ctx, e, "audit-rules", func(ctx context.Context) (*auditRules, error) {
		if !e.exists("/etc/audit") && !e.exists("/sbin/auditctl") && !e.exists("/usr/sbin/auditctl") {
			return nil, errNoAuditd
		}
		if e.live() && e.Privileged {
			out, err := e.run(ctx, "auditctl", "-l")
			if err == nil {
				ar := &auditRules{Source: "loaded, auditctl -l"}
				for _, l := range strings.Split(string(out), "\n") {
					if l = strings.TrimSpace(l); l != "" && l != "No rules" {
						ar.Rules = append(ar.Rules, l)
					}
				}
				if st, err := e.run(ctx, "auditctl", "-s"); err == nil && strings.Contains(string(st), "enabled 2") {
					ar.Immutable = true
				}
				return ar, nil
			}
			if !errors.Is(err, exec.ErrNotFound) {
				return nil, fmt.Errorf("auditctl -l: %w", err)
			}
		}
		files, err := e.Glob("/etc/audit/rules.d/*.rules")
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			files = []string{"/etc/audit/audit.rules"}
		}
		ar := &auditRules{Source: "persistent, " + strings.Join(files, " ")}
		if e.live() && !e.Privileged {
			ar.Source += "; loaded rules need root"
		}
		for _, f := range files {
			ls, err := e.lines(f)
			if err != nil {
				if notExist(err) {
					continue
				}
				return nil, err
			}
			for _, l := range ls {
				l = strings.TrimSpace(l)
				if l == "" || strings.HasPrefix(l, "#") {
					continue
				}
				switch {
				case l == "-e 2":
					ar.Immutable = true
				case strings.HasPrefix(l, "-w ") || strings.HasPrefix(l, "-a "):
					ar.Rules = append(ar.Rules, l)
				}
			}
		}
		return ar, nil
	})
}

func auditRulesResult(ctx context.Context, e *Env) (*auditRules, *Result) {
	ar, err := e.loadAuditRules(ctx)
	if err != nil {
		var r Result
		if errors.Is(err, errNoAuditd) {
			r = fail("%v", err)
		} else {
			r = e.readErr(err)
		}
		return nil, &r
	}
	return ar, nil
}

// watched reports whether a rule watches target for writes: a -w on it or
// a parent directory, or a syscall rule with path= or dir=.
func (ar *auditRules) watched(target string) bool {
	for _, r := range ar.Rules {
		f := strings.Fields(r)
		var p, perm string
		for i := 0; i < len(f)-1; i++ {
			switch {
			case f[i] == "-w":
				p = f[i+1]
			case f[i] == "-p":
				perm = f[i+1]
			case f[i] == "-F" && (strings.HasPrefix(f[i+1], "path=") || strings.HasPrefix(f[i+1], "dir=")):
				_, p, _ = strings.Cut(f[i+1], "=")
			case f[i] == "-F" && strings.HasPrefix(f[i+1], "perm="):
				perm = strings.TrimPrefix(f[i+1], "perm=")
			}
		}
		if p == "" || (perm != "" && !strings.Contains(perm, "w")) {
			continue
		}
		p = path.Clean(p)
		if p == target || strings.HasPrefix(target, p+"/") {
			return true
		}
	}
	return false
}

func watchCheck(id string, sev Severity, title string, targets []string, key, why string) Check {
	var rules []string
	for _, t := range targets {
		rules = append(rules, fmt.Sprintf("-w %s -p wa -k %s", t, key))
	}
	return Check{
		ID: id, Area: AreaAuditd, Severity: sev, Title: title,
		Reads:       "audit rules (`auditctl -l` as root, else /etc/audit/rules.d/*.rules): write watches on " + strings.Join(targets, ", "),
		Why:         why,
		Remediation: auditFix(rules...),
		Run: func(ctx context.Context, e *Env) Result {
			ar, r := auditRulesResult(ctx, e)
			if r != nil {
				return *r
			}
			var missing []string
			for _, t := range targets {
				if !ar.watched(t) {
					missing = append(missing, t)
				}
			}
			if len(missing) > 0 {
				return fail("not watched: %s (%s)", strings.Join(missing, ", "), ar.Source)
			}
			return pass("watched: %s (%s)", strings.Join(targets, ", "), ar.Source)
		},
	}
}

func checkAuditBoot(ctx context.Context, e *Env) Result {
	if e.live() {
		b, err := e.procFile("cmdline")
		if err != nil {
			return errorf("%v", err)
		}
		if hasWord(string(b), "audit=1") {
			return pass("kernel command line has audit=1")
		}
		return fail("kernel command line has no audit=1")
	}
	kv, err := e.readKV("/etc/default/grub", "=")
	if err != nil {
		return e.readErr(err)
	}
	line := kv["GRUB_CMDLINE_LINUX"] + " " + kv["GRUB_CMDLINE_LINUX_DEFAULT"]
	if hasWord(line, "audit=1") {
		return pass("/etc/default/grub has audit=1")
	}
	return fail("/etc/default/grub GRUB_CMDLINE_LINUX has no audit=1")
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

func checkAuditRetention(ctx context.Context, e *Env) Result {
	if !e.exists("/etc/audit/auditd.conf") {
		return fail("/etc/audit/auditd.conf does not exist (auditd not installed)")
	}
	kv, err := e.readKV("/etc/audit/auditd.conf", "=")
	if err != nil {
		return e.readErr(err)
	}
	var bad []string
	if v := strings.ToLower(kv["max_log_file_action"]); v != "keep_logs" && v != "rotate" {
		bad = append(bad, fmt.Sprintf("max_log_file_action = %q", v))
	}
	for _, k := range []string{"space_left_action", "admin_space_left_action", "disk_full_action"} {
		if v := strings.ToLower(kv[k]); v == "" || v == "ignore" {
			bad = append(bad, fmt.Sprintf("%s = %q", k, v))
		}
	}
	if len(bad) > 0 {
		return fail("%s", strings.Join(bad, ", "))
	}
	return pass("max_log_file_action = %s, space_left_action = %s", kv["max_log_file_action"], kv["space_left_action"])
}
