package resolve

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	now := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	calls := 0
	r := &Resolver{
		Now: func() time.Time { return now },
		Lookup: func(_ context.Context, _, host string) ([]netip.Addr, error) {
			calls++
			if host == "bad.example" {
				return nil, errors.New("no such host")
			}
			return []netip.Addr{netip.MustParseAddr("::ffff:192.0.2.7")}, nil
		},
	}
	for range 3 {
		got, err := r.Addrs(context.Background(), "host.example")
		if err != nil || len(got) != 1 || got[0] != netip.MustParseAddr("192.0.2.7") {
			t.Fatalf("Addrs = %v, %v; want the unmapped 192.0.2.7", got, err)
		}
	}
	if calls != 1 {
		t.Errorf("3 lookups within the TTL made %d queries, want 1", calls)
	}
	now = now.Add(TTL + time.Second)
	r.Addrs(context.Background(), "host.example")
	if calls != 2 {
		t.Errorf("a lookup after the TTL made no query")
	}
	if _, err := r.Func()("bad.example"); err == nil {
		t.Error("failed lookup returned no error")
	}
	r.Addrs(context.Background(), "bad.example")
	if calls != 3 {
		t.Errorf("a failed lookup was not cached for NegTTL (calls %d, want 3)", calls)
	}
}
