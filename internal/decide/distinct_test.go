package decide

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/origin"
)

func TestDistinctCountsKeysOnce(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	j, q, _ := newJail(t, now) // maxretry 3
	j.Distinct = &Distinct{Window: 10 * time.Minute}
	a := netip.MustParseAddr("192.0.2.7")
	for i := range 50 { // one port, retried: never a scan
		j.Handle(context.Background(), finding.Finding{Time: now.Add(time.Duration(i) * time.Second), Addr: a, Key: "tcp/23"})
	}
	if len(*q) != 0 {
		t.Fatalf("one key 50 times gave %d bans, want 0", len(*q))
	}
	j.Handle(context.Background(), finding.Finding{Time: now.Add(time.Minute), Addr: a, Key: "tcp/24"})
	if len(*q) != 0 {
		t.Fatalf("two distinct keys at maxretry 3 gave %d bans", len(*q))
	}
	j.Handle(context.Background(), finding.Finding{Time: now.Add(time.Minute), Addr: a, Key: "udp/24"})
	if len(*q) != 1 {
		t.Fatalf("three distinct keys at maxretry 3 gave %d bans, want 1", len(*q))
	}
}

func TestDistinctWindowAndAddresses(t *testing.T) {
	d := &Distinct{Window: 10 * time.Second, MaxAddrs: 4}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("::ffff:192.0.2.2")
	if !d.First(a, "tcp/1", now) || d.First(a, "tcp/1", now.Add(5*time.Second)) {
		t.Error("a key inside the window counted twice")
	}
	if !d.First(b, "tcp/1", now) {
		t.Error("another address's key did not count")
	}
	if d.First(netip.MustParseAddr("192.0.2.2"), "tcp/1", now) {
		t.Error("a mapped address and its IPv4 form counted apart")
	}
	if !d.First(a, "tcp/1", now.Add(11*time.Second)) {
		t.Error("a key after the window did not count again")
	}
	for i := range 100 { // bounded memory
		d.First(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), "tcp/1", now.Add(time.Duration(i)*time.Minute))
	}
	if n := len(d.seen); n > 4 {
		t.Errorf("%d addresses remembered, want at most 4", n)
	}
	d.Forget(netip.MustParsePrefix("198.51.100.0/24"))
	if n := len(d.seen); n != 0 {
		t.Errorf("%d addresses after Forget", n)
	}
}

func TestOriginOverride(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	j, q, _ := newJail(t, now)
	j.Origin = origin.Origin{Kind: origin.Kernel, Name: "limit api"}
	j.Handle(context.Background(), finding.Finding{Time: now, Addr: netip.MustParseAddr("192.0.2.9"), SingleHit: true})
	if len(*q) != 1 || (*q)[0].Origin.String() != "kernel limit api" {
		t.Fatalf("bans = %+v, want one with origin kernel limit api", *q)
	}
}
