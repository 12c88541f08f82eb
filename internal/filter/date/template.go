package date

import (
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// Template kinds: how the text a template matched becomes an instant.
const (
	kindFields    = iota // strptime fields (%Y, %m, ...)
	kindEpoch            // seconds since 1970, optional fraction
	kindLongEpoch        // seconds, milliseconds or microseconds since 1970
	kindTAI64N           // @4000000041f4104f00000000
)

// matchTimeout bounds one regexp2 search; a date regex that backtracks that
// long on a hostile line is treated as not matching.
const matchTimeout = 250 * time.Millisecond

// template is one compiled date template. It is immutable.
type template struct {
	name   string
	flags  int
	weight float64
	kind   int
	// The regex is compiled on first use (load): a detector holds dozens
	// of default templates, and a line usually matches one of the first
	// or a hand-written fast path, so compiling them all at start cost a
	// short-lived command (filter test) a tenth of its run. Templates from
	// a filter's own datepattern are loaded when it is compiled, so their
	// errors are still the filter's load errors.
	once    sync.Once
	loadErr error
	src     translation
	re      *regexp2.Regexp
	span    int        // group number of the date text
	groups  []fieldGrp // the %-code groups present
	value   int        // group number of the epoch value (kindEpoch, kindLongEpoch)
	fast    int        // hand-written matcher for the common templates (fastISO...), or fastNone
	// first, when set, holds the bytes the date of a line-begin template
	// can start with: a line that has none of them where the date may start
	// (at 0, or after one or two non-word characters) cannot match.
	first *byteSet
}

// byteSet is a set of bytes.
type byteSet [4]uint64

func newByteSet(s string) *byteSet {
	var b byteSet
	for i := 0; i < len(s); i++ {
		b[s[i]>>6] |= 1 << (s[i] & 63)
	}
	return &b
}

func (b *byteSet) has(c byte) bool { return b[c>>6]&(1<<(c&63)) != 0 }

// cannotStart reports whether a line-begin template's date surely cannot
// start in line: not at 0 nor after one or two ASCII non-word characters.
func (b *byteSet) cannotStart(line []byte) bool {
	for p := 0; p < 3 && p < len(line); p++ {
		c := line[p]
		if c >= 0x80 {
			return false
		}
		if b.has(c) {
			return false
		}
		if isWordByte(c) {
			return true
		}
	}
	return true
}

type fieldGrp struct {
	num  int
	name string
}

// anchored reports whether the template is anchored at the line begin or end,
// which makes the detector search it over the whole line every time.
func (t *template) anchored() bool { return t.flags&(flagLineBegin|flagLineEnd) != 0 }

// result is one template match: the whole match (used by the adaptive
// ordering, as Fail2ban does) and the date span (what the caller cuts out).
type result struct {
	m0, m1     int // whole match
	start, end int // date text
	unix       int64
	nsec       int
}

// findCtx carries what one Find call needs while it tries templates.
type findCtx struct {
	line []byte
	now  time.Time
	loc  *time.Location
	st   *State
	// the line as runes for regexp2, built on first need
	runesOK bool
}

// newTemplate makes a template of a Python-syntax regex (already bounded),
// translated now and compiled on first use (load).
func newTemplate(name, pyRegex string, flags, kind int) (*template, error) {
	tr, err := translate(pyRegex)
	if err != nil {
		return nil, err
	}
	return &template{name: name, flags: flags, weight: 1, kind: kind, src: tr}, nil
}

// load compiles the template's regex once; every later call returns the
// same result. Safe for concurrent use.
func (t *template) load() error {
	t.once.Do(func() {
		re, err := regexp2.Compile(t.src.re, regexp2.None)
		if err != nil {
			t.loadErr = err
			return
		}
		re.MatchTimeout = matchTimeout
		t.span = re.GroupNumberFromName(t.src.span)
		for _, n := range t.src.names {
			switch n {
			case "_epoch":
				t.value = re.GroupNumberFromName(n)
			case "Y", "y", "m", "b", "B", "d", "H", "I", "M", "S", "f", "p", "z", "Z", "a", "A", "w", "j", "U", "W", "s":
				t.groups = append(t.groups, fieldGrp{re.GroupNumberFromName(n), n})
			}
		}
		t.re = re
	})
	return t.loadErr
}

// match finds the template's leftmost match in line[:to] that starts at or
// after from (context before from is visible to lookbehinds, as with Python's
// pattern.search(line, pos, endpos)).
func (t *template) match(c *findCtx, from, to int, r *result) bool {
	if t.first != nil && t.first.cannotStart(c.line) {
		return false
	}
	if t.fast != fastNone && from == 0 && to == len(c.line) {
		f := &c.st.f
		*f = fields{}
		var s, e, res int
		switch t.fast {
		case fastISO1:
			s, e, res = fastISO(c.line, true, f)
		case fastISO2:
			s, e, res = fastISO(c.line, false, f)
		case fastSyslog:
			s, e, res = fastBSD(c.line, f)
		case fastCLF:
			s, e, res = fastBracketCLF(c.line, f)
		case fastSyslog5424:
			s, e, res = fastRFC5424(c.line, f)
		}
		switch res {
		case fastNo:
			return false
		case fastYes:
			r.m0, r.m1, r.start, r.end = 0, e, s, e
			return f.resolve(c.now, c.loc, &c.st.clock, r)
		}
	}
	return t.matchRegex(c, from, to, r)
}

func (t *template) matchRegex(c *findCtx, from, to int, out *result) bool {
	sc := &c.st.sc
	if !c.runesOK {
		sc.load(c.line)
		c.runesOK = true
	}
	if t.load() != nil {
		return false
	}
	rfrom, rto := sc.runeIndex(from), sc.runeIndex(to)
	runes := sc.runes[:rto]
	m, err := t.re.FindRunesMatchStartingAt(runes, rfrom)
	if err != nil || m == nil {
		return false
	}
	// Text that matches but is no valid date (Feb 30, an unknown zone name)
	// is no match.
	return t.convert(c, m, out)
}

// convert turns a regexp2 match into a result.
func (t *template) convert(c *findCtx, m *regexp2.Match, r *result) bool {
	sc := &c.st.sc
	*r = result{m0: sc.offs[m.Index], m1: sc.offs[m.Index+m.Length]}
	g := m.GroupByNumber(t.span)
	if g == nil || len(g.Captures) == 0 {
		r.start, r.end = r.m0, r.m0
	} else {
		r.start, r.end = sc.offs[g.Index], sc.offs[g.Index+g.Length]
	}
	if r.start == r.end {
		r.unix, r.nsec = c.now.Unix(), c.now.Nanosecond()
		return true
	}
	f := &c.st.f
	*f = fields{}
	switch t.kind {
	case kindEpoch, kindLongEpoch:
		v := m.GroupByNumber(t.value)
		if v == nil || len(v.Captures) == 0 || !f.fillEpoch(v.String(), t.kind == kindLongEpoch) {
			return false
		}
	case kindTAI64N:
		if !f.fillTAI64N(string(c.line[r.start:r.end])) {
			return false
		}
	default:
		var p string
		if i := t.group("p"); i >= 0 {
			if g := m.GroupByNumber(i); g != nil && len(g.Captures) > 0 {
				p = strings.ToLower(g.String())
			}
		}
		for _, fg := range t.groups {
			g := m.GroupByNumber(fg.num)
			if g == nil || len(g.Captures) == 0 {
				continue
			}
			if !f.fill(fg.name, g.String(), p) {
				return false
			}
		}
	}
	return f.resolve(c.now, c.loc, &c.st.clock, r)
}

func (t *template) group(name string) int {
	for _, g := range t.groups {
		if g.name == name {
			return g.num
		}
	}
	return -1
}

// scratch holds a line decoded to runes for regexp2, reused across lines.
type scratch struct {
	runes []rune
	offs  []int // byte offset of each rune, plus len(line) at the end
}

func (s *scratch) load(line []byte) {
	s.runes, s.offs = s.runes[:0], s.offs[:0]
	for i := 0; i < len(line); {
		r, n := utf8.DecodeRune(line[i:])
		s.runes = append(s.runes, r)
		s.offs = append(s.offs, i)
		i += n
	}
	s.offs = append(s.offs, len(line))
}

// runeIndex returns the index of the rune that starts at byte offset b (or the
// first rune after it).
func (s *scratch) runeIndex(b int) int {
	lo, hi := 0, len(s.offs)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if s.offs[mid] < b {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}
