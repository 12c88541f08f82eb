package blocklist

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/netns"
)

// TestKernelReplace: a list in the kernel drops its addresses and only
// them; a new version replaces it in one transaction; Remove takes it
// away. Traffic is real ICMP between namespaces.
func TestKernelReplace(t *testing.T) {
	netns.SkipUnlessRoot(t)
	host := netns.New(t, "blh")
	listed := netns.New(t, "blc1")
	other := netns.New(t, "blc2")
	pp := netip.MustParsePrefix
	netns.Link(t, host, listed, []netip.Prefix{pp("192.0.2.1/28"), pp("2001:db8:1::1/64")}, []netip.Prefix{pp("192.0.2.10/28"), pp("2001:db8:1::10/64")})
	netns.Link(t, host, other, []netip.Prefix{pp("198.51.100.1/24")}, []netip.Prefix{pp("198.51.100.20/24")})
	answers := func(ns *netns.NS, to string) bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := ns.Exec(ctx, "ping", "-c", "1", "-W", "1", to)
		return err == nil
	}
	check := func(step string, wantListed, wantOther, wantV6 bool) {
		t.Helper()
		if got := answers(listed, "192.0.2.1"); got != wantListed {
			t.Errorf("%s: 192.0.2.10 answered %v, want %v", step, got, wantListed)
		}
		if got := answers(other, "198.51.100.1"); got != wantOther {
			t.Errorf("%s: 198.51.100.20 answered %v, want %v", step, got, wantOther)
		}
		if got := answers(listed, "2001:db8:1::1"); got != wantV6 {
			t.Errorf("%s: 2001:db8:1::10 answered %v, want %v", step, got, wantV6)
		}
	}
	check("before", true, true, true)
	k := Kernel{NetNS: host.Fd()}
	// 192.0.2.9 is allowed (an ignoreip), the rest of the /28 listed.
	r1 := Ranges([]netip.Prefix{pp("192.0.2.0/28"), pp("203.0.113.0/24"), pp("2001:db8:1::/64")}, []netip.Prefix{pp("192.0.2.9/32")})
	if err := k.Replace("drop", r1); err != nil {
		t.Fatal(err)
	}
	check("list 1", false, true, false)
	out := host.MustExec(t, "nft", "list", "set", "inet", "rampart", SetName("drop", false, 0))
	for _, want := range []string{"192.0.2.0-192.0.2.8", "192.0.2.10-192.0.2.15", "203.0.113.0/24", "flags interval"} {
		if !strings.Contains(out, want) {
			t.Errorf("set %s lacks %q:\n%s", SetName("drop", false, 0), want, out)
		}
	}
	if ok, err := k.Present("drop"); !ok || err != nil {
		t.Errorf("Present = %v, %v", ok, err)
	}
	// The new version lists the other client only.
	if err := k.Replace("drop", Ranges([]netip.Prefix{pp("198.51.100.0/24")}, nil)); err != nil {
		t.Fatal(err)
	}
	check("list 2", true, false, true)
	// A second list beside it, then the first removed.
	if err := k.Replace("other", Ranges([]netip.Prefix{pp("192.0.2.10/32")}, nil)); err != nil {
		t.Fatal(err)
	}
	check("two lists", false, false, true)
	if err := k.Remove("drop"); err != nil {
		t.Fatal(err)
	}
	check("drop removed", false, true, true)
	if ok, _ := k.Present("drop"); ok {
		t.Error("Present after Remove")
	}
	host.MustExec(t, "nft", "flush", "ruleset")
	if ok, _ := k.Present("other"); ok {
		t.Error("Present after nft flush ruleset")
	}
}
