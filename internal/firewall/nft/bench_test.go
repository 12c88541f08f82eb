package nft

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/firewall"
)

// bans returns n distinct single-address bans from 198.18.0.0/15.
func benchBans(n int) []firewall.Ban {
	out := make([]firewall.Ban, n)
	for i := range out {
		a := netip.AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})
		out[i] = firewall.Ban{Jail: "sshd", Prefix: firewall.Host(a), Timeout: time.Hour}
	}
	return out
}

// benchmarkApply measures Setup plus one Apply of n new bans into an empty
// table in a fresh namespace: what start-up with n stored bans costs.
func benchmarkApply(b *testing.B, n, batch int) {
	bans := benchBans(n)
	ctx := context.Background()
	be, _ := newInNS(b, "nftbench")
	be.opts.BatchSize = batch
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := be.Teardown(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := be.Setup(ctx, []firewall.JailSpec{{Name: "sshd", Ports: []firewall.PortRange{{First: 22, Last: 22}}}}); err != nil {
			b.Fatal(err)
		}
		if err := be.Apply(ctx, firewall.Change{Add: bans}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	got, err := be.List(ctx)
	if err != nil || len(got) != n {
		b.Fatalf("List = %d bans, %v; want %d", len(got), err, n)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
}

func BenchmarkApply10k(b *testing.B)  { benchmarkApply(b, 10_000, DefaultBatchSize) }
func BenchmarkApply100k(b *testing.B) { benchmarkApply(b, 100_000, DefaultBatchSize) }

// BenchmarkApply10kBatch64 shows what small batches cost (one transaction
// and one socket per batch).
func BenchmarkApply10kBatch64(b *testing.B) { benchmarkApply(b, 10_000, 64) }

// BenchmarkApplyOne is the latency of a single ban into a set of 10,000.
func BenchmarkApplyOne(b *testing.B) {
	ctx := context.Background()
	be, _ := newInNS(b, "nftbench1")
	if err := be.Setup(ctx, []firewall.JailSpec{{Name: "sshd"}}); err != nil {
		b.Fatal(err)
	}
	if err := be.Apply(ctx, firewall.Change{Add: benchBans(10_000)}); err != nil {
		b.Fatal(err)
	}
	ban := firewall.Ban{Jail: "sshd", Prefix: netip.MustParsePrefix("203.0.113.1/32"), Timeout: time.Hour}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := be.Apply(ctx, firewall.Change{Remove: []firewall.Ban{ban}, Add: []firewall.Ban{ban}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList measures listing a set of n bans, the reconciliation read.
func benchmarkList(b *testing.B, n int) {
	ctx := context.Background()
	be, _ := newInNS(b, "nftbenchl")
	if err := be.Setup(ctx, []firewall.JailSpec{{Name: "sshd"}}); err != nil {
		b.Fatal(err)
	}
	if err := be.Apply(ctx, firewall.Change{Add: benchBans(n)}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		got, err := be.List(ctx)
		if err != nil || len(got) != n {
			b.Fatalf("List = %d, %v; want %d", len(got), err, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
}

func BenchmarkList10k(b *testing.B)  { benchmarkList(b, 10_000) }
func BenchmarkList100k(b *testing.B) { benchmarkList(b, 100_000) }
