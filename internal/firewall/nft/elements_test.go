package nft

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	"github.com/rampart-ids/rampart/internal/firewall"
)

func TestSetNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		want setKind
		ok   bool
	}{
		{"ban-sshd-v4", setKind{"sshd", false, false}, true},
		{"ban-sshd-v4net", setKind{"sshd", false, true}, true},
		{"ban-nginx-http-auth-v6", setKind{"nginx-http-auth", true, false}, true},
		{"ban-x-v4net-v6net", setKind{"x-v4net", true, true}, true},
		{"ban--v4", setKind{}, false},
		{"ban-sshd", setKind{}, false},
		{"ban-bad name-v4", setKind{}, false},
		{"sshd-v4", setKind{}, false}, // the pre-split layout's name
		{"allow-v4", setKind{}, false},
	} {
		got, ok := parseSetName(tc.name)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseSetName(%q) = %+v, %v; want %+v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
		if ok && got.name() != tc.name {
			t.Errorf("parseSetName(%q).name() = %q", tc.name, got.name())
		}
	}
}

// TestElementsRoundTrip encodes bans as the kernel stores them and decodes
// them back, including networks at the top of the address space (no end
// element) and a shuffled dump order.
func TestElementsRoundTrip(t *testing.T) {
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		name string
		kind setKind
		bans []firewall.Ban
	}{
		{"v4 hosts", setKind{"j", false, false}, []firewall.Ban{
			{Jail: "j", Prefix: p("192.0.2.1/32"), Timeout: time.Hour},
			{Jail: "j", Prefix: p("255.255.255.255/32")},
		}},
		{"v4 nets", setKind{"j", false, true}, []firewall.Ban{
			{Jail: "j", Prefix: p("192.0.2.0/24"), Timeout: time.Hour},
			{Jail: "j", Prefix: p("192.0.3.0/24"), Timeout: time.Minute}, // adjacent: end == next start
			{Jail: "j", Prefix: p("10.0.0.0/8")},
			{Jail: "j", Prefix: p("255.255.255.0/24"), Timeout: time.Hour},
			{Jail: "j", Prefix: p("128.0.0.0/2"), Timeout: time.Hour},
		}},
		{"v6 nets", setKind{"j", true, true}, []firewall.Ban{
			{Jail: "j", Prefix: p("2001:db8::/64"), Timeout: time.Hour},
			{Jail: "j", Prefix: p("2001:db8:1::/80"), Timeout: time.Hour},
			{Jail: "j", Prefix: p("ffff::/16")},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var elems []nftables.SetElement
			for _, b := range tc.bans {
				elems = appendElements(elems, b, true)
			}
			// The kernel reports the remaining time as the expiration; it
			// dumps in its own order.
			var dumped []elem
			for i := len(elems) - 1; i >= 0; i-- {
				a, _ := netip.AddrFromSlice(elems[i].Key)
				dumped = append(dumped, elem{addr: a, end: elems[i].IntervalEnd, timeout: elems[i].Timeout, expires: elems[i].Timeout})
			}
			got := decode(tc.kind, dumped)
			opts := []cmp.Option{
				cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
				cmp.Transformer("sort", func(in []firewall.Ban) map[string]time.Duration {
					m := map[string]time.Duration{}
					for _, b := range in {
						m[b.Jail+" "+b.Prefix.String()] = b.Timeout
					}
					return m
				}),
			}
			if diff := cmp.Diff(tc.bans, got, opts...); diff != "" {
				t.Errorf("decode(appendElements) (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRangePrefix(t *testing.T) {
	a := netip.MustParseAddr
	for _, tc := range []struct {
		first, last string
		want        string // "" = not a prefix
	}{
		{"192.0.2.0", "192.0.2.255", "192.0.2.0/24"},
		{"192.0.2.7", "192.0.2.7", "192.0.2.7/32"},
		{"192.0.2.0", "192.0.2.254", ""},
		{"192.0.2.1", "192.0.2.2", ""},
		{"2001:db8::", "2001:db8::ffff:ffff:ffff:ffff", "2001:db8::/64"},
	} {
		got, ok := rangePrefix(a(tc.first), a(tc.last))
		if s := got.String(); ok != (tc.want != "") || ok && s != tc.want {
			t.Errorf("rangePrefix(%s, %s) = %v, %v; want %q", tc.first, tc.last, got, ok, tc.want)
		}
	}
}

// FuzzAppendDecoded feeds arbitrary bytes to the set-dump decoder: the
// kernel is trusted, but a decoder must not panic on a short or odd message.
func FuzzAppendDecoded(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{8, 0, 3, 0x80, 4, 0, 1, 0})
	f.Add([]byte{0x1c, 0, 3, 0x80, 0x18, 0, 1, 0x80, 0x0c, 0, 1, 0x80, 8, 0, 1, 0, 192, 0, 2, 1, 8, 0, 3, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = appendDecoded(nil, data)
	})
}
