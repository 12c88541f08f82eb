package webattack

import "fmt"

// prefilter is an Aho-Corasick automaton over every rule's literals,
// matched case-insensitively in one pass per field. Its output for a field
// is the set of rules one of whose literals occurs there; only those rules
// run their pattern. Bytes are mapped to classes first (all bytes that
// appear in no literal share class 0) so the transition table stays small.
type prefilter struct {
	cls   [256]uint8
	ncls  int
	delta []uint16 // delta[state*ncls+class] = next state (few states: half the cache)
	out   []int32  // out[state] = offset into bits of its rule set, or -1
	bits  []uint64
	words int // uint64 words per rule set
}

// buildPrefilter compiles literal groups: group i sets bit i.
func buildPrefilter(groups [][]string) (*prefilter, error) {
	p := &prefilter{words: (len(groups) + 63) / 64}
	if p.words == 0 {
		p.words = 1
	}
	// Byte classes: one per distinct lower-case byte, upper case sharing
	// it. The shell separators ; | & share one class and so do space and tab: the
	// prefilter only has to let through a superset of what patterns match,
	// and this keeps "separator, blank, command" literals from multiplying
	// the automaton.
	next := 1
	for _, eq := range [...]string{";|&", " \t"} {
		for i := 0; i < len(eq); i++ {
			p.cls[eq[i]] = uint8(next)
		}
		next++
	}
	for _, g := range groups {
		for _, l := range g {
			for i := 0; i < len(l); i++ {
				c := l[i]
				if p.cls[c] == 0 {
					if next == 255 {
						continue // more distinct bytes than classes: shares class 255's slot below
					}
					p.cls[c] = uint8(next)
					if 'a' <= c && c <= 'z' {
						p.cls[c-'a'+'A'] = uint8(next)
					}
					next++
				}
			}
		}
	}
	p.ncls = next
	// The trie is built in the transition table itself: row s holds s's
	// children (0: none, since the root is nobody's child). The
	// breadth-first pass then sets the fail links and fills each row's
	// missing transitions from its fail state's row, shallower rows first.
	// The trie has at most one state per literal byte, plus the root: the
	// table is allocated once at that bound (growing it row by row copied
	// the whole table again and again, most of start-up).
	bound := 1
	for _, g := range groups {
		for _, l := range g {
			bound += len(l)
		}
	}
	bound = min(bound, maxStates)
	p.delta = make([]uint16, p.ncls, bound*p.ncls)
	rules := make([][]int, 1, bound)
	for ri, g := range groups {
		for _, l := range g {
			s := 0
			for i := 0; i < len(l); i++ {
				k := int(p.cls[l[i]])
				child := int(p.delta[s*p.ncls+k])
				if child == 0 {
					child = len(rules)
					if child >= maxStates {
						return nil, fmt.Errorf("webattack: the rules' literals make more than %d prefilter states: shorten literal lists", maxStates)
					}
					rules = append(rules, nil)
					p.delta = p.delta[:len(p.delta)+p.ncls] // zero: fresh from make
					p.delta[s*p.ncls+k] = uint16(child)
				}
				s = child
			}
			rules[s] = append(rules[s], ri)
		}
	}
	n := len(rules)
	fail := make([]int32, n)
	sets := make([][]uint64, n)
	order := make([]int32, 1, n)
	for q := 0; q < len(order); q++ {
		s := order[q]
		set := make([]uint64, p.words)
		if s != 0 {
			copy(set, sets[fail[s]])
		}
		for _, ri := range rules[s] {
			set[ri/64] |= 1 << (ri % 64)
		}
		sets[s] = set
		row := p.delta[int(s)*p.ncls : int(s+1)*p.ncls]
		f := int(fail[s]) * p.ncls
		for c := 0; c < p.ncls; c++ {
			child := int32(row[c])
			if c == 0 {
				child = 0 // class 0 is "in no literal"
			}
			if child != 0 {
				if s != 0 {
					fail[child] = int32(p.delta[f+c])
				}
				order = append(order, child)
			} else if s != 0 {
				row[c] = p.delta[f+c]
			}
		}
	}
	p.out = make([]int32, n)
	for s := range sets {
		p.out[s] = -1
		empty := true
		for _, w := range sets[s] {
			if w != 0 {
				empty = false
			}
		}
		if !empty {
			p.out[s] = int32(len(p.bits))
			p.bits = append(p.bits, sets[s]...)
		}
	}
	// Mark transitions into states with an output, so scan tests the
	// entry it has just loaded instead of loading out[] for every byte.
	for i, next := range p.delta {
		if p.out[next] >= 0 {
			p.delta[i] = next | hasOutput
		}
	}
	return p, nil
}

// maxStates and hasOutput split a delta entry: the next state in the low
// 15 bits, and whether that state has an output in the top bit.
const (
	maxStates = 1 << 15
	hasOutput = 1 << 15
)

// scan ORs into cand the rules with a literal in b and reports whether any.
func (p *prefilter) scan(b []byte, cand []uint64) bool {
	s := 0
	hit := false
	ncls := p.ncls
	delta, cls := p.delta, &p.cls
	for _, c := range b {
		x := delta[s*ncls+int(cls[c])]
		s = int(x &^ hasOutput)
		if x&hasOutput != 0 {
			o := p.out[s]
			hit = true
			for w := 0; w < p.words; w++ {
				cand[w] |= p.bits[int(o)+w]
			}
		}
	}
	return hit
}
