package jail

import (
	"net/netip"
	"testing"
	"time"
)

func TestBanNow(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	offs := NewOffenders()
	ig, err := NewIgnore(IgnoreConfig{Entries: []string{"192.0.2.10"}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := New(Config{Name: "web", MaxRetry: 5, FindTime: time.Minute, BanTime: time.Hour,
		Increment: &Increment{Factor: 1}, History: offs.History("web"), Ignore: ig})
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr("192.0.2.1")
	if _, ok := j.Fail(a, t0); ok {
		t.Fatal("one failure of five banned")
	}
	d, ok := j.BanNow(a, t0.Add(time.Second))
	if !ok || d.Prefix != netip.PrefixFrom(a, 32) || d.Duration != time.Hour || d.Count != 0 {
		t.Fatalf("BanNow = %+v, %v; want a first ban of an hour", d, ok)
	}
	if j.Stats().Tracked != 0 {
		t.Errorf("the banned address is still tracked")
	}
	offs.Record("web", d.Prefix, t0.Add(time.Second))
	if _, ok := j.BanNow(a, t0.Add(time.Second)); ok {
		t.Error("BanNow banned again at the time of the ban it already made")
	}
	d, ok = j.BanNow(a, t0.Add(2*time.Hour))
	if !ok || d.Count != 1 || d.Duration <= time.Hour {
		t.Errorf("second BanNow = %+v, %v; want a grown ban for a repeat offender", d, ok)
	}
	if _, ok := j.BanNow(netip.MustParseAddr("192.0.2.10"), t0); ok {
		t.Error("BanNow banned an ignoreip address")
	}
}
