package harden

import (
	"context"
	"fmt"
	"io/fs"
	"os/exec"
	"time"

	"github.com/rampart-ids/rampart/internal/audit"
)

// Runner runs a command (sshd -t, augenrules, systemctl) and returns its
// combined output. Tests over fixture roots pass one that records calls.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// Options are the command-line choices an area may read.
type Options struct {
	AllowUsers   []string // ssh: AllowUsers in the drop-in, empty = none
	AllowGroups  []string // ssh: AllowGroups in the drop-in
	Port         int      // ssh: move sshd to this port (0 = keep)
	Confirm      string   // ssh/firewall: commit-confirmed window for firewall changes, e.g. "60s"
	RebootWindow string   // updates: Unattended-Upgrade::Automatic-Reboot-Time, empty = no reboot
	Force        bool     // override a guard, loudly
}

// Env is what an area reads and where it acts.
type Env struct {
	Root string // "/" for the live host, else a fixture or image root
	// Live: act on running services (validate with their binaries, reload).
	// The command sets it when Root is "/"; a system test may set it with a
	// throwaway root whose services it started itself (sshd -f ROOT/...).
	Live     bool
	StateDir string // rampart's state directory (change sets live under it)
	Config   string // rampart.toml in use (firewall area)
	Options  Options
	Run      Runner

	// AuditConfig is the audit's declared facts (admins, ports), so the
	// checks an area reads agree with `rampart audit`.
	AuditConfig audit.Config
	// Now is the time the audit's ages are measured against (zero: now).
	Now time.Time
	// AuditEnv, when set, builds the audit environment the areas and the
	// before/after scores read (tests); nil: audit.Live for Root "/",
	// audit.Offline(Root) otherwise.
	AuditEnv func() *audit.Env
}

// Audit returns a fresh audit environment for e's root.
func (e *Env) Audit() *audit.Env {
	if e.AuditEnv != nil {
		return e.AuditEnv()
	}
	now := e.Now
	if now.IsZero() {
		now = time.Now()
	}
	if e.Root == "" || e.Root == "/" {
		return audit.Live(e.AuditConfig, now)
	}
	return audit.Offline(e.Root, e.AuditConfig, now)
}

// Findings runs the audit checks named by ids against e's root and returns
// their findings by ID (unknown IDs are left out). Areas use it to propose
// fixes only for what the audit reports as failing.
func (e *Env) Findings(ctx context.Context, ids ...string) map[string]audit.Finding {
	var checks []audit.Check
	all := audit.Checks()
	for _, id := range ids {
		if c, ok := audit.Lookup(all, id); ok {
			checks = append(checks, c)
		}
	}
	rep := audit.Run(ctx, e.Audit(), checks, audit.Options{})
	out := make(map[string]audit.Finding, len(rep.Checks))
	for _, f := range rep.Checks {
		out[f.ID] = f
	}
	return out
}

// Failing returns the IDs among ids whose check fails (or warns) for e's
// root, in the order given.
func (e *Env) Failing(ctx context.Context, ids ...string) []string {
	fs := e.Findings(ctx, ids...)
	var out []string
	for _, id := range ids {
		if f, ok := fs[id]; ok && (f.Status == audit.Fail || f.Status == audit.Warn) {
			out = append(out, id)
		}
	}
	return out
}

// ExecRunner runs a real command with a C locale and returns its combined
// output.
func ExecRunner(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = []string{"LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.WaitDelay = 5 * time.Second
	return cmd.CombinedOutput()
}

// SkipError is returned by Plan when the area does not apply to this host
// (auditd not installed, not a Debian-family system, needs the live host).
// The command reports the reason and goes on with the other areas; it is
// not a refusal.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return e.Reason }

// skipf returns a *SkipError.
func skipf(format string, a ...any) error { return &SkipError{Reason: fmt.Sprintf(format, a...)} }

// File is one whole file an area wants written. Path is as seen on the host
// (absolute); it is joined to Env.Root when writing.
//
// Link, when set, makes Path a symbolic link to Link instead (enabling a
// systemd unit); Remove deletes Path (unmasking a unit: the /dev/null link).
// Mode 0 keeps an existing file's mode, or 0644 for a new one; the owner of
// an existing file is always kept.
type File struct {
	Path   string
	Data   []byte
	Mode   fs.FileMode
	Link   string
	Remove bool
}

// Command is a command run after the files are installed (and again after
// undo), recorded in the change set so a later `harden undo` can repeat it.
type Command struct {
	Name string   `json:"name"`
	Args []string `json:"args"`
}

// Proposal is what an area would change. It changes nothing by itself.
type Proposal struct {
	Area    string
	Files   []File    // whole new contents; unchanged files are left out
	Actions []string  // readable lines for what is not a file diff ("reload sshd")
	Reload  []Command // run only when Env.Live after installing, and after undo
	Checks  []string  // audit check IDs this proposal is meant to fix
	// UndoReload runs after an undo only (not after installing): what
	// puts a non-file state back, e.g. re-applying the firewall baseline
	// from the restored configuration.
	UndoReload []Command
	// Validate, when set, is called with the staged copies (host path ->
	// path of a temporary file holding the new content) before anything is
	// installed; an error aborts the whole run (e.g. sshd -t -f).
	Validate func(ctx context.Context, staged map[string]string) error
	// Activate, when set and Env.Live, runs after the files are installed
	// and before Reload (e.g. open a new ssh port with a commit-confirmed
	// firewall apply). An error rolls the files back.
	Activate func(ctx context.Context) error
}

// Area is one hardening area (ssh, updates, auditd, journald, users,
// firewall). Plan reads the host under env.Root and returns what it would
// change; a guard that refuses returns an error that names the reason and the
// fix (how to add a key, which flag overrides).
type Area interface {
	Name() string
	Plan(ctx context.Context, env *Env) (*Proposal, error)
}

// Areas returns every area, in the order they run.
func Areas() []Area {
	return []Area{SSH(), Updates{}, Auditd{}, Journald{}, Users{}, Firewall{}}
}
