package portscan_test

import (
	"net/netip"
	"testing"

	"github.com/rampart-ids/rampart/internal/netns"
	"github.com/rampart-ids/rampart/internal/policy/portspec"
	"github.com/rampart-ids/rampart/internal/portscan"
)

// BenchmarkApply replaces the chain (100 open ports, 50 ignored networks)
// in a namespace's kernel, alternating between two port lists so that
// every apply changes the rules: one netlink transaction each.
func BenchmarkApply(b *testing.B) {
	netns.SkipUnlessRoot(b)
	ns := netns.New(b, "psbench")
	k := portscan.Kernel{NetNS: ns.Fd()}
	var rules [2]portscan.Rules
	for g := range rules {
		r := portscan.Rules{Group: 4760, Rate: 200, PerSource: 24}
		for i := range 100 {
			p := uint16(1000 + 2*i + g)
			r.Open = append(r.Open, portspec.Spec{Proto: []string{"tcp", "udp"}[i%2], From: p, To: p})
		}
		for i := range 50 {
			r.Ignore = append(r.Ignore, netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i), 0}), 24))
		}
		rules[g] = r
	}
	b.ResetTimer()
	for i := range b.N {
		if err := k.Apply(rules[i%2]); err != nil {
			b.Fatal(err)
		}
	}
}
