package webattack

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// A pattern that is one long alternation ("\bjava\.lang\.…|\bgetruntime…|
// \bnew\s+processbuilder…") costs Go's regexp every branch at every byte:
// it cannot skip ahead to where one could match, and a program over 500
// instructions runs on its NFA instead of its backtracker. branchSet
// compiles each top-level branch on its own, with a literal every match of
// that branch contains, and runs a branch only on a value holding its
// literal. It finds what the whole pattern finds: the leftmost match, and
// at the same start the first branch's, as Go's leftmost-first rule does.
type branchSet struct {
	// pattern is the pattern as written, compiled whole (once, when first
	// needed) only for values holding a rune that case-folds to an ASCII
	// letter (K for k, ſ for s): lower-casing ASCII leaves them, and a
	// branch looking for a lower-cased literal would miss what the whole
	// pattern's (?i) matches.
	pattern  string
	branches []branch
	once     sync.Once
	whole    *regexp.Regexp
}

// foldOutlier reports whether v holds the Kelvin sign or the long s.
func foldOutlier(v []byte) bool {
	return bytes.Contains(v, []byte("\u212a")) || bytes.Contains(v, []byte("\u017f"))
}

// wholePattern is bs.pattern compiled.
func (bs *branchSet) wholePattern() *regexp.Regexp {
	bs.once.Do(func() { bs.whole = regexp.MustCompile(bs.pattern) })
	return bs.whole
}

type branch struct {
	re *regexp.Regexp
	// need is a literal every match contains (nil: none known).
	need []byte
}

// splitBranches compiles a pattern's top-level branches. lowered says
// the values it will see are lower-cased (ASCII): a case-folded literal is
// then looked for, and matched, in lower case.
func splitBranches(pattern string, lowered bool) (*branchSet, error) {
	if _, err := syntax.Parse(pattern, syntax.Perl); err != nil {
		return nil, err // the message regexp.Compile gives
	}
	return splitValid(pattern, lowered, false)
}

// splitRule is splitBranches for a rule's pattern, already compiled whole:
// nil unless the branches are worth running instead (at least two, and a
// literal to look for in at least two), found before compiling any.
func splitRule(pattern string, lowered bool) *branchSet {
	bs, err := splitValid(pattern, lowered, true)
	if err != nil {
		return nil
	}
	return bs
}

func splitValid(pattern string, lowered, onlyWorth bool) (*branchSet, error) {
	flags, parts := splitAlternation(pattern)
	if onlyWorth && len(parts) < 2 {
		return nil, nil
	}
	trees := make([]*syntax.Regexp, len(parts))
	needs := make([]string, len(parts))
	withNeed := 0
	for i, p := range parts {
		tree, err := syntax.Parse(flags+"(?:"+p+")", syntax.Perl)
		if err != nil {
			return nil, err // cannot happen: p is a branch of a valid pattern
		}
		trees[i], needs[i] = tree, requiredLiteral(tree, lowered)
		if needs[i] != "" {
			withNeed++
		}
	}
	if onlyWorth && withNeed < 2 {
		return nil, nil
	}
	bs := &branchSet{pattern: pattern}
	for i, p := range parts {
		full := flags + "(?:" + p + ")"
		// Matching folds case at every step; on the lower-cased value the
		// branch's literals need not, and a literal prefix lets the search
		// skip ahead. Turning the tree back into text folds every rune of
		// every class, so a branch with a large class (a negated one) is
		// compiled as written.
		if lowered && !bigClass(trees[i]) && unfoldLiterals(trees[i]) {
			full = trees[i].String()
		}
		re, err := regexp.Compile(full)
		if err != nil {
			return nil, err
		}
		bs.branches = append(bs.branches, branch{re: re, need: []byte(needs[i])})
	}
	return bs, nil
}

// match reports whether v holds a match of any branch.
func (bs *branchSet) match(v []byte) bool {
	if foldOutlier(v) {
		return bs.wholePattern().Match(v)
	}
	for i := range bs.branches {
		b := &bs.branches[i]
		if len(b.need) > 0 && !bytes.Contains(v, b.need) {
			continue
		}
		if b.re.Match(v) {
			return true
		}
	}
	return false
}

// findIndex returns the match the whole pattern's FindIndex returns.
func (bs *branchSet) findIndex(v []byte) []int {
	if foldOutlier(v) {
		return bs.wholePattern().FindIndex(v)
	}
	var best []int
	for i := range bs.branches {
		b := &bs.branches[i]
		if len(b.need) > 0 && !bytes.Contains(v, b.need) {
			continue
		}
		if loc := b.re.FindIndex(v); loc != nil && (best == nil || loc[0] < best[0]) {
			best = loc
			if best[0] == 0 {
				break // no branch after this one can start before it
			}
		}
	}
	return best
}

// splitAlternation splits a valid pattern at its top-level "|": the
// leading flag groups ("(?i)") and one group around the whole pattern
// ("(?:a|b)") are looked through. It works on the text, as the syntax
// tree can only be turned back into text at a high cost (case folding
// every rune of every class). flags is prefixed to each branch.
func splitAlternation(p string) (flags string, branches []string) {
	for strings.HasPrefix(p, "(?") {
		end := strings.IndexByte(p, ')')
		if end < 0 || strings.Trim(p[2:end], "imsU-") != "" {
			break
		}
		flags, p = flags+p[:end+1], p[end+1:]
	}
	if parts := splitTop(p); len(parts) == 1 && strings.HasPrefix(p, "(?:") && strings.HasSuffix(p, ")") && closes(p) == len(p)-1 {
		p = p[3 : len(p)-1]
	}
	return flags, splitTop(p)
}

// splitTop splits p at the "|" outside groups, classes and \Q…\E quotes.
func splitTop(p string) []string {
	var out []string
	depth, start := 0, 0
	noSplit := false
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			if end, quoted := quoteEnd(p, i); quoted {
				if end >= 0 {
					i = end
					continue
				}
				// quoted to the end: close the quote, as the branch is
				// wrapped in a group
				if noSplit {
					return []string{p + `\E`}
				}
				return append(out, p[start:]+`\E`)
			}
			i++
		case '[':
			i = classEnd(p, i)
		case '(':
			if depth == 0 && strings.HasPrefix(p[i:], "(?") {
				if e := strings.IndexByte(p[i:], ')'); e > 2 && strings.Trim(p[i+2:i+e], "imsU-") == "" {
					noSplit = true // a flag group's scope runs across "|": do not split
				}
			}
			depth++
		case ')':
			depth--
		case '|':
			if depth == 0 && !noSplit {
				out = append(out, p[start:i])
				start = i + 1
			}
		}
	}
	if noSplit {
		return []string{p}
	}
	return append(out, p[start:])
}

// quoteEnd reports whether p[i:] opens a \Q…\E quote and, if so, the
// index of the quote's last byte (the E), or -1 when it runs to the end.
func quoteEnd(p string, i int) (int, bool) {
	if i+1 >= len(p) || p[i+1] != 'Q' {
		return 0, false
	}
	if e := strings.Index(p[i+2:], `\E`); e >= 0 {
		return i + e + 3, true
	}
	return -1, true
}

// closes returns the index of the ")" that closes the group opened at
// p[0], or -1.
func closes(p string) int {
	depth := 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			if end, quoted := quoteEnd(p, i); quoted {
				if end < 0 {
					return -1
				}
				i = end
				continue
			}
			i++
		case '[':
			i = classEnd(p, i)
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

// classEnd returns the index of the "]" closing the class opened at p[i].
func classEnd(p string, i int) int {
	j := i + 1
	if j < len(p) && p[j] == '^' {
		j++
	}
	if j < len(p) && p[j] == ']' {
		j++ // a leading ] is a member
	}
	for ; j < len(p); j++ {
		switch {
		case p[j] == '\\':
			j++
		case p[j] == '[' && j+1 < len(p) && p[j+1] == ':':
			if e := strings.Index(p[j+2:], ":]"); e >= 0 {
				j += e + 3
			}
		case p[j] == ']':
			return j
		}
	}
	return len(p)
}

// unfoldLiterals turns r's case-folded ASCII literals into lower-case
// ones (the value is lower-cased instead) and reports whether it changed
// any: a non-ASCII one (ſ folds to s) leaves r as it is.
func unfoldLiterals(r *syntax.Regexp) bool {
	var lits []*syntax.Regexp
	var walk func(*syntax.Regexp) bool
	walk = func(r *syntax.Regexp) bool {
		if r.Op == syntax.OpLiteral && r.Flags&syntax.FoldCase != 0 {
			for _, c := range r.Rune {
				if c >= utf8.RuneSelf {
					return false
				}
			}
			lits = append(lits, r)
		}
		for _, s := range r.Sub {
			if !walk(s) {
				return false
			}
		}
		return true
	}
	if !walk(r) || len(lits) == 0 {
		return false
	}
	for _, l := range lits {
		for i, c := range l.Rune {
			l.Rune[i] = unicode.ToLower(c)
		}
		l.Flags &^= syntax.FoldCase
	}
	return true
}

// bigClass reports whether r has a character class of more than 1,000
// runes.
func bigClass(r *syntax.Regexp) bool {
	if r.Op == syntax.OpCharClass || r.Op == syntax.OpAnyChar || r.Op == syntax.OpAnyCharNotNL {
		n := 0
		for i := 0; i+1 < len(r.Rune); i += 2 {
			n += int(r.Rune[i+1]-r.Rune[i]) + 1
		}
		if n > 1000 || r.Op != syntax.OpCharClass {
			return true
		}
	}
	for _, s := range r.Sub {
		if bigClass(s) {
			return true
		}
	}
	return false
}

// requiredLiteral returns the longest literal every match of r contains,
// or "". A case-folded literal counts, lower-cased, only on lowered values.
func requiredLiteral(r *syntax.Regexp, lowered bool) string {
	switch r.Op {
	case syntax.OpLiteral:
		if r.Flags&syntax.FoldCase != 0 {
			if !lowered {
				return ""
			}
			for _, c := range r.Rune {
				if c >= utf8.RuneSelf {
					return "" // ſ folds to s: no one literal to look for
				}
			}
			return strings.ToLower(string(r.Rune)) // the value is lower-cased
		}
		return string(r.Rune)
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiteral(r.Sub[0], lowered)
	case syntax.OpRepeat:
		if r.Min > 0 {
			return requiredLiteral(r.Sub[0], lowered)
		}
	case syntax.OpConcat:
		best := ""
		for _, s := range r.Sub {
			if l := requiredLiteral(s, lowered); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return ""
}
