package fim

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultPackageCachePath is where verify-packages remembers intact files.
const DefaultPackageCachePath = "/var/lib/rampart/fim-packages.cache"

// PackageCache remembers which packaged files matched their md5 sum and
// with which inode, size, mtime and ctime, so that verify-packages reads
// only files whose lstat moved since. It is stored like a baseline
// (checksummed, 0600); a cache that fails its checksum is not used.
type PackageCache struct {
	root string
	old  *Baseline
	mu   sync.Mutex
	set  recordSet
}

// NewPackageCache returns an empty cache for root, trusting nothing.
func NewPackageCache(root string) (*PackageCache, error) {
	r, err := normRoot(root)
	if err != nil {
		return nil, err
	}
	return &PackageCache{root: r}, nil
}

// LoadPackageCache reads the cache at file for root. A missing file is an
// empty cache; an unreadable, refused or other root's cache is an empty
// cache and an error saying why (the caller warns and goes on: every file
// is read).
func LoadPackageCache(file, root string) (*PackageCache, error) {
	r, err := normRoot(root)
	if err != nil {
		return nil, err
	}
	c := &PackageCache{root: r}
	b, err := Load(file)
	switch {
	case err != nil && !fileMissing(file):
		return c, fmt.Errorf("package cache not used, every packaged file is read: %w", err)
	case err != nil:
		return c, nil
	case b.Meta.Root != displayRoot(r):
		return c, nil
	}
	c.old = b
	return c, nil
}

func fileMissing(file string) bool {
	var st unix.Stat_t
	return unix.Lstat(file, &st) == unix.ENOENT
}

func cacheEntry(p string, sum [16]byte, st *unix.Stat_t) Entry {
	e := entryFromStat(p, st)
	copy(e.Hash[:], sum[:])
	e.HasHash = true
	return e
}

// Known implements dpkg.Cache.
func (c *PackageCache) Known(p string, sum [16]byte, st *unix.Stat_t) bool {
	if c.old == nil {
		return false
	}
	i := c.old.Find(p)
	if i < 0 {
		return false
	}
	old := c.old.Entry(i)
	now := cacheEntry(p, sum, st)
	if !now.sameStat(&old) || old.Hash != now.Hash || old.Mode != now.Mode || old.UID != now.UID {
		return false
	}
	c.mu.Lock()
	c.set.addRef(c.old.recs[i])
	c.mu.Unlock()
	return true
}

// Matched implements dpkg.Cache.
func (c *PackageCache) Matched(p string, sum [16]byte, st *unix.Stat_t) {
	e := cacheEntry(p, sum, st)
	c.mu.Lock()
	c.set.add(&e)
	c.mu.Unlock()
}

// Save writes what this run found intact (and only that) to file.
func (c *PackageCache) Save(file string, now time.Time) error {
	_, err := save(file, Meta{Root: displayRoot(c.root), Created: now.UTC(), Updated: now.UTC()}, c.set.sorted())
	return err
}
