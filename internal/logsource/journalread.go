package logsource

import (
	"bufio"
	"fmt"
	"io"
	"time"
)

// ReadJournalJSON reads `journalctl --output=json` output from r (one entry
// per line) and emits each entry as a Line formatted like a syslog file
// line, with Time set to the entry's own timestamp. Entries that do not
// parse are counted and skipped. It is the one-shot reader behind
// `rampart filter test --journal`; the daemon follows the journal with
// Journal.
func ReadJournalJSON(r io.Reader, loc *time.Location, emit func(Line)) (bad int, err error) {
	if loc == nil {
		loc = time.Local
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for {
		raw, rerr := br.ReadSlice('\n')
		if rerr == bufio.ErrBufferFull {
			// An entry larger than the buffer: gather it, up to the cap.
			big := append([]byte(nil), raw...)
			for rerr == bufio.ErrBufferFull {
				raw, rerr = br.ReadSlice('\n')
				if len(big) < DefaultMaxEntryBytes {
					big = append(big, raw...)
				}
			}
			raw = big
		}
		if len(raw) > 0 && len(raw) <= DefaultMaxEntryBytes {
			e, perr := parseJournalEntry(raw)
			if perr != nil {
				bad++
			} else {
				buf = e.appendLine(buf[:0], loc)
				emit(Line{Source: "journald", Path: "journald", Bytes: buf, DateLen: stampLen, Time: e.realtime})
			}
		} else if len(raw) > DefaultMaxEntryBytes {
			bad++
		}
		if rerr == io.EOF {
			return bad, nil
		}
		if rerr != nil {
			return bad, fmt.Errorf("reading journal entries: %w", rerr)
		}
	}
}
