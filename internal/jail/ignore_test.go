package jail

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestIgnoreContains(t *testing.T) {
	ig, err := NewIgnore(IgnoreConfig{Entries: []string{
		"127.0.0.1/8", "::1", "192.0.2.10", "198.51.100.0/25", "198.51.100.128/25",
		"203.0.113.0/255.255.255.0", "2001:db8:1::/48", "::ffff:198.18.0.0/111", " ",
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.255.255.255", true},
		{"128.0.0.0", false},
		{"::1", true},
		{"::2", false},
		{"192.0.2.10", true},
		{"192.0.2.11", false},
		{"192.0.2.9", false},
		{"198.51.100.0", true},
		{"198.51.100.255", true},
		{"198.51.101.0", false},
		{"203.0.113.77", true},
		{"2001:db8:1:ffff::1", true},
		{"2001:db8:2::1", false},
		{"::ffff:192.0.2.10", true},
		{"198.19.255.255", true},
		{"198.20.0.0", false},
		{"fe80::1%eth0", false},
	}
	for _, tt := range tests {
		if got := ig.Contains(netip.MustParseAddr(tt.addr), t0); got != tt.want {
			t.Errorf("Contains(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if n := len(ig.v4); n != 5 {
		t.Errorf("v4 ranges = %d (%v), want 5 after merging the two /25s", n, ig.v4)
	}
}

func TestIgnoreErrors(t *testing.T) {
	tests := []struct {
		cfg     IgnoreConfig
		wantErr string
	}{
		{IgnoreConfig{Entries: []string{"192.0.2.0/33"}}, `ignoreip "192.0.2.0/33": not an address`},
		{IgnoreConfig{Entries: []string{"a b"}}, `ignoreip "a b"`},
		{IgnoreConfig{Entries: []string{"host.example"}}, "need a resolver"},
		{IgnoreConfig{Entries: []string{"192.0.2.0/255.0.255.0"}}, "not an address"},
		{IgnoreConfig{Self: true}, "ignoreself"},
		{IgnoreConfig{Entries: []string{"file:/etc/x"}}, `ignoreip "file:/etc/x"`},
	}
	for _, tt := range tests {
		_, err := NewIgnore(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("NewIgnore(%+v) error = %v, want containing %q", tt.cfg, err, tt.wantErr)
		}
	}
}

func TestIgnoreNamesAndSelf(t *testing.T) {
	answers := map[string][]netip.Addr{"gw.example": {netip.MustParseAddr("198.51.100.7")}}
	var lookups []string
	fail := false
	resolve := func(name string) ([]netip.Addr, error) {
		lookups = append(lookups, name)
		if fail {
			return nil, errors.New("timeout")
		}
		return answers[name], nil
	}
	selfCalls := 0
	self := func() ([]netip.Addr, error) {
		selfCalls++
		return []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("::ffff:192.0.2.2")}, nil
	}
	ig, err := NewIgnore(IgnoreConfig{Entries: []string{"GW.example."}, Resolve: resolve, Self: true, SelfAddrs: self, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	check := func(addr string, at time.Duration, want bool) {
		t.Helper()
		if got := ig.Contains(netip.MustParseAddr(addr), t0.Add(at)); got != want {
			t.Errorf("Contains(%s) at +%v = %v, want %v", addr, at, got, want)
		}
	}
	check("198.51.100.7", 0, true)
	check("192.0.2.1", 0, true)
	check("192.0.2.2", 0, true)
	check("203.0.113.1", time.Second, false)
	if len(lookups) != 1 || selfCalls != 1 {
		t.Errorf("lookups %v, self calls %d: want one of each within the TTL", lookups, selfCalls)
	}
	answers["gw.example"] = []netip.Addr{netip.MustParseAddr("198.51.100.8")}
	check("198.51.100.7", 2*time.Minute, false)
	check("198.51.100.8", 2*time.Minute, true)
	fail = true
	check("198.51.100.8", 4*time.Minute, true) // last good answer kept
	if n := len(lookups); n != 3 {
		t.Errorf("lookups = %d, want 3", n)
	}
	check("198.51.100.8", 4*time.Minute+5*time.Second, true) // failure cached for TTL/10
	if n := len(lookups); n != 3 {
		t.Errorf("lookups = %d, want 3 (failure cached)", n)
	}
}

func BenchmarkIgnoreContains(b *testing.B) {
	var entries []string
	for i := range 10000 {
		entries = append(entries, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24).String())
	}
	ig, err := NewIgnore(IgnoreConfig{Entries: entries})
	if err != nil {
		b.Fatal(err)
	}
	addr := netip.MustParseAddr("198.51.100.1")
	b.ReportAllocs()
	for b.Loop() {
		ig.Contains(addr, t0)
	}
}

func FuzzIgnoreEntry(f *testing.F) {
	for _, s := range []string{"192.0.2.0/24", "::1", "2001:db8::/32", "203.0.113.0/255.255.255.0", "host.example", "::ffff:192.0.2.0/120", "1.2.3.4/0"} {
		f.Add(s, []byte{192, 0, 2, 1})
	}
	f.Fuzz(func(t *testing.T, entry string, ip []byte) {
		ig, err := NewIgnore(IgnoreConfig{Entries: []string{entry}, Resolve: func(string) ([]netip.Addr, error) { return nil, nil }})
		if err != nil {
			return
		}
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			return
		}
		got := ig.Contains(addr, t0)
		if p, err := parseIgnorePrefix(strings.TrimSpace(entry)); err == nil {
			if want := p.Contains(addr.Unmap()); got != want {
				t.Fatalf("NewIgnore(%q).Contains(%v) = %v, want %v", entry, addr, got, want)
			}
		}
	})
}

func TestIgnoreOverlaps(t *testing.T) {
	ig, err := NewIgnore(IgnoreConfig{
		Entries: []string{"192.0.2.10", "198.51.100.128/25", "2001:db8:1::/48", "admin.example"},
		Resolve: func(string) ([]netip.Addr, error) { return []netip.Addr{netip.MustParseAddr("203.0.113.77")}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		prefix, want string // want "" = no overlap
	}{
		{"192.0.2.0/24", "192.0.2.10"},
		{"192.0.2.0/29", ""},
		{"192.0.2.8/29", "192.0.2.10"},
		{"192.0.2.11/32", ""},
		{"192.0.2.10/32", "192.0.2.10"},
		{"198.51.100.0/24", "198.51.100.128"},
		{"198.51.100.0/25", ""},
		{"198.51.100.200/30", "198.51.100.200"},
		{"0.0.0.0/0", "192.0.2.10"},
		{"203.0.113.0/24", "203.0.113.77"}, // a name's address
		{"203.0.112.0/24", ""},
		{"2001:db8::/32", "2001:db8:1::"},
		{"2001:db8:2::/48", ""},
		{"::ffff:192.0.2.0/120", "192.0.2.10"},
	}
	for _, tt := range tests {
		got, ok := ig.Overlaps(netip.MustParsePrefix(tt.prefix), t0)
		if tt.want == "" && ok || tt.want != "" && (!ok || got.String() != tt.want) {
			t.Errorf("Overlaps(%s) = %v, %v; want %q", tt.prefix, got, ok, tt.want)
		}
	}
}
