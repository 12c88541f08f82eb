package fim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"
)

// The baseline file is
//
//	magic "RPFIM\x00\x00\x01" (the last byte is the format version)
//	uvarint length, metadata as JSON
//	uvarint count, then count records: uvarint length, record (see appendEntry)
//	SHA-256 of every byte above
//
// with the records sorted by path, so a lookup is a binary search over the
// file as read, with no decoding of what is not looked at.
var magic = []byte("RPFIM\x00\x00\x01")

// maxBaseline bounds what Load reads: ~4 million files' worth.
const maxBaseline = 1 << 30

// AcceptRecord records one "fim accept": who took which paths as the new baseline.
type AcceptRecord struct {
	Time    time.Time `json:"time"`
	By      string    `json:"by"`
	Paths   []string  `json:"paths,omitempty"` // empty: everything
	Changes int       `json:"changes"`
}

// Meta is what the baseline says about itself.
type Meta struct {
	Root      string    `json:"root"`
	Paths     []string  `json:"paths"`
	Exclude   []string  `json:"exclude,omitempty"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
	// Updated is when the content last changed (init or accept).
	Updated time.Time      `json:"updated"`
	Accepts []AcceptRecord `json:"accepts,omitempty"`
	// Packages are the dpkg package versions when the baseline was updated.
	Packages map[string]string `json:"packages,omitempty"`
}

// maxAccepts bounds the accept history kept in the baseline.
const maxAccepts = 200

// Baseline is a loaded baseline: its metadata and its records, sorted by path.
type Baseline struct {
	Meta Meta
	recs [][]byte
	// Digest is the SHA-256 stored at the end of the file.
	Digest [sha256.Size]byte
}

// Len is the number of recorded files.
func (b *Baseline) Len() int { return len(b.recs) }

// Entry decodes the i-th record (in path order).
func (b *Baseline) Entry(i int) Entry {
	e, _ := decodeEntry(b.recs[i]) // validated by Load
	return e
}

// path returns the i-th record's path without decoding the rest.
func (b *Baseline) path(i int) []byte {
	p, _ := recordPath(b.recs[i])
	return p
}

// Find returns the index of the record for p, or -1.
func (b *Baseline) Find(p string) int {
	i := sort.Search(len(b.recs), func(i int) bool { return string(b.path(i)) >= p })
	if i < len(b.recs) && string(b.path(i)) == p {
		return i
	}
	return -1
}

// ErrBadBaseline marks a baseline file that cannot be trusted.
var ErrBadBaseline = errors.New("baseline cannot be trusted")

// Load reads and verifies the baseline at file. A truncated or altered file
// (checksum mismatch), a malformed record or a file others may write is
// refused with an error wrapping ErrBadBaseline.
func Load(file string) (*Baseline, error) {
	f, err := os.Open(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("baseline %s: does not exist; run 'rampart fim init' first", file)
		}
		return nil, fmt.Errorf("baseline: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("baseline %s: not a regular file: %w", file, ErrBadBaseline)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return nil, fmt.Errorf("baseline %s: mode %04o lets other users write it: %w (check the host, then 'chmod 600 %s' or take a new baseline)", file, perm, ErrBadBaseline, file)
	}
	if fi.Size() > maxBaseline {
		return nil, fmt.Errorf("baseline %s: %d bytes, more than the %d a baseline may have: %w", file, fi.Size(), maxBaseline, ErrBadBaseline)
	}
	data := make([]byte, fi.Size())
	if _, err := readFull(f, data); err != nil {
		return nil, fmt.Errorf("baseline %s: %w", file, err)
	}
	b, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %w", file, err)
	}
	return b, nil
}

func readFull(f *os.File, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil {
			return n, fmt.Errorf("file shrank while being read: %w", err)
		}
	}
	return n, nil
}

// Decode verifies and parses a baseline file's bytes. The records keep
// pointing into data.
func Decode(data []byte) (*Baseline, error) {
	if len(data) < len(magic)+sha256.Size || !bytes.Equal(data[:len(magic)-1], magic[:len(magic)-1]) {
		return nil, fmt.Errorf("not a rampart baseline (or cut short to %d bytes): %w", len(data), ErrBadBaseline)
	}
	if data[len(magic)-1] != magic[len(magic)-1] {
		return nil, fmt.Errorf("baseline format version %d, this rampart reads %d: %w", data[len(magic)-1], magic[len(magic)-1], ErrBadBaseline)
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	b := &Baseline{}
	copy(b.Digest[:], sum)
	if sha256.Sum256(body) != b.Digest {
		return nil, fmt.Errorf("checksum mismatch: the file was truncated or changed outside rampart; refusing it: %w (check the host, then take a new baseline with 'rampart fim init')", ErrBadBaseline)
	}
	d := decoder{b: body[len(magic):]}
	meta := d.bytes(d.uvarint())
	if d.err != nil {
		return nil, fmt.Errorf("metadata: %v: %w", d.err, ErrBadBaseline)
	}
	if err := json.Unmarshal(meta, &b.Meta); err != nil {
		return nil, fmt.Errorf("metadata: %v: %w", err, ErrBadBaseline)
	}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		return nil, fmt.Errorf("record count: %w", ErrBadBaseline)
	}
	b.recs = make([][]byte, 0, n)
	var prev []byte
	for i := uint64(0); i < n; i++ {
		rec := d.bytes(d.uvarint())
		if d.err != nil {
			return nil, fmt.Errorf("record %d of %d: %v: %w", i+1, n, d.err, ErrBadBaseline)
		}
		e, err := decodeEntry(rec)
		if err != nil {
			return nil, fmt.Errorf("record %d of %d: %v: %w", i+1, n, err, ErrBadBaseline)
		}
		p := []byte(e.Path)
		if i > 0 && bytes.Compare(prev, p) >= 0 {
			return nil, fmt.Errorf("record %d (%q) out of order: %w", i+1, e.Path, ErrBadBaseline)
		}
		prev = p
		b.recs = append(b.recs, rec)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%d bytes after the last record: %w", len(d.b), ErrBadBaseline)
	}
	return b, nil
}

// recordSet collects encoded entries in any order.
type recordSet struct {
	buf  []byte
	ends []int
}

func (s *recordSet) add(e *Entry) {
	s.buf = appendEntry(s.buf, e)
	s.ends = append(s.ends, len(s.buf))
}

func (s *recordSet) addRaw(rec []byte) {
	s.buf = append(s.buf, rec...)
	s.ends = append(s.ends, len(s.buf))
}

func (s *recordSet) len() int { return len(s.ends) }

// sorted returns the records in path order; of two records with one path the
// one added last wins.
func (s *recordSet) sorted() [][]byte {
	recs := make([][]byte, len(s.ends))
	start := 0
	for i, end := range s.ends {
		recs[i] = s.buf[start:end:end]
		start = end
	}
	slices.SortStableFunc(recs, func(a, b []byte) int {
		pa, _ := recordPath(a)
		pb, _ := recordPath(b)
		return bytes.Compare(pa, pb)
	})
	out := recs[:0]
	for i, r := range recs {
		if i+1 < len(recs) {
			p, _ := recordPath(r)
			q, _ := recordPath(recs[i+1])
			if bytes.Equal(p, q) {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

// encode renders a baseline file.
func encode(meta Meta, recs [][]byte) ([]byte, error) {
	mj, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("baseline metadata: %w", err)
	}
	size := len(magic) + len(mj) + 20 + sha256.Size
	for _, r := range recs {
		size += len(r) + 3
	}
	out := make([]byte, 0, size)
	out = append(out, magic...)
	out = binary.AppendUvarint(out, uint64(len(mj)))
	out = append(out, mj...)
	out = binary.AppendUvarint(out, uint64(len(recs)))
	for _, r := range recs {
		out = binary.AppendUvarint(out, uint64(len(r)))
		out = append(out, r...)
	}
	sum := sha256.Sum256(out)
	return append(out, sum[:]...), nil
}

// save writes the baseline atomically (temporary file, fsync, rename, fsync
// of the directory), mode 0600, creating its directory 0700 when missing.
func save(file string, data []byte) error {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".fim-baseline-*")
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("baseline: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("baseline: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("baseline: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
