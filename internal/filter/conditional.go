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
	conds := map[string]string{} // "__cN" (the conditional's wrapper) -> referenced group
	for _, c := range checks {
		if c.kind == checkCond {
			conds[strings.TrimSuffix(c.yes, "y")] = c.cond
		}
	}
	if len(conds) == 0 {
		return pattern, true
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return pattern, false
	}
	var elems []*syntax.Regexp
	if re.Op == syntax.OpConcat {
		elems = re.Sub
	} else {
		elems = []*syntax.Regexp{re}
	}
	out, left := splitConds(elems, conds, 0)
	if left > 0 {
		return pattern, false
	}
	res := &syntax.Regexp{Op: syntax.OpConcat, Flags: re.Flags, Sub: out}
	return res.String(), true
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
