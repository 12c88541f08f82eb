package decide

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/event"
	"github.com/rampart-ids/rampart/internal/finding"
	"github.com/rampart-ids/rampart/internal/jail"
	"github.com/rampart-ids/rampart/internal/origin"
	"github.com/rampart-ids/rampart/internal/store"
)

type queue []store.Ban

func (q *queue) Enqueue(_ context.Context, b store.Ban) { *q = append(*q, b) }

type events []event.Event

func (e *events) Publish(x event.Event) { *e = append(*e, x) }

func newJail(t *testing.T, now time.Time) (*Jail, *queue, *events) {
	t.Helper()
	offs := jail.NewOffenders()
	c, err := jail.New(jail.Config{Name: "sshd", MaxRetry: 3, FindTime: 10 * time.Minute, BanTime: time.Hour, History: offs.History("sshd")})
	if err != nil {
		t.Fatal(err)
	}
	q, ev := &queue{}, &events{}
	return &Jail{Name: "sshd", Counter: c, Offenders: offs, Bans: q, Events: ev, Now: func() time.Time { return now }}, q, ev
}

func TestCountsToMaxRetry(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	j, q, ev := newJail(t, now)
	a := netip.MustParseAddr("192.0.2.1")
	for i := range 3 {
		j.Handle(context.Background(), finding.Finding{Time: now.Add(time.Duration(i) * time.Second), Addr: a, Rule: "sshd", Evidence: "line"})
	}
	if len(*q) != 1 {
		t.Fatalf("3 findings at maxretry 3 gave %d bans", len(*q))
	}
	b := (*q)[0]
	if b.Origin != origin.OfJail("sshd") || b.Prefix != netip.PrefixFrom(a, 32) || b.Count != 1 || !b.Until.After(now) {
		t.Errorf("ban = %+v", b)
	}
	if len(*ev) != 3 || (*ev)[0].Kind != event.Finding || (*ev)[0].Evidence[0] != "line" {
		t.Errorf("events = %+v, want 3 findings", *ev)
	}
}

func TestSingleHitBansAtOnce(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	j, q, _ := newJail(t, now)
	j.Handle(context.Background(), finding.Finding{Time: now, Addr: netip.MustParseAddr("2001:db8::1"), SingleHit: true, Severity: finding.Critical})
	if len(*q) != 1 {
		t.Fatalf("a single-hit finding gave %d bans, want 1", len(*q))
	}
}

// A backlog ban that would already be over is not enqueued.
func TestOldBanFromBacklogSkipped(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	j, q, ev := newJail(t, now)
	old := now.Add(-2 * time.Hour)
	for i := range 3 {
		j.Handle(context.Background(), finding.Finding{Time: old.Add(time.Duration(i) * time.Second), Addr: netip.MustParseAddr("192.0.2.2"), Backlog: true})
	}
	if len(*q) != 0 || len(*ev) != 0 {
		t.Errorf("backlog from 2 h ago gave %d bans and %d events, want none (the ban would have ended)", len(*q), len(*ev))
	}
}

func TestHostNames(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	j, q, _ := newJail(t, now)
	f := finding.Finding{Time: now, Host: "attacker.example", SingleHit: true}
	j.Handle(context.Background(), f)
	if len(*q) != 0 {
		t.Fatal("a host name was banned without usedns")
	}
	j.Resolve = func(_ context.Context, host string) ([]netip.Addr, error) {
		if host != "attacker.example" {
			return nil, errors.New("no such host")
		}
		return []netip.Addr{netip.MustParseAddr("192.0.2.3"), netip.MustParseAddr("2001:db8::3")}, nil
	}
	j.Handle(context.Background(), f)
	if len(*q) != 2 {
		t.Errorf("a host with two addresses gave %d bans, want 2", len(*q))
	}
}
