// Package auditlog reads the Linux audit log that auditd writes
// (/var/log/audit/audit.log): it parses each record line, joins the records
// of one event (SYSCALL, PATH, CWD, PROCTITLE…) by their serial, decodes
// the hex-encoded fields, and describes events whose key is one of the
// watched keys — which file, which syscall, which executable, auid and uid.
//
// The format (auditd's "RAW" and "ENRICHED" log formats):
//
//	type=SYSCALL msg=audit(1700000000.123:456): arch=c000003e syscall=257 … comm="vi" exe="/usr/bin/vi" key="identity"\x1dARCH=x86_64 SYSCALL=openat AUID="alice" …
//
// A value is either quoted (a literal without quotes or spaces), or, for
// fields that may carry untrusted text (names, commands, keys…), hex of
// the bytes when they hold a space, quote, control or non-ASCII byte, or
// "(null)". ENRICHED appends, after a 0x1d byte, the same fields
// interpreted (numbers turned into names), in upper case.
package auditlog

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Record is one line of the audit log.
type Record struct {
	// Type is the record type ("SYSCALL", "PATH", …).
	Type string
	// Time and Serial identify the event the record belongs to.
	Time   time.Time
	Serial uint64
	// Fields are the raw fields in order, values decoded (unquoted, hex
	// decoded where the field is an encoded one).
	Fields []Field
	// Enriched are the interpreted fields ENRICHED appends (AUID="alice").
	Enriched []Field
}

// Field is one key=value.
type Field struct {
	Key, Value string
	// Encoded is true when the value was hex in the log.
	Encoded bool
}

// Get returns the value of the first field named key.
func (r *Record) Get(key string) (string, bool) {
	for _, f := range r.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// GetEnriched returns an interpreted field (ENRICHED format) by its
// upper-case name.
func (r *Record) GetEnriched(key string) (string, bool) {
	for _, f := range r.Enriched {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// encodedFields are the fields auditd hex-encodes when their value is not
// safe to print (audit_log_untrustedstring and friends).
var encodedFields = map[string]bool{
	"name": true, "comm": true, "exe": true, "cwd": true, "proctitle": true, "key": true, "path": true,
	"cmd": true, "data": true, "acct": true, "old-chardev": true, "new-chardev": true, "dir": true,
	"file": true, "ocomm": true, "watch": true, "new": true, "old": true, "root_dir": true, "device": true,
}

// ErrNotAudit is returned for a line that is not an audit record.
var ErrNotAudit = errors.New("not an audit record")

// maxFields bounds the fields of one record: a hostile line cannot make
// the parser hold an unbounded list.
const maxFields = 512

// Parse reads one log line. A line written by audispd/syslog with a prefix
// before "type=" is accepted (the prefix is skipped).
func Parse(line []byte) (Record, error) {
	var r Record
	i := bytes.Index(line, []byte("type="))
	if i < 0 {
		return r, ErrNotAudit
	}
	line = line[i:]
	raw, enriched, _ := bytes.Cut(line, []byte{0x1d})
	fields, err := splitFields(raw)
	if err != nil {
		return r, err
	}
	if len(fields) < 2 || fields[0].Key != "type" || fields[1].Key != "msg" {
		return r, fmt.Errorf("%w: want type=… msg=audit(…):", ErrNotAudit)
	}
	r.Type = fields[0].Value
	if r.Type == "" {
		return r, fmt.Errorf("%w: empty type", ErrNotAudit)
	}
	if r.Time, r.Serial, err = parseStamp(fields[1].Value); err != nil {
		return r, err
	}
	r.Fields = fields[2:]
	for j := range r.Fields {
		f := &r.Fields[j]
		if encodedFields[f.Key] && !f.Encoded {
			if v, ok := decodeHex(f.Value); ok {
				f.Value, f.Encoded = v, true
			}
		}
		if f.Key == "proctitle" && f.Encoded {
			f.Value = string(bytes.ReplaceAll(bytes.TrimRight([]byte(f.Value), "\x00"), []byte{0}, []byte{' '}))
		}
	}
	if len(enriched) > 0 {
		r.Enriched, _ = splitFields(enriched) // best effort: the raw fields are what counts
	}
	return r, nil
}

// parseStamp reads "audit(1700000000.123:456):" (the trailing colon is
// part of the msg value as split).
func parseStamp(v string) (time.Time, uint64, error) {
	bad := fmt.Errorf("%w: bad msg=%q (want audit(SECONDS.MILLIS:SERIAL):)", ErrNotAudit, v)
	if len(v) < len("audit(0:0)") || v[:6] != "audit(" {
		return time.Time{}, 0, bad
	}
	v = v[6:]
	end := len(v)
	for end > 0 && (v[end-1] == ':' || v[end-1] == ')') {
		end--
	}
	if end == len(v) || v[end] != ')' {
		return time.Time{}, 0, bad
	}
	v = v[:end]
	stamp, serial, ok := cut(v, ':')
	if !ok {
		return time.Time{}, 0, bad
	}
	secs, frac, _ := cut(stamp, '.')
	s, err1 := strconv.ParseInt(secs, 10, 64)
	n, err2 := strconv.ParseUint(serial, 10, 64)
	if err1 != nil || err2 != nil || s < 0 || s > 1<<40 {
		return time.Time{}, 0, bad
	}
	var ms int64
	if frac != "" {
		m, err := strconv.ParseUint(frac, 10, 32)
		if err != nil || len(frac) > 9 {
			return time.Time{}, 0, bad
		}
		ms = int64(m)
		for k := len(frac); k < 3; k++ {
			ms *= 10
		}
		for k := len(frac); k > 3; k-- {
			ms /= 10
		}
	}
	return time.Unix(s, ms*int64(time.Millisecond)), n, nil
}

func cut(s string, sep byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// splitFields splits "k=v k2="quoted v" k3='x'" into fields. A quoted value
// runs to its closing quote; an unquoted one to the next space.
func splitFields(b []byte) ([]Field, error) {
	var out []Field
	for {
		for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
			b = b[1:]
		}
		if len(b) == 0 {
			return out, nil
		}
		if len(out) >= maxFields {
			return nil, fmt.Errorf("%w: more than %d fields", ErrNotAudit, maxFields)
		}
		eq := bytes.IndexByte(b, '=')
		sp := bytes.IndexAny(b, " \t")
		if eq < 0 || (sp >= 0 && sp < eq) {
			// A word without a value ("res=success" is normal; a bare word
			// is not): skip it.
			if sp < 0 {
				return out, nil
			}
			b = b[sp:]
			continue
		}
		f := Field{Key: string(b[:eq])}
		b = b[eq+1:]
		if len(b) > 0 && (b[0] == '"' || b[0] == '\'') {
			q := b[0]
			end := bytes.IndexByte(b[1:], q)
			if end < 0 {
				return nil, fmt.Errorf("%w: field %q: unterminated quote", ErrNotAudit, f.Key)
			}
			f.Value = string(b[1 : 1+end])
			b = b[2+end:]
		} else {
			end := bytes.IndexAny(b, " \t")
			if end < 0 {
				end = len(b)
			}
			f.Value = string(b[:end])
			b = b[end:]
		}
		out = append(out, f)
	}
}

// decodeHex decodes an even-length upper- or lower-case hex string; "" and
// "(null)" are not hex.
func decodeHex(s string) (string, bool) {
	if len(s) == 0 || len(s)%2 != 0 {
		return "", false
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", false
	}
	return string(b), true
}
