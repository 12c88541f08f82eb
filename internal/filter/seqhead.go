package filter

import (
	"regexp"
	"regexp/syntax"
)

// seqHead evaluates a prefregex head made only of optional parts — Fail2ban's
// __prefix_line is `(?:\[\])?\s*(?:<…>\s+)?(?:\S+\s+)?(?:kernel…)?…` —
// part by part instead of with one backtracking run over the line.
//
// With every part optional and the content after them being `.+$`, the
// backtracking engine's first match takes, part after part, that part's own
// first match at the current position (a later part can always be skipped,
// so nothing makes it revisit an earlier choice), as long as some content
// remains; when none does, the caller falls back to the whole regex. A part
// that cannot start with the byte at the current position is skipped
// without running anything, which is what makes this fast.
type seqHead struct {
	parts []seqPart
	caps  []seqCap // captures around runs of parts (Fail2ban's <F-MLFID>)
}

type seqPart struct {
	re       *regexp.Regexp // ^(?:S)
	simple   []simpleElem   // S matched by hand, when it is a plain sequence (simple.go)
	first    [4]uint64      // bytes S can start with, when !canEmpty
	canEmpty bool
	star     bool
	groups   []int // global group index per local group (0 unused)
}

type seqCap struct {
	idx        int // global group index
	from, upto int // parts [from, upto) inside it
}

// newSeqHead analyses head (the RE2 head of a ^…(?P<content>.+)$ pattern);
// global maps group names to the full pattern's indexes. nil if head has
// another shape.
func newSeqHead(head string, global func(string) int) *seqHead {
	re, err := syntax.Parse(head, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return nil
	}
	h := &seqHead{}
	for _, e := range re.Sub[1:] {
		if e.Op == syntax.OpCapture {
			if e.Name == "" || global(e.Name) < 0 {
				return nil
			}
			inner := []*syntax.Regexp{e.Sub[0]}
			if e.Sub[0].Op == syntax.OpConcat {
				inner = e.Sub[0].Sub
			}
			c := seqCap{idx: global(e.Name), from: len(h.parts)}
			for _, s := range inner {
				if !h.add(s, global) {
					return nil
				}
			}
			c.upto = len(h.parts)
			h.caps = append(h.caps, c)
			continue
		}
		if !h.add(e, global) {
			return nil
		}
	}
	if len(h.parts) == 0 {
		return nil
	}
	return h
}

func (h *seqHead) add(e *syntax.Regexp, global func(string) int) bool {
	if (e.Op != syntax.OpQuest && e.Op != syntax.OpStar) || e.Flags&syntax.NonGreedy != 0 {
		return false
	}
	sub := e.Sub[0]
	re, err := regexp.Compile(`^(?:` + reString(sub) + `)`)
	if err != nil {
		return false
	}
	p := seqPart{re: re, star: e.Op == syntax.OpStar, simple: simpleSeq(sub)}
	p.groups = make([]int, re.NumSubexp()+1)
	for i, n := range re.SubexpNames() {
		if i == 0 {
			continue
		}
		if n == "" || global(n) < 0 {
			return false // a group the full pattern cannot name
		}
		p.groups[i] = global(n)
	}
	done, ok := firstOf(sub, &p.first)
	if !ok {
		return false
	}
	p.canEmpty = !done
	h.parts = append(h.parts, p)
	return true
}

// match fills loc (2 per group of the full pattern, all -1 on entry) and
// returns where the content starts, or -1 when the caller must run the
// whole regex (no content would remain).
func (h *seqHead) match(buf []byte, loc []int) int {
	pos := 0
	for i := range h.parts {
		p := &h.parts[i]
		start := pos
		for {
			if pos < len(buf) && !p.canEmpty {
				c := buf[pos]
				if p.first[c>>6]&(1<<(c&63)) == 0 {
					break
				}
			} else if pos >= len(buf) && !p.canEmpty {
				break
			}
			if p.simple != nil {
				n := matchSimple(p.simple, buf[pos:])
				if n < 0 {
					break
				}
				pos += n
				if !p.star || n == 0 {
					break
				}
				continue
			}
			m := p.re.FindSubmatchIndex(buf[pos:])
			if m == nil {
				break
			}
			for g := 1; g < len(p.groups); g++ {
				if m[2*g] >= 0 {
					loc[2*p.groups[g]], loc[2*p.groups[g]+1] = pos+m[2*g], pos+m[2*g+1]
				}
			}
			pos += m[1]
			if !p.star || m[1] == 0 {
				break
			}
		}
		for _, c := range h.caps {
			if c.from == i {
				loc[2*c.idx] = start
			}
			if c.upto == i+1 {
				loc[2*c.idx+1] = pos
			}
		}
	}
	if pos >= len(buf) {
		return -1
	}
	return pos
}
