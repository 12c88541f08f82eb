package filter

import (
	"fmt"
	"regexp"
)

// syslogPrefixRE is what <PREFIX> expands to: the part of a syslog line
// between the (already removed) date and the message: an optional host
// name, then the program name with an optional [pid] and a colon. It works
// for BSD syslog, rsyslog's RFC 3339 format and journalctl's short output.
func syslogPrefixRE(daemon string) string {
	return `\s*(?:<\d+>\d+\s+)?(?:\S+\s+)??[\[(]?(?:` + daemon + `)(?:\(\S+\))?[\])]?(?:\[\d+\])?:?(?:\s+\S+\s+\S+\s+(?:-|(?:\[(?:[^\]"]|"[^"]*")*\])+))?\s+`
}

// prefixSpec checks program names against the filter's daemon regex.
type prefixSpec struct {
	daemon *regexp.Regexp
}

func (p *prefixSpec) compile(daemon string) error {
	re, err := regexp.Compile(`^(?:` + daemon + `)$`)
	if err != nil {
		return fmt.Errorf("not a valid regex: %v", err)
	}
	p.daemon = re
	return nil
}

// prefixMode says how a pattern begins.
type prefixMode uint8

const (
	prefixNone  prefixMode = iota
	prefixPlain            // ^<PREFIX>…
	prefixMLFID            // ^<F-MLFID><PREFIX></F-MLFID>…: the prefix is the session id
)

// daemonCacheMax bounds the per-matcher cache of program-name checks.
const daemonCacheMax = 256

// prefixEnd parses the syslog prefix at the start of b by hand: optional
// spaces, an optional host name, then the program: "program[pid]:", with
// the pid, the colon and [] or () around the name optional (the forms
// Fail2ban's common.conf accepts), followed by at least one space; program
// must match the filter's daemon regex. RFC 5424 lines ("<PRI>1 HOST APP
// PROCID MSGID SD MSG", the date already cut out) are read too. It returns
// the offset of the message, or -1.
func (m *Matcher) prefixEnd(b []byte) int {
	i := skipSpace(b, 0)
	if i < len(b) && b[i] == '<' {
		return m.prefix5424(b, i)
	}
	// Up to two tokens: [host] program. A program token with its colon
	// wins; then host + program; then a program without a colon.
	t1s, t1e := i, i
	for t1e < len(b) && !isSpace(b[t1e]) {
		t1e++
	}
	if t1e == t1s || t1e >= len(b) {
		return -1
	}
	if b[t1e-1] == ':' && m.daemonOK(b[t1s:t1e]) {
		return skipSpace(b, t1e)
	}
	t2s := skipSpace(b, t1e)
	t2e := t2s
	for t2e < len(b) && !isSpace(b[t2e]) {
		t2e++
	}
	if t2e > t2s && t2e < len(b) && m.daemonOK(b[t2s:t2e]) {
		if c := b[t2e-1]; c != ':' && c != ']' {
			// "HOST APP PROCID MSGID SD MSG": an RFC 5424 line whose
			// "<PRI>VERSION TIMESTAMP" went with the date.
			if k := rfc5424Tail(b, t2e); k > 0 {
				return k
			}
		}
		return skipSpace(b, t2e)
	}
	if m.daemonOK(b[t1s:t1e]) {
		return skipSpace(b, t1e)
	}
	return -1
}

// prefix5424 reads "<PRI>VERSION HOST APP PROCID MSGID SD " at b[i:].
func (m *Matcher) prefix5424(b []byte, i int) int {
	var tok [5][2]int
	for k := 0; k < 5; k++ {
		i = skipSpace(b, i)
		j := i
		for j < len(b) && !isSpace(b[j]) {
			j++
		}
		if j == i {
			return -1
		}
		tok[k] = [2]int{i, j}
		i = j
	}
	pri := b[tok[0][0]:tok[0][1]]
	if len(pri) < 4 || pri[0] != '<' || !isDigitsB(pri[len(pri)-1:]) {
		return -1
	}
	if !m.daemonOK(b[tok[2][0]:tok[2][1]]) {
		return -1
	}
	return sdEnd(b, i)
}

// rfc5424Tail reads " PROCID MSGID SD " after the APP-NAME at b[i:]
// (PROCID digits or "-") and returns the message offset, or -1.
func rfc5424Tail(b []byte, i int) int {
	i = skipSpace(b, i)
	j := i
	for j < len(b) && !isSpace(b[j]) {
		j++
	}
	if j == i || !(isDigitsB(b[i:j]) || j-i == 1 && b[i] == '-') {
		return -1
	}
	i = skipSpace(b, j)
	j = i
	for j < len(b) && !isSpace(b[j]) {
		j++
	}
	if j == i {
		return -1
	}
	return sdEnd(b, j)
}

// sdEnd reads RFC 5424 structured data — "-" or [id k="v"...] elements —
// at b[i:] (after spaces) and returns the message offset, or -1.
func sdEnd(b []byte, i int) int {
	i = skipSpace(b, i)
	if i < len(b) && b[i] == '-' {
		i++
	} else if i < len(b) && b[i] == '[' {
		for i < len(b) && b[i] == '[' {
			i++
			for i < len(b) && b[i] != ']' {
				if b[i] == '"' {
					i++
					for i < len(b) && b[i] != '"' {
						if b[i] == '\\' {
							i++
						}
						i++
					}
				}
				i++
			}
			if i >= len(b) {
				return -1
			}
			i++
		}
	} else {
		return -1
	}
	if i >= len(b) || !isSpace(b[i]) {
		return -1
	}
	return skipSpace(b, i)
}

// daemonOK checks a program token against the daemon regex, caching the
// answer per program name. Accepted: "name", "name:", "name[pid]", "name[pid]:",
// "[name]:", "(name):", "name(x)[pid]:".
func (m *Matcher) daemonOK(tok []byte) bool {
	name := programName(tok) // the cache key leaves out the pid
	// A few programs write most lines: a small array beats hashing.
	for i := range m.recent {
		if e := &m.recent[i]; len(e.name) == len(name) && e.name == string(name) {
			return e.ok
		}
	}
	ok, hit := m.daemons[string(name)]
	if !hit {
		ok = m.f.prefix.daemon.Match(name)
		if m.daemons == nil || len(m.daemons) >= daemonCacheMax {
			m.daemons = map[string]bool{}
		}
		m.daemons[string(name)] = ok
	}
	m.recent[m.recentNext] = recentProgram{name: string(name), ok: ok}
	m.recentNext = (m.recentNext + 1) % len(m.recent)
	return ok
}

// recentProgram is one entry of the matcher's small program-name cache.
type recentProgram struct {
	name string
	ok   bool
}

// programName strips a program token down to the name.
func programName(tok []byte) []byte {
	name := tok
	if n := len(name); n > 0 && name[n-1] == ':' {
		name = name[:n-1]
	}
	if n := len(name); n > 2 && name[n-1] == ']' {
		if lb := lastByte(name, '['); lb > 0 && isDigitsB(name[lb+1:n-1]) {
			name = name[:lb]
		}
	}
	if n := len(name); n > 0 && (name[0] == '[' || name[0] == '(') {
		name = name[1:]
		if n := len(name); n > 0 && (name[n-1] == ']' || name[n-1] == ')') {
			name = name[:n-1]
		}
	}
	if n := len(name); n > 2 && name[n-1] == ')' {
		if lp := lastByte(name, '('); lp > 0 {
			name = name[:lp]
		}
	}
	return name
}

func lastByte(b []byte, c byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c {
			return i
		}
	}
	return -1
}

func isDigitsB(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}
