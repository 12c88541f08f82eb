package blocklist

import (
	"math/bits"
	"net/netip"
	"slices"
)

// u128 is an address as a 128-bit number (IPv4 in the low 32 bits).
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func (a u128) addOne() (u128, bool) {
	lo, c := bits.Add64(a.lo, 1, 0)
	hi, c2 := bits.Add64(a.hi, 0, c)
	return u128{hi, lo}, c2 != 0
}

// mask returns a with its low n bits set.
func (a u128) orLow(n int) u128 {
	switch {
	case n >= 128:
		return u128{^uint64(0), ^uint64(0)}
	case n > 64:
		return u128{a.hi | (1<<(n-64) - 1), ^uint64(0)}
	case n == 64:
		return u128{a.hi, ^uint64(0)}
	default:
		return u128{a.hi, a.lo | (1<<n - 1)}
	}
}

// trailingZeros counts a's trailing zero bits (128 for zero).
func (a u128) trailingZeros() int {
	if a.lo != 0 {
		return bits.TrailingZeros64(a.lo)
	}
	if a.hi != 0 {
		return 64 + bits.TrailingZeros64(a.hi)
	}
	return 128
}

func toU128(a netip.Addr) u128 {
	b := a.As16()
	if a.Is4() {
		v := a.As4()
		return u128{0, uint64(v[0])<<24 | uint64(v[1])<<16 | uint64(v[2])<<8 | uint64(v[3])}
	}
	var hi, lo uint64
	for i := range 8 {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[i+8])
	}
	return u128{hi, lo}
}

func fromU128(v u128, is4 bool) netip.Addr {
	if is4 {
		x := uint32(v.lo)
		return netip.AddrFrom4([4]byte{byte(x >> 24), byte(x >> 16), byte(x >> 8), byte(x)})
	}
	var b [16]byte
	for i := range 8 {
		b[7-i] = byte(v.hi >> (8 * i))
		b[15-i] = byte(v.lo >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

type span struct{ first, last u128 }

func spanOf(p netip.Prefix) span {
	p = p.Masked()
	first := toU128(p.Addr())
	host := p.Addr().BitLen() - p.Bits()
	return span{first, first.orLow(host)}
}

// Merge returns the smallest list of prefixes covering exactly the
// addresses of ps: overlapping, nested and adjacent networks are joined
// (192.0.2.0/25 and 192.0.2.128/25 become 192.0.2.0/24). IPv4 comes
// first, each family sorted. Invalid prefixes are ignored; an IPv4-mapped
// IPv6 prefix counts as IPv6.
func Merge(ps []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, is4 := range []bool{true, false} {
		var spans []span
		for _, p := range ps {
			if p.IsValid() && p.Addr().Is4() == is4 {
				spans = append(spans, spanOf(p))
			}
		}
		slices.SortFunc(spans, func(a, b span) int {
			switch {
			case a.first.less(b.first):
				return -1
			case b.first.less(a.first):
				return 1
			}
			return 0
		})
		var merged []span
		for _, s := range spans {
			if n := len(merged); n > 0 {
				last := &merged[n-1]
				next, overflow := last.last.addOne()
				// Overlapping or adjacent: extend.
				if overflow || !next.less(s.first) {
					if last.last.less(s.last) {
						last.last = s.last
					}
					continue
				}
			}
			merged = append(merged, s)
		}
		width := 128
		if is4 {
			width = 32
		}
		for _, s := range merged {
			out = appendCIDRs(out, s, width, is4)
		}
	}
	return out
}

// appendCIDRs appends the fewest prefixes covering s exactly.
func appendCIDRs(out []netip.Prefix, s span, width int, is4 bool) []netip.Prefix {
	cur := s.first
	for {
		// The largest block starting at cur that is aligned and stays
		// within s.
		host := min(cur.trailingZeros(), width)
		for host > 0 && s.last.less(cur.orLow(host)) {
			host--
		}
		out = append(out, netip.PrefixFrom(fromU128(cur, is4), width-host))
		end := cur.orLow(host)
		if end == s.last {
			return out
		}
		cur, _ = end.addOne()
	}
}
