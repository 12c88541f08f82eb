package blocklist

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// The compact entries against a brute force over both families at once
// (small spaces at the edges of each: 0.0.0.0/24 and 255.255.255.0/24,
// ::/120 and ffff:…:ff00/120, where carries and the top of the space
// are), with the entries added in random order and mixed families.
func TestEntriesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	bases := []netip.Addr{
		netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.0"),
		netip.MustParseAddr("::"), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00"),
	}
	at := func(base netip.Addr, x int) netip.Addr {
		b := base.AsSlice()
		b[len(b)-1] = byte(x)
		a, _ := netip.AddrFromSlice(b)
		return a
	}
	for round := 0; round < 300; round++ {
		var list, allow []netip.Prefix
		pick := func() netip.Prefix {
			base := bases[rng.IntN(len(bases))]
			return netip.PrefixFrom(at(base, rng.IntN(256)), base.BitLen()-rng.IntN(9)).Masked()
		}
		for i := rng.IntN(16); i >= 0; i-- {
			list = append(list, pick())
		}
		for i := rng.IntN(6); i > 0; i-- {
			allow = append(allow, pick())
		}
		var e Entries
		for _, p := range list {
			e.Add(p)
		}
		if e.Len() != len(list) {
			t.Fatalf("Len %d, want %d", e.Len(), len(list))
		}
		rs := e.Ranges(allow)
		for i := 1; i < len(rs); i++ {
			if rs[i-1].First.Is4() == rs[i].First.Is4() && rs[i].First.Compare(rs[i-1].Last.Next()) <= 0 {
				t.Fatalf("ranges %v and %v overlap or touch", rs[i-1], rs[i])
			}
			if !rs[i-1].First.Is4() && rs[i].First.Is4() {
				t.Fatalf("IPv6 range %v before IPv4 %v", rs[i-1], rs[i])
			}
		}
		for _, base := range bases {
			for x := 0; x < 256; x++ {
				a := at(base, x)
				want := slices.ContainsFunc(list, func(p netip.Prefix) bool { return p.Contains(a) }) &&
					!slices.ContainsFunc(allow, func(p netip.Prefix) bool { return p.Contains(a) })
				if got := Contains(rs, a); got != want {
					t.Fatalf("round %d, %s: in ranges %v, want %v (list %v allow %v → %v)", round, a, got, want, list, allow, rs)
				}
			}
		}
		// After Ranges the entries are the merged list: the same
		// addresses, before the allowlist.
		merged := e.Prefixes()
		for _, base := range bases {
			for x := 0; x < 256; x++ {
				a := at(base, x)
				in := slices.ContainsFunc(list, func(p netip.Prefix) bool { return p.Contains(a) })
				if got := slices.ContainsFunc(merged, func(p netip.Prefix) bool { return p.Contains(a) }); got != in {
					t.Fatalf("round %d, %s: merged entries %v hold it %v, want %v", round, a, merged, got, in)
				}
			}
		}
	}
}

// Prefixes gives back what was added (IPv4 first), before Ranges.
func TestEntriesPrefixes(t *testing.T) {
	in := []string{"2001:db8::/48", "192.0.2.0/25", "198.51.100.7/32", "::ffff:203.0.113.0/120", "0.0.0.0/0", "::/0"}
	var e Entries
	for _, s := range in {
		e.Add(netip.MustParsePrefix(s))
	}
	e.Add(netip.Prefix{}) // ignored
	var got []string
	for _, p := range e.Prefixes() {
		got = append(got, p.String())
	}
	want := []string{"192.0.2.0/25", "198.51.100.7/32", "203.0.113.0/24", "0.0.0.0/0", "2001:db8::/48", "::/0"}
	if !slices.Equal(got, want) || e.Len() != 6 {
		t.Errorf("Prefixes = %v (Len %d), want %v (6)", got, e.Len(), want)
	}
}
