package filter

import (
	"regexp/syntax"
	"strings"
)

// resolveConditionals makes the RE2 superset model Python conditionals
// (?(g)A|B) exactly, where it can: at the choice that decides whether g
// takes part (an optional (?P<g>…)? or an alternative of an alternation),
// the rest of the pattern is copied into each branch with the conditional
// resolved for it. Branches keep the backtracking engine's order, so RE2's
// leftmost-first match is the one Python's engine would find, and the
// conditional checks always pass. Group names may repeat across branches;
// rx merges them after a match.
//
// It returns the rewritten pattern and whether every conditional was
// resolved. Conditionals it cannot resolve stay as superset alternations
// checked after the match.
func resolveConditionals(pattern string, checks []check) (string, bool) {
	re, elems, conds, ok := parseConds(pattern, checks)
	if !ok {
		return pattern, len(conds) == 0 && re != nil
	}
	out, left := splitConds(elems, conds, 0)
	if left > 0 {
		return pattern, false
	}
	res := &syntax.Regexp{Op: syntax.OpConcat, Flags: re.Flags, Sub: out}
	return reString(res), true
}

// parseConds parses an instrumented superset and maps each conditional's
// wrapper group ("__cN") to the group it tests. ok is false when there is
// no conditional or the pattern does not parse (re is nil then).
func parseConds(pattern string, checks []check) (re *syntax.Regexp, elems []*syntax.Regexp, conds map[string]string, ok bool) {
	conds = map[string]string{}
	for _, c := range checks {
		if c.kind == checkCond {
			conds[strings.TrimSuffix(c.yes, "y")] = c.cond
		}
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, nil, conds, false
	}
	elems = []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		elems = re.Sub
	}
	return re, elems, conds, len(conds) > 0
}

// splitConds rewrites a concatenation; it returns the new elements and how
// many conditionals remain unresolved in them.
func splitConds(elems []*syntax.Regexp, conds map[string]string, depth int) ([]*syntax.Regexp, int) {
	if depth > 4 {
		return elems, countConds(elems, conds)
	}
	for i, e := range elems {
		rest := elems[i+1:]
		for _, g := range capturesIn(e) {
			if !refersTo(rest, conds, g) {
				continue
			}
			vars := variants(e, g)
			if vars == nil {
				continue
			}
			alt := &syntax.Regexp{Op: syntax.OpAlternate}
			unresolved := 0
			for _, v := range vars {
				r := resolve(rest, conds, g, v.set)
				sub, left := splitConds(r, conds, depth+1)
				unresolved += left
				branch := append([]*syntax.Regexp{}, v.head...)
				branch = append(branch, sub...)
				alt.Sub = append(alt.Sub, &syntax.Regexp{Op: syntax.OpConcat, Sub: branch})
			}
			out := append(append([]*syntax.Regexp{}, elems[:i]...), alt)
			return out, unresolved + countConds(elems[:i+1], conds)
		}
	}
	return elems, countConds(elems, conds)
}

type variant struct {
	head []*syntax.Regexp // what replaces the element (empty: skipped)
	set  bool             // whether the group takes part in this branch
}

// variants lists, in the backtracking engine's order, the ways element e
// can match with group g taking part or not; nil if e has another shape.
func variants(e *syntax.Regexp, g string) []variant {
	switch e.Op {
	case syntax.OpCapture:
		if e.Name == g {
			return []variant{{head: []*syntax.Regexp{e}, set: true}}
		}
		// A capture around an alternation with g in one alternative:
		// (?P<user>(?P<g>x)|y) becomes one branch per alternative.
		inner := e.Sub[0]
		if inner.Op != syntax.OpAlternate {
			return nil
		}
		var out []variant
		for _, a := range inner.Sub {
			has := containsCapture(a, g)
			if has && !(a.Op == syntax.OpCapture && a.Name == g) {
				return nil
			}
			c := *e
			c.Sub = []*syntax.Regexp{a}
			c.Sub0 = [1]*syntax.Regexp{}
			out = append(out, variant{head: []*syntax.Regexp{&c}, set: has})
		}
		return out
	case syntax.OpQuest:
		if !(e.Sub[0].Op == syntax.OpCapture && e.Sub[0].Name == g) {
			return nil
		}
		with := variant{head: []*syntax.Regexp{e.Sub[0]}, set: true}
		without := variant{set: false}
		if e.Flags&syntax.NonGreedy != 0 {
			return []variant{without, with}
		}
		return []variant{with, without}
	}
	return nil
}

// resolve copies elems with every conditional on g replaced by the branch
// it takes when g is (or is not) set.
func resolve(elems []*syntax.Regexp, conds map[string]string, g string, set bool) []*syntax.Regexp {
	out := make([]*syntax.Regexp, len(elems))
	for i, e := range elems {
		out[i] = resolveOne(e, conds, g, set)
	}
	return out
}

func resolveOne(e *syntax.Regexp, conds map[string]string, g string, set bool) *syntax.Regexp {
	if e.Op == syntax.OpCapture {
		if ref, ok := conds[e.Name]; ok && ref == g {
			alt := e.Sub[0]
			if alt.Op != syntax.OpAlternate || len(alt.Sub) != 2 {
				return copyTree(e) // unexpected shape: left to the checks
			}
			c := *e
			c.Sub0 = [1]*syntax.Regexp{}
			if set {
				c.Sub = []*syntax.Regexp{copyTree(alt.Sub[0])}
			} else {
				c.Sub = []*syntax.Regexp{copyTree(alt.Sub[1])}
			}
			return &c
		}
	}
	c := *e
	c.Sub0 = [1]*syntax.Regexp{}
	c.Sub = make([]*syntax.Regexp, len(e.Sub))
	for i, s := range e.Sub {
		c.Sub[i] = resolveOne(s, conds, g, set)
	}
	return &c
}

func copyTree(e *syntax.Regexp) *syntax.Regexp {
	c := *e
	c.Sub0 = [1]*syntax.Regexp{}
	c.Sub = make([]*syntax.Regexp, len(e.Sub))
	for i, s := range e.Sub {
		c.Sub[i] = copyTree(s)
	}
	return &c
}

// refersTo reports whether a conditional on g appears in elems.
func refersTo(elems []*syntax.Regexp, conds map[string]string, g string) bool {
	found := false
	for _, e := range elems {
		walk(e, func(r *syntax.Regexp) {
			if r.Op == syntax.OpCapture && r.Sub[0].Op == syntax.OpAlternate {
				if ref, ok := conds[r.Name]; ok && ref == g {
					found = true
				}
			}
		})
	}
	return found
}

func countConds(elems []*syntax.Regexp, conds map[string]string) int {
	n := 0
	for _, e := range elems {
		walk(e, func(r *syntax.Regexp) {
			if r.Op == syntax.OpCapture && r.Sub[0].Op == syntax.OpAlternate {
				if _, ok := conds[r.Name]; ok {
					n++
				}
			}
		})
	}
	return n
}

func capturesIn(e *syntax.Regexp) []string {
	var out []string
	walk(e, func(r *syntax.Regexp) {
		if r.Op == syntax.OpCapture && r.Name != "" && !strings.HasPrefix(r.Name, "__") {
			out = append(out, r.Name)
		}
	})
	return out
}

func containsCapture(e *syntax.Regexp, g string) bool {
	found := false
	walk(e, func(r *syntax.Regexp) {
		if r.Op == syntax.OpCapture && r.Name == g {
			found = true
		}
	})
	return found
}

func walk(e *syntax.Regexp, f func(*syntax.Regexp)) {
	f(e)
	for _, s := range e.Sub {
		walk(s, f)
	}
}

// splitVariants turns a pattern with conditionals into separate patterns,
// one per combination of the choices the conditionals depend on, in the
// backtracking engine's order: the first of them that matches is the
// original's match. That holds when the part before each split point can
// end at only one place (endUnique), so every variant starts its own
// choices from the same position; otherwise it reports false. Each
// variant stays small enough for Go's backtracker, unlike the single
// pattern resolveConditionals builds.
func splitVariants(pattern string, checks []check) ([]string, bool) {
	re, elems, conds, ok := parseConds(pattern, checks)
	if !ok {
		return nil, false
	}
	if elems[0].Op != syntax.OpBeginText {
		return nil, false // unanchored: variants could start at different places
	}
	lists, ok := variantLists(elems, conds, 0)
	if !ok || len(lists) < 2 || len(lists) > 16 {
		return nil, false
	}
	out := make([]string, len(lists))
	for i, l := range lists {
		out[i] = reString(&syntax.Regexp{Op: syntax.OpConcat, Flags: re.Flags, Sub: l})
	}
	return out, true
}

func variantLists(elems []*syntax.Regexp, conds map[string]string, depth int) ([][]*syntax.Regexp, bool) {
	if depth > 4 {
		return nil, false
	}
	for i, e := range elems {
		rest := elems[i+1:]
		for _, g := range capturesIn(e) {
			if !refersTo(rest, conds, g) {
				continue
			}
			vars := variants(e, g)
			if vars == nil || !endUnique(elems[:i]) {
				return nil, false
			}
			var out [][]*syntax.Regexp
			for _, v := range vars {
				next := append(append([]*syntax.Regexp{}, v.head...), resolve(rest, conds, g, v.set)...)
				subs, ok := variantLists(next, conds, depth+1)
				if !ok {
					return nil, false
				}
				for _, s := range subs {
					out = append(out, append(append([]*syntax.Regexp{}, elems[:i]...), s...))
				}
			}
			return out, true
		}
	}
	if countConds(elems, conds) > 0 {
		return nil, false
	}
	return [][]*syntax.Regexp{elems}, true
}

// endUnique reports whether a match of the concatenation pre, started at a
// given place, can end at only one place: every element of variable width
// is followed by one that must start with a character the variable one
// can never contain, so it ends right before the first such character.
func endUnique(pre []*syntax.Regexp) bool {
	for i, e := range pre {
		if _, fixed := width(e); fixed {
			continue
		}
		if i+1 >= len(pre) {
			return false
		}
		var next [4]uint64
		done, ok := firstOf(pre[i+1], &next)
		if !ok || !done {
			return false
		}
		var in [4]uint64
		if !charsOf(e, &in) {
			return false
		}
		for k := range in {
			if in[k]&next[k] != 0 {
				return false
			}
		}
	}
	return true
}

// width returns the fixed length in characters of what e matches, if fixed.
func width(e *syntax.Regexp) (int, bool) {
	switch e.Op {
	case syntax.OpLiteral:
		return len(e.Rune), true
	case syntax.OpCharClass, syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		return 1, true
	case syntax.OpBeginText, syntax.OpBeginLine, syntax.OpEmptyMatch, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return 0, true
	case syntax.OpCapture:
		return width(e.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, s := range e.Sub {
			w, ok := width(s)
			if !ok {
				return 0, false
			}
			n += w
		}
		return n, true
	case syntax.OpAlternate:
		w0 := -1
		for _, s := range e.Sub {
			w, ok := width(s)
			if !ok || (w0 >= 0 && w != w0) {
				return 0, false
			}
			w0 = w
		}
		return w0, w0 >= 0
	case syntax.OpRepeat:
		if e.Min == e.Max {
			w, ok := width(e.Sub[0])
			return w * e.Min, ok
		}
	}
	return 0, false
}

// charsOf adds every ASCII character e can match to set; false when e can
// match a character it cannot tell (non-ASCII classes are allowed: they
// cannot collide with the ASCII first characters endUnique compares).
func charsOf(e *syntax.Regexp, set *[4]uint64) bool {
	add := func(lo, hi rune) {
		for c := lo; c <= hi && c < 128; c++ {
			set[c>>6] |= 1 << (uint(c) & 63)
		}
	}
	switch e.Op {
	case syntax.OpLiteral:
		for _, r := range e.Rune {
			add(r, r)
			if e.Flags&syntax.FoldCase != 0 {
				if r >= 'a' && r <= 'z' {
					add(r-32, r-32)
				} else if r >= 'A' && r <= 'Z' {
					add(r+32, r+32)
				}
			}
		}
		return true
	case syntax.OpCharClass:
		for i := 0; i+1 < len(e.Rune); i += 2 {
			add(e.Rune[i], e.Rune[i+1])
		}
		return true
	case syntax.OpAnyCharNotNL:
		add(0, '\n'-1)
		add('\n'+1, 127)
		return true
	case syntax.OpAnyChar:
		add(0, 127)
		return true
	case syntax.OpBeginText, syntax.OpBeginLine, syntax.OpEmptyMatch, syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpEndText, syntax.OpEndLine:
		return true
	case syntax.OpCapture, syntax.OpConcat, syntax.OpAlternate, syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		for _, s := range e.Sub {
			if !charsOf(s, set) {
				return false
			}
		}
		return true
	}
	return false
}
