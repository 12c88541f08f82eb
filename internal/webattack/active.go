package webattack

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"unicode"
)

// activeMarkers is free_text.toml's "active" pattern compiled for speed.
// The pattern is one long alternation of markers; Go's regexp runs such an
// alternation as an NFA that tries every branch at every byte (about 40 µs
// for a 35-byte value). Split into its branches, each run only when the
// value holds the literal the branch cannot match without ("(" for a call,
// "://" for a scheme), on the value lower-cased once instead of folding
// case in every branch, the same answer costs a few microseconds. It
// matches what the whole pattern matches, on ASCII case (the value is
// lower-cased as the rules' fold = true are).
type activeMarkers struct {
	// pattern is the pattern as written; it is not compiled whole (the
	// one big case-folded program costs more to compile than all the
	// branches).
	pattern  string
	branches []activeBranch
}

type activeBranch struct {
	re *regexp.Regexp
	// need is a literal every match contains (nil: none known).
	need []byte
}

// compileActive compiles pattern (Go RE2 syntax) into markers.
func compileActive(pattern string) (*activeMarkers, error) {
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err // the message regexp.Compile gives
	}
	for tree.Op == syntax.OpCapture {
		tree = tree.Sub[0]
	}
	subs := []*syntax.Regexp{tree}
	if tree.Op == syntax.OpAlternate {
		subs = tree.Sub
	}
	m := &activeMarkers{pattern: pattern}
	for _, s := range subs {
		unfoldLiterals(s)
		re, err := regexp.Compile(s.String())
		if err != nil {
			return nil, err // cannot happen: s came from a valid pattern
		}
		m.branches = append(m.branches, activeBranch{re: re, need: []byte(requiredLiteral(s))})
	}
	return m, nil
}

// match reports whether lower-cased value low holds a marker.
func (m *activeMarkers) match(low []byte) bool {
	for i := range m.branches {
		b := &m.branches[i]
		if len(b.need) > 0 && !bytes.Contains(low, b.need) {
			continue
		}
		if b.re.Match(low) {
			return true
		}
	}
	return false
}

// unfoldLiterals turns r's case-folded literals into lower-case ones: the
// input is lower-cased instead. Character classes of a case-insensitive
// pattern already hold both cases.
func unfoldLiterals(r *syntax.Regexp) {
	if r.Op == syntax.OpLiteral && r.Flags&syntax.FoldCase != 0 {
		for i, c := range r.Rune {
			r.Rune[i] = unicode.ToLower(c)
		}
		r.Flags &^= syntax.FoldCase
	}
	for _, s := range r.Sub {
		unfoldLiterals(s)
	}
}

// requiredLiteral returns the longest case-sensitive literal every match
// of r contains, or "".
func requiredLiteral(r *syntax.Regexp) string {
	switch r.Op {
	case syntax.OpLiteral:
		if r.Flags&syntax.FoldCase != 0 {
			return ""
		}
		return string(r.Rune)
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiteral(r.Sub[0])
	case syntax.OpRepeat:
		if r.Min > 0 {
			return requiredLiteral(r.Sub[0])
		}
	case syntax.OpConcat:
		best := ""
		for _, s := range r.Sub {
			if l := requiredLiteral(s); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return ""
}
