package iptables

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/firewall"
	"github.com/rampart-ids/rampart/internal/netns"
)

// benchmarkApply measures Setup plus one Apply of n new bans into empty sets
// in a fresh namespace.
func benchmarkApply(b *testing.B, n int) {
	skipUnlessTools(b)
	ns := netns.New(b, "iptbench")
	be := New(Options{Wrap: ns.Prefix()})
	bans := make([]firewall.Ban, n)
	for i := range bans {
		a := netip.AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})
		bans[i] = firewall.Ban{Jail: "sshd", Prefix: firewall.Host(a), Timeout: time.Hour}
	}
	ctx := context.Background()
	jails := []firewall.JailSpec{{Name: "sshd", Ports: []firewall.PortRange{firewall.Port(22)}}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := be.Teardown(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := be.Setup(ctx, jails); err != nil {
			b.Fatal(err)
		}
		if err := be.Apply(ctx, firewall.Change{Add: bans}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	if got, err := be.List(ctx); err != nil || len(got) != n {
		b.Fatalf("List = %d, %v; want %d", len(got), err, n)
	}
}

func BenchmarkApply10k(b *testing.B)  { benchmarkApply(b, 10_000) }
func BenchmarkApply100k(b *testing.B) { benchmarkApply(b, 100_000) }
