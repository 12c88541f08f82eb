package dpkg

import (
	"context"
	"encoding/hex"
	"errors"
	"runtime"
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

// Problem kinds of a packaged file.
const (
	ProblemTampered   = "tampered"   // content differs from the package's md5 sum
	ProblemMissing    = "missing"    // the file is not there
	ProblemReplaced   = "replaced"   // no longer a regular file
	ProblemUnreadable = "unreadable" // could not be read
)

// Problem is a packaged file that is not what its package shipped.
type Problem struct {
	Path     string `json:"path"`
	Package  string `json:"package"`
	Version  string `json:"version,omitempty"`
	Kind     string `json:"kind"`
	Expected string `json:"expected_md5,omitempty"`
	Actual   string `json:"actual_md5,omitempty"`
	Error    string `json:"error,omitempty"`
}

// VerifyResult sums up a verification.
type VerifyResult struct {
	Problems []Problem
	// Files is how many packaged files were checked; Hashed how many of
	// them were read and matched (the others were known from the cache).
	Files, Hashed int
}

// Cache lets Verify skip files it found intact before. Its methods are
// called from several goroutines at once.
type Cache interface {
	// Known reports whether the file at path, with this lstat, was found to
	// match sum before.
	Known(path string, sum [16]byte, st *unix.Stat_t) bool
	// Matched records that the file at path, with this lstat, matched sum.
	Matched(path string, sum [16]byte, st *unix.Stat_t)
}

// Verify compares every packaged file under the root with its md5 sum, on
// workers goroutines (0: GOMAXPROCS), like debsums without conffiles. With
// a cache, a file whose lstat is what it was when it last matched is not
// read again. Problems come back sorted by path.
func (db *DB) Verify(ctx context.Context, workers int, cache Cache) (*VerifyResult, error) {
	if db.files == nil {
		if err := db.LoadSums(); err != nil {
			return nil, err
		}
	}
	if workers <= 0 {
		workers = min(runtime.GOMAXPROCS(0), 16)
	}
	type job struct {
		path string
		o    Owned
	}
	jobs := make(chan job, 256)
	var (
		mu  sync.Mutex
		res = &VerifyResult{}
		wg  sync.WaitGroup
	)
	report := func(p Problem) {
		mu.Lock()
		res.Problems = append(res.Problems, p)
		mu.Unlock()
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 128<<10)
			for j := range jobs {
				var st unix.Stat_t
				err := unix.Lstat(db.root+j.path, &st)
				if err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
					err = errNotRegular
				}
				if err == nil && cache != nil && cache.Known(j.path, j.o.Sum, &st) {
					continue
				}
				var sum [16]byte
				if err == nil {
					sum, err = MD5File(db.root+j.path, buf)
				}
				p := Problem{Path: j.path, Package: j.o.Package, Version: db.Versions[j.o.Package], Expected: hex.EncodeToString(j.o.Sum[:])}
				switch {
				case errors.Is(err, unix.ENOENT):
					p.Kind = ProblemMissing
				case errors.Is(err, errNotRegular) || errors.Is(err, unix.ELOOP):
					p.Kind = ProblemReplaced
				case err != nil:
					p.Kind, p.Error = ProblemUnreadable, err.Error()
				case sum != j.o.Sum:
					p.Kind, p.Actual = ProblemTampered, hex.EncodeToString(sum[:])
				default:
					mu.Lock()
					res.Hashed++
					mu.Unlock()
					if cache != nil {
						cache.Matched(j.path, j.o.Sum, &st)
					}
					continue
				}
				report(p)
			}
		}()
	}
	var err error
	for p, o := range db.files {
		if err = ctx.Err(); err != nil {
			break
		}
		res.Files++
		jobs <- job{p, o}
	}
	close(jobs)
	wg.Wait()
	slices.SortFunc(res.Problems, func(a, b Problem) int {
		if a.Path < b.Path {
			return -1
		}
		if a.Path > b.Path {
			return 1
		}
		return 0
	})
	return res, err
}
