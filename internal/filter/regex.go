package filter

import (
	"bytes"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// slowTimeout bounds one backtracking match, so a hostile line cannot stall
// a source (Fail2ban's dovecot ReDoS, GHSA-33wh-ccjc-p397).
const slowTimeout = 50 * time.Millisecond

// Well-known group slots, filled for every compiled regex.
const (
	gIP4 = iota
	gIP6
	gDNS
	gCIDR
	gFID
	gUser
	gMLFID
	gContent
	gNoFail
	gMLFForget
	gMLFGained
	numKnown
)

var knownGroups = [numKnown]string{"ip4", "ip6", "dns", "cidr", "fid", "user", "mlfid", "content", "nofail", "mlfforget", "mlfgained"}

// rx is one compiled pattern: RE2 when it can be, else a backtracking engine
// behind an RE2 superset pre-check, both behind cheap literal checks.
type rx struct {
	src     Pattern
	fast    *regexp.Regexp  // exact RE2, or the superset pre-check when slow != nil
	slow    *regexp2.Regexp // exact backtracking engine, nil on the fast path
	why     string          // why the slow path was needed
	known   [numKnown]int   // group index in fast (or slow) per known slot, -1 if absent
	alt     []altGroup      // <F-ALT_X> groups: first non-empty value becomes X
	extra   []namedGroup    // other <F-…> groups
	slowIdx map[string]int  // group name -> regexp2 group number
	pre     prefilter
	prefix  prefixMode // the pattern starts with the syslog prefix, parsed by hand
	ngroups int        // groups of the engine, including group 0
	// head is the pattern without a final (?P<content>.+)$, when it has
	// one: matching only the head and taking the rest of the line as the
	// content is equivalent and avoids backtracking over the whole line.
	head *regexp.Regexp
	// headSkip, when headOptional, holds the bytes an optional head part can
	// start with: a line starting with any other byte has an empty head.
	headOptional bool
	headSkip     [4]uint64
	seq          *seqHead // the head evaluated part by part, when it is all optional parts
	// checks confirm a match of the RE2 superset of a slow pattern (nil:
	// they cannot, and the backtracking engine decides every match).
	checks []boundCheck
	// variants, when set, are the pattern split at its conditionals into
	// RE2 patterns tried in order (splitVariants); nil otherwise.
	variants []variantRx
	// dups lists groups whose name repeats (branches copied by
	// resolveConditionals); after a match the set one is copied to the first.
	dups [][]int
}

type altGroup struct {
	idx    int
	target string
}

type namedGroup struct {
	name string
	idx  int
}

// prefilter rejects lines that cannot match before any engine runs.
type prefilter struct {
	prefix   []byte    // literal text every match starts with (pattern anchored at ^)
	anchored bool      // pattern starts with ^ (and no alternation around it)
	first    [4]uint64 // when anchored: set of possible first bytes; all ones = any
	anyFirst bool      // first is not informative
	lits     [][]byte  // literals every match contains
}

func (p *prefilter) pass(b []byte) bool {
	if len(p.prefix) > 0 && !bytes.HasPrefix(b, p.prefix) {
		return false
	}
	if p.anchored && !p.anyFirst {
		if len(b) == 0 {
			return false
		}
		c := b[0]
		if p.first[c>>6]&(1<<(c&63)) == 0 {
			return false
		}
	}
	for _, l := range p.lits {
		if !bytes.Contains(b, l) {
			return false
		}
	}
	return true
}

// mayStart reports whether pass can accept a text whose first byte is c.
func (p *prefilter) mayStart(c byte) bool {
	if len(p.prefix) > 0 {
		return c == p.prefix[0]
	}
	if p.anchored && !p.anyFirst {
		return p.first[c>>6]&(1<<(c&63)) != 0
	}
	return true
}

// compileRx compiles an expanded (tags resolved) Python-flavoured pattern.
func compileRx(src Pattern, expanded string) (*rx, error) {
	t := translate(expanded)
	r := &rx{src: src}
	for i := range r.known {
		r.known[i] = -1
	}
	var splitFrom string // the superset to split into variants, if resolving failed
	if !t.exact && t.verifiable {
		// Resolved conditionals copy the rest of the pattern into each
		// branch; Go runs a program that large on its NFA, slower than
		// regexp2, so only small results are used.
		if p2, ok := resolveConditionals(t.re2, t.checks); ok && progSize(p2) <= maxBacktrackProg {
			t.re2 = p2
		} else {
			splitFrom = t.re2
		}
	}
	re, err := regexp.Compile(t.re2)
	if t.exact && err != nil {
		// RE2 refuses something translate did not flag (e.g. repetition > 1000):
		// let the backtracking engine decide.
		t.exact = false
		t.why = err.Error()
		re = nil
	}
	if !t.exact {
		r.why = t.why
		sl, err2 := regexp2.Compile(t.dotnet, regexp2.None)
		if err2 != nil {
			return nil, fmt.Errorf("%s: bad regex %s: %v", src.Where(), describe(src.Expr), err2)
		}
		sl.MatchTimeout = slowTimeout
		r.slow = sl
		if err == nil {
			// Numbering follows the RE2 superset; regexp2's groups are
			// mapped onto it by name.
			r.fast = re
			r.ngroups = re.NumSubexp() + 1
			r.setGroups(re.SubexpIndex, re.SubexpNames())
			r.slowIdx = map[string]int{}
			for _, name := range sl.GetGroupNames() {
				if i := re.SubexpIndex(name); i >= 0 {
					r.slowIdx[name] = i
				}
			}
			r.dups = duplicateGroups(re)
			if t.verifiable {
				r.checks = compileChecks(t.checks, re)
			}
			if splitFrom != "" && r.checks != nil {
				if vs, ok := splitVariants(splitFrom, t.checks); ok {
					r.variants = compileVariants(vs, t.checks, re)
				}
			}
		} else {
			r.slowIdx = map[string]int{}
			for _, name := range sl.GetGroupNames() {
				r.slowIdx[name] = sl.GroupNumberFromName(name)
			}
			for _, n := range sl.GetGroupNumbers() {
				if n+1 > r.ngroups {
					r.ngroups = n + 1
				}
			}
			r.setGroups(func(name string) int {
				if n, ok := r.slowIdx[name]; ok {
					return n
				}
				return -1
			}, sl.GetGroupNames())
		}
	} else {
		r.fast = re
		r.ngroups = re.NumSubexp() + 1
		r.setGroups(re.SubexpIndex, re.SubexpNames())
	}
	if r.fast != nil {
		r.pre = buildPrefilter(t.re2)
	}
	if r.slow == nil && r.known[gContent] == r.ngroups-1 {
		if h, ok := strings.CutSuffix(t.re2, `(?P<content>.+)$`); ok {
			if hre, err := regexp.Compile(h); err == nil && hre.NumSubexp() == r.ngroups-2 {
				r.head = hre
				r.headOptional, r.headSkip = optionalHead(h)
				if !r.headOptional {
					r.seq = newSeqHead(h, re.SubexpIndex)
				}
			}
		}
	}
	return r, nil
}

func (r *rx) setGroups(index func(string) int, names []string) {
	for i, n := range knownGroups {
		r.known[i] = index(n)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" || seen[n] || isDigits(n) {
			continue
		}
		seen[n] = true
		isKnown := false
		for _, k := range knownGroups {
			if k == n {
				isKnown = true
			}
		}
		if len(n) > 1 && n[:2] == "__" {
			continue // instrumentation of the RE2 superset
		}
		if isKnown || n == "fport" || len(n) > 9 && n[:9] == "skiplines" || n == "cond_inv" || n == "cond_user" {
			if n == "fport" {
				r.extra = append(r.extra, namedGroup{n, index(n)})
			}
			continue
		}
		if len(n) > 4 && n[:4] == "alt_" {
			t := n[4:]
			// alt_user_1 -> user
			if j := lastUnderscoreDigits(t); j > 0 {
				t = t[:j]
			}
			r.alt = append(r.alt, altGroup{index(n), t})
			continue
		}
		r.extra = append(r.extra, namedGroup{n, index(n)})
	}
}

func lastUnderscoreDigits(s string) int {
	for i := len(s) - 1; i > 0; i-- {
		if s[i] == '_' {
			if isDigits(s[i+1:]) {
				return i
			}
			return -1
		}
	}
	return -1
}

// match runs the pattern over buf. On success spans holds byte offsets
// (start, end pairs; -1 for unset) indexed by the engine's group numbers,
// reusing dst. ok reports a match; err only a backtracking timeout.
func (r *rx) match(buf []byte, dst []int) (spans []int, ok bool, err error) {
	if !r.pre.pass(buf) {
		return dst, false, nil
	}
	if r.slow == nil {
		if r.head != nil {
			if r.headOptional && len(buf) > 0 && r.headSkip[buf[0]>>6]&(1<<(buf[0]&63)) == 0 && bytes.IndexByte(buf, '\n') < 0 {
				// Every part of the head is optional and none can start
				// here: the head is empty and the content is the line.
				spans = dst[:0]
				for i := 0; i < r.ngroups-1; i++ {
					spans = append(spans, -1, -1)
				}
				spans[0], spans[1] = 0, len(buf)
				return append(spans, 0, len(buf)), true, nil
			}
			if r.seq != nil && bytes.IndexByte(buf, '\n') < 0 {
				spans = dst[:0]
				for i := 0; i < r.ngroups; i++ {
					spans = append(spans, -1, -1)
				}
				if k := r.seq.match(buf, spans); k >= 0 {
					spans[0], spans[1] = 0, len(buf)
					spans[2*r.known[gContent]], spans[2*r.known[gContent]+1] = k, len(buf)
					return spans, true, nil
				}
			}
			loc := r.head.FindSubmatchIndex(buf)
			if loc == nil {
				return dst, false, nil
			}
			if e := loc[1]; e < len(buf) && bytes.IndexByte(buf[e:], '\n') < 0 {
				return append(loc, e, len(buf)), true, nil
			}
		}
		loc := r.fast.FindSubmatchIndex(buf)
		return loc, loc != nil, nil
	}
	if r.variants != nil {
		if sp, ok, decided := r.matchVariants(buf, dst); decided {
			return sp, ok, nil
		}
	} else if r.fast != nil {
		if r.checks == nil {
			if !r.fast.Match(buf) {
				return dst, false, nil
			}
		} else {
			loc := r.fast.FindSubmatchIndex(buf)
			if loc == nil {
				return dst, false, nil
			}
			r.mergeDups(loc)
			if r.verify(buf, loc) {
				return loc, true, nil
			}
		}
	}
	s := string(buf)
	m, err := r.slow.FindStringMatch(s)
	if err != nil || m == nil {
		return dst, false, err
	}
	groups := m.Groups()
	spans = dst[:0]
	for i := 0; i < r.ngroups; i++ {
		spans = append(spans, -1, -1)
	}
	ascii := isASCII(buf)
	if st, ln := m.Index, m.Length; true {
		if !ascii {
			st, ln = runeToByte(s, st), runeToByte(s, st+ln)-runeToByte(s, st)
		}
		spans[0], spans[1] = st, st+ln
	}
	for _, g := range groups {
		idx, ok := r.slowIdx[g.Name]
		if !ok || len(g.Captures) == 0 {
			continue
		}
		st, ln := g.Index, g.Length
		if !ascii {
			st, ln = runeToByte(s, st), runeToByte(s, st+ln)-runeToByte(s, st)
		}
		spans[2*idx], spans[2*idx+1] = st, st+ln
	}
	return spans, true, nil
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// runeToByte converts a rune offset in s to a byte offset (regexp2 counts runes).
func runeToByte(s string, n int) int {
	i := 0
	for k := range s {
		if i == n {
			return k
		}
		i++
	}
	return len(s)
}

// group returns the text of group idx, or nil when unset.
func group(buf []byte, spans []int, idx int) []byte {
	if idx < 0 || 2*idx+1 >= len(spans) || spans[2*idx] < 0 {
		return nil
	}
	return buf[spans[2*idx]:spans[2*idx+1]]
}

// maxBacktrackProg is the program size up to which Go's regexp uses its
// bounded backtracker rather than the slower NFA simulation.
const maxBacktrackProg = 500

// progSize is the number of instructions Go compiles pattern to.
func progSize(pattern string) int {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 1 << 30
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 1 << 30
	}
	return len(prog.Inst)
}

// duplicateGroups lists the indexes of each group name used more than once.
func duplicateGroups(re *regexp.Regexp) [][]int {
	idx := map[string][]int{}
	for i, n := range re.SubexpNames() {
		if n != "" {
			idx[n] = append(idx[n], i)
		}
	}
	var out [][]int
	for _, l := range idx {
		if len(l) > 1 {
			out = append(out, l)
		}
	}
	return out
}

// mergeDups copies the span of the one set group of each duplicated name to
// its first index, where SubexpIndex (and so every reader) looks.
func (r *rx) mergeDups(loc []int) {
	for _, l := range r.dups {
		first := l[0]
		if loc[2*first] >= 0 {
			continue
		}
		for _, i := range l[1:] {
			if loc[2*i] >= 0 {
				loc[2*first], loc[2*first+1] = loc[2*i], loc[2*i+1]
				break
			}
		}
	}
}

// optionalHead reports whether pattern is ^ followed only by optional
// parts (X? or X*), and the set of bytes those parts can start with.
func optionalHead(pattern string) (bool, [4]uint64) {
	var set [4]uint64
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return false, set
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return false, set
	}
	for _, s := range re.Sub[1:] {
		for s.Op == syntax.OpCapture {
			s = s.Sub[0]
		}
		if s.Op != syntax.OpQuest && s.Op != syntax.OpStar {
			return false, set
		}
		if _, ok := firstOf(s.Sub[0], &set); !ok {
			return false, set
		}
	}
	return true, set
}

// buildPrefilter derives cheap necessary conditions from an RE2 pattern.
func buildPrefilter(pattern string) prefilter {
	var p prefilter
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		p.anyFirst = true
		return p
	}
	re = re.Simplify()
	p.prefix = literalPrefix(re)
	lits := requiredLiterals(re)
	// Literals inside the prefix are tested by it; one with U+FFFD cannot
	// be looked for as bytes (Go's regexp matches it against any invalid
	// byte).
	kept := lits[:0]
	for _, l := range lits {
		if !strings.Contains(string(p.prefix), l) && !strings.ContainsRune(l, utf8.RuneError) {
			kept = append(kept, l)
		}
	}
	lits = kept
	// Keep up to six, longest first: each is a cheap test, and a short one
	// (": ") can be what tells two variants apart.
	for k := 0; k < 6 && len(lits) > 0; k++ {
		best := 0
		for i, l := range lits {
			if len(l) > len(lits[best]) {
				best = i
			}
		}
		if len(lits[best]) >= 2 {
			p.lits = append(p.lits, []byte(lits[best]))
		}
		lits = append(lits[:best], lits[best+1:]...)
	}
	// Anchored first-byte set.
	if re.Op == syntax.OpConcat && len(re.Sub) > 0 && re.Sub[0].Op == syntax.OpBeginText {
		p.anchored = true
		var set [4]uint64
		if firstBytes(re.Sub[1:], &set) {
			p.first = set
		} else {
			p.anyFirst = true
		}
	} else {
		p.anyFirst = true
	}
	return p
}

// literalPrefix returns the case-sensitive literal text that every match of
// re (simplified) starts with at the start of the text: the literals, also
// inside capture groups, that follow a leading \A. A pattern with a U+FFFD
// literal gets none (Go matches it against any invalid byte).
func literalPrefix(re *syntax.Regexp) []byte {
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return nil
	}
	var out []byte
	var add func(e *syntax.Regexp) bool // reports whether e was all literal
	add = func(e *syntax.Regexp) bool {
		switch e.Op {
		case syntax.OpLiteral:
			if e.Flags&syntax.FoldCase != 0 {
				return false
			}
			for _, r := range e.Rune {
				if r == utf8.RuneError {
					return false
				}
			}
			out = append(out, string(e.Rune)...)
			return true
		case syntax.OpCapture:
			return add(e.Sub[0])
		case syntax.OpConcat:
			for _, s := range e.Sub {
				if !add(s) {
					return false
				}
			}
			return true
		}
		return false
	}
	for _, s := range re.Sub[1:] {
		if !add(s) {
			break
		}
	}
	if bytes.ContainsRune(out, utf8.RuneError) {
		return nil
	}
	return out
}

// requiredLiterals returns case-sensitive literal strings that every match
// of re must contain.
func requiredLiterals(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil
		}
		return []string{string(re.Rune)}
	case syntax.OpCapture:
		return requiredLiterals(re.Sub[0])
	case syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiterals(re.Sub[0])
		}
	case syntax.OpConcat:
		var out []string
		var run []rune
		for _, s := range re.Sub {
			if s.Op == syntax.OpLiteral && s.Flags&syntax.FoldCase == 0 {
				run = append(run, s.Rune...)
				continue
			}
			if len(run) > 0 {
				out = append(out, string(run))
				run = nil
			}
			out = append(out, requiredLiterals(s)...)
		}
		if len(run) > 0 {
			out = append(out, string(run))
		}
		return out
	}
	return nil
}

// firstBytes adds to set every byte a match of the concatenation subs can
// start with. It returns false when that is not known (then any byte may).
func firstBytes(subs []*syntax.Regexp, set *[4]uint64) bool {
	for _, s := range subs {
		done, ok := firstOf(s, set)
		if !ok {
			return false
		}
		if done {
			return true
		}
	}
	return false // all parts may be empty: any byte (or none)
}

// firstOf adds the first bytes of re to set; done reports that re cannot
// match empty (so later parts do not contribute first bytes).
func firstOf(re *syntax.Regexp, set *[4]uint64) (done, ok bool) {
	// Non-ASCII characters start with a byte >= 0xC0; adding every high
	// byte keeps the set a superset without decoding UTF-8 here.
	high := func() {
		set[2], set[3] = ^uint64(0), ^uint64(0)
	}
	add := func(c rune) {
		if c >= utf8.RuneSelf {
			high()
			return
		}
		set[c>>6] |= 1 << (uint(c) & 63)
	}
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return false, true
		}
		c := re.Rune[0]
		if re.Flags&syntax.FoldCase != 0 {
			if c >= 'a' && c <= 'z' {
				add(c - 32)
			} else if c >= 'A' && c <= 'Z' {
				add(c + 32)
			} else if c >= utf8.RuneSelf {
				high()
			}
		}
		add(c)
		return true, true
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			if hi >= utf8.RuneSelf {
				high()
				hi = utf8.RuneSelf - 1
			}
			for c := lo; c <= hi; c++ {
				add(c)
			}
		}
		return true, true
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		for c := rune(0); c < utf8.RuneSelf; c++ {
			if c != '\n' || re.Op == syntax.OpAnyChar {
				add(c)
			}
		}
		high()
		return true, true
	case syntax.OpCapture:
		return firstOf(re.Sub[0], set)
	case syntax.OpPlus:
		return firstOf(re.Sub[0], set)
	case syntax.OpRepeat:
		d, ok := firstOf(re.Sub[0], set)
		return d && re.Min >= 1, ok
	case syntax.OpStar, syntax.OpQuest:
		_, ok := firstOf(re.Sub[0], set)
		return false, ok
	case syntax.OpConcat:
		for _, s := range re.Sub {
			d, ok := firstOf(s, set)
			if !ok {
				return false, false
			}
			if d {
				return true, true
			}
		}
		return false, true
	case syntax.OpAlternate:
		all := true
		for _, s := range re.Sub {
			d, ok := firstOf(s, set)
			if !ok {
				return false, false
			}
			all = all && d
		}
		return all, true
	case syntax.OpEmptyMatch:
		return false, true
	}
	return false, false
}
