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
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
)

// FileChange is one file a change set wrote. Path is absolute as seen on the
// host (e.g. /etc/ssh/sshd_config.d/50-rampart.conf); it is joined to Root
// when the change set was made with --root.
//
// A path may also be a symbolic link (BeforeLink, AfterLink: an enabled
// systemd unit) or be removed (Removed: an unmasked unit).
type FileChange struct {
	Path       string      `json:"path"`
	Existed    bool        `json:"existed"`
	Before     []byte      `json:"before,omitempty"`
	BeforeSum  string      `json:"before_sha256,omitempty"`
	BeforeMod  fs.FileMode `json:"before_mode,omitempty"`
	BeforeLink string      `json:"before_link,omitempty"`
	UID        int         `json:"uid"`
	GID        int         `json:"gid"`
	After      []byte      `json:"after"`
	AfterSum   string      `json:"after_sha256"`
	AfterLink  string      `json:"after_link,omitempty"`
	Removed    bool        `json:"removed,omitempty"`
	Mode       fs.FileMode `json:"mode"`
}

// ChangeSet is the record of one `rampart harden --yes` run.
type ChangeSet struct {
	ID       string       `json:"id"`
	Root     string       `json:"root"`
	Areas    []string     `json:"areas"`
	Created  time.Time    `json:"created"`
	Files    []FileChange `json:"files"`
	Reloaded []string     `json:"reloaded,omitempty"`
	// Dirs are the directories the change set created (outermost first);
	// undo removes them again when they are empty.
	Dirs []string `json:"dirs,omitempty"`
	// Live: the change set acted on running services, and Reload is what
	// it ran after installing; undo runs the same commands again.
	Live   bool      `json:"live,omitempty"`
	Reload []Command `json:"reload,omitempty"`
	// UndoReload runs after Reload on undo only.
	UndoReload []Command `json:"undo_reload,omitempty"`
}

// UndoCommands is what undo runs after restoring the files: nothing unless
// the change set was live.
func (cs *ChangeSet) UndoCommands() []Command {
	if !cs.Live {
		return nil
	}
	return append(append([]Command(nil), cs.Reload...), cs.UndoReload...)
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
	return writeAtomic(path, data, mode, nil)
}

func writeAtomic(path string, data []byte, mode fs.FileMode, prep func(*os.File) error) error {
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
	if prep != nil {
		if err := prep(f); err != nil {
			f.Close()
			return err
		}
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

// Apply writes every planned file (path → content) under root, recording
// what was there before, and saves the change set in stateDir. New files get
// mode; replaced files keep theirs. On a write error the files already
// written are put back.
func Apply(stateDir, root string, areas []string, files map[string][]byte, mode fs.FileMode, now time.Time) (*ChangeSet, error) {
	list := make([]File, 0, len(files))
	for p, b := range files {
		f := File{Path: p, Data: b}
		if _, err := os.Lstat(hostPath(root, p)); err != nil {
			f.Mode = mode
		}
		list = append(list, f)
	}
	return ApplyFiles(stateDir, Record{Root: root, Areas: areas}, list, now)
}

// Record is what a change set records besides its files.
type Record struct {
	Root       string
	Areas      []string
	Live       bool
	Reload     []Command
	UndoReload []Command
}

// ApplyFiles installs files under rec.Root: each written whole and
// atomically (owner kept, mode as File.Mode says), linked or removed. The
// change set, with every path's previous state, is saved in stateDir before
// the first write, so a crash mid-way still leaves an undoable set. On a
// write error the paths already changed are put back and the record goes.
func ApplyFiles(stateDir string, rec Record, files []File, now time.Time) (*ChangeSet, error) {
	root := rec.Root
	cs := &ChangeSet{ID: now.UTC().Format("20060102T150405.000000000Z"), Root: root, Areas: rec.Areas,
		Created: now.UTC(), Live: rec.Live, Reload: rec.Reload, UndoReload: rec.UndoReload}
	files = append([]File(nil), files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	seen := map[string]bool{}
	for _, f := range files {
		p := f.Path
		if !filepath.IsAbs(p) || filepath.Clean(p) != p {
			return nil, fmt.Errorf("harden: %q is not a clean absolute path", p)
		}
		if seen[p] {
			return nil, fmt.Errorf("harden: %s is planned twice", p)
		}
		seen[p] = true
		fc := FileChange{Path: p, After: f.Data, AfterSum: sum(f.Data), AfterLink: f.Link, Removed: f.Remove, Mode: f.Mode}
		if f.Link != "" || f.Remove {
			fc.After, fc.AfterSum = nil, ""
		}
		h := hostPath(root, p)
		if st, err := os.Lstat(h); err == nil {
			fc.Existed = true
			if sys, ok := st.Sys().(*syscall.Stat_t); ok {
				fc.UID, fc.GID = int(sys.Uid), int(sys.Gid)
			}
			switch {
			case st.Mode()&fs.ModeSymlink != 0:
				t, err := os.Readlink(h)
				if err != nil {
					return nil, err
				}
				fc.BeforeLink = t
			case st.Mode().IsRegular():
				b, err := os.ReadFile(h)
				if err != nil {
					return nil, err
				}
				fc.Before, fc.BeforeSum, fc.BeforeMod = b, sum(b), st.Mode().Perm()
				if fc.Mode == 0 {
					fc.Mode = st.Mode().Perm()
				}
			default:
				return nil, fmt.Errorf("harden: %s is a %s, not a file rampart may replace", p, st.Mode().Type())
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		} else {
			fc.UID, fc.GID = -1, -1
		}
		if fc.Mode == 0 {
			fc.Mode = 0o644
		}
		cs.Files = append(cs.Files, fc)
	}
	for _, fc := range cs.Files {
		if fc.Removed && !fc.Existed {
			continue
		}
		for _, d := range missingDirs(root, filepath.Dir(fc.Path)) {
			if !slices.Contains(cs.Dirs, d) {
				cs.Dirs = append(cs.Dirs, d)
			}
		}
	}
	sort.Strings(cs.Dirs) // a parent sorts before its children
	if err := save(stateDir, cs); err != nil {
		return nil, err
	}
	for i, fc := range cs.Files {
		if err := installChange(root, fc); err != nil {
			restore(root, cs.Files[:i])
			removeDirs(root, cs.Dirs)
			os.Remove(recordPath(stateDir, cs.ID))
			return nil, fmt.Errorf("harden: writing %s: %w (earlier files put back)", fc.Path, err)
		}
	}
	return cs, nil
}

// Lock takes the state directory's harden lock (an flock on
// STATE/harden/.lock), so two runs or a run and an undo cannot interleave
// their writes; it fails at once, naming the lock, when another holds it.
func Lock(stateDir string) (unlock func(), err error) {
	dir := filepath.Join(stateDir, "harden")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("harden: another rampart harden holds %s: %w", f.Name(), err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// missingDirs lists dir and its parents that do not exist under root.
func missingDirs(root, dir string) []string {
	var out []string
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if _, err := os.Lstat(hostPath(root, d)); err == nil {
			break
		}
		out = append(out, d)
	}
	return out
}

// removeDirs removes the created directories that are empty, deepest first.
func removeDirs(root string, dirs []string) {
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(hostPath(root, dirs[i])) // fails, harmlessly, when not empty
	}
}

// installChange puts fc's after state in place.
func installChange(root string, fc FileChange) error {
	h := hostPath(root, fc.Path)
	switch {
	case fc.Removed:
		if err := os.Remove(h); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	case fc.AfterLink != "":
		return linkAtomic(h, fc.AfterLink)
	}
	return writeOwned(h, fc.After, fc.Mode, fc.UID, fc.GID)
}

// writeOwned is WriteAtomic that keeps the owner (uid, gid ≥ 0) of the file
// it replaces: /etc/shadow stays root:shadow.
func writeOwned(path string, data []byte, mode fs.FileMode, uid, gid int) error {
	if uid < 0 && gid < 0 {
		return WriteAtomic(path, data, mode)
	}
	return writeAtomic(path, data, mode, func(f *os.File) error {
		if uid == os.Geteuid() && gid == os.Getegid() {
			return nil
		}
		return f.Chown(uid, gid)
	})
}

// linkAtomic makes path a symlink to target, replacing what is there.
func linkAtomic(path, target string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+filepath.Base(path)+".rampart-link")
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func restore(root string, files []FileChange) error {
	var errs []error
	for _, fc := range files {
		p := hostPath(root, fc.Path)
		switch {
		case fc.Existed && fc.BeforeLink != "":
			errs = append(errs, linkAtomic(p, fc.BeforeLink))
		case fc.Existed:
			errs = append(errs, writeOwned(p, fc.Before, fc.BeforeMod, fc.UID, fc.GID))
		default:
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// drifted reports whether the path holds neither what fc installed nor what
// was there before (a path already back in its old state, e.g. put back by
// the rollback of an unconfirmed port move, is not drift: restoring it
// changes nothing).
func drifted(root string, fc FileChange) (bool, error) {
	cur, err := stateOf(root, fc.Path)
	if err != nil {
		return false, err
	}
	after := pathState{exists: !fc.Removed, link: fc.AfterLink, sum: fc.AfterSum}
	if fc.Removed || fc.AfterLink != "" {
		after.sum = ""
	}
	before := pathState{exists: fc.Existed, link: fc.BeforeLink, sum: fc.BeforeSum}
	return cur != after && cur != before, nil
}

// pathState is what a path holds: nothing, a link, or content (by sum).
type pathState struct {
	exists    bool
	link, sum string
}

func stateOf(root, p string) (pathState, error) {
	h := hostPath(root, p)
	st, err := os.Lstat(h)
	if errors.Is(err, fs.ErrNotExist) {
		return pathState{}, nil
	}
	if err != nil {
		return pathState{}, err
	}
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		t, err := os.Readlink(h)
		return pathState{exists: true, link: t}, err
	case st.Mode().IsRegular():
		b, err := os.ReadFile(h)
		return pathState{exists: true, sum: sum(b)}, err
	}
	return pathState{exists: true, sum: "(" + st.Mode().Type().String() + ")"}, nil
}

func recordPath(stateDir, id string) string {
	return filepath.Join(stateDir, "harden", id+".json")
}

func save(stateDir string, cs *ChangeSet) error {
	// Records hold previous contents (/etc/shadow's hashes): root only.
	if err := os.MkdirAll(filepath.Join(stateDir, "harden"), 0o700); err != nil {
		return err
	}
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
		d, err := drifted(cs.Root, fc)
		if err != nil {
			return err
		}
		if d {
			drift = append(drift, fc.Path)
		}
	}
	if len(drift) > 0 && !force {
		return &DriftError{Paths: drift}
	}
	if err := restore(cs.Root, cs.Files); err != nil {
		return err
	}
	removeDirs(cs.Root, cs.Dirs)
	return os.Remove(recordPath(stateDir, cs.ID))
}

// List returns the change sets recorded in stateDir, oldest first.
func List(stateDir string) ([]*ChangeSet, error) {
	ents, err := os.ReadDir(filepath.Join(stateDir, "harden"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []*ChangeSet
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ".json") || strings.HasPrefix(n, ".") {
			continue
		}
		cs, err := Load(stateDir, strings.TrimSuffix(n, ".json"))
		if err != nil {
			return nil, err
		}
		out = append(out, cs)
	}
	return out, nil
}
