package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
