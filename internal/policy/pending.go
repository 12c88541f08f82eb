package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// PendingFile is the name, in the state directory, of the record of a
// commit-confirmed apply that has not been confirmed yet.
const PendingFile = "policy-pending.json"

// Pending is a commit-confirmed change waiting for `rampart firewall
// confirm`: unless it is confirmed (the file removed) by Deadline, the
// kernel goes back to Previous.
type Pending struct {
	ID       string    `json:"id"`
	Deadline time.Time `json:"deadline"`
	// Previous is the policy the kernel enforced before the change
	// (Enabled false: there was no baseline).
	Previous Policy `json:"previous"`
	// Applied is the policy the change put in place.
	Applied Policy `json:"applied"`
	// WatcherPID is the detached process that rolls back at Deadline.
	WatcherPID int `json:"watcher_pid,omitempty"`
	// Undo is what else goes back with the baseline when the change is
	// rolled back (not when it is confirmed).
	Undo *Undo `json:"undo,omitempty"`
}

// Undo is a change outside the kernel that must not outlive an unconfirmed
// baseline: `rampart harden ssh --port N` opens N commit-confirmed and moves
// sshd there; if nobody confirms, sshd's files are put back and sshd is
// reloaded along with the firewall, by the same detached watcher.
type Undo struct {
	// Files are put back in order (each as it was before the change).
	Files []UndoFile `json:"files,omitempty"`
	// Commands run after the files, in order (e.g. reload sshd); each is
	// argv, no shell.
	Commands [][]string `json:"commands,omitempty"`
}

// UndoFile is one file's content before the change. Path is absolute on
// this host (already joined to any --root).
type UndoFile struct {
	Path    string      `json:"path"`
	Existed bool        `json:"existed"`
	Data    []byte      `json:"data,omitempty"`
	Mode    os.FileMode `json:"mode,omitempty"`
}

func (u *Undo) check() error {
	if u == nil {
		return nil
	}
	for _, f := range u.Files {
		if !filepath.IsAbs(f.Path) || filepath.Clean(f.Path) != f.Path {
			return fmt.Errorf("undo file %q is not a clean absolute path", f.Path)
		}
	}
	for _, c := range u.Commands {
		if len(c) == 0 || c[0] == "" {
			return errors.New("undo command is empty")
		}
	}
	return nil
}

// merge returns u's steps followed by older's: rolling back a change that
// replaced an unconfirmed one goes back past both.
func (u *Undo) merge(older *Undo) *Undo {
	if older == nil {
		return u
	}
	if u == nil {
		return older
	}
	m := &Undo{Files: append(slices.Clone(u.Files), older.Files...)}
	for _, c := range append(slices.Clone(u.Commands), older.Commands...) {
		if !slices.ContainsFunc(m.Commands, func(d []string) bool { return slices.Equal(c, d) }) {
			m.Commands = append(m.Commands, c)
		}
	}
	return m
}

// run puts the files back and runs the commands; it goes on after an error
// so that as much as possible is undone, and returns all errors.
func (u *Undo) run() error {
	if u == nil {
		return nil
	}
	var errs []error
	for _, f := range u.Files {
		if !f.Existed {
			if err := os.Remove(f.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		if err := writeFileAtomic(f.Path, f.Data, f.Mode); err != nil {
			errs = append(errs, fmt.Errorf("put back %s: %w", f.Path, err))
		}
	}
	for _, c := range u.Commands {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v: %s", strings.Join(c, " "), err, strings.TrimSpace(string(out))))
		}
	}
	return errors.Join(errs...)
}

// writeFileAtomic replaces path with data (temp file, fsync, rename).
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if mode == 0 {
		mode = 0o644
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".rampart-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode.Perm()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// ParsePending reads a pending file's content. Every rule must be one the
// baseline writes, so a damaged file is refused rather than half applied.
func ParsePending(data []byte) (*Pending, error) {
	var p Pending
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("policy: pending file: %w", err)
	}
	if p.ID == "" || p.Deadline.IsZero() {
		return nil, errors.New("policy: pending file: no id or deadline")
	}
	if err := p.Undo.check(); err != nil {
		return nil, fmt.Errorf("policy: pending file: %w", err)
	}
	for _, pol := range []*Policy{&p.Previous, &p.Applied} {
		for _, r := range pol.Rules {
			if _, err := ParseRule(r.String()); err != nil {
				return nil, fmt.Errorf("policy: pending file: %w", err)
			}
		}
	}
	return &p, nil
}

// ReadPending returns the pending change in dir, or nil when there is none.
func ReadPending(dir string) (*Pending, error) {
	data, err := os.ReadFile(filepath.Join(dir, PendingFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParsePending(data)
}

// AppliedFile is the name, in the state directory, of the last policy
// rampart put in force and kept (a plain apply, a confirm, a rollback, the
// daemon's own apply): what the daemon restores when the kernel loses it.
const AppliedFile = "policy-applied.json"

// ReadApplied returns the last policy kept, or nil when none is recorded.
func ReadApplied(dir string) (*Policy, error) {
	data, err := os.ReadFile(filepath.Join(dir, AppliedFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p Policy
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("policy: %s: %w", AppliedFile, err)
	}
	for _, r := range p.Rules {
		if _, err := ParseRule(r.String()); err != nil {
			return nil, fmt.Errorf("policy: %s: %w", AppliedFile, err)
		}
	}
	return &p, nil
}

func writeApplied(dir string, p *Policy) error {
	if dir == "" {
		return nil
	}
	return writeJSON(dir, AppliedFile, p)
}

// writePending stores p atomically.
func writePending(dir string, p *Pending) error { return writeJSON(dir, PendingFile, p) }

// writeJSON stores v as dir/name atomically (temp file, fsync, rename).
func writeJSON(dir, name string, v any) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+name+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, name))
}

func removePending(dir string) error {
	err := os.Remove(filepath.Join(dir, PendingFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
