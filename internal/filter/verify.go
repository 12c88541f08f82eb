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

// variantRx is one variant of a pattern split at its conditionals.
type variantRx struct {
	re     *regexp.Regexp
	pre    prefilter
	toFast []int // variant group -> group of the full superset (-1: none)
	rx     rx    // carries the variant's own checks for verify
}

// compileVariants compiles split variants and maps their groups onto the
// superset's numbering; nil when one does not compile or is too large.
func compileVariants(patterns []string, cs []check, fast *regexp.Regexp) []variantRx {
	out := make([]variantRx, 0, len(patterns))
	for _, p := range patterns {
		if progSize(p) > maxBacktrackProg {
			return nil
		}
		re, err := regexp.Compile(p)
		if err != nil {
			return nil
		}
		v := variantRx{re: re, pre: buildPrefilter(p), toFast: make([]int, re.NumSubexp()+1)}
		for i, n := range re.SubexpNames() {
			v.toFast[i] = -1
			if n != "" {
				v.toFast[i] = fast.SubexpIndex(n)
			}
		}
		v.toFast[0] = 0
		// Conditionals are resolved in a variant; other checks apply where
		// their group is in it.
		var keep []check
		for _, c := range cs {
			if c.kind != checkCond && re.SubexpIndex(c.group) >= 0 {
				keep = append(keep, c)
			}
		}
		v.rx.checks = compileChecks(keep, re)
		if v.rx.checks == nil && len(keep) > 0 {
			return nil
		}
		out = append(out, v)
	}
	return out
}

// matchVariants tries the variants in order. decided is false when the
// first variant that matches fails a check: then only the backtracking
// engine can tell.
func (r *rx) matchVariants(buf []byte, dst []int) (spans []int, ok, decided bool) {
	for i := range r.variants {
		v := &r.variants[i]
		if !v.pre.pass(buf) {
			continue
		}
		loc := v.re.FindSubmatchIndex(buf)
		if loc == nil {
			continue
		}
		if !v.rx.verify(buf, loc) {
			return dst, false, false
		}
		spans = dst[:0]
		for k := 0; k < r.ngroups; k++ {
			spans = append(spans, -1, -1)
		}
		for g, f := range v.toFast {
			if f >= 0 && 2*g+1 < len(loc) && loc[2*g] >= 0 {
				spans[2*f], spans[2*f+1] = loc[2*g], loc[2*g+1]
			}
		}
		return spans, true, true
	}
	return dst, false, true
}
