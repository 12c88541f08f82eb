package policy

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestOneTransaction: replacing a baseline of 100 ports by another is one
// kernel transaction (`nft monitor` prints one new generation).
func TestOneTransaction(t *testing.T) {
	netns.SkipUnlessRoot(t)
	ns := netns.New(t, "poltx")
	k := Kernel{NetNS: ns.Fd()}
	var pols [2]*Policy
	for i := range pols {
		var allow []string
		for p := range 100 {
			allow = append(allow, fmt.Sprintf("%d/tcp", 1000+1000*i+p))
		}
		pols[i] = Build(testBaseline(t, allow...), Env{})
	}
	if err := k.Apply(pols[0]); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	mon := ns.Command(context.Background(), "nft", "monitor")
	mon.Stdout = &out
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = mon.Process.Kill(); _ = mon.Wait() }()
	time.Sleep(300 * time.Millisecond) // let nft subscribe
	if err := k.Apply(pols[1]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(out.String(), "new generation") {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	got := out.String()
	if n := strings.Count(got, "new generation"); n != 1 {
		t.Fatalf("apply made %d transactions, want 1:\n%s", n, got)
	}
	if strings.Count(got, "add rule inet rampart policy-input") != len(pols[1].Rules) {
		t.Errorf("the transaction added %d rules, want %d", strings.Count(got, "add rule inet rampart policy-input"), len(pols[1].Rules))
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
