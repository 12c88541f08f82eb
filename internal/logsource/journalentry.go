package logsource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// journalEntry is what a line of `journalctl --output=json` says that the
// filters need.
type journalEntry struct {
	cursor   string
	realtime time.Time
	hostname []byte
	ident    []byte // SYSLOG_IDENTIFIER, else _COMM
	pid      []byte // SYSLOG_PID, else _PID
	message  []byte
}

// journalJSON holds the fields read from one entry, still encoded: each may
// be a string, an array of byte values (binary data), an array of either
// (a field given several times), or null (a value journalctl left out).
type journalJSON struct {
	Cursor    json.RawMessage `json:"__CURSOR"`
	Realtime  json.RawMessage `json:"__REALTIME_TIMESTAMP"`
	Hostname  json.RawMessage `json:"_HOSTNAME"`
	Ident     json.RawMessage `json:"SYSLOG_IDENTIFIER"`
	Comm      json.RawMessage `json:"_COMM"`
	SyslogPID json.RawMessage `json:"SYSLOG_PID"`
	PID       json.RawMessage `json:"_PID"`
	Message   json.RawMessage `json:"MESSAGE"`
}

// parseJournalEntry decodes one line of journalctl's JSON output. It needs
// the cursor and the time; every other field may be missing.
func parseJournalEntry(b []byte) (journalEntry, error) {
	var raw journalJSON
	if err := json.Unmarshal(b, &raw); err != nil {
		return journalEntry{}, fmt.Errorf("journal entry: %w", err)
	}
	var e journalEntry
	cursor, err := journalField(raw.Cursor)
	if err != nil || len(cursor) == 0 {
		return journalEntry{}, errors.New("journal entry: no __CURSOR")
	}
	e.cursor = string(cursor)
	rt, err := journalField(raw.Realtime)
	if err != nil {
		return journalEntry{}, fmt.Errorf("journal entry: __REALTIME_TIMESTAMP: %w", err)
	}
	us, err := strconv.ParseInt(string(rt), 10, 64)
	if err != nil || us < 0 {
		return journalEntry{}, fmt.Errorf("journal entry: __REALTIME_TIMESTAMP %q is not microseconds", rt)
	}
	e.realtime = time.UnixMicro(us)
	fields := []struct {
		dst  *[]byte
		raws []json.RawMessage
	}{
		{&e.hostname, []json.RawMessage{raw.Hostname}},
		{&e.ident, []json.RawMessage{raw.Ident, raw.Comm}},
		{&e.pid, []json.RawMessage{raw.SyslogPID, raw.PID}},
		{&e.message, []json.RawMessage{raw.Message}},
	}
	for _, f := range fields {
		for _, r := range f.raws {
			v, err := journalField(r)
			if err != nil {
				return journalEntry{}, fmt.Errorf("journal entry: %w", err)
			}
			if len(v) > 0 {
				*f.dst = v
				break
			}
		}
	}
	e.message = bytes.TrimRight(e.message, "\n")
	return e, nil
}

// journalField decodes one field's value; of a field given several times
// it returns the first value.
func journalField(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []byte(s), nil
	case '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return nil, err
		}
		if len(elems) == 0 {
			return []byte{}, nil
		}
		first := bytes.TrimSpace(elems[0])
		if len(first) > 0 && (first[0] == '"' || first[0] == '[' || first[0] == 'n') {
			return journalField(first) // several values
		}
		var nums []int
		if err := json.Unmarshal(raw, &nums); err != nil {
			return nil, err
		}
		b := make([]byte, len(nums))
		for i, n := range nums {
			if n < 0 || n > 255 {
				return nil, fmt.Errorf("byte value %d out of range", n)
			}
			b[i] = byte(n)
		}
		return b, nil
	}
	return nil, fmt.Errorf("unexpected field value %.20q", raw)
}

// stampLen is the length of the date and space appendLine starts a line
// with (time.Stamp is fixed width: "Jan _2 15:04:05").
const stampLen = len(time.Stamp) + 1

// appendLine appends the entry formatted as rsyslog's traditional file
// format writes it, "Nov 24 15:00:30 host sshd[123]: message", so that
// filters written for log files match journal entries too. The date takes
// the first stampLen bytes; filters are given the rest (Line.Body), the way
// Fail2ban's systemd backend hands over "host sshd[123]: message" with the
// entry's time beside it.
func (e *journalEntry) appendLine(dst []byte, loc *time.Location) []byte {
	dst = e.realtime.In(loc).AppendFormat(dst, time.Stamp)
	dst = append(dst, ' ')
	if len(e.hostname) > 0 {
		dst = append(dst, e.hostname...)
	} else {
		dst = append(dst, "localhost"...)
	}
	dst = append(dst, ' ')
	if len(e.ident) > 0 {
		dst = append(dst, e.ident...)
	} else {
		dst = append(dst, "unknown"...)
	}
	if len(e.pid) > 0 {
		dst = append(dst, '[')
		dst = append(dst, e.pid...)
		dst = append(dst, ']')
	}
	dst = append(dst, ": "...)
	return append(dst, e.message...)
}
