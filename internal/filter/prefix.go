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
	return `\s*(?:\S+\s+)??(?:` + daemon + `)(?:\[\d+\])?:\s+`
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
// spaces, an optional host name, then "program[pid]:" (pid optional) and at
// least one space, where program must match the filter's daemon regex. It
// returns the offset of the message, or -1. It accepts what syslogPrefixRE
// accepts for daemon regexes without spaces, far faster.
func (m *Matcher) prefixEnd(b []byte) int {
	i := skipSpace(b, 0)
	for tok := 0; tok < 2; tok++ {
		j := i
		for j < len(b) && !isSpace(b[j]) {
			j++
		}
		if j > i && j < len(b) && b[j-1] == ':' && m.daemonOK(b[i:j-1]) {
			if k := skipSpace(b, j); k > j {
				return k
			}
			return -1
		}
		if tok == 1 || j == i || j >= len(b) {
			return -1
		}
		i = skipSpace(b, j) // that token was the host name
	}
	return -1
}

// daemonOK checks "name" or "name[pid]" against the daemon regex, caching
// the answer per name.
func (m *Matcher) daemonOK(tok []byte) bool {
	name := tok
	if n := len(tok); n > 2 && tok[n-1] == ']' {
		if lb := lastByte(tok, '['); lb > 0 && isDigitsB(tok[lb+1:n-1]) {
			name = tok[:lb]
		}
	}
	if ok, hit := m.daemons[string(name)]; hit {
		return ok
	}
	ok := m.f.prefix.daemon.Match(name)
	if m.daemons == nil || len(m.daemons) >= daemonCacheMax {
		m.daemons = map[string]bool{}
	}
	m.daemons[string(name)] = ok
	return ok
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
