package blocklist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// MaxBodyBytes bounds a fetched list (a list of 2,000,000 CIDRs is ~40 MB).
const MaxBodyBytes = 256 << 20

// Source is where a list comes from: a URL fetched with conditional
// requests, or a local file. The last good copy of a URL's list is kept in
// Dir (NAME.list, NAME.meta), so a restart or an unreachable server never
// leaves the list out of force.
type Source struct {
	Name       string
	URL        string
	File       string
	Format     Format
	MaxEntries int
	Dir        string
	Client     *http.Client
}

// meta is what a cached copy records for the next conditional request.
type meta struct {
	URL          string    `json:"url"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	Fetched      time.Time `json:"fetched"`
	// FileSize and FileMod identify a local file's version.
	FileSize int64     `json:"file_size,omitempty"`
	FileMod  time.Time `json:"file_mod,omitzero"`
}

// Fetched is the outcome of one Fetch.
type Fetched struct {
	Result
	// Changed is false when the server answered 304 Not Modified or the
	// file is the one read last time: Result is then the cached copy.
	Changed bool
	// From says where the entries came from: "server", "cache" or "file".
	From string
}

func (s *Source) paths() (list, meta string) {
	return filepath.Join(s.Dir, s.Name+".list"), filepath.Join(s.Dir, s.Name+".meta")
}

// Cached returns the last good copy of the list, without the network.
func (s *Source) Cached() (Result, error) {
	if s.File != "" {
		f, err := os.Open(s.File)
		if err != nil {
			return Result{}, fmt.Errorf("blocklist %s: %w", s.Name, err)
		}
		defer f.Close()
		return Parse(f, s.Format, s.MaxEntries)
	}
	lp, _ := s.paths()
	f, err := os.Open(lp)
	if err != nil {
		return Result{}, fmt.Errorf("blocklist %s: no saved copy: %w", s.Name, err)
	}
	defer f.Close()
	return Parse(f, s.Format, s.MaxEntries)
}

// Fetch gets the list: a file is read again when its size or time
// changed; a URL is fetched with If-None-Match and If-Modified-Since from
// the last good copy. A body that does not parse, a list over MaxEntries,
// or an HTTP error is an error, and the saved copy stays as it was.
func (s *Source) Fetch(ctx context.Context) (Fetched, error) {
	lp, mp := s.paths()
	var m meta
	if b, err := os.ReadFile(mp); err == nil {
		json.Unmarshal(b, &m) // a damaged meta file only costs a full fetch
	}
	if s.File != "" {
		fi, err := os.Stat(s.File)
		if err != nil {
			return Fetched{}, fmt.Errorf("blocklist %s: %w", s.Name, err)
		}
		r, err := s.Cached()
		if err != nil {
			return Fetched{}, err
		}
		changed := fi.Size() != m.FileSize || !fi.ModTime().Equal(m.FileMod)
		if s.Dir != "" {
			s.saveMeta(mp, meta{FileSize: fi.Size(), FileMod: fi.ModTime(), Fetched: time.Now()})
		}
		return Fetched{Result: r, Changed: changed, From: "file"}, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return Fetched{}, fmt.Errorf("blocklist %s: %w", s.Name, err)
	}
	req.Header.Set("User-Agent", "rampart-blocklist")
	_, cacheErr := os.Stat(lp)
	if m.URL == s.URL && cacheErr == nil {
		if m.ETag != "" {
			req.Header.Set("If-None-Match", m.ETag)
		}
		if m.LastModified != "" {
			req.Header.Set("If-Modified-Since", m.LastModified)
		}
	}
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: 2 * time.Minute}
	}
	resp, err := c.Do(req)
	if err != nil {
		return Fetched{}, fmt.Errorf("blocklist %s: fetch %s: %w", s.Name, s.URL, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		r, err := s.Cached()
		return Fetched{Result: r, From: "cache"}, err
	case resp.StatusCode != http.StatusOK:
		return Fetched{}, fmt.Errorf("blocklist %s: fetch %s: %s (the saved copy stays in force)", s.Name, s.URL, resp.Status)
	}
	// The body is parsed as it arrives and written beside the saved copy
	// at the same time (never held whole in memory); it replaces the
	// saved copy only once it parsed.
	var tmp *os.File
	var body io.Reader = io.LimitReader(resp.Body, MaxBodyBytes+1)
	if s.Dir != "" {
		if err := os.MkdirAll(s.Dir, 0o700); err != nil {
			return Fetched{}, fmt.Errorf("blocklist %s: keep a copy: %w", s.Name, err)
		}
		if tmp, err = os.CreateTemp(s.Dir, ".fetch-*"); err != nil {
			return Fetched{}, fmt.Errorf("blocklist %s: keep a copy: %w", s.Name, err)
		}
		defer func() {
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		body = io.TeeReader(body, tmp)
	}
	cr := &countReader{r: body}
	r, err := Parse(cr, s.Format, s.MaxEntries)
	if err == nil {
		// What Parse left unread (after a JSON array) still counts.
		_, err = io.Copy(io.Discard, cr)
	}
	if cr.n > MaxBodyBytes {
		return Fetched{}, fmt.Errorf("blocklist %s: %s is larger than %d MiB; refused (the saved copy stays in force)", s.Name, s.URL, MaxBodyBytes>>20)
	}
	if err != nil {
		return Fetched{}, fmt.Errorf("blocklist %s: %s: %w (the saved copy stays in force)", s.Name, s.URL, err)
	}
	if tmp != nil {
		err := tmp.Sync()
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), lp)
		}
		if err != nil {
			return Fetched{}, fmt.Errorf("blocklist %s: keep a copy: %w", s.Name, err)
		}
		tmp = nil
		s.saveMeta(mp, meta{URL: s.URL, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), Fetched: time.Now()})
	}
	return Fetched{Result: r, Changed: true, From: "server"}, nil
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (s *Source) saveMeta(path string, m meta) {
	b, _ := json.Marshal(m)
	writeAtomic(path, b)
}

// writeAtomic replaces path with data: a reader sees the old or the new
// file, never a part.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return errors.Join(errors.New("write "+path), err)
	}
	return nil
}
