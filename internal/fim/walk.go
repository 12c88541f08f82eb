package fim

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// errReplaced is a file that stopped being the regular file the walk saw
// between its lstat and its open.
var errReplaced = errors.New("replaced while being read (not a regular file any more); not hashed")

// scanner walks the configured trees and fills in entries, hashing regular
// files on a bounded pool of workers.
type scanner struct {
	root    string // prefix of the image on disk, "" for the live system
	exclude []string
	workers int
	// lookup, when set, returns the index of e's baseline record (or -1)
	// and whether e is unchanged, in which case it has filled e from the
	// record; called from the walking goroutine only.
	lookup func(e *Entry) (base int, same bool)
	// warn reports a file that could not be fully read; called from the
	// emitting goroutine only.
	warn func(path string, err error)
	// hashed counts the files read, when set.
	hashed *atomic.Int64
	// newItem hands out a cleared item (pooled by run).
	newItem func() *item
}

// item is an entry on its way from the walker through a worker to emit.
type item struct {
	e   Entry
	err error // a read problem: reported, the entry kept without what failed
	// gone marks a file that vanished between readdir and read: dropped.
	gone bool
	// base is the index of the baseline record (-1: none); same says the
	// entry was taken from it unchanged.
	base int
	same bool
}

// diskPath is where the image path p is on this machine.
func (s *scanner) diskPath(p string) string {
	if s.root == "" {
		return p
	}
	return s.root + p
}

// expand turns configured path patterns into image paths, sorted, without
// duplicates or paths inside another one.
func expand(root string, patterns []string) []string {
	var out []string
	for _, pat := range patterns {
		pat = filepath.Clean(pat)
		if !strings.ContainsAny(pat, "*?[") {
			out = append(out, pat)
			continue
		}
		matches, _ := filepath.Glob(root + pat) // the pattern was validated
		for _, m := range matches {
			out = append(out, strings.TrimPrefix(m, root))
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	kept := out[:0]
	for _, p := range out {
		if len(kept) > 0 && under(p, kept[len(kept)-1]) {
			continue
		}
		kept = append(kept, p)
	}
	return kept
}

// run walks tops (image paths) and calls emit once per entry, serially,
// with the index of its baseline record (-1 when there is none or no
// lookup) and whether it is unchanged from that record.
func (s *scanner) run(ctx context.Context, tops []string, emit func(e *Entry, base int, same bool)) error {
	workers := s.workers
	if workers <= 0 {
		workers = min(runtime.GOMAXPROCS(0), 16)
	}
	jobs := make(chan *item, 512)
	results := make(chan *item, 512)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 128<<10)
			xbuf := make([]byte, 4096)
			for it := range jobs {
				s.read(it, buf, &xbuf)
				results <- it
			}
		}()
	}
	pool := sync.Pool{New: func() any { return new(item) }}
	s.newItem = func() *item { return pool.Get().(*item) }
	var walkErr error
	go func() {
		defer func() {
			close(jobs)
			wg.Wait()
			close(results)
		}()
		for _, top := range tops {
			if err := s.walkTop(ctx, top, jobs, results); err != nil {
				walkErr = err
				return
			}
		}
	}()
	for it := range results {
		if it.err != nil && s.warn != nil {
			s.warn(it.e.Path, it.err)
		}
		if !it.gone {
			emit(&it.e, it.base, it.same)
		}
		*it = item{}
		pool.Put(it)
	}
	return walkErr
}

func (s *scanner) walkTop(ctx context.Context, top string, jobs, results chan<- *item) error {
	if excluded(s.exclude, top) {
		return nil
	}
	if link := s.symlinkAbove(top); link != "" {
		// Under --root, following it could leave the image (an absolute
		// target is resolved on this host).
		results <- &item{e: Entry{Path: top}, err: fmt.Errorf("not walked: %s is a symlink inside the image; configure the path it points to", link), gone: true}
		return nil
	}
	var st unix.Stat_t
	if err := unix.Lstat(s.diskPath(top), &st); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return nil
		}
		results <- &item{e: Entry{Path: top}, err: err, gone: true}
		return nil
	}
	it := s.newItem()
	it.e = entryFromStat(top, &st)
	isDir := it.e.Type == TypeDir
	s.dispatch(it, jobs, results) // it belongs to the emitter now
	if isDir {
		return s.walkDir(ctx, top, jobs, results)
	}
	return nil
}

// symlinkAbove returns the first directory above the image path p that is
// a symlink, when scanning under a root; "" when there is none.
func (s *scanner) symlinkAbove(p string) string {
	if s.root == "" {
		return ""
	}
	for i := 1; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		var st unix.Stat_t
		if unix.Lstat(s.root+p[:i], &st) == nil && typeOf(st.Mode) == TypeSymlink {
			return p[:i]
		}
	}
	return ""
}

func (s *scanner) dispatch(it *item, jobs, results chan<- *item) {
	it.base = -1
	if s.lookup != nil {
		if it.base, it.same = s.lookup(&it.e); it.same {
			results <- it
			return
		}
	}
	jobs <- it
}

func entryFromStat(p string, st *unix.Stat_t) Entry {
	return Entry{
		Path:  p,
		Type:  typeOf(st.Mode),
		Mode:  st.Mode & 0o7777,
		UID:   st.Uid,
		GID:   st.Gid,
		Size:  st.Size,
		Mtime: st.Mtim.Nano(),
		Ctime: st.Ctim.Nano(),
		Ino:   st.Ino,
	}
}

func (s *scanner) walkDir(ctx context.Context, dir string, jobs, results chan<- *item) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fd, err := unix.Open(s.diskPath(dir), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if !errors.Is(err, unix.ENOENT) {
			results <- &item{e: Entry{Path: dir}, err: fmt.Errorf("directory not read: %w", err), gone: true}
		}
		return nil
	}
	f := os.NewFile(uintptr(fd), dir)
	names, err := f.Readdirnames(-1)
	if err != nil {
		results <- &item{e: Entry{Path: dir}, err: fmt.Errorf("directory listing: %w", err), gone: true}
	}
	slices.Sort(names)
	prefix := dir + "/"
	if dir == "/" {
		prefix = "/"
	}
	var subdirs []string
	for _, name := range names {
		p := prefix + name
		if excluded(s.exclude, p) {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if !errors.Is(err, unix.ENOENT) { // vanished since the listing: not there
				results <- &item{e: Entry{Path: p}, err: err, gone: true}
			}
			continue
		}
		it := s.newItem()
		it.e = entryFromStat(p, &st)
		isDir := it.e.Type == TypeDir
		s.dispatch(it, jobs, results) // it belongs to the emitter now
		if isDir {
			subdirs = append(subdirs, p)
		}
	}
	f.Close()
	for _, sub := range subdirs {
		if err := s.walkDir(ctx, sub, jobs, results); err != nil {
			return err
		}
	}
	return nil
}

// read fills in what lstat does not give: link target, extended attributes
// and the content hash. A device, FIFO or socket is never opened.
func (s *scanner) read(it *item, buf []byte, xbuf *[]byte) {
	e := &it.e
	name := s.diskPath(e.Path)
	if e.Type == TypeSymlink {
		target, err := os.Readlink(name)
		if errors.Is(err, os.ErrNotExist) {
			it.gone = true // vanished since the listing
			return
		}
		if err != nil {
			it.err = err
			return
		}
		e.Link = target
	}
	xs, err := listXattrs(name, xbuf)
	if err != nil {
		it.err = fmt.Errorf("extended attributes: %w", err)
	}
	e.Xattrs = xs
	if e.Type != TypeRegular {
		return
	}
	if err := hashFile(name, e, buf); err != nil {
		if errors.Is(err, unix.ENOENT) {
			it.gone = true // vanished since the listing
			return
		}
		it.err = err
		return
	}
	if s.hashed != nil {
		s.hashed.Add(1)
	}
}

// hashFile reads the regular file name (which lstat saw as e) and sets its
// hash. O_NOFOLLOW and O_NONBLOCK keep a file swapped for a symlink or FIFO
// since the lstat from being followed or blocking; the fstat after the open
// makes sure it is still the same regular file.
func hashFile(name string, e *Entry, buf []byte) error {
	flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_NOCTTY
	fd, err := unix.Open(name, flags|unix.O_NOATIME, 0)
	if errors.Is(err, unix.EPERM) { // O_NOATIME needs ownership or CAP_FOWNER
		fd, err = unix.Open(name, flags, 0)
	}
	if err != nil {
		return fmt.Errorf("not hashed: %w", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("not hashed: %w", err)
	}
	if typeOf(st.Mode) != TypeRegular || st.Ino != e.Ino {
		return errReplaced
	}
	h := sha256.New()
	var total int64
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("not hashed: %w", err)
		}
		if n == 0 {
			break
		}
		h.Write(buf[:n])
		total += int64(n)
		if n < len(buf) && total >= st.Size {
			break // a short read at the size lstat gave is the end
		}
	}
	h.Sum(e.Hash[:0])
	e.HasHash = true
	var after unix.Stat_t
	fresh := entryFromStat(e.Path, &st)
	if err := unix.Fstat(fd, &after); err == nil && (after.Size != st.Size || after.Mtim != st.Mtim || after.Ctim != st.Ctim) {
		fresh.Ctime = 0 // never matches: the next check reads it again
		e.Mode, e.UID, e.GID, e.Size, e.Mtime, e.Ctime = fresh.Mode, fresh.UID, fresh.GID, fresh.Size, fresh.Mtime, fresh.Ctime
		return errors.New("changed while being read; hash taken, will be read again next check")
	}
	e.Mode, e.UID, e.GID, e.Size, e.Mtime, e.Ctime = fresh.Mode, fresh.UID, fresh.GID, fresh.Size, fresh.Mtime, fresh.Ctime
	return nil
}

// listXattrs reads all extended attributes of name (not following a
// symlink), sorted by name. buf grows as needed.
func listXattrs(name string, buf *[]byte) ([]Xattr, error) {
	n, err := unix.Llistxattr(name, *buf)
	for errors.Is(err, unix.ERANGE) {
		sz, err2 := unix.Llistxattr(name, nil)
		if err2 != nil {
			return nil, err2
		}
		*buf = make([]byte, sz*2+64)
		n, err = unix.Llistxattr(name, *buf)
	}
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.ENOENT) {
			return nil, nil
		}
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	var out []Xattr
	for _, attr := range strings.Split(strings.TrimRight(string((*buf)[:n]), "\x00"), "\x00") {
		if attr == "" {
			continue
		}
		val, err := getXattr(name, attr)
		if err != nil {
			if errors.Is(err, unix.ENODATA) {
				continue // removed since the listing
			}
			return out, fmt.Errorf("%s: %w", attr, err)
		}
		out = append(out, Xattr{Name: attr, Value: val})
	}
	slices.SortFunc(out, func(a, b Xattr) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func getXattr(name, attr string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(name, attr, buf)
		if errors.Is(err, unix.ERANGE) {
			sz, err := unix.Lgetxattr(name, attr, nil)
			if err != nil {
				return nil, err
			}
			buf = make([]byte, sz+64)
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n:n], nil
	}
}
