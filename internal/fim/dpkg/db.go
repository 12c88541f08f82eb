package dpkg

import (
	"crypto/md5"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Where dpkg keeps its database and log, relative to the root.
const (
	AdminDir = "/var/lib/dpkg"
	LogFile  = "/var/log/dpkg.log"
)

// ErrNoDatabase is a root without a dpkg database (not a Debian system).
var ErrNoDatabase = errors.New("no dpkg database")

// Owned is a packaged file: its package and the md5 sum it shipped.
type Owned struct {
	Package string
	Sum     [16]byte
}

// DB is the dpkg database of one root.
type DB struct {
	root string
	// Versions are the installed packages' versions by name.
	Versions map[string]string
	files    map[string]Owned
	res      resolver
}

// Open reads the status file under root ("" for this host).
func Open(root string) (*DB, error) {
	root = strings.TrimRight(root, "/")
	f, err := os.Open(root + AdminDir + "/status")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s%s/status: %w", root, AdminDir, ErrNoDatabase)
		}
		return nil, fmt.Errorf("dpkg: %w", err)
	}
	defer f.Close()
	db := &DB{root: root, Versions: map[string]string{}, res: resolver{root: root, cache: map[string]string{}}}
	err = ParseStatus(f, func(p Package) {
		if p.Status == "installed" || p.Status == "half-configured" || p.Status == "unpacked" || p.Status == "triggers-awaited" || p.Status == "triggers-pending" {
			db.Versions[p.Name] = p.Version
		}
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return db, nil
}

// LoadSums reads every package's md5sums and the diversions. A malformed
// md5sums file is an error naming it and its line.
func (db *DB) LoadSums() error {
	db.files = map[string]Owned{}
	div := map[string]Diversion{}
	if f, err := os.Open(db.root + AdminDir + "/diversions"); err == nil {
		err = ParseDiversions(f, func(d Diversion) { div[d.From] = d })
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name(), err)
		}
	}
	info := db.root + AdminDir + "/info"
	names, err := filepath.Glob(info + "/*.md5sums")
	if err != nil {
		return fmt.Errorf("dpkg: %w", err)
	}
	for _, name := range names {
		pkg, _, _ := strings.Cut(strings.TrimSuffix(filepath.Base(name), ".md5sums"), ":")
		if _, ok := db.Versions[pkg]; !ok {
			continue // left over from a removed package
		}
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("dpkg: %w", err)
		}
		err = ParseMD5Sums(f, func(p string, sum [16]byte) {
			if d, ok := div[p]; ok && d.By != pkg {
				p = d.To
			}
			db.files[db.res.resolve(p)] = Owned{Package: pkg, Sum: sum}
		})
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// Lookup returns the package and md5 sum of the file at the image path p
// (with the directory symlinks of the image resolved, as a walk sees it).
func (db *DB) Lookup(p string) (Owned, bool) {
	o, ok := db.files[p]
	return o, ok
}

// Len is how many packaged files LoadSums found.
func (db *DB) Len() int { return len(db.files) }

// Files calls fn for every packaged file.
func (db *DB) Files(fn func(path string, o Owned)) {
	for p, o := range db.files {
		fn(p, o)
	}
}

// Actions reads the dpkg log (and its first rotation, dpkg.log.1) under
// root and returns the installs, upgrades and removals at or after since.
func (db *DB) Actions(since time.Time) []Action {
	var out []Action
	for _, name := range []string{db.root + LogFile + ".1", db.root + LogFile} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		ParseLog(f, time.Local, func(a Action) {
			if !a.Time.Before(since.Truncate(time.Second)) {
				out = append(out, a)
			}
		})
		f.Close()
	}
	return out
}

// resolver maps a path inside root to where it really is, following
// symlinks in its directories (merged /usr: /bin/ls is /usr/bin/ls) without
// leaving root. The last component is not followed.
type resolver struct {
	root  string
	cache map[string]string
}

func (r *resolver) resolve(p string) string {
	dir, base := path.Split(path.Clean(p))
	return path.Join(r.dir(path.Clean(dir), 0), base)
}

func (r *resolver) dir(d string, depth int) string {
	if d == "/" || depth > 40 {
		return d
	}
	if v, ok := r.cache[d]; ok {
		return v
	}
	parent, base := path.Split(d)
	cur := path.Join(r.dir(path.Clean(parent), depth+1), base)
	if target, err := os.Readlink(r.root + cur); err == nil {
		if !strings.HasPrefix(target, "/") {
			target = path.Join(path.Dir(cur), target)
		}
		cur = r.dir(path.Clean(target), depth+1)
	}
	r.cache[d] = cur
	return cur
}

// MD5File returns the md5 sum of the regular file name, never opening a
// device, FIFO or symlink.
func MD5File(name string, buf []byte) ([16]byte, error) {
	var sum [16]byte
	fd, err := unix.Open(name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return sum, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return sum, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return sum, errNotRegular
	}
	h := md5.New()
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return sum, err
		}
		if n == 0 {
			break
		}
		h.Write(buf[:n])
	}
	h.Sum(sum[:0])
	return sum, nil
}

var errNotRegular = errors.New("not a regular file")
