package policy

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/netns"
	"github.com/rampart-ids/rampart/internal/policy/portspec"
)

func mustPort(t testing.TB, s string) portspec.Spec {
	t.Helper()
	p, err := portspec.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testBaseline(t testing.TB, allow ...string) config.Baseline {
	b := config.Baseline{Enabled: true, ICMP: true, DHCP: "no"}
	for _, a := range allow {
		b.Allow = append(b.Allow, mustPort(t, a))
	}
	return b
}

// TestKernelRoundTrip applies a baseline in a namespace and reads it back
// through netlink and through nft(8).
func TestKernelRoundTrip(t *testing.T) {
	netns.SkipUnlessRoot(t)
	ns := netns.New(t, "pol")
	b := testBaseline(t, "2222/tcp", "60000-61000/udp")
	b.AllowFrom = []config.AllowFrom{{Port: mustPort(t, "9100/tcp"), Sources: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}}}
	p := Build(b, Env{})
	k := Kernel{NetNS: ns.Fd()}
	if err := k.Apply(p); err != nil {
		t.Fatal(err)
	}
	a, err := k.Read()
	if err != nil {
		t.Fatal(err)
	}
	if !a.Present || !a.Drop || a.Foreign != 0 || !slices.Equal(a.Policy().Strings(), p.Strings()) {
		t.Fatalf("read back %+v, want %v", a, p.Strings())
	}
	out := ns.MustExec(t, "nft", "list", "chain", "inet", "rampart", ChainName)
	for _, want := range []string{"hook input priority filter; policy drop;", "tcp dport 2222", "udp dport 60000-61000", "ip saddr 192.0.2.0/24 tcp dport 9100", "ip6 saddr 2001:db8::/32 tcp dport 9100", "ct state established,related", "icmpv6 type nd-neighbor-solicit"} {
		if !strings.Contains(out, want) {
			t.Errorf("nft list chain lacks %q:\n%s", want, out)
		}
	}
	// Re-apply a smaller baseline, then disable it: the chain goes away.
	if err := k.Apply(Build(testBaseline(t, "22/tcp"), Env{})); err != nil {
		t.Fatal(err)
	}
	if a, _ = k.Read(); len(a.Policy().OpenPorts()) != 1 {
		t.Fatalf("after re-apply: %v", a.Policy().Strings())
	}
	if err := k.Apply(&Policy{}); err != nil {
		t.Fatal(err)
	}
	if a, _ = k.Read(); a.Present {
		t.Fatalf("disabled baseline left the chain: %+v", a)
	}
	_ = context.Background()
}
