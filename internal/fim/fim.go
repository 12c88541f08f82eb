package fim

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Options are the settings of one init, check or accept.
type Options struct {
	// Root is the directory holding the filesystem to check ("" or "/" for
	// this host); configured paths are taken under it.
	Root   string
	Config Config
	// Full re-hashes every file, trusting no unchanged inode/size/mtime/ctime.
	Full bool
	// Workers bounds the hashing goroutines; 0 means GOMAXPROCS (at most 16).
	Workers int
	// Warn is told of each file that could not be fully read.
	Warn func(path string, err error)
	// Now and By record when and by whom a baseline was taken.
	Now time.Time
	By  string
	// NoPackages turns off the dpkg comparison of content changes.
	NoPackages bool
}

// Report is what a run found.
type Report struct {
	Changes []Change
	// Files is how many entries the walk saw; Hashed how many it read.
	Files, Hashed int
	// Warnings counts files that could not be fully read.
	Warnings int
	// Meta describes the baseline the run compared against or wrote.
	Meta Meta
	// Digest is the SHA-256 that ends the baseline file written or read;
	// kept off the host, it proves a later baseline is the same.
	Digest [32]byte
}

// Tampering counts the changes no package run explains.
func (r *Report) Tampering() int {
	n := 0
	for _, c := range r.Changes {
		if c.Tampering() {
			n++
		}
	}
	return n
}

// normRoot cleans a --root: "" for the live system, else an absolute path
// without a trailing slash.
func normRoot(root string) (string, error) {
	if root == "" || root == "/" {
		return "", nil
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("--root %s: %w", root, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("--root: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("--root %s: not a directory", root)
	}
	if abs == "/" {
		return "", nil
	}
	return abs, nil
}

func (o *Options) baselineFile() string {
	if o.Config.Baseline != "" {
		return o.Config.Baseline
	}
	return DefaultBaselinePath
}

func (o *Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

func (o *Options) newScanner(root string, hashed *atomic.Int64, warnings *int) *scanner {
	return &scanner{
		root:    root,
		exclude: o.Config.Exclude,
		workers: o.Workers,
		hashed:  hashed,
		warn: func(p string, err error) {
			*warnings++
			if o.Warn != nil {
				o.Warn(p, err)
			}
		},
	}
}

// Init walks the configured paths and writes a new baseline, replacing any
// old one.
func Init(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	root, err := normRoot(opts.Root)
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	var hashed atomic.Int64
	s := opts.newScanner(root, &hashed, &rep.Warnings)
	var set recordSet
	err = s.run(ctx, expand(root, opts.Config.Paths), func(e *Entry, _ int, _ bool) {
		rep.Files++
		set.add(e)
	})
	if err != nil {
		return nil, err
	}
	now := opts.now().UTC()
	rep.Meta = Meta{
		Root: displayRoot(root), Paths: opts.Config.Paths, Exclude: opts.Config.Exclude,
		Created: now, CreatedBy: opts.By, Updated: now,
		Packages: packageVersions(root),
	}
	rep.Hashed = int(hashed.Load())
	rep.Digest, err = save(opts.baselineFile(), rep.Meta, set.sorted())
	return rep, err
}

func displayRoot(root string) string {
	if root == "" {
		return "/"
	}
	return root
}

// checkRoot refuses to compare a baseline taken of another root.
func checkRoot(b *Baseline, root, file string) error {
	if b.Meta.Root != displayRoot(root) {
		return fmt.Errorf("baseline %s was taken of root %s, not %s; give --root %s, or --baseline FILE for this root", file, b.Meta.Root, displayRoot(root), b.Meta.Root)
	}
	return nil
}

// compare walks tops under root and diffs what it finds against b; seen
// marks the baseline records it met. With set non-nil every entry is added.
func compare(ctx context.Context, b *Baseline, opts *Options, root string, tops []string, rep *Report, set *recordSet) ([]bool, error) {
	var hashed atomic.Int64
	s := opts.newScanner(root, &hashed, &rep.Warnings)
	s.lookup = func(e *Entry) (int, bool) {
		i := b.Find(e.Path)
		if i < 0 || opts.Full {
			return i, false
		}
		// ctime unchanged: no chmod, chown, setxattr or write since, so
		// mode, owner, xattrs and content are the baseline's record.
		old, err := recordStat(b.recs[i])
		return i, err == nil && e.sameStat(&old) && (old.Type != TypeRegular || old.HasHash)
	}
	seen := make([]bool, b.Len())
	err := s.run(ctx, tops, func(e *Entry, i int, same bool) {
		rep.Files++
		if set != nil {
			if same {
				set.addRef(b.recs[i])
			} else {
				set.add(e)
			}
		}
		if i < 0 {
			rep.Changes = append(rep.Changes, Change{Path: e.Path, Kind: KindNew, New: summary(e)})
			return
		}
		seen[i] = true
		if !same {
			old := b.Entry(i)
			rep.Changes = diff(rep.Changes, &old, e)
		}
	})
	rep.Hashed = int(hashed.Load())
	return seen, err
}

// Check compares the disk with baseline b and reports every change, with
// content changes of packaged files judged against the dpkg database.
func Check(ctx context.Context, b *Baseline, opts Options) (*Report, error) {
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	root, err := normRoot(opts.Root)
	if err != nil {
		return nil, err
	}
	if err := checkRoot(b, root, opts.baselineFile()); err != nil {
		return nil, err
	}
	rep := &Report{Meta: b.Meta, Digest: b.Digest}
	seen, err := compare(ctx, b, &opts, root, expand(root, opts.Config.Paths), rep, nil)
	if err != nil {
		return nil, err
	}
	for i, ok := range seen {
		if ok {
			continue
		}
		old := b.Entry(i)
		if inScope(opts.Config, old.Path) {
			rep.Changes = append(rep.Changes, Change{Path: old.Path, Kind: KindRemoved, Old: summary(&old)})
		}
	}
	sortChanges(rep.Changes)
	if !opts.NoPackages {
		annotatePackages(root, b.Meta, rep.Changes)
	}
	return rep, nil
}

// Accept takes the disk as the new baseline: for paths (image paths inside
// the configured trees) only, or everything when paths is empty. The
// accept is recorded in the baseline with opts.By and the time.
func Accept(ctx context.Context, b *Baseline, paths []string, opts Options) (*Report, error) {
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	root, err := normRoot(opts.Root)
	if err != nil {
		return nil, err
	}
	if err := checkRoot(b, root, opts.baselineFile()); err != nil {
		return nil, err
	}
	tops := expand(root, opts.Config.Paths)
	var clean []string
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("accept: %q is not absolute: give the path as the baseline names it (inside --root), e.g. /etc/passwd", p)
		}
		p = path.Clean(p)
		if !inScope(opts.Config, p) {
			return nil, fmt.Errorf("accept: %s is not under fim.paths (%s)", p, strings.Join(opts.Config.Paths, ", "))
		}
		clean = append(clean, p)
	}
	if len(clean) > 0 {
		tops = expand(root, clean)
	}
	rep := &Report{}
	var set recordSet
	seen, err := compare(ctx, b, &opts, root, tops, rep, &set)
	if err != nil {
		return nil, err
	}
	for i, ok := range seen {
		old := b.Entry(i)
		switch {
		case ok:
		case len(clean) == 0 || slices.ContainsFunc(clean, func(t string) bool { return under(old.Path, t) }):
			if inScope(opts.Config, old.Path) {
				rep.Changes = append(rep.Changes, Change{Path: old.Path, Kind: KindRemoved, Old: summary(&old)})
			}
		default:
			set.addRef(b.recs[i])
		}
	}
	sortChanges(rep.Changes)
	meta := b.Meta
	meta.Paths, meta.Exclude = opts.Config.Paths, opts.Config.Exclude
	meta.Updated = opts.now().UTC()
	meta.Accepts = append(slices.Clone(meta.Accepts), AcceptRecord{Time: meta.Updated, By: opts.By, Paths: clean, Changes: len(rep.Changes)})
	if len(meta.Accepts) > maxAccepts {
		meta.Accepts = meta.Accepts[len(meta.Accepts)-maxAccepts:]
	}
	meta.Packages = packageVersions(root)
	rep.Meta = meta
	rep.Digest, err = save(opts.baselineFile(), meta, set.sorted())
	return rep, err
}

// inScope reports whether p is one of the configured trees (or inside one)
// and not excluded.
func inScope(c Config, p string) bool {
	if excluded(c.Exclude, p) {
		return false
	}
	parts := strings.Split(p, "/")
	for _, pat := range c.Paths {
		pat = path.Clean(pat)
		n := strings.Count(pat, "/")
		if pat == "/" {
			return true
		}
		if len(parts) > n {
			if ok, _ := path.Match(pat, strings.Join(parts[:n+1], "/")); ok {
				return true
			}
		}
	}
	return false
}

func sortChanges(cs []Change) {
	slices.SortStableFunc(cs, func(a, b Change) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(string(a.Kind), string(b.Kind))
	})
}

// Invoker names who runs this process: "alice (via sudo, uid 0)" under sudo,
// else the user name and uid.
func Invoker() string {
	uid := os.Getuid()
	name := strconv.Itoa(uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	if su := os.Getenv("SUDO_USER"); su != "" {
		return fmt.Sprintf("%s (via sudo, uid %d)", su, uid)
	}
	return fmt.Sprintf("%s (uid %d)", name, uid)
}
