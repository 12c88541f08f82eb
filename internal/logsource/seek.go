package logsource

import (
	"bytes"
	"io"
	"time"
)

// seekWindow is the span the binary search narrows down to before a
// linear scan finds the exact line, and the most a probe reads to find a
// line with a time.
const seekWindow = 64 << 10

// seekTime returns the offset of the first line of r (size bytes) whose
// time, as timeOf reads it, is not before target. It returns the offset
// after the last complete line when every line is older, and 0 when the
// first is already recent. Lines without a time (continuations, garbage)
// are skipped over.
//
// It bisects by byte offset, as Fail2ban does on first start, then scans
// the last window linearly. Logs are only roughly in time order (several
// writers, clock steps): the answer is then the start of a line near the
// change, never further than one window off.
func seekTime(r io.ReaderAt, size int64, target time.Time, timeOf func([]byte) (time.Time, bool)) (int64, error) {
	buf := make([]byte, seekWindow)
	lo, hi := int64(0), size
	best := int64(-1) // the start of a line known to be recent enough
	for hi-lo > seekWindow {
		mid := lo + (hi-lo)/2
		start, end, t, ok, err := probeTime(r, mid, hi, buf, timeOf)
		if err != nil {
			return 0, err
		}
		switch {
		case !ok:
			hi = mid
		case t.Before(target):
			lo = end
		default:
			if best < 0 || start < best {
				best = start
			}
			hi = mid
		}
	}
	return scanTime(r, lo, size, best, buf, target, timeOf)
}

// probeTime finds the first line starting after off (and before limit)
// that has a time, looking through at most one buffer of lines.
func probeTime(r io.ReaderAt, off, limit int64, buf []byte, timeOf func([]byte) (time.Time, bool)) (start, end int64, t time.Time, ok bool, err error) {
	// The line holding byte off-1 ends at the first newline from there.
	n, err := r.ReadAt(buf, off-1)
	if err != nil && err != io.EOF {
		return 0, 0, time.Time{}, false, err
	}
	b := buf[:n]
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return 0, 0, time.Time{}, false, nil
	}
	pos := i + 1
	for pos < len(b) && off-1+int64(pos) < limit {
		j := bytes.IndexByte(b[pos:], '\n')
		if j < 0 {
			break
		}
		if lt, found := timeOf(b[pos : pos+j]); found {
			return off - 1 + int64(pos), off - 1 + int64(pos+j+1), lt, true, nil
		}
		pos += j + 1
	}
	return 0, 0, time.Time{}, false, nil
}

// scanTime reads lines forward from lo (a line start) and returns the start
// of the first one with a time not before target; it stops at best when
// that is set, or at the last complete line.
func scanTime(r io.ReaderAt, lo, size, best int64, buf []byte, target time.Time, timeOf func([]byte) (time.Time, bool)) (int64, error) {
	off := lo
	for off < size && (best < 0 || off < best) {
		n, err := r.ReadAt(buf, off)
		if err != nil && err != io.EOF {
			return 0, err
		}
		b := buf[:n]
		pos := 0
		for {
			j := bytes.IndexByte(b[pos:], '\n')
			if j < 0 {
				break
			}
			if t, ok := timeOf(b[pos : pos+j]); ok && !t.Before(target) {
				return off + int64(pos), nil
			}
			pos += j + 1
		}
		if pos == 0 {
			if n < len(buf) {
				break // an unfinished last line
			}
			// A line longer than the buffer: skip to its end.
			pos = n
		}
		off += int64(pos)
	}
	if best >= 0 && off >= best {
		return best, nil
	}
	return off, nil
}
