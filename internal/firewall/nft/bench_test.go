package nft

import (
	"context"
	"fmt"
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
	benchmarkApplyBans(b, benchBans(n), batch)
}

func benchmarkApplyBans(b *testing.B, bans []firewall.Ban, batch int) {
	n := len(bans)
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

// BenchmarkApply10kNets bans 10,000 IPv6 /64 networks: the interval sets.
func BenchmarkApply10kNets(b *testing.B) {
	bans := make([]firewall.Ban, 10_000)
	for i := range bans {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, byte(i >> 8), byte(i)})
		bans[i] = firewall.Ban{Jail: "sshd", Prefix: netip.PrefixFrom(a, 64), Timeout: time.Hour}
	}
	benchmarkApplyBans(b, bans, DefaultBatchSize)
}

// BenchmarkApply10kBatch64 shows what small batches cost (one transaction
// and one socket per batch).
func BenchmarkApply10kBatch64(b *testing.B) { benchmarkApply(b, 10_000, 64) }

// benchOneSetup returns a backend whose sshd jail already holds 10,000 bans.
func benchOneSetup(b *testing.B) *Backend {
	ctx := context.Background()
	be, _ := newInNS(b, "nftbench1")
	if err := be.Setup(ctx, []firewall.JailSpec{{Name: "sshd"}}); err != nil {
		b.Fatal(err)
	}
	if err := be.Apply(ctx, firewall.Change{Add: benchBans(10_000)}); err != nil {
		b.Fatal(err)
	}
	return be
}

// BenchmarkBanOne is the latency of one new ban into a set of 10,000: the
// firewall's share of the time from the maxretry-th failure to the ban.
func BenchmarkBanOne(b *testing.B) {
	be := benchOneSetup(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		a := netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)})
		if err := be.Apply(ctx, firewall.Change{Add: []firewall.Ban{{Jail: "sshd", Prefix: firewall.Host(a), Timeout: time.Hour}}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnbanOne is the latency of removing one ban from a set of
// 10,000. The kernel waits for an RCU grace period before it acknowledges
// a transaction that deletes elements, whatever their number.
func BenchmarkUnbanOne(b *testing.B) {
	be := benchOneSetup(b)
	ctx := context.Background()
	bans := benchBans(10_000)
	if b.N > len(bans) {
		b.Skip("more iterations than bans")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := be.Apply(ctx, firewall.Change{Remove: bans[i : i+1]}); err != nil {
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

// BenchmarkSetupReload is a reload: Setup again with the same 30 jails,
// whose rules are deleted by handle and rebuilt in one transaction, after
// listing the table's chains, sets and the rules of each ban chain.
func BenchmarkSetupReload(b *testing.B) {
	ctx := context.Background()
	be, _ := newInNS(b, "nftbenchr")
	var jails []firewall.JailSpec
	for i := range 30 {
		jails = append(jails, firewall.JailSpec{Name: fmt.Sprintf("jail%d", i), Ports: []firewall.PortRange{firewall.Port(uint16(1000 + i))}})
	}
	if err := be.Setup(ctx, jails); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := be.Setup(ctx, jails); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/op")
}
