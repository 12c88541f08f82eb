package webattack

import (
	"bytes"
	"regexp"
	"regexp/syntax"
)

// Many patterns look at a whole parameter value: "(?m)^\s*['"]\s*or…" on
// the args field, one value per line. Go's regexp does not use a (?m)^
// anchor to skip ahead: it tries every byte of the field. lineAnchor
// compiles such a pattern a second time anchored at the text start
// (\A(?:pattern)), so find can try it only where lines start, which is
// the same search: a match of the original starts at a line start p, and
// the anchored copy matches v[p:] from 0 with the same context (before p
// there is a newline or nothing, both a non-word character to \b, and
// the rest of v is unchanged).
//
// When no part of the pattern can match a newline and it has no \z, a
// match also ends on its line, and the copy only needs v[p:end of line]
// (which keeps Go's backtracker from clearing state for the whole field
// at every line).
type lineAnchor struct {
	re      *regexp.Regexp
	oneLine bool
}

// newLineAnchor returns the anchored copy of pattern, or nil when the
// pattern does not start every alternative with (?m)^.
func newLineAnchor(pattern string) *lineAnchor {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil || !startsLine(re) {
		return nil
	}
	// Every match starts at a line start, so anchoring the whole pattern
	// at the start of v[p:] keeps its matches from p and no others.
	c, err := regexp.Compile(`\A(?:` + pattern + `)`)
	if err != nil {
		return nil
	}
	return &lineAnchor{re: c, oneLine: !mayCross(re)}
}

// startsLine reports whether re, or each of its alternatives, starts with
// (?m)^.
func startsLine(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine:
		return true
	case syntax.OpConcat:
		return len(re.Sub) > 0 && startsLine(re.Sub[0])
	case syntax.OpCapture:
		return startsLine(re.Sub[0])
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if !startsLine(s) {
				return false
			}
		}
		return true
	}
	return false
}

// mayCross reports whether re can match a newline or tests for the end of
// the text (\z), so that a match need not end on the line it starts on.
func mayCross(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if r == '\n' {
				return true
			}
		}
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i] <= '\n' && '\n' <= re.Rune[i+1] {
				return true
			}
		}
	case syntax.OpAnyChar, syntax.OpEndText:
		return true
	}
	for _, s := range re.Sub {
		if mayCross(s) {
			return true
		}
	}
	return false
}

// findIndex is r.Pattern.FindIndex(v), faster for line-anchored patterns
// and for alternations split into branches (split.go).
func (r *Rule) findIndex(v []byte) []int {
	a := r.anchor
	if a == nil {
		if r.split != nil {
			return r.split.findIndex(v)
		}
		return r.Pattern.FindIndex(v)
	}
	for p := 0; p <= len(v); {
		nl := bytes.IndexByte(v[p:], '\n')
		end := len(v)
		if nl >= 0 {
			end = p + nl
		}
		in := v[p:]
		if a.oneLine {
			in = v[p:end]
		}
		if loc := a.re.FindIndex(in); loc != nil {
			loc[0], loc[1] = loc[0]+p, loc[1]+p
			return loc
		}
		if nl < 0 {
			break
		}
		p = end + 1
	}
	return nil
}
