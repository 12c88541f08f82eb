package logsource

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
)

// fingerprintSize is how many leading bytes of a file its fingerprint covers.
// 256 bytes hold a few log lines with their timestamps: two different files,
// or a file truncated and written again, practically never share them.
const fingerprintSize = 256

// Position is the saved read position of one followed file or journal.
type Position struct {
	// Key names what the position belongs to: "<source name>:<path>" for a
	// file, "<source name>:journald" for the journal.
	Key string
	// Dev and Inode identify the file the offset belongs to (files only).
	// A store that keeps them as signed 64-bit integers may convert them
	// bit for bit.
	Dev, Inode uint64
	// Offset is the byte offset just after the last line whose emit call had
	// returned (files only).
	Offset int64
	// Fingerprint is the FNV-1a 64-bit hash, as 16 hex digits, of the file's
	// first FingerprintLen bytes (at most 256). It tells a file from another
	// that reuses the same inode, and a file truncated and rewritten.
	Fingerprint string
	// FingerprintLen is how many leading bytes Fingerprint covers (0 for an
	// empty file).
	FingerprintLen int
	// Cursor is the journald cursor of the last entry handed on (journal
	// only).
	Cursor string
}

// PositionStore keeps read positions across restarts. The SQLite store
// implements it; MemoryPositions is an in-memory one.
type PositionStore interface {
	// Position returns the position saved under key, and false if none is.
	Position(ctx context.Context, key string) (Position, bool, error)
	// SavePositions saves the positions, replacing those with the same keys,
	// atomically.
	SavePositions(ctx context.Context, positions []Position) error
}

// MemoryPositions is a PositionStore that keeps positions in memory: for
// tests, and for running without a state directory. Its zero value is ready.
type MemoryPositions struct {
	mu    sync.Mutex
	m     map[string]Position
	saves int
}

var _ PositionStore = (*MemoryPositions)(nil)

// Position returns the position saved under key.
func (m *MemoryPositions) Position(_ context.Context, key string) (Position, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.m[key]
	return p, ok, nil
}

// SavePositions saves the positions.
func (m *MemoryPositions) SavePositions(_ context.Context, positions []Position) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = make(map[string]Position)
	}
	for _, p := range positions {
		m.m[p.Key] = p
	}
	m.saves++
	return nil
}

// All returns every saved position, sorted by key.
func (m *MemoryPositions) All() []Position {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Position
	for _, k := range slices.Sorted(maps.Keys(m.m)) {
		out = append(out, m.m[k])
	}
	return out
}

// Saves returns how many times SavePositions was called.
func (m *MemoryPositions) Saves() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saves
}

// fingerprint is a hash of a file's first bytes.
type fingerprint struct {
	sum uint64
	n   int
}

// String formats the hash as saved in a Position.
func (f fingerprint) String() string { return fmt.Sprintf("%016x", f.sum) }

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// fnv1a hashes b with FNV-1a 64; written out so it does not allocate.
func fnv1a(b []byte) uint64 {
	h := uint64(fnvOffset64)
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return h
}

// readFingerprint hashes the first n bytes of r (n at most fingerprintSize)
// into buf's storage. It reports false when r holds fewer than n bytes.
func readFingerprint(r io.ReaderAt, n int, buf *[fingerprintSize]byte) (uint64, bool) {
	if n > fingerprintSize {
		n = fingerprintSize
	}
	got, _ := r.ReadAt(buf[:n], 0)
	if got < n {
		return 0, false
	}
	return fnv1a(buf[:n]), true
}

// matchesFingerprint reports whether r starts with the bytes fp was taken of.
func matchesFingerprint(r io.ReaderAt, fp fingerprint, buf *[fingerprintSize]byte) bool {
	if fp.n == 0 {
		return true
	}
	sum, ok := readFingerprint(r, fp.n, buf)
	return ok && sum == fp.sum
}

// parseFingerprint reads a Position's fingerprint back.
func parseFingerprint(p Position) (fingerprint, bool) {
	if p.FingerprintLen == 0 {
		return fingerprint{}, true
	}
	var sum uint64
	if _, err := fmt.Sscanf(p.Fingerprint, "%016x", &sum); err != nil || p.FingerprintLen < 0 || p.FingerprintLen > fingerprintSize {
		return fingerprint{}, false
	}
	return fingerprint{sum: sum, n: p.FingerprintLen}, true
}
