package store

import (
	"context"
	"github.com/rampart-ids/rampart/internal/origin"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ban(jail, prefix string, since, until time.Duration, count int) Ban {
	b := Ban{Jail: jail, Prefix: netip.MustParsePrefix(prefix), Since: t0.Add(since), Count: count, Origin: origin.OfJail("sshd")}
	if until != 0 {
		b.Until = t0.Add(until)
	}
	return b
}

func TestBans(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	a := ban("sshd", "192.0.2.1/32", 0, time.Hour, 1)
	b := ban("sshd", "2001:db8::/64", 0, 0, 1) // permanent
	c := ban("nginx", "192.0.2.1/32", time.Minute, 2*time.Hour, 1)
	d := ban("sshd", "198.51.100.7/32", 0, 10*time.Minute, 1)
	if err := s.AddBans(ctx, []Ban{a, b, c, d}); err != nil {
		t.Fatal(err)
	}
	active := func(at time.Duration, want ...Ban) {
		t.Helper()
		got, err := s.ActiveBans(ctx, t0.Add(at))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, prefixes()); diff != "" {
			t.Errorf("ActiveBans(+%v) (-want +got):\n%s", at, diff)
		}
	}
	active(0, c, a, d, b)
	active(30*time.Minute, c, a, b)
	if !b.Permanent() || a.Permanent() {
		t.Error("Permanent() wrong")
	}

	// A second ban of the same jail and prefix replaces the first.
	a2 := ban("sshd", "192.0.2.1/32", 2*time.Hour, 4*time.Hour, 2)
	if err := s.AddBans(ctx, []Ban{a2}); err != nil {
		t.Fatal(err)
	}
	active(3*time.Hour, a2, b)

	expired, err := s.ExpireBefore(ctx, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Ban{c, d}, expired, prefixes(), sortBans()); diff != "" {
		t.Errorf("ExpireBefore (-want +got):\n%s", diff)
	}

	removed, err := s.RemoveBans(ctx, []Ban{{Prefix: netip.MustParsePrefix("2001:db8::/64")}, {Jail: "nginx", Prefix: netip.MustParsePrefix("192.0.2.1/32")}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Ban{b}, removed, prefixes()); diff != "" {
		t.Errorf("RemoveBans (-want +got):\n%s", diff)
	}
	active(3*time.Hour, a2)

	// History keeps everything, oldest first.
	hist, err := s.History(ctx, HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Ban{a, b, d, c, a2}, hist, prefixes()); diff != "" {
		t.Errorf("History (-want +got):\n%s", diff)
	}
	hist, err = s.History(ctx, HistoryQuery{Prefix: netip.MustParsePrefix("192.0.2.1/32"), Jail: "sshd", Since: t0, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Ban{a2}, hist, prefixes()); diff != "" {
		t.Errorf("History(limit 1) (-want +got):\n%s", diff)
	}

	counts := []struct {
		prefix, jail string
		n            int
		last         time.Time
	}{
		{"192.0.2.1/32", "sshd", 2, t0.Add(2 * time.Hour)},
		{"192.0.2.1/32", "", 3, t0.Add(2 * time.Hour)},
		{"192.0.2.1/32", "nginx", 1, t0.Add(time.Minute)},
		{"203.0.113.1/32", "", 0, time.Time{}},
	}
	for _, tt := range counts {
		n, last, err := s.BanCount(ctx, netip.MustParsePrefix(tt.prefix), tt.jail)
		if err != nil || n != tt.n || !last.Equal(tt.last) {
			t.Errorf("BanCount(%s, %q) = %d, %v, %v; want %d, %v", tt.prefix, tt.jail, n, last, err, tt.n, tt.last)
		}
	}
	off, err := s.Offenders(ctx, "sshd")
	if err != nil {
		t.Fatal(err)
	}
	wantOff := map[netip.Prefix]Offense{
		netip.MustParsePrefix("192.0.2.1/32"):    {2, t0.Add(2 * time.Hour)},
		netip.MustParsePrefix("2001:db8::/64"):   {1, t0},
		netip.MustParsePrefix("198.51.100.7/32"): {1, t0},
	}
	if diff := cmp.Diff(wantOff, off); diff != "" {
		t.Errorf("Offenders(sshd) (-want +got):\n%s", diff)
	}
	if off, err := s.Offenders(ctx, ""); err != nil || len(off) != 3 || off[netip.MustParsePrefix("192.0.2.1/32")].Count != 3 {
		t.Errorf("Offenders(all) = %v, %v", off, err)
	}

	n, err := s.PurgeHistory(ctx, t0.Add(time.Minute))
	if err != nil || n != 3 {
		t.Errorf("PurgeHistory = %d, %v; want 3", n, err)
	}
}

// sortBans orders ban slices for comparisons where order does not matter.
func sortBans() cmp.Option {
	return cmp.Transformer("sorted", func(in []Ban) []Ban {
		out := append([]Ban(nil), in...)
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				if out[j].Jail+out[j].Prefix.String() < out[i].Jail+out[i].Prefix.String() {
					out[i], out[j] = out[j], out[i]
				}
			}
		}
		return out
	})
}

func TestAddBansAtomic(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	good := ban("sshd", "192.0.2.1/32", 0, time.Hour, 1)
	tests := []struct {
		bad     Ban
		wantErr string
	}{
		{Ban{Prefix: good.Prefix, Since: t0, Count: 1, Origin: origin.OfJail("sshd")}, "ban 1: no jail"},
		{Ban{Jail: "sshd", Since: t0, Count: 1, Origin: origin.OfJail("sshd")}, "invalid prefix"},
		{Ban{Jail: "sshd", Prefix: good.Prefix, Count: 1, Origin: origin.OfJail("sshd")}, "no start time"},
		{Ban{Jail: "sshd", Prefix: good.Prefix, Since: t0, Until: t0.Add(-1), Count: 1, Origin: origin.OfJail("sshd")}, "ends before"},
		{Ban{Jail: "sshd", Prefix: good.Prefix, Since: t0, Origin: origin.OfJail("sshd")}, "count 0"},
		{Ban{Jail: "sshd", Prefix: good.Prefix, Since: t0, Count: 1}, "no origin"},
	}
	for _, tt := range tests {
		err := s.AddBans(ctx, []Ban{good, tt.bad})
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "store: ") {
			t.Errorf("AddBans(%+v) error = %v, want containing %q", tt.bad, err, tt.wantErr)
		}
	}
	if got, err := s.ActiveBans(ctx, t0); err != nil || len(got) != 0 {
		t.Errorf("ActiveBans after failed AddBans = %v, %v; want none", got, err)
	}
	if err := s.AddBans(ctx, nil); err != nil {
		t.Errorf("AddBans(nil) = %v", err)
	}
	if _, err := s.RemoveBans(ctx, []Ban{{Jail: "sshd"}}); err == nil {
		t.Error("RemoveBans(invalid prefix) succeeded")
	}
}

func TestPrefixCanonical(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	// An unmasked prefix is stored masked, so lookups by either form agree.
	b := ban("sshd", "2001:db8::1234/64", 0, time.Hour, 1)
	if err := s.AddBans(ctx, []Ban{b}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ActiveBans(ctx, t0)
	if err != nil || len(got) != 1 || got[0].Prefix != netip.MustParsePrefix("2001:db8::/64") {
		t.Fatalf("ActiveBans = %v, %v", got, err)
	}
	if n, _, err := s.BanCount(ctx, netip.MustParsePrefix("2001:db8::/64"), ""); err != nil || n != 1 {
		t.Errorf("BanCount = %d, %v", n, err)
	}
}

// TestAddBansMany stores batches around the rows-per-statement boundaries,
// with a prefix repeated inside one call (the later ban wins, both are in
// the history) and a permanent ban in a later statement than its first.
func TestAddBansMany(t *testing.T) {
	for _, n := range []int{rowsPerInsert - 1, rowsPerInsert, rowsPerInsert + 1, 3*rowsPerInsert + 7} {
		s, _ := openTemp(t)
		ctx := context.Background()
		bans := benchBans(0, n)
		again := bans[1]
		again.Since, again.Until, again.Count = again.Since.Add(time.Minute), time.Time{}, 7
		bans = append(bans, again)
		if err := s.AddBans(ctx, bans); err != nil {
			t.Fatalf("%d bans: %v", n, err)
		}
		got, err := s.ActiveBans(ctx, t0)
		if err != nil || len(got) != n {
			t.Fatalf("%d bans: ActiveBans = %d bans, %v", n, len(got), err)
		}
		want := map[netip.Prefix]Ban{}
		for _, b := range bans {
			want[b.Prefix] = b
		}
		for _, b := range got {
			if diff := cmp.Diff(want[b.Prefix], b, prefixes()); diff != "" {
				t.Fatalf("%d bans: stored ban (-want +got):\n%s", n, diff)
			}
		}
		hist, err := s.History(ctx, HistoryQuery{Jail: "flood"})
		if err != nil || len(hist) != n+1 {
			t.Fatalf("%d bans: History = %d bans, %v; want %d", n, len(hist), err, n+1)
		}
		if c, _, err := s.BanCount(ctx, again.Prefix, "flood"); err != nil || c != 2 {
			t.Errorf("%d bans: BanCount of the repeated prefix = %d, %v; want 2", n, c, err)
		}
	}
}
