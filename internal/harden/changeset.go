package harden

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// FileChange is one file a change set wrote. Path is absolute as seen on the
// host (e.g. /etc/ssh/sshd_config.d/50-rampart.conf); it is joined to Root
// when the change set was made with --root.
type FileChange struct {
	Path      string      `json:"path"`
	Existed   bool        `json:"existed"`
	Before    []byte      `json:"before,omitempty"`
	BeforeSum string      `json:"before_sha256,omitempty"`
	BeforeMod fs.FileMode `json:"before_mode,omitempty"`
	After     []byte      `json:"after"`
	AfterSum  string      `json:"after_sha256"`
	Mode      fs.FileMode `json:"mode"`
}

// ChangeSet is the record of one `rampart harden --yes` run.
type ChangeSet struct {
	ID       string       `json:"id"`
	Root     string       `json:"root"`
	Areas    []string     `json:"areas"`
	Created  time.Time    `json:"created"`
	Files    []FileChange `json:"files"`
	Reloaded []string     `json:"reloaded,omitempty"`
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func hostPath(root, p string) string {
	if root == "" || root == "/" {
		return p
	}
	return filepath.Join(root, p)
}

// WriteAtomic writes data to path through a temporary file in the same
// directory, fsync and rename, so a reader sees the old or the new file whole.
func WriteAtomic(path string, data []byte, mode fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".rampart-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
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
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Apply writes every planned file (path → content, mode) under root,
// recording what was there before, and saves the change set in stateDir.
// On a write error the files already written are put back.
func Apply(stateDir, root string, areas []string, files map[string][]byte, mode fs.FileMode, now time.Time) (*ChangeSet, error) {
	cs := &ChangeSet{ID: now.UTC().Format("20060102T150405.000000000Z"), Root: root, Areas: areas, Created: now.UTC()}
	paths := make([]string, 0, len(files))
	for p := range files {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("harden: %q is not an absolute path", p)
		}
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fc := FileChange{Path: p, After: files[p], AfterSum: sum(files[p]), Mode: mode}
		if st, err := os.Stat(hostPath(root, p)); err == nil {
			b, err := os.ReadFile(hostPath(root, p))
			if err != nil {
				return nil, err
			}
			fc.Existed, fc.Before, fc.BeforeSum, fc.BeforeMod = true, b, sum(b), st.Mode().Perm()
			fc.Mode = st.Mode().Perm()
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		cs.Files = append(cs.Files, fc)
	}
	// Record first, so a crash mid-write still leaves an undoable set.
	if err := save(stateDir, cs); err != nil {
		return nil, err
	}
	for i, fc := range cs.Files {
		if err := WriteAtomic(hostPath(root, fc.Path), fc.After, fc.Mode); err != nil {
			restore(root, cs.Files[:i])
			os.Remove(recordPath(stateDir, cs.ID))
			return nil, fmt.Errorf("harden: writing %s: %w (earlier files put back)", fc.Path, err)
		}
	}
	return cs, nil
}

func restore(root string, files []FileChange) error {
	var errs []error
	for _, fc := range files {
		p := hostPath(root, fc.Path)
		if fc.Existed {
			errs = append(errs, WriteAtomic(p, fc.Before, fc.BeforeMod))
		} else if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func recordPath(stateDir, id string) string {
	return filepath.Join(stateDir, "harden", id+".json")
}

func save(stateDir string, cs *ChangeSet) error {
	b, err := json.MarshalIndent(cs, "", "  ")
	if err != nil {
		return err
	}
	return WriteAtomic(recordPath(stateDir, cs.ID), b, 0o600)
}

// Load reads change set id, or the newest one when id is empty.
func Load(stateDir, id string) (*ChangeSet, error) {
	if id == "" {
		ents, err := os.ReadDir(filepath.Join(stateDir, "harden"))
		if err != nil {
			return nil, fmt.Errorf("harden: no change sets in %s: %w", stateDir, err)
		}
		for _, e := range ents {
			if n := e.Name(); strings.HasSuffix(n, ".json") && !strings.HasPrefix(n, ".") {
				id = strings.TrimSuffix(n, ".json") // ReadDir is sorted; IDs sort by time
			}
		}
		if id == "" {
			return nil, fmt.Errorf("harden: no change sets in %s", stateDir)
		}
	}
	if strings.ContainsAny(id, "/\\") || id == ".." {
		return nil, fmt.Errorf("harden: bad change set id %q", id)
	}
	b, err := os.ReadFile(recordPath(stateDir, id))
	if err != nil {
		return nil, err
	}
	var cs ChangeSet
	if err := json.Unmarshal(b, &cs); err != nil {
		return nil, fmt.Errorf("harden: change set %s: %w", id, err)
	}
	return &cs, nil
}

// DriftError lists files the admin changed after the change set wrote them.
type DriftError struct{ Paths []string }

func (e *DriftError) Error() string {
	return "harden: changed since rampart wrote them (use --force to overwrite): " + strings.Join(e.Paths, ", ")
}

// Undo puts back exactly the files cs replaced. Files whose content no longer
// matches what cs wrote are left alone and reported unless force is set.
// The record is removed after a successful undo.
func Undo(stateDir string, cs *ChangeSet, force bool) error {
	var drift []string
	for _, fc := range cs.Files {
		b, err := os.ReadFile(hostPath(cs.Root, fc.Path))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err != nil || sum(b) != fc.AfterSum {
			drift = append(drift, fc.Path)
		}
	}
	if len(drift) > 0 && !force {
		return &DriftError{Paths: drift}
	}
	if err := restore(cs.Root, cs.Files); err != nil {
		return err
	}
	return os.Remove(recordPath(stateDir, cs.ID))
}
