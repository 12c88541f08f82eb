package blocklist

import (
	"math/bits"
	"net/netip"
)

// Range is an inclusive range of addresses of one family.
type Range struct{ First, Last netip.Addr }

// Contains reports whether a is in r.
func (r Range) Contains(a netip.Addr) bool {
	a = a.Unmap()
	return a.Is4() == r.First.Is4() && r.First.Compare(a) <= 0 && a.Compare(r.Last) <= 0
}

// Ranges turns a list's prefixes into the fewest ranges covering exactly
// the addresses of ps and none of allow: overlapping, nested and adjacent
// entries are joined, and every allowed address is cut out (an allowlist
// always wins over a list). IPv4 comes first, each family sorted. An
// IPv4-mapped IPv6 entry counts as IPv4.
func Ranges(ps, allow []netip.Prefix) []Range {
	var e Entries
	for _, p := range ps {
		e.Add(p)
	}
	return e.Ranges(allow)
}

// subtract removes the addresses of cut from list (both merged and
// sorted).
func subtract(list, cut []span) []span {
	var out []span
	j := 0
	for _, s := range list {
		for j < len(cut) && cut[j].last.less(s.first) {
			j++
		}
		cur := s
		keep := true
		for k := j; k < len(cut) && !s.last.less(cut[k].first); k++ {
			c := cut[k]
			if cur.first.less(c.first) { // the part before the cut stays
				prev := c.first.subOne()
				out = append(out, span{cur.first, prev})
			}
			if !c.last.less(cur.last) { // the cut reaches past the end
				keep = false
				break
			}
			next, _ := c.last.addOne()
			if next.less(cur.first) {
				continue
			}
			cur.first = next
		}
		if keep {
			out = append(out, cur)
		}
	}
	return out
}

// subOne returns a-1 (a is never zero where it is used).
func (a u128) subOne() u128 {
	lo, b := bits.Sub64(a.lo, 1, 0)
	hi, _ := bits.Sub64(a.hi, 0, b)
	return u128{hi, lo}
}
