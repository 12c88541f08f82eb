package policy

import (
	"fmt"
	"testing"

	"github.com/rampart-ids/rampart/internal/netns"
)

// BenchmarkApply100 applies a baseline of 100 port rules (plus the 19
// fixed ones) in a namespace, alternating between two sets of ports so
// that every apply deletes the 119 old rules and adds 119 new ones in its
// one netlink batch. docs/PERFORMANCE.md records the figures.
func BenchmarkApply100(b *testing.B) {
	netns.SkipUnlessRoot(b)
	ns := netns.New(b, "polbench")
	k := Kernel{NetNS: ns.Fd()}
	var pols [2]*Policy
	for i := range pols {
		var allow []string
		for p := range 100 {
			allow = append(allow, fmt.Sprintf("%d/tcp", 1000+1000*i+p))
		}
		pols[i] = Build(testBaseline(b, allow...), Env{})
	}
	b.ResetTimer()
	for i := range b.N {
		if err := k.Apply(pols[i%2]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(pols[0].Rules)), "rules/apply")
}
