package blocklist

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestRanges(t *testing.T) {
	pp := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	got := Ranges(pp("192.0.2.0/25", "192.0.2.128/25", "198.51.100.7/32", "198.51.100.8/32", "2001:db8::/48", "::ffff:203.0.113.0/120"),
		pp("192.0.2.10/32", "192.0.2.64/26", "2001:db8::1/128"))
	want := []string{
		"192.0.2.0-192.0.2.9", "192.0.2.11-192.0.2.63", "192.0.2.128-192.0.2.255",
		"198.51.100.7-198.51.100.8", "203.0.113.0-203.0.113.255",
		"2001:db8::-2001:db8::", "2001:db8::2-2001:db8:0:ffff:ffff:ffff:ffff:ffff",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d ranges %v, want %v", len(got), got, want)
	}
	for i, r := range got {
		if s := r.First.String() + "-" + r.Last.String(); s != want[i] {
			t.Errorf("range %d = %s, want %s", i, s, want[i])
		}
	}
	// An allowlist covering everything leaves nothing.
	if r := Ranges(pp("192.0.2.0/24"), pp("0.0.0.0/0")); len(r) != 0 {
		t.Errorf("all allowed: %v", r)
	}
}

// Against a brute force over a small address space: every address is in
// the ranges exactly when it is listed and not allowed.
func TestRangesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		var list, allow []netip.Prefix
		rand := func() netip.Prefix {
			a := netip.AddrFrom4([4]byte{192, 0, 2, byte(rng.IntN(256))})
			return netip.PrefixFrom(a, 24+rng.IntN(9)).Masked()
		}
		for i := rng.IntN(12); i >= 0; i-- {
			list = append(list, rand())
		}
		for i := rng.IntN(5); i > 0; i-- {
			allow = append(allow, rand())
		}
		rs := Ranges(list, allow)
		for i := 1; i < len(rs); i++ {
			if next := rs[i-1].Last.Next(); rs[i].First.Compare(next) <= 0 {
				t.Fatalf("ranges %v and %v overlap or touch", rs[i-1], rs[i])
			}
		}
		for x := 0; x < 256; x++ {
			a := netip.AddrFrom4([4]byte{192, 0, 2, byte(x)})
			want := false
			for _, p := range list {
				want = want || p.Contains(a)
			}
			for _, p := range allow {
				want = want && !p.Contains(a)
			}
			got := false
			for _, r := range rs {
				got = got || r.Contains(a)
			}
			if got != want {
				t.Fatalf("round %d, %s: in ranges %v, want %v (list %v allow %v → %v)", round, a, got, want, list, allow, rs)
			}
		}
	}
}
