package store

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/event"
)

func TestEventsRoundTrip(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	p := netip.MustParsePrefix("192.0.2.1/32")
	evs := []event.Event{
		{Kind: event.Finding, Time: t0, Jail: "sshd", Prefix: p, Rule: "sshd", Severity: "medium", Source: "/var/log/auth.log", Evidence: []string{"Failed password for root from 192.0.2.1"}},
		{Kind: event.BanAdded, Time: t0.Add(time.Second), Jail: "sshd", Prefix: p, Origin: "jail sshd", Until: t0.Add(time.Hour), Count: 2, Latency: 3 * time.Millisecond},
		{Kind: event.FirewallBatch, Time: t0.Add(time.Second), Adds: 1, Took: time.Millisecond},
		{Kind: event.BanRemoved, Time: t0.Add(time.Minute), Jail: "sshd", Prefix: p, Origin: "jail sshd", Reason: "unban by root"},
		{Kind: event.IntegrityChange, Time: t0.Add(90 * time.Second), Path: "/etc/passwd", Reason: "content", Severity: "high", Evidence: []string{"sha256 a -> b", "by pid 42 /usr/bin/dash"}},
		{Kind: event.AuditResult, Time: t0.Add(91 * time.Second), Score: 73, Count: 2},
		{Kind: event.Reload, Time: t0.Add(2 * time.Minute), Err: "bad config"},
	}
	if err := s.AddEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Events(ctx, EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var back []event.Event
	for i, e := range got {
		if e.ID != int64(i+1) {
			t.Errorf("event %d has ID %d", i, e.ID)
		}
		back = append(back, e.Event)
	}
	if diff := cmp.Diff(evs, back, prefixes()); diff != "" {
		t.Errorf("events (-stored +read):\n%s", diff)
	}
	for _, c := range []struct {
		q    EventQuery
		want int
	}{
		{EventQuery{Prefix: p}, 3},
		{EventQuery{Kinds: []string{"ban", "unban"}}, 2},
		{EventQuery{Jail: "sshd", Since: t0.Add(time.Second)}, 2},
		{EventQuery{Until: t0.Add(time.Second)}, 1},
		{EventQuery{Limit: 2}, 2},
		{EventQuery{Before: 3}, 2},
		{EventQuery{Kinds: []string{"integrity-change"}}, 1},
	} {
		got, err := s.Events(ctx, c.q)
		if err != nil || len(got) != c.want {
			t.Errorf("Events(%+v) = %d events, %v; want %d", c.q, len(got), err, c.want)
		}
	}
	if got, _ := s.Events(ctx, EventQuery{Limit: 2}); len(got) == 2 && got[1].Kind != event.Reload {
		t.Errorf("Limit keeps the newest: got %v last", got[1].Kind)
	}
	if n, err := s.PurgeEvents(ctx, t0.Add(time.Second)); err != nil || n != 1 {
		t.Errorf("PurgeEvents = %d, %v; want 1", n, err)
	}
}

func TestTrimEvents(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	evs := make([]event.Event, 20000)
	for i := range evs {
		evs[i] = event.Event{Kind: event.Finding, Time: t0.Add(time.Duration(i) * time.Millisecond), Evidence: []string{fmt.Sprintf("line %d with some padding to make it longer than a few bytes", i)}}
	}
	if err := s.AddEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	used, err := s.UsedBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.TrimEvents(ctx, used/2)
	if err != nil || n == 0 {
		t.Fatalf("TrimEvents = %d, %v", n, err)
	}
	if after, _ := s.UsedBytes(ctx); after > used/2 {
		t.Errorf("used %d bytes after trimming to %d", after, used/2)
	}
	left, _ := s.Events(ctx, EventQuery{Limit: 1})
	if len(left) != 1 || left[0].Evidence[0] != "line 19999 with some padding to make it longer than a few bytes" {
		t.Errorf("the newest event was not kept: %v", left)
	}
}

// BenchmarkEventsIngest measures batched ingest (target >= 50,000 events/s):
// batches of 1,000 and of 10,000 events (the history subscriber writes what
// is queued in one transaction, so a flood makes large batches).
func BenchmarkEventsIngest(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchmarkIngest(b, n) })
	}
}

func benchmarkIngest(b *testing.B, n int) {
	s, _ := openTemp(b)
	ctx := context.Background()
	batch := make([]event.Event, n)
	for i := range batch {
		a := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		batch[i] = event.Event{Kind: event.Finding, Time: t0, Jail: "sshd", Prefix: netip.PrefixFrom(a, 32), Rule: "sshd", Source: "/var/log/auth.log",
			Evidence: []string{"2026-12-03T12:00:00+00:00 host sshd[1234]: Failed password for root from " + a.String() + " port 4242 ssh2"}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := s.AddEvents(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEventsOfAddress is `rampart why`'s query: the last 100 events of
// one address among 1,000,000 stored (target <= 50 ms).
func BenchmarkEventsOfAddress(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	const total, addrs = 1_000_000, 50_000
	batch := make([]event.Event, 0, 10000)
	for i := range total {
		a := netip.AddrFrom4([4]byte{198, 18, byte((i % addrs) >> 8), byte(i % addrs)})
		batch = append(batch, event.Event{Kind: event.Finding, Time: t0.Add(time.Duration(i) * time.Millisecond), Jail: "sshd", Prefix: netip.PrefixFrom(a, 32),
			Evidence: []string{"Failed password for root from " + a.String()}})
		if len(batch) == cap(batch) {
			if err := s.AddEvents(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	p := netip.MustParsePrefix("198.18.0.7/32")
	b.ResetTimer()
	for b.Loop() {
		got, err := s.Events(ctx, EventQuery{Prefix: p, Limit: 100})
		if err != nil || len(got) != 20 {
			b.Fatalf("Events = %d, %v; want the 20 of that address", len(got), err)
		}
	}
}

// BenchmarkBanBehindEvents is a ban's commit while the history subscriber
// writes a flood's batch of 20,000 events: how long AddBans of one ban
// takes (max and median over the bans tried every 5 ms meanwhile).
func BenchmarkBanBehindEvents(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	batch := make([]event.Event, 20000)
	for i := range batch {
		a := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		batch[i] = event.Event{Kind: event.Finding, Time: t0.Add(time.Duration(i) * time.Microsecond), Jail: "sshd", Prefix: netip.PrefixFrom(a, 32),
			Rule: "sshd", Source: "/var/log/auth.log", Evidence: []string{"Failed password for root from " + a.String() + " port 4242 ssh2"}}
	}
	var lat []time.Duration
	n := 0
	for b.Loop() {
		done := make(chan error)
		go func() { done <- s.AddEvents(ctx, batch) }()
		for running := true; running; {
			start := time.Now()
			if err := s.AddBans(ctx, benchBans(n, 1)); err != nil {
				b.Fatal(err)
			}
			n++
			lat = append(lat, time.Since(start))
			select {
			case err := <-done:
				if err != nil {
					b.Fatal(err)
				}
				running = false
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "median-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/1e6, "max-ms")
}
