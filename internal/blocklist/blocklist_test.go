package blocklist

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func pfx(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestParseFormats(t *testing.T) {
	cases := []struct {
		name, body string
		want       Format
		prefixes   []netip.Prefix
		skipped    int
	}{
		{"plain", "192.0.2.1\n198.51.100.7\r\n\n2001:db8::1\n", Lines, pfx("192.0.2.1/32", "198.51.100.7/32", "2001:db8::1/128"), 0},
		{"firehol netset", "#\n# firehol_level1\n# Maintainer: x\n#\n192.0.2.0/24\n198.51.100.0/25\n203.0.113.9\n", Lines, pfx("192.0.2.0/24", "198.51.100.0/25", "203.0.113.9/32"), 0},
		{"spamhaus drop", "; Spamhaus DROP List 2026/12/03\n; Last-Modified: Thu, 03 Dec 2026\n192.0.2.0/24 ; SBL123456\n198.51.100.0/22 ; SBL7\n", Lines, pfx("192.0.2.0/24", "198.51.100.0/22"), 0},
		{"spamhaus json", `{"cidr":"192.0.2.0/24","sblid":"SBL1","rir":"arin"}` + "\n" + `{"cidr":"2001:db8::/32","sblid":"SBL2","rir":"ripencc"}` + "\n" + `{"type":"metadata","timestamp":1,"size":2,"records":2,"copyright":"x"}` + "\n", NDJSON, pfx("192.0.2.0/24", "2001:db8::/32"), 0},
		{"json array", ` ["192.0.2.1", "198.51.100.0/24", 7, "bogus"]`, JSONArray, pfx("192.0.2.1/32", "198.51.100.0/24"), 2},
		{"bad lines counted", "192.0.2.1\nnot-an-ip\n192.0.2.300\n10.0.0.1/33\n::ffff:192.0.2.1/128\n192.0.2.77/24\n", Lines, pfx("192.0.2.1/32", "192.0.2.0/24"), 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Parse(strings.NewReader(tc.body), Auto, 0)
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != tc.want || !slices.Equal(res.Prefixes(), tc.prefixes) || res.Skipped != tc.skipped {
				t.Errorf("got %s %v skipped %d %v; want %s %v skipped %d", res.Format, res.Prefixes(), res.Skipped, res.Errors, tc.want, tc.prefixes, tc.skipped)
			}
			if res.Skipped > 0 && (len(res.Errors) == 0 || res.Errors[0].Line == 0) {
				t.Errorf("skipped lines without line numbers: %v", res.Errors)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	if _, err := Parse(strings.NewReader(strings.Repeat("x", MaxLineBytes+10)), Lines, 0); err == nil {
		t.Error("an over-long line was accepted")
	}
	if _, err := Parse(strings.NewReader("192.0.2.1\n192.0.2.2\n192.0.2.3\n"), Lines, 2); err == nil {
		t.Error("a list over maxEntries was accepted")
	}
	if _, err := Parse(strings.NewReader("[1, 2"), JSONArray, 0); err == nil {
		t.Error("broken JSON was accepted")
	}
	if _, err := Parse(strings.NewReader(""), "xml", 0); err == nil {
		t.Error("an unknown format was accepted")
	}
}

func TestMerge(t *testing.T) {
	cases := []struct{ in, want []netip.Prefix }{
		{pfx("192.0.2.0/25", "192.0.2.128/25"), pfx("192.0.2.0/24")},
		{pfx("192.0.2.0/24", "192.0.2.7/32", "192.0.2.64/26"), pfx("192.0.2.0/24")},
		{pfx("192.0.2.1/32", "192.0.2.2/32"), pfx("192.0.2.1/32", "192.0.2.2/32")}, // adjacent, not one CIDR
		{pfx("192.0.2.0/32", "192.0.2.1/32", "192.0.2.2/32", "192.0.2.3/32"), pfx("192.0.2.0/30")},
		{pfx("198.51.100.0/24", "192.0.2.0/24"), pfx("192.0.2.0/24", "198.51.100.0/24")},
		{pfx("0.0.0.0/1", "128.0.0.0/1"), pfx("0.0.0.0/0")},
		{pfx("255.255.255.255/32", "255.255.255.254/32"), pfx("255.255.255.254/31")},
		{pfx("2001:db8::/33", "2001:db8:8000::/33", "192.0.2.9/32"), pfx("192.0.2.9/32", "2001:db8::/32")},
		{pfx("::/0", "2001:db8::1/128"), pfx("::/0")},
		{nil, nil},
	}
	for _, tc := range cases {
		if got := Merge(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Merge(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// covered reports whether a is in one of ps.
func covered(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// checkMerge asserts that Merge(in) covers exactly in's addresses (probed
// at every boundary of the input and output, and one past them), with
// disjoint, sorted prefixes that no pair of neighbours could join.
func checkMerge(t *testing.T, in []netip.Prefix) {
	out := Merge(in)
	var probes []netip.Addr
	for _, p := range append(slices.Clone(in), out...) {
		if !p.IsValid() {
			continue
		}
		s := spanOf(p)
		is4 := p.Addr().Is4()
		for _, v := range []u128{s.first, s.last} {
			probes = append(probes, fromU128(v, is4))
			if n, of := v.addOne(); !of && (!is4 || n.lo <= 0xffffffff) {
				probes = append(probes, fromU128(n, is4))
			}
			if v != (u128{}) {
				m := v
				if m.lo == 0 {
					m.hi--
				}
				m.lo--
				probes = append(probes, fromU128(m, is4))
			}
		}
	}
	for _, a := range probes {
		if covered(in, a) != covered(out, a) {
			t.Fatalf("Merge(%v) = %v: %s in input %v, in output %v", in, out, a, covered(in, a), covered(out, a))
		}
	}
	for i := 1; i < len(out); i++ {
		a, b := out[i-1], out[i]
		if a.Addr().Is4() != b.Addr().Is4() {
			continue
		}
		sa, sb := spanOf(a), spanOf(b)
		if !sa.last.less(sb.first) {
			t.Fatalf("Merge(%v) = %v: %s and %s overlap or are out of order", in, out, a, b)
		}
		if a.Bits() == b.Bits() && a.Bits() > 0 {
			if joined := netip.PrefixFrom(a.Addr(), a.Bits()-1).Masked(); joined.Addr() == a.Addr() && joined.Contains(b.Addr()) {
				t.Fatalf("Merge(%v) = %v: %s and %s should be %s", in, out, a, b, joined)
			}
		}
	}
}

func TestMergeRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var in []netip.Prefix
		for range r.IntN(12) {
			a := netip.AddrFrom4([4]byte{192, 0, byte(r.IntN(4)), byte(r.IntN(256))})
			in = append(in, netip.PrefixFrom(a, 20+r.IntN(13)).Masked())
		}
		checkMerge(t, in)
	}
}

// FuzzParse feeds a downloaded list (untrusted): Parse never panics, and
// every prefix it returns is valid, masked and parses back from its text.
func FuzzParse(f *testing.F) {
	f.Add([]byte("# netset\n192.0.2.0/24\n198.51.100.7 ; SBL1\n2001:db8::/32\n"))
	f.Add([]byte(`["192.0.2.1","2001:db8::1"]`))
	f.Add([]byte(`{"cidr":"192.0.2.0/24"}` + "\n" + `{"type":"metadata"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Parse(strings.NewReader(string(data)), Auto, 10000)
		if err != nil {
			return
		}
		for _, p := range res.Prefixes() {
			if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" {
				t.Fatalf("bad prefix %v from %q", p, data)
			}
			if q, err := netip.ParsePrefix(p.String()); err != nil || q != p {
				t.Fatalf("%v does not round-trip", p)
			}
		}
		checkMerge(t, res.Prefixes())
	})
}

// FuzzMerge builds prefixes from bytes and checks Merge's exactness.
func FuzzMerge(f *testing.F) {
	f.Add([]byte{192, 0, 2, 0, 25, 192, 0, 2, 128, 25})
	f.Add([]byte{255, 255, 255, 255, 32, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		var in []netip.Prefix
		for len(data) >= 5 {
			a := netip.AddrFrom4([4]byte{data[0], data[1], data[2], data[3]})
			in = append(in, netip.PrefixFrom(a, int(data[4])%33).Masked())
			data = data[5:]
		}
		checkMerge(t, in)
	})
}

// BenchmarkMerge100k merges 100,000 addresses and 10,000 overlapping
// networks, the size of a large FireHOL set.
func BenchmarkMerge100k(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	var in []netip.Prefix
	for range 100_000 {
		in = append(in, netip.PrefixFrom(netip.AddrFrom4([4]byte{198, byte(18 + r.IntN(2)), byte(r.IntN(256)), byte(r.IntN(256))}), 32))
	}
	for range 10_000 {
		in = append(in, netip.PrefixFrom(netip.AddrFrom4([4]byte{198, byte(18 + r.IntN(2)), byte(r.IntN(256)), 0}), 24+r.IntN(5)).Masked())
	}
	b.ReportAllocs()
	for b.Loop() {
		Merge(in)
	}
}
