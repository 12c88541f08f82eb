package filter

import (
	"bytes"
	"net/netip"
	"strconv"
	"time"
	"unsafe"

	"github.com/rampart-ids/rampart/internal/filter/date"
)

// Kind is what a line turned out to be.
type Kind uint8

// Kinds of results.
const (
	None   Kind = iota // no failregex matched
	Ignore             // matched but not a failure: an ignoreregex excused it, or a helper line (Result.NoFail)
	Hit                // a failure from Result.Addr / Result.Host / Result.ID
)

func (k Kind) String() string {
	switch k {
	case Ignore:
		return "ignore"
	case Hit:
		return "hit"
	}
	return "none"
}

// Result is the outcome of one line. Strings are copies: they stay valid
// after the line's buffer is reused.
type Result struct {
	Kind Kind
	// Addr is the source address when the failure names one (IPv4-mapped
	// IPv6 is unmapped); Bits is its prefix length when the line gave a CIDR.
	Addr netip.Addr
	Bits int
	// Host is the failure id as matched: the address text, a DNS name
	// (never resolved here), or the <F-ID> value.
	Host string
	// ID is the <F-ID> value when the failure is identified by something
	// other than its address.
	ID      string
	User    string
	Time    time.Time
	HasTime bool
	// Regex is the index of the failregex that matched (-1 if none).
	Regex int
	// Fields holds other <F-NAME> groups, when the regex has any.
	Fields map[string]string
	// DateTemplate is the index of the date template that found the time
	// (Filter.DateTemplateName), -1 when none did.
	DateTemplate int
	// NoFail marks helper lines (<F-NOFAIL>) and sessions still waiting for
	// their address: matched, but not failures.
	NoFail bool
}

// mlfCache bounds the multi-line sessions a matcher remembers (Fail2ban
// keeps 100 for 5 minutes).
const (
	mlfMax = 100
	mlfTTL = 5 * time.Minute
)

type session struct {
	id         string
	prev, next *session // age list, oldest first
	fields     [numKnown]string
	has        [numKnown]bool
	user       [2]string // distinct user names tried in the session (first two)
	more       []string  // the rest, rarely any
	nusers     int
	nofail     bool
	gained     bool
	pending    bool
	seen       time.Time
}

func (s *session) addUser(u string) {
	if u == "" {
		return // Fail2ban counts only non-empty user names
	}
	for i := 0; i < s.nusers && i < len(s.user); i++ {
		if s.user[i] == u {
			return
		}
	}
	for _, x := range s.more {
		if x == u {
			return
		}
	}
	if s.nusers < len(s.user) {
		s.user[s.nusers] = u
	} else {
		s.more = append(s.more, u)
	}
	s.nusers++
}

// Matcher applies a Filter to one stream of lines. Not safe for concurrent
// use; make one per source.
type Matcher struct {
	f              *Filter
	dateSt         date.State
	buf            []byte
	lines          [][]byte // maxlines buffer
	spans          []int
	prefSpans      []int
	lastTime       time.Time
	sessions       map[string]*session
	scratch        session
	oldest, newest *session // sessions by age
	daemons        map[string]bool
	recent         [8]recentProgram // most recent program names checked
	recentNext     int
}

// NewMatcher returns a matcher with empty state.
func (f *Filter) NewMatcher() *Matcher {
	return &Matcher{f: f, sessions: map[string]*session{}}
}

// Match matches one line (without its newline) read at wall time now.
func (m *Matcher) Match(line []byte, now time.Time) Result {
	var r Result
	m.match(line, now, time.Time{}, false, &r)
	return r
}

// MatchInto is Match writing into res, for loops that reuse one Result.
func (m *Matcher) MatchInto(line []byte, now time.Time, res *Result) {
	m.match(line, now, time.Time{}, false, res)
}

// MatchAt matches a line whose time is already known (journald entries);
// no date is searched in the line.
func (m *Matcher) MatchAt(line []byte, t time.Time) Result {
	var r Result
	m.match(line, t, t, true, &r)
	return r
}

func (m *Matcher) match(line []byte, now, known time.Time, haveTime bool, res *Result) {
	f := m.f
	*res = Result{Regex: -1, DateTemplate: -1}
	for n := len(line); n > 0 && (line[n-1] == '\n' || line[n-1] == '\r'); n-- {
		line = line[:n-1]
	}
	buf := line
	var t time.Time
	hasTime := false
	switch {
	case haveTime:
		// The entry's own time counts; the line carries no date.
		t, hasTime = known, true
	case f.noDate:
		t, hasTime = now, true
	default:
		if dm, ok := f.dates.Find(line, &m.dateSt, now, f.loc); ok && dm.Start == dm.End {
			// The pattern matched an empty date: the line has none of its
			// own; like Fail2ban, take the last line's when it is recent.
			t, hasTime = now, true
			if !m.lastTime.IsZero() && m.lastTime.After(now.Add(-time.Minute)) {
				t = m.lastTime
			}
		} else if ok {
			t, hasTime = dm.Time, true
			res.DateTemplate = dm.Template
			if dm.Start == 0 {
				buf = line[dm.End:] // the usual case: no copy
			} else {
				m.buf = append(append(m.buf[:0], line[:dm.Start]...), line[dm.End:]...)
				buf = m.buf
			}
		} else if !m.lastTime.IsZero() && m.lastTime.After(now.Add(-time.Minute)) {
			t, hasTime = m.lastTime, true
		}
	}
	if hasTime && !haveTime {
		m.lastTime = t
	}
	res.Time, res.HasTime = t, hasTime
	if f.maxLines > 1 {
		buf = m.pushLine(buf)
	}
	// Fail2ban checks ignoreregex first only when there are clearly fewer of them.
	if len(f.ignore) > 0 && len(f.ignore) < len(f.fail)-2 && m.ignored(buf) {
		res.Kind = Ignore
		return
	}
	orig := buf
	var prefSpans []int
	if f.pref != nil {
		sp, ok := m.run(f.pref, buf)
		if !ok {
			return
		}
		m.prefSpans = append(m.prefSpans[:0], sp...) // kept while failregexes run
		prefSpans = m.prefSpans
		m.spans = sp
		if c := group(buf, sp, f.pref.known[gContent]); c != nil {
			buf = c
		}
	}
	fails := f.failOrder
	if f.byFirst != nil && len(buf) > 0 {
		fails = f.byFirst[buf[0]] // the others' prefilters would refuse buf
	}
	for _, i := range fails {
		r := f.fail[i]
		sp, ok := m.run(r, buf)
		if !ok {
			continue
		}
		// After prefregex, ignoreregex sees the same content failregex saw.
		if len(f.ignore) > 0 && m.ignored(buf) {
			res.Kind = Ignore
			res.Regex = i
			return
		}
		res.Regex = i
		m.fill(res, r, buf, sp, orig, prefSpans, now)
		if f.maxLines > 1 && f.pref == nil && len(sp) > 1 {
			// Lines a match used are not matched again (Fail2ban keeps
			// only the unmatched ones in its buffer).
			m.dropMatched(buf, sp[1])
		}
		return
	}
	return
}

// run matches r against buf, parsing a leading syslog prefix by hand when
// the pattern starts with one. Spans are offsets into buf.
func (m *Matcher) run(r *rx, buf []byte) ([]int, bool) {
	if r.prefix == prefixNone {
		sp, ok, _ := r.match(buf, m.spans)
		if sp != nil {
			m.spans = sp
		}
		return sp, ok
	}
	k := m.prefixEnd(buf)
	if k < 0 {
		return nil, false
	}
	sp, ok, _ := r.match(buf[k:], m.spans)
	if sp != nil {
		m.spans = sp
	}
	if !ok {
		return sp, false
	}
	for i := range sp {
		if sp[i] >= 0 {
			sp[i] += k
		}
	}
	if r.prefix == prefixMLFID {
		for len(sp) < 2*(r.ngroups+1) {
			sp = append(sp, -1)
		}
		sp[2*r.ngroups], sp[2*r.ngroups+1] = 0, k
		m.spans = sp
	}
	return sp, true
}

func (m *Matcher) ignored(buf []byte) bool {
	for _, r := range m.f.ignore {
		if _, ok := m.run(r, buf); ok {
			return true
		}
	}
	return false
}

// dropMatched removes the buffered lines up to the one holding offset end
// of the joined buffer.
func (m *Matcher) dropMatched(joined []byte, end int) {
	if end < 0 {
		return
	}
	n := bytes.Count(joined[:min(end, len(joined))], []byte{'\n'}) + 1
	if n >= len(m.lines) {
		m.lines = m.lines[:0]
		return
	}
	m.lines = append(m.lines[:0], m.lines[n:]...)
}

// pushLine adds a line to the maxlines buffer and returns the joined buffer.
func (m *Matcher) pushLine(b []byte) []byte {
	m.lines = append(m.lines, append([]byte(nil), b...))
	if len(m.lines) > m.f.maxLines {
		m.lines = m.lines[len(m.lines)-m.f.maxLines:]
	}
	return bytes.Join(m.lines, []byte{'\n'})
}

// fill turns a failregex match into a Result, merging multi-line sessions.
func (m *Matcher) fill(res *Result, r *rx, buf []byte, sp []int, orig []byte, prefSpans []int, now time.Time) {
	f := m.f
	// Collect values: prefregex groups first, failregex groups override.
	var vals [numKnown][]byte
	var set [numKnown]bool
	if f.pref != nil {
		for k := 0; k < numKnown; k++ {
			if v := group(orig, prefSpans, f.pref.known[k]); v != nil {
				vals[k], set[k] = v, true
			}
		}
	}
	for k := 0; k < numKnown; k++ {
		if r.known[k] >= 0 {
			v := group(buf, sp, r.known[k])
			vals[k], set[k] = v, v != nil
		}
	}
	for _, a := range r.alt {
		if v := group(buf, sp, a.idx); len(v) > 0 && a.target == "user" && len(vals[gUser]) == 0 {
			vals[gUser], set[gUser] = v, true
		} else if len(v) > 0 && a.target != "user" {
			if res.Fields == nil {
				res.Fields = map[string]string{}
			}
			if _, ok := res.Fields[a.target]; !ok {
				res.Fields[a.target] = string(v)
			}
		}
	}
	for _, e := range r.extra {
		if v := group(buf, sp, e.idx); v != nil {
			if res.Fields == nil {
				res.Fields = map[string]string{}
			}
			res.Fields[e.name] = string(v)
		}
	}
	if set[gUser] {
		res.User = string(vals[gUser])
	}
	if set[gMLFID] {
		if !m.merge(vals[gMLFID], res, &vals, &set, now) {
			return
		}
	} else if set[gNoFail] {
		res.NoFail, res.Kind = true, Ignore
		return
	}
	m.setHost(res, &vals, &set)
}

// setHost picks the failure's identity: ip4, ip6, dns, then the id.
func (m *Matcher) setHost(res *Result, vals *[numKnown][]byte, set *[numKnown]bool) {
	var host []byte
	switch {
	case set[gIP4]:
		host = vals[gIP4]
	case set[gIP6]:
		host = vals[gIP6]
	case set[gDNS]:
		host = vals[gDNS]
	case set[gFID]:
		host = vals[gFID]
	default:
		res.NoFail = true // a line without an address (and no session to give one)
		return
	}
	res.Kind = Hit
	res.Host = string(host)
	if set[gFID] && !bytes.Equal(vals[gFID], host) {
		res.ID = string(vals[gFID])
		res.Host = res.ID
	}
	if set[gIP4] || set[gIP6] {
		if a, ok := ParseAddr(host); ok {
			res.Addr = a
			if set[gCIDR] {
				if n, err := strconv.Atoi(string(vals[gCIDR])); err == nil && n <= a.BitLen() {
					res.Bits = n
				}
			}
		}
	}
}

// merge folds a line into its multi-line session (Fail2ban's mlfid rules:
// helper lines give the address, a success forgets pending failures, a
// disconnect ends the session). It reports whether res is a failure.
func (m *Matcher) merge(id []byte, res *Result, vals *[numKnown][]byte, set *[numKnown]bool, now time.Time) bool {
	nofail := set[gNoFail]
	gained := set[gMLFGained]
	forget := set[gMLFForget]
	var flags int
	if gained {
		flags |= 8 | 1
		nofail = true
	} else if nofail {
		flags |= 1
	}
	if forget {
		flags |= 2
	}
	m.expire(now)
	s := m.sessions[string(id)]
	if s != nil {
		if s.nofail || s.gained {
			flags |= 4
		}
		if flags&8 != 0 {
			s.pending = false
		}
		if flags&2 != 0 {
			m.drop(string(id))
		}
	} else if flags&2 == 0 {
		s = m.newSession(now)
		m.add(string(id), s)
	} else {
		// A one-line session (e.g. a successful login): nothing to keep.
		m.scratch = session{seen: now}
		s = &m.scratch
	}
	oneLine := s == &m.scratch
	if oneLine {
		// A one-line session lives only during this call: its fields can
		// view the line (res.User, set by fill, is the copy that stays;
		// the scratch session is reset before its next use).
		for k := 0; k < numKnown; k++ {
			if set[k] && k != gNoFail && k != gMLFForget && k != gMLFGained {
				s.fields[k] = unsafe.String(unsafe.SliceData(vals[k]), len(vals[k]))
				s.has[k] = true
			}
		}
	} else {
		// Copy this line's values in one allocation.
		n := 0
		for k := 0; k < numKnown; k++ {
			if set[k] && k != gNoFail && k != gMLFForget && k != gMLFGained {
				n += len(vals[k])
			}
		}
		all := make([]byte, 0, n)
		for k := 0; k < numKnown; k++ {
			if set[k] && k != gNoFail && k != gMLFForget && k != gMLFGained {
				all = append(all, vals[k]...)
			}
		}
		str := unsafe.String(unsafe.SliceData(all), len(all)) // all is never written again
		off := 0
		for k := 0; k < numKnown; k++ {
			if set[k] && k != gNoFail && k != gMLFForget && k != gMLFGained {
				s.fields[k] = str[off : off+len(vals[k])]
				s.has[k] = true
				off += len(vals[k])
			}
		}
	}
	if set[gUser] {
		s.addUser(s.fields[gUser])
	}
	s.nofail, s.gained = nofail, gained
	if s.pending || s.nusers > 1 {
		s.pending = false
		s.nofail, s.gained = false, false
	}
	if s.nofail {
		res.NoFail = true
		if set[gNoFail] && !gained {
			res.Kind = Ignore // an explicit <F-NOFAIL> helper line
		}
		return false
	}
	// Continue with the merged session's values.
	for k := 0; k < numKnown; k++ {
		if s.has[k] {
			// Read-only view of the session's string: vals are only read.
			vals[k], set[k] = unsafe.Slice(unsafe.StringData(s.fields[k]), len(s.fields[k])), true
		} else {
			vals[k], set[k] = nil, false
		}
	}
	if s.has[gUser] && !oneLine {
		res.User = s.fields[gUser]
	}
	if !set[gIP4] && !set[gIP6] && !set[gDNS] && !set[gFID] {
		s.pending = true
		res.NoFail = true // waits for the session's address
		return false
	}
	return true
}

// newSession returns an empty session, reusing the oldest one when the
// cache is full (it is about to be evicted anyway).
func (m *Matcher) newSession(now time.Time) *session {
	if len(m.sessions) >= mlfMax && m.oldest != nil {
		s := m.oldest
		m.unlink(s)
		*s = session{seen: now}
		return s
	}
	return &session{seen: now}
}

func (m *Matcher) add(id string, s *session) {
	if len(m.sessions) >= mlfMax && m.oldest != nil {
		m.unlink(m.oldest)
	}
	s.id = id
	s.prev, s.next = m.newest, nil
	if m.newest != nil {
		m.newest.next = s
	} else {
		m.oldest = s
	}
	m.newest = s
	m.sessions[id] = s
}

func (m *Matcher) drop(id string) {
	if s, ok := m.sessions[id]; ok {
		m.unlink(s)
	}
}

// unlink removes s from the session map and the age list.
func (m *Matcher) unlink(s *session) {
	delete(m.sessions, s.id)
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		m.oldest = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		m.newest = s.prev
	}
	s.prev, s.next = nil, nil
}

// expire drops sessions older than mlfTTL, oldest first.
func (m *Matcher) expire(now time.Time) {
	for m.oldest != nil && now.Sub(m.oldest.seen) > mlfTTL {
		m.unlink(m.oldest)
	}
}

// ParseAddr parses an IPv4 or IPv6 address leniently (leading zeros in IPv4
// octets, as some logs write them, are accepted) and unmaps IPv4-in-IPv6.
func ParseAddr(b []byte) (netip.Addr, bool) {
	b = bytes.Trim(b, "[]")
	var s string
	if bytes.IndexByte(b, '%') < 0 {
		// No zone: netip.ParseAddr keeps nothing of its argument, so a view
		// of the bytes avoids a copy per hit.
		s = unsafe.String(unsafe.SliceData(b), len(b))
	} else {
		s = string(b)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		// 192.030.000.006 -> 192.30.0.6
		var parts [4]byte
		n, v, digits := 0, 0, 0
		for i := 0; i <= len(s); i++ {
			if i == len(s) || s[i] == '.' {
				if digits == 0 || v > 255 || n > 3 {
					return netip.Addr{}, false
				}
				parts[n] = byte(v)
				n++
				v, digits = 0, 0
				continue
			}
			if s[i] < '0' || s[i] > '9' {
				return netip.Addr{}, false
			}
			v = v*10 + int(s[i]-'0')
			digits++
		}
		if n != 4 {
			return netip.Addr{}, false
		}
		return netip.AddrFrom4(parts), true
	}
	return a.Unmap().WithZone(""), true
}

// Time finds the time of a line with the filter's date detection, without
// matching it; sources use it to seek to findtime at first start.
func (m *Matcher) Time(line []byte, now time.Time) (time.Time, bool) {
	if m.f.noDate {
		return time.Time{}, false
	}
	dm, ok := m.f.dates.Find(line, &m.dateSt, now, m.f.loc)
	if !ok {
		return time.Time{}, false
	}
	return dm.Time, true
}
