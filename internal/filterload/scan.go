package filterload

import (
	"bufio"
	"bytes"
	"io"
	"time"

	"github.com/rampart-ids/rampart/internal/filter"
)

// MaxLine is the longest line matched whole; longer lines are cut there
// (and counted) so a hostile log cannot make matching slow or memory grow.
const MaxLine = 64 << 10

// ScanStats counts what Scan saw.
type ScanStats struct {
	Lines     int
	Truncated int
}

// Scan reads lines from r and matches each with m, calling fn with the
// 1-based line number, the line (valid only during the call) and the result.
// now gives the wall time used for lines without a year or date.
func Scan(r io.Reader, m *filter.Matcher, now func() time.Time, fn func(n int, line []byte, res *filter.Result)) (ScanStats, error) {
	var st ScanStats
	br := bufio.NewReaderSize(r, 256<<10)
	var long []byte
	// The wall clock only decides the year of dates without one and the
	// time of undated lines: reading it every 1024 lines is plenty.
	var t time.Time
	var res filter.Result // one variable: its address goes to fn every line
	for {
		chunk, err := br.ReadSlice('\n')
		line := chunk
		if err == bufio.ErrBufferFull {
			// Keep the first MaxLine bytes, drop the rest of the line.
			long = append(long[:0], chunk[:min(len(chunk), MaxLine)]...)
			for err == bufio.ErrBufferFull {
				chunk, err = br.ReadSlice('\n')
			}
			line = long
			st.Truncated++
		} else if len(line) > MaxLine {
			line = line[:MaxLine]
			st.Truncated++
		}
		if len(line) > 0 {
			st.Lines++
			line = bytes.TrimRight(line, "\r\n")
			if st.Lines&1023 == 1 {
				t = now()
			}
			m.MatchInto(line, t, &res)
			fn(st.Lines, line, &res)
		}
		if err != nil {
			if err == io.EOF {
				return st, nil
			}
			return st, err
		}
	}
}
