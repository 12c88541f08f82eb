package fim

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// recordSet collects encoded entries in any order, in chunks so that a
// large set never has to be copied to grow.
type recordSet struct {
	chunks [][]byte
	recs   [][]byte
	rec    []byte // scratch for one record
}

// chunkSize is the size of one chunk of a recordSet.
const chunkSize = 1 << 20

func (s *recordSet) add(e *Entry) {
	s.rec = appendEntry(s.rec[:0], e)
	s.addRaw(s.rec)
}

func (s *recordSet) addRaw(rec []byte) {
	n := len(s.chunks)
	if n == 0 || cap(s.chunks[n-1])-len(s.chunks[n-1]) < len(rec) {
		s.chunks = append(s.chunks, make([]byte, 0, max(chunkSize, len(rec))))
		n++
	}
	c := s.chunks[n-1]
	start := len(c)
	c = append(c, rec...)
	s.chunks[n-1] = c
	s.recs = append(s.recs, c[start:len(c):len(c)])
}

// addRef adds a record without copying it: rec must stay unchanged.
func (s *recordSet) addRef(rec []byte) { s.recs = append(s.recs, rec) }

func (s *recordSet) len() int { return len(s.recs) }

// sorted returns the records in path order; of two records with one path the
// one added last wins.
func (s *recordSet) sorted() [][]byte {
	recs := s.recs
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

// writeBaseline writes a baseline file to w and returns its checksum.
func writeBaseline(w io.Writer, meta Meta, recs [][]byte) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	mj, err := json.Marshal(meta)
	if err != nil {
		return sum, fmt.Errorf("baseline metadata: %w", err)
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 256<<10)
	var num []byte
	bw.Write(magic)
	bw.Write(binary.AppendUvarint(num[:0], uint64(len(mj))))
	bw.Write(mj)
	bw.Write(binary.AppendUvarint(num[:0], uint64(len(recs))))
	for _, r := range recs {
		num = binary.AppendUvarint(num[:0], uint64(len(r)))
		bw.Write(num)
		bw.Write(r)
	}
	if err := bw.Flush(); err != nil {
		return sum, err
	}
	h.Sum(sum[:0])
	_, err = w.Write(sum[:])
	return sum, err
}

// encode renders a baseline file in memory (for tests and fuzzing).
func encode(meta Meta, recs [][]byte) ([]byte, error) {
	var b bytes.Buffer
	_, err := writeBaseline(&b, meta, recs)
	return b.Bytes(), err
}

// save writes the baseline atomically (temporary file, fsync, rename, fsync
// of the directory), mode 0600, creating its directory 0700 when missing,
// and returns its checksum.
func save(file string, meta Meta, recs [][]byte) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return sum, fmt.Errorf("baseline: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".fim-baseline-*")
	if err != nil {
		return sum, fmt.Errorf("baseline: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return sum, fmt.Errorf("baseline: %w", err)
	}
	if sum, err = writeBaseline(tmp, meta, recs); err != nil {
		tmp.Close()
		return sum, fmt.Errorf("baseline: writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return sum, fmt.Errorf("baseline: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return sum, fmt.Errorf("baseline: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return sum, fmt.Errorf("baseline: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return sum, nil
}
