package blocklist

import (
	"math/bits"
	"net/netip"
	"slices"
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
	var out []Range
	for _, is4 := range []bool{true, false} {
		list := spans(ps, is4)
		cut := spans(allow, is4)
		for _, s := range subtract(list, cut) {
			out = append(out, Range{First: fromU128(s.first, is4), Last: fromU128(s.last, is4)})
		}
	}
	return out
}

// spans returns the merged, sorted spans of the prefixes of one family.
func spans(ps []netip.Prefix, is4 bool) []span {
	var in []span
	for _, p := range ps {
		if !p.IsValid() {
			continue
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		if p.Addr().Is4() == is4 {
			in = append(in, spanOf(p))
		}
	}
	slices.SortFunc(in, func(a, b span) int {
		switch {
		case a.first.less(b.first):
			return -1
		case b.first.less(a.first):
			return 1
		}
		return 0
	})
	var merged []span
	for _, s := range in {
		if n := len(merged); n > 0 {
			last := &merged[n-1]
			next, overflow := last.last.addOne()
			if overflow || !next.less(s.first) { // overlapping or adjacent
				if last.last.less(s.last) {
					last.last = s.last
				}
				continue
			}
		}
		merged = append(merged, s)
	}
	return merged
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
