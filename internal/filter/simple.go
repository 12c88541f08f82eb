package filter

import (
	"regexp/syntax"
	"unicode/utf8"
)

// simpleElem is one element of a plain sequence: a literal, or a character
// class repeated min..max times (max < 0: unbounded).
type simpleElem struct {
	lit      []byte
	set      [4]uint64 // byte membership; the high bytes stand for non-ASCII runes
	min, max int
}

// simpleSeq returns S as a plain sequence that greedy matching decides
// without backtracking — literals and repeated ASCII classes, each class
// disjoint from what follows it — or nil. Capture groups rule it out (the
// caller would lose their spans).
func simpleSeq(re *syntax.Regexp) []simpleElem {
	elems := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		elems = re.Sub
	}
	var out []simpleElem
	for _, e := range elems {
		var se simpleElem
		switch e.Op {
		case syntax.OpLiteral:
			if e.Flags&syntax.FoldCase != 0 {
				return nil
			}
			for _, r := range e.Rune {
				se.lit = utf8.AppendRune(se.lit, r)
			}
		case syntax.OpCharClass, syntax.OpAnyCharNotNL:
			if !classSet(e, &se.set) {
				return nil
			}
			se.min, se.max = 1, 1
		case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
			if e.Flags&syntax.NonGreedy != 0 || !classSet(e.Sub[0], &se.set) {
				return nil
			}
			switch e.Op {
			case syntax.OpStar:
				se.min, se.max = 0, -1
			case syntax.OpPlus:
				se.min, se.max = 1, -1
			case syntax.OpQuest:
				se.min, se.max = 0, 1
			default:
				se.min, se.max = e.Min, e.Max
			}
		default:
			return nil
		}
		out = append(out, se)
	}
	// A repeated class must not be able to eat what the next element needs,
	// or greedy matching would have to give characters back.
	for i := 0; i+1 < len(out); i++ {
		a := out[i]
		if a.lit != nil || (a.min == a.max) {
			continue
		}
		var next [4]uint64
		if n := out[i+1]; n.lit != nil {
			c := n.lit[0]
			next[c>>6] |= 1 << (c & 63)
		} else {
			if n.min == 0 {
				return nil // an optional next element: what follows it matters too
			}
			next = n.set
		}
		for k := range next {
			if a.set[k]&next[k] != 0 {
				return nil
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// classSet fills set with the bytes a single-character element matches: its
// ASCII members, and every byte >= 0x80 when it matches all non-ASCII runes
// (\S, [^.], .). A class matching only some non-ASCII runes is refused.
func classSet(e *syntax.Regexp, set *[4]uint64) bool {
	add := func(lo, hi rune) {
		for c := lo; c <= hi; c++ {
			set[c>>6] |= 1 << (uint(c) & 63)
		}
	}
	switch e.Op {
	case syntax.OpAnyCharNotNL:
		add(0, '\n'-1)
		add('\n'+1, 127)
		set[2], set[3] = ^uint64(0), ^uint64(0)
		return true
	case syntax.OpLiteral:
		if len(e.Rune) != 1 || e.Rune[0] >= utf8.RuneSelf || e.Flags&syntax.FoldCase != 0 {
			return false
		}
		add(e.Rune[0], e.Rune[0])
		return true
	case syntax.OpCharClass:
		for i := 0; i+1 < len(e.Rune); i += 2 {
			lo, hi := e.Rune[i], e.Rune[i+1]
			if hi >= utf8.RuneSelf {
				if lo > utf8.RuneSelf || hi != utf8.MaxRune {
					return false
				}
				set[2], set[3] = ^uint64(0), ^uint64(0)
				hi = utf8.RuneSelf - 1
			}
			if lo <= hi {
				add(lo, hi)
			}
		}
		return true
	}
	return false
}

// matchSimple matches seq at the start of b and returns its length, or -1.
func matchSimple(seq []simpleElem, b []byte) int {
	pos := 0
	for i := range seq {
		e := &seq[i]
		if e.lit != nil {
			if len(b)-pos < len(e.lit) || string(b[pos:pos+len(e.lit)]) != string(e.lit) {
				return -1
			}
			pos += len(e.lit)
			continue
		}
		n := 0
		for pos < len(b) && (e.max < 0 || n < e.max) {
			c := b[pos]
			if e.set[c>>6]&(1<<(c&63)) == 0 {
				break
			}
			pos++
			n++
		}
		if n < e.min {
			return -1
		}
	}
	return pos
}
