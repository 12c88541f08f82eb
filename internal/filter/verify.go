package filter

import (
	"bytes"
	"regexp"
	"strings"
)

// boundCheck is a check with its group indexes resolved in the RE2 superset.
type boundCheck struct {
	check
	idx              int // instrumentation group
	cond, yes, no, e int
	lit              []byte
}

// compileChecks resolves checks against re; nil when one cannot be used
// (then every match goes to the backtracking engine).
func compileChecks(cs []check, re *regexp.Regexp) []boundCheck {
	out := make([]boundCheck, 0, len(cs))
	for _, c := range cs {
		b := boundCheck{check: c, idx: -1, cond: -1, yes: -1, no: -1, e: -1}
		switch c.kind {
		case checkTempered:
			b.idx = re.SubexpIndex(c.group)
			b.lit = []byte(c.lit)
			if b.idx < 0 || len(b.lit) == 0 {
				return nil
			}
		case checkLookahead, checkLookbehind:
			b.idx = re.SubexpIndex(c.group)
			expr := c.expr
			if b.idx < 0 || strings.Contains(expr, "(?P<") {
				return nil
			}
			var src string
			if c.kind == checkLookahead {
				if strings.HasPrefix(expr, `\b`) || strings.HasPrefix(expr, `\B`) {
					return nil // a boundary at the start needs the byte before
				}
				src = `^(?:` + expr + `)`
			} else {
				if strings.HasSuffix(expr, `\b`) || strings.HasSuffix(expr, `\B`) || strings.Contains(expr, "$") {
					return nil
				}
				src = `(?:` + expr + `)$`
			}
			r, err := regexp.Compile(src)
			if err != nil {
				return nil
			}
			b.re = r
		case checkCond:
			b.cond = re.SubexpIndex(c.cond)
			b.yes = re.SubexpIndex(c.yes)
			if c.no != "" {
				b.no = re.SubexpIndex(c.no)
			}
			if c.empty != "" {
				b.e = re.SubexpIndex(c.empty)
			}
			if b.cond < 0 || b.yes < 0 || (b.no < 0 && b.e < 0) {
				return nil
			}
		}
		out = append(out, b)
	}
	return out
}

// verify reports whether an RE2 superset match (loc) satisfies every
// lookaround and conditional on its path, which makes it the match the
// backtracking engine would find.
func (r *rx) verify(buf []byte, loc []int) bool {
	set := func(i int) bool { return i >= 0 && 2*i < len(loc) && loc[2*i] >= 0 }
	for _, c := range r.checks {
		switch c.kind {
		case checkTempered:
			if !set(c.idx) {
				continue
			}
			st, en := loc[2*c.idx], loc[2*c.idx+1]
			// No occurrence of lit may start inside the span.
			if k := bytes.Index(buf[st:], c.lit); k >= 0 && st+k < en {
				return false
			}
		case checkLookahead:
			if !set(c.idx) {
				continue
			}
			if c.re.Match(buf[loc[2*c.idx]:]) == c.neg {
				return false
			}
		case checkLookbehind:
			if !set(c.idx) {
				continue
			}
			if c.re.Match(buf[:loc[2*c.idx]]) == c.neg {
				return false
			}
		case checkCond:
			took := set(c.yes)
			if !took && !set(c.no) && !set(c.e) {
				continue // the conditional was not on the match's path
			}
			if took != set(c.cond) {
				return false
			}
		}
	}
	return true
}
