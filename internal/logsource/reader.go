package logsource

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"time"
)

// readChunk is how much a reader asks the kernel for at once, beyond room
// for one maximum-length line.
const readChunk = 32 << 10

// fileID identifies a file independently of its name.
type fileID struct{ dev, ino uint64 }

// idOf returns the identity of the file fi describes.
func idOf(fi os.FileInfo) fileID {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino}
}

// pathStats counts what happened under one path, across the files that
// followed each other there.
type pathStats struct {
	lines, truncated, rotations uint64
}

// sink is where a reader hands its lines.
type sink struct {
	name string
	emit func(Line)
}

// fileReader splits one open file into lines. It reads with ReadAt at its
// own offsets, so the same buffer can go on with another file that holds the
// same bytes (the copy left by copytruncate).
//
// The buffer is allocated when bytes first arrive and kept while they keep
// coming (an idle file gives it back, see release); lines are handed on as
// slices of it. A line longer than maxLine keeps only its first maxLine
// bytes: the rest is read and dropped, so memory stays bounded whatever the
// file holds.
type fileReader struct {
	f    *os.File
	id   fileID
	path string // the name followed: Line.Path and the position key
	// target is where path leads when it is a symbolic link.
	target string
	// active is false once the file was renamed away or deleted: it is then
	// read until it stays quiet for FileConfig.RotateWait, and closed.
	active     bool
	lastGrowth time.Time // when bytes last arrived (or the file was retired)
	since      time.Time // when it was opened
	resumed    bool      // a saved position was found for it at start
	evented    bool      // an inotify event named it since the last rescan
	missed     int       // rescans in a row that found it grown without an event
	stats      *pathStats

	buf        []byte // maxLine + readChunk bytes, or nil while idle
	start, end int    // buf[start:end] holds the bytes of an unfinished line
	readOff    int64  // file offset of the next byte to read
	commitOff  int64  // file offset just after the last line handed on
	truncating bool   // dropping the tail of a long line whose head is buf[:maxLine]
	maxLine    int
	backlogEnd int64 // lines ending at or before this offset are backlog
	size       int64 // size at the last look

	fp    fingerprint
	fpBuf [fingerprintSize]byte
}

func newFileReader(f *os.File, id fileID, path string, maxLine int, stats *pathStats) *fileReader {
	return &fileReader{
		f:       f,
		id:      id,
		path:    path,
		active:  true,
		stats:   stats,
		maxLine: maxLine,
	}
}

// setOffset makes the reader go on at off, dropping any unfinished line.
func (r *fileReader) setOffset(off int64) {
	r.start, r.end = 0, 0
	r.truncating = false
	r.readOff, r.commitOff = off, off
}

// hasPartial reports whether an unfinished line is held.
func (r *fileReader) hasPartial() bool { return r.truncating || r.end > r.start }

// release gives the buffer back unless it holds an unfinished line: an
// idle source keeps no buffer (maxLine + readChunk bytes each, 48 KiB with
// the daemon's default max_line_bytes), and the next read allocates it again.
func (r *fileReader) release() {
	if !r.hasPartial() {
		r.buf = nil
		r.start, r.end = 0, 0
	}
}

// read hands on every complete line from r.readOff to the end of src. It
// returns early, without losing anything, when ctx is done.
func (r *fileReader) read(ctx context.Context, src io.ReaderAt, s *sink) (int64, error) {
	if r.buf == nil {
		r.buf = make([]byte, r.maxLine+readChunk)
	}
	var total int64
	for i := 0; ; i++ {
		if i&15 == 15 && ctx.Err() != nil {
			return total, nil
		}
		var (
			n   int
			err error
			p   []byte
		)
		if r.truncating {
			p = r.buf[r.maxLine:]
			n, err = src.ReadAt(p, r.readOff)
			r.readOff += int64(n)
			if j := bytes.IndexByte(p[:n], '\n'); j >= 0 {
				end := r.readOff - int64(n) + int64(j) + 1
				r.emit(s, r.buf[:r.maxLine], r.commitOff, end, true)
				r.commitOff = end
				rest := copy(r.buf, p[j+1:n])
				r.start, r.end = 0, rest
				r.truncating = false
				r.split(s)
			}
		} else {
			if r.start > 0 && len(r.buf)-r.end < readChunk/4 {
				r.end = copy(r.buf, r.buf[r.start:r.end])
				r.start = 0
			}
			p = r.buf[r.end:]
			n, err = src.ReadAt(p, r.readOff)
			r.end += n
			r.readOff += int64(n)
			r.split(s)
		}
		if !r.truncating && r.end-r.start > r.maxLine {
			// An unfinished line already too long: keep its head only.
			copy(r.buf, r.buf[r.start:r.start+r.maxLine])
			r.start, r.end = 0, r.maxLine
			r.truncating = true
		}
		total += int64(n)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return total, nil
			}
			return total, err
		}
		if n < len(p) {
			return total, nil
		}
	}
}

// split hands on the complete lines held in the buffer.
func (r *fileReader) split(s *sink) {
	for r.start < r.end {
		i := bytes.IndexByte(r.buf[r.start:r.end], '\n')
		if i < 0 {
			break
		}
		line := r.buf[r.start : r.start+i]
		off := r.commitOff
		r.commitOff += int64(i + 1)
		r.start += i + 1
		if len(line) > r.maxLine {
			r.emit(s, line[:r.maxLine], off, r.commitOff, true)
			continue
		}
		r.emit(s, line, off, r.commitOff, false)
	}
	if r.start == r.end {
		r.start, r.end = 0, 0
	}
}

// flushPartial hands on the unfinished line held, as if it had ended.
func (r *fileReader) flushPartial(s *sink) {
	switch {
	case r.truncating:
		r.emit(s, r.buf[:r.maxLine], r.commitOff, r.readOff, true)
	case r.end > r.start:
		r.emit(s, r.buf[r.start:r.end], r.commitOff, r.readOff, false)
	default:
		return
	}
	r.setOffset(r.readOff)
}

// emit hands on one line. A line's length is counted before its carriage
// return is dropped; a cut line keeps its bytes as they are.
func (r *fileReader) emit(s *sink, b []byte, off, end int64, truncated bool) {
	if n := len(b); n > 0 && b[n-1] == '\r' && !truncated {
		b = b[:n-1]
	}
	r.stats.lines++
	if truncated {
		r.stats.truncated++
	}
	s.emit(Line{
		Source:    s.name,
		Path:      r.path,
		Bytes:     b,
		Offset:    off,
		Backlog:   end <= r.backlogEnd,
		Truncated: truncated,
	})
}

// takeFingerprint fingerprints the file's first bytes, up to size.
func (r *fileReader) takeFingerprint(size int64) {
	n := int(min(size, fingerprintSize))
	if sum, ok := readFingerprint(r.f, n, &r.fpBuf); ok {
		r.fp = fingerprint{sum: sum, n: n}
	}
}

// refreshFingerprint checks that the file still starts with the bytes
// fingerprinted so far, and extends the fingerprint as the file grows to
// fingerprintSize bytes. Callers call it when the size changed, as it
// costs a read. It reports false when the file's start changed: it
// was truncated and written again.
func (r *fileReader) refreshFingerprint(size int64) bool {
	want := int(min(size, fingerprintSize))
	if want < r.fp.n {
		return false
	}
	n, _ := r.f.ReadAt(r.fpBuf[:want], 0)
	if n < r.fp.n || fnv1a(r.fpBuf[:r.fp.n]) != r.fp.sum {
		return false
	}
	if n > r.fp.n {
		r.fp = fingerprint{sum: fnv1a(r.fpBuf[:n]), n: n}
	}
	return true
}

// position is what to save for the reader.
func (r *fileReader) position(key string) Position {
	return Position{
		Key:            key,
		Dev:            r.id.dev,
		Inode:          r.id.ino,
		Offset:         r.commitOff,
		Fingerprint:    r.fp.String(),
		FingerprintLen: r.fp.n,
	}
}
