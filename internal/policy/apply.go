package policy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options control Apply.
type Options struct {
	// Confirm, when positive, makes the change commit-confirmed: it is
	// rolled back after Confirm unless Confirm (the function) runs first.
	Confirm time.Duration
	// Force applies a baseline the lock-out guard refuses.
	Force bool
	// DryRun computes the plan and runs the guard, and changes nothing.
	DryRun bool
	// Session also checks the SSH session running the command (the CLI);
	// the daemon checks sshd's ports only.
	Session bool
	// StateDir holds the pending file of commit-confirmed changes.
	StateDir string
	Kernel   Kernel
	Host     Host
	// Watch starts the detached process that rolls back at the deadline
	// and returns its pid; nil: SpawnWatcher with this executable.
	Watch func(stateDir, id string) (int, error)
	// Undo, with Confirm, is put back along with the baseline if the
	// change is not confirmed (see Undo).
	Undo *Undo
}

// GuardError is a baseline refused by the lock-out guard.
type GuardError struct{ Violations []Violation }

func (e *GuardError) Error() string {
	msgs := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		msgs[i] = v.Msg
	}
	return "baseline refused, it would lock you out: " + strings.Join(msgs, "; ")
}

// Result is what Apply did.
type Result struct {
	Plan       Plan        `json:"plan"`
	Violations []Violation `json:"violations"`
	// Forced: violations were overridden with Force.
	Forced  bool     `json:"forced"`
	Applied bool     `json:"applied"`
	Pending *Pending `json:"pending,omitempty"`
}

// Apply makes the kernel enforce p (see Options). The guard runs first; a
// refused baseline returns a *GuardError and changes nothing. With Confirm,
// the pending file (the policy to go back to and the deadline) is written
// before the kernel changes, so a crash between the two still rolls back.
// Harden (issue 16) and the CLI call it.
func Apply(ctx context.Context, p *Policy, opt Options) (*Result, error) {
	cur, err := opt.Kernel.Read()
	if err != nil {
		return nil, err
	}
	res := &Result{Plan: Diff(cur, p), Violations: opt.Host.Guard(ctx, p, true, opt.Session)}
	if res.Violations == nil {
		res.Violations = []Violation{}
	}
	res.Plan.Neighbours, _ = opt.Kernel.Neighbours("")
	if res.Plan.Neighbours == nil {
		res.Plan.Neighbours = []string{}
	}
	if len(res.Violations) > 0 {
		if !opt.Force {
			return res, &GuardError{res.Violations}
		}
		res.Forced = true
	}
	if opt.DryRun {
		return res, nil
	}
	old, err := ReadPending(opt.StateDir)
	if err != nil {
		return res, fmt.Errorf("policy: %w (remove it after checking the firewall by hand)", err)
	}
	if opt.Confirm > 0 {
		if opt.StateDir == "" {
			return res, errors.New("policy: commit-confirmed apply needs a state directory")
		}
		if err := opt.Undo.check(); err != nil {
			return res, fmt.Errorf("policy: %w", err)
		}
		pend := &Pending{ID: newID(), Deadline: time.Now().Add(opt.Confirm).UTC(), Previous: *cur.Policy(), Applied: *p, Undo: opt.Undo}
		if old != nil {
			// Going back means going back to the last confirmed state.
			pend.Previous = old.Previous
			pend.Undo = opt.Undo.merge(old.Undo)
			stopWatcher(old)
		}
		if err := writePending(opt.StateDir, pend); err != nil {
			return res, fmt.Errorf("policy: write pending change: %w", err)
		}
		watch := opt.Watch
		if watch == nil && opt.Kernel.NetNS != 0 {
			return res, errors.New("policy: the rollback watcher runs in this process's network namespace; with Kernel.NetNS set, pass Options.Watch")
		}
		if watch == nil {
			watch = SpawnWatcher
		}
		pid, err := watch(opt.StateDir, pend.ID)
		if err != nil {
			_ = removePending(opt.StateDir)
			return res, fmt.Errorf("policy: start the rollback watcher: %w", err)
		}
		pend.WatcherPID = pid
		if err := writePending(opt.StateDir, pend); err != nil {
			return res, err
		}
		res.Pending = pend
	} else if old != nil {
		// A plain apply is a confirmed one.
		stopWatcher(old)
		if err := removePending(opt.StateDir); err != nil {
			return res, err
		}
	}
	if err := opt.Kernel.Apply(p); err != nil {
		if res.Pending != nil {
			stopWatcher(res.Pending)
			_ = removePending(opt.StateDir)
		}
		return res, err
	}
	res.Applied = true
	if res.Pending == nil {
		if err := writeApplied(opt.StateDir, p); err != nil {
			return res, fmt.Errorf("policy: applied, but recording it failed: %w", err)
		}
	}
	return res, nil
}

// Confirm keeps the pending change: the pending file goes and the watcher
// is stopped. It returns the change confirmed, or nil when none was
// pending.
func Confirm(stateDir string) (*Pending, error) {
	p, err := ReadPending(stateDir)
	if err != nil || p == nil {
		return nil, err
	}
	if err := writeApplied(stateDir, &p.Applied); err != nil {
		return nil, err
	}
	if err := removePending(stateDir); err != nil {
		return nil, err
	}
	stopWatcher(p)
	return p, nil
}

// Rollback puts back the policy in force before the pending change whose
// ID is id ("" for any) and removes the pending file. It returns the
// change rolled back, or nil when there was none (confirmed meanwhile).
func Rollback(stateDir, id string, k Kernel) (*Pending, error) {
	p, err := ReadPending(stateDir)
	if err != nil || p == nil || id != "" && p.ID != id {
		return nil, err
	}
	if err := k.Apply(&p.Previous); err != nil {
		// What else the change moved (sshd's port) goes back anyway.
		return nil, errors.Join(fmt.Errorf("policy: roll back: %w", err), p.Undo.run())
	}
	if err := p.Undo.run(); err != nil {
		return nil, fmt.Errorf("policy: rolled the baseline back, but undoing the rest failed: %w", err)
	}
	if err := writeApplied(stateDir, &p.Previous); err != nil {
		return nil, err
	}
	return p, removePending(stateDir)
}

// Watch waits for the deadline of the pending change id, then rolls it
// back unless it was confirmed or replaced; it is what the detached
// watcher process runs.
func Watch(ctx context.Context, stateDir, id string, k Kernel) (*Pending, error) {
	for {
		p, err := ReadPending(stateDir)
		if err != nil {
			return nil, err
		}
		if p == nil || p.ID != id {
			return nil, nil
		}
		wait := time.Until(p.Deadline)
		if wait <= 0 {
			return Rollback(stateDir, id, k)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(wait, 500*time.Millisecond)):
		}
	}
}

// WatchArgs are the arguments of the hidden subcommand SpawnWatcher runs.
func WatchArgs(stateDir, id string) []string {
	return []string{"firewall", "watch-rollback", "--state-dir", stateDir, "--id", id}
}

// SpawnWatcher starts this executable's hidden watcher subcommand,
// detached from the applying process, its process group, its terminal and
// its SSH session. On a host booted with systemd, from the host's network
// namespace, it runs as a transient
// system service (systemd-run), outside the login session's scope, which
// logind may kill on logout (KillUserProcesses); otherwise, or if
// systemd-run fails, as a process in a new session (setsid, no terminal,
// output to policy-watch.log in stateDir) that ignores SIGHUP.
func SpawnWatcher(stateDir, id string) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	// A systemd service runs in PID 1's namespaces: only when this process
	// shares PID 1's network namespace would it roll back the right kernel.
	if st, err := os.Stat("/run/systemd/system"); err == nil && st.IsDir() && sameNetNS("/proc/self/ns/net", "/proc/1/ns/net") {
		if pid, err := spawnSystemd(exe, stateDir, id); err == nil {
			return pid, nil
		}
	}
	return spawnSetsid(exe, stateDir, id)
}

// sameNetNS reports whether two namespace files are the same namespace.
func sameNetNS(a, b string) bool {
	x, err1 := os.Readlink(a)
	y, err2 := os.Readlink(b)
	return err1 == nil && err2 == nil && x == y
}

// spawnSystemd runs the watcher as unit rampart-rollback-ID.service.
func spawnSystemd(exe, stateDir, id string) (int, error) {
	unit := "rampart-rollback-" + id + ".service"
	args := append([]string{"--unit=" + unit, "--collect", "--quiet", "--description=rampart: roll back the unconfirmed baseline " + id, "--", exe}, WatchArgs(stateDir, id)...)
	if out, err := exec.Command("systemd-run", args...).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("systemd-run: %v: %s", err, strings.TrimSpace(string(out)))
	}
	out, err := exec.Command("systemctl", "show", "--property=MainPID", "--value", unit).Output()
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("systemctl show %s: no main pid (%q)", unit, out)
	}
	return pid, nil
}

func spawnSetsid(exe, stateDir, id string) (int, error) {
	logf, err := os.OpenFile(stateDir+"/policy-watch.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd := exec.Command(exe, WatchArgs(stateDir, id)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, logf, logf
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	return pid, nil
}

// stopWatcher ends the watcher of p if it is still that watcher (its
// command line names p's ID: the pid may have been reused).
func stopWatcher(p *Pending) {
	if p.WatcherPID <= 0 {
		return
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(p.WatcherPID) + "/cmdline")
	if err != nil || !strings.Contains(string(cmdline), p.ID) {
		return
	}
	_ = syscall.Kill(p.WatcherPID, syscall.SIGTERM)
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
