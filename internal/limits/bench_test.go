package limits

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/netns"
	"github.com/rampart-ids/rampart/internal/policy"
)

// benchLimits returns 10 limits (max_conn and rate each, on ports from
// base): 60 rules and 60 sets.
func benchLimits(base uint16) []Limit {
	var out []Limit
	for i := range 10 {
		out = append(out, Limit{Name: fmt.Sprintf("svc%d", i), Port: base + uint16(i), Protocol: "tcp", MaxConn: 20,
			Rate: 30, Per: time.Minute, BanTime: 10 * time.Minute, IPv4Prefix: 32, IPv6Prefix: 64})
	}
	return out
}

// BenchmarkApply10Limits applies 10 limits in a namespace, their ports
// alternating so that every apply replaces the chain's 60 rules (the sets
// stay) in its one netlink batch.
func BenchmarkApply10Limits(b *testing.B) {
	netns.SkipUnlessRoot(b)
	ns := netns.New(b, "limbench")
	k := Kernel{NetNS: ns.Fd()}
	sets := [2][]Limit{benchLimits(9000), benchLimits(9100)}
	b.ResetTimer()
	for i := range b.N {
		if err := k.Apply(sets[i%2]); err != nil {
			b.Fatal(err)
		}
	}
}

// benchBaseline returns a baseline of 100 allowed ports from base (119
// rules with the fixed ones).
func benchBaseline(t testing.TB, base int) *policy.Policy {
	var ports []string
	for p := range 100 {
		ports = append(ports, fmt.Sprintf("%q", fmt.Sprintf("%d/tcp", base+p)))
	}
	c, err := config.LoadBytes("bench.toml", []byte("[baseline]\nenabled = true\ndhcp = \"no\"\nallow = ["+strings.Join(ports, ", ")+"]\n"), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return policy.Build(c.Baseline, policy.Env{})
}

// together returns a policy kernel that sends ls's limits in the same
// transaction as the baseline, as the daemon does at start and on reload.
func together(fd int, ls []Limit) policy.Kernel {
	return policy.Kernel{NetNS: fd, Also: func(c *nftables.Conn) error {
		_, err := Stage(c, ls)
		return err
	}}
}

// BenchmarkApplyBaselineAndLimits is issue 10's figure: a baseline of 100
// rules and 10 limits applied in one netlink transaction (as the daemon
// does at start and on reload), alternating between two versions of each
// so that every rule is replaced.
func BenchmarkApplyBaselineAndLimits(b *testing.B) {
	netns.SkipUnlessRoot(b)
	ns := netns.New(b, "blbench")
	pols := [2]*policy.Policy{benchBaseline(b, 1000), benchBaseline(b, 2000)}
	ks := [2]policy.Kernel{together(ns.Fd(), benchLimits(9000)), together(ns.Fd(), benchLimits(9100))}
	b.ResetTimer()
	for i := range b.N {
		if err := ks[i%2].Apply(pols[i%2]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(pols[0].Rules)), "baseline-rules")
}
