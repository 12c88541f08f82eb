package store

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// benchBans returns n distinct bans starting at ban number first.
func benchBans(first, n int) []Ban {
	bans := make([]Ban, n)
	for i := range bans {
		bans[i] = crashBan(first + i)
		bans[i].Jail = "flood"
	}
	return bans
}

// BenchmarkAddBans10k stores 10,000 new bans in one AddBans call, as the
// ban path does inside a flood, in random order as a flood's addresses
// come. The database lives in the temporary directory (on disk here, so
// each commit pays its fsync).
func BenchmarkAddBans10k(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		bans := benchBans(i*10_000, 10_000)
		rnd.Shuffle(len(bans), func(i, j int) { bans[i], bans[j] = bans[j], bans[i] })
		if err := s.AddBans(ctx, bans); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkAddBan1 stores a single ban: the latency of one ban's commit.
func BenchmarkAddBan1(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := s.AddBans(ctx, benchBans(i, 1)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkActiveBans100k loads 100,000 active bans, as the daemon does at
// start to put them back in the kernel.
func BenchmarkActiveBans100k(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	if err := s.AddBans(ctx, benchBans(0, 100_000)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		bans, err := s.ActiveBans(ctx, t0)
		if err != nil || len(bans) != 100_000 {
			b.Fatalf("ActiveBans = %d bans, %v", len(bans), err)
		}
	}
}

// BenchmarkBanCount is the bantime.increment lookup of one prefix in a
// history of 100,000 bans.
func BenchmarkBanCount(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	if err := s.AddBans(ctx, benchBans(0, 100_000)); err != nil {
		b.Fatal(err)
	}
	p := crashBan(4242).Prefix
	b.ReportAllocs()
	for b.Loop() {
		if n, _, err := s.BanCount(ctx, p, ""); err != nil || n != 1 {
			b.Fatalf("BanCount = %d, %v", n, err)
		}
	}
}

// TestExpireBeforeLarge expires half of 5,000 bans.
func TestExpireBeforeLarge(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if err := s.AddBans(ctx, benchBans(0, 5000)); err != nil {
		t.Fatal(err)
	}
	// crashBan(n) ends at t0 + n s + 1 h.
	expired, err := s.ExpireBefore(ctx, t0.Add(time.Hour+2499*time.Second))
	if err != nil || len(expired) != 2500 {
		t.Fatalf("ExpireBefore = %d bans, %v; want 2500", len(expired), err)
	}
	left, err := s.ActiveBans(ctx, t0)
	if err != nil || len(left) != 2500 {
		t.Fatalf("ActiveBans = %d, %v; want 2500", len(left), err)
	}
}
